#!/usr/bin/python3
"""Whole-network goldens from PyTorch: tests/data/<net>/ and tests/data/random/.

Regenerate (from the repository root; takes about a minute, then review and commit):

    /usr/bin/python3 scripts/make_goldens.py

It needs PyTorch and numpy (Debian's python3-torch 1.13 under /usr/bin/python3);
it does not run cnnc. For every examples/*.cnn that can be compiled, for 24
generated chains (tests/data/random/rNN.cnn: random chains of conv, relu, pool
max/avg, fc, softmax, dropout and flatten with random sizes, strides, pads,
exact/floor/ceil rounding, with or without bias) and for 12 generated graphs
(tests/data/random/dNN.cnn, SPEC section 9: inputs up to 16x16x4; skip
connections from= several layers back, adds of 2-3 maps, 2-4-way concats,
batch norms folded into the conv before them and standing alone, grouped,
depthwise and dilated convs, WxH sizes, strides, pads and dilations, global
pools on non-square maps, relu, relu6, leakyrelu with slopes, sigmoid, tanh,
quoted names, network round=), it reads the .cnn text with the parser of
scripts/synth_weights.py, builds the model in PyTorch (torch.nn.functional,
NCHW) and writes into tests/data/<net>/ (generated ones in
tests/data/random/<net>/):

    <net>.safetensors  the weights, F32 (scripts/synth_weights.py's formula;
                       a batch norm's running_var in [0.5, 2))
    in1.npy, out1.npy  one input (1, D, H, W) and the reference output
    in7.npy, out7.npy  a batch of 7 and its output
    in13.npy, out13.npy  for the examples small enough to run naively and the
                       graphs, a batch of 13: a group of 8, one of 4 and one
                       image, as executables run them (codegen/module.c)

Outputs are (N, K) for a vector output (W = H = 1), else (N, D, H, W), float32,
computed in float64 from the float32 weights and inputs. Inputs are uniform in
[0, 1) for the examples (like scaled images) and standard normal for the random
networks; .npy inputs bypass the input layer's mean/std (SPEC section 8).

Too big to commit: VGG-16 (553 MB of weights) and AlexNet (244 MB) get no
weights file but a file `synth_weights` saying how to make it at test time
(scripts/synth_weights.py NET.cnn OUT --seed NAME).
Skipped: disaster.cnn (64 GB of weights); edge.cnn and emboss.cnn, whose
512x512 goldens are the ascent photo's (scripts/make_filter_images.py);
torchvision's resnet18, mobilenet_v2, squeezenet1_1 and googlenet, whose
goldens are tests/data/tv's (scripts/make_torchvision_examples.py).
slides gets three more copies of its weights, slides.{f16,bf16,f64}.safetensors,
with values chosen exactly representable in all four dtypes (multiples of
1/256), so that out1/out7 are the expected outputs for every copy.

`--random-only` remakes just the generated networks, chains and graphs (a few
seconds), `--dags-only` just the graphs, `--examples-only` just the examples.
Each family has its own seeded generator, so adding to one leaves the other's
files byte for byte as they were. The graphs together must use every feature
of DAG_WANTED (dag_coverage()): the last six are drawn until they add a
missing one, and a feature still missing is an error.
The digits example's trained network gets the outputs (logits) of its whole
data set, tests/data/digits/out_all.npy, for the cross-target tests
(`--digits-only` remakes just that).

Checks before writing: a float32 run of the model agrees with the float64
reference within the tests' tolerance (max|out - ref| <= 1e-4 x max(1,
max|ref|), tests/tolerance.h), a naive numpy implementation of the layers,
written apart from the PyTorch one and after SPEC sections 1-2 and 9, agrees
with it to 1e-9 (all but the two big networks), and the golden is sensitive: scaling
the first or last layer's weights by 1.01 moves the output far beyond the
tolerance.
"""

import os
import re
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth_weights as sw  # noqa: E402

torch.set_num_threads(2)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
with open(os.path.join(ROOT, "tests", "tolerance.h")) as _fp:   # the one definition
    TOLERANCE = float(re.search(r"#define\s+CNNC_TOLERANCE\s+(\S+)", _fp.read()).group(1))
SKIP = {
    "disaster": "64 GB of weights: cannot be compiled",
    "edge": "512x512: goldens from the ascent photo (make_filter_images.py)",
    "emboss": "512x512: goldens from the ascent photo (make_filter_images.py)",
}
for _tv in ("resnet18", "mobilenet_v2", "squeezenet1_1", "googlenet"):
    SKIP[_tv] = "torchvision's: goldens in tests/data/tv (make_torchvision_examples.py)"
SYNTH_BYTES = 20 << 20      # weights above this are synthesised at test time
N_RANDOM = 24
N_DAGS = 12


# -- the model in PyTorch ----------------------------------------------------------

def conv_extra(w1, out, f, s, p, dilation=1):
    """Zeros past the right padding that a round=ceil conv's last window reads."""
    need = (out - 1) * s + dilation * (f - 1) + 1
    return max(0, need - (w1 + 2 * p))


def window_params(layer):
    """((fw, fh), (sw, sh), (pw, ph), (dw, dh)) of a conv or pool: width first."""
    return tuple(sw.pair(layer.get(key, 1)) for key in ("size", "stride", "pad", "dilation"))


def layer_params(layer, params):
    """(weight, bias) as float32 numpy, inline ones taken from the layer."""
    name = layer["name"]
    if "weights" in layer:
        k = layer["filters"]
        w1, h1, d1 = layer["in"]
        if layer["kind"] == "conv":
            (fw, fh), _, _, _ = window_params(layer)
            shape = (k, d1 // layer["groups"], fh, fw)
        else:
            shape = (k, w1 * h1 * d1)
        w = np.array(layer["weights"], dtype=np.float32).reshape(shape)
        b = np.array(layer["biases"], dtype=np.float32) if layer["bias"] else None
        return w, b
    return params[name + ".weight"], params.get(name + ".bias")


def batchnorm_params(layer, params):
    """weight, bias, running_mean, running_var: float32 numpy, each [D]."""
    return [params[layer["name"] + "." + t] for t in sw.BATCHNORM_TENSORS]


def torch_forward(net, params, x, dtype):
    """x: numpy (N, D, H, W); returns numpy in the programs' output layout."""
    def tensor(a):
        return None if a is None else torch.from_numpy(a).to(dtype)

    outs = {net["input_name"]: torch.from_numpy(np.ascontiguousarray(x)).to(dtype)}
    for layer in net["layers"]:
        kind = layer["kind"]
        ins = [outs[name] for name in layer["inputs"]]
        t = ins[0]
        if kind == "conv":
            w, b = layer_params(layer, params)
            (fw, fh), (sw_, sh), (pw, ph), (dw, dh) = window_params(layer)
            (w2, h2, _), (w1, h1, _) = layer["out"], layer["in"]
            t = F.pad(t, (pw, pw + conv_extra(w1, w2, fw, sw_, pw, dw),
                          ph, ph + conv_extra(h1, h2, fh, sh, ph, dh)))
            t = F.conv2d(t, tensor(w), tensor(b), stride=(sh, sw_), dilation=(dh, dw),
                         groups=layer["groups"])
        elif kind == "pool" and layer["global"]:
            t = (F.adaptive_max_pool2d(t, 1) if layer["mode"] == "max"
                 else F.adaptive_avg_pool2d(t, 1))
        elif kind == "pool":
            (fw, fh), (sw_, sh), (pw, ph), _ = window_params(layer)
            args = ((fh, fw), (sh, sw_), (ph, pw))
            ceil = layer["round"] == "ceil"
            if layer["mode"] == "max":
                t = F.max_pool2d(t, *args, ceil_mode=ceil)
            else:
                t = F.avg_pool2d(t, *args, ceil_mode=ceil, count_include_pad=True)
        elif kind == "fc":
            w, b = layer_params(layer, params)
            t = F.linear(t.reshape(t.shape[0], -1), tensor(w), tensor(b))
            t = t.reshape(t.shape[0], -1, 1, 1)
        elif kind == "flatten":
            t = t.reshape(t.shape[0], -1, 1, 1)
        elif kind == "batchnorm":
            weight, bias, mean, var = (tensor(a) for a in batchnorm_params(layer, params))
            t = F.batch_norm(t, mean, var, weight, bias, training=False, eps=layer["eps"])
        elif kind == "add":
            for u in ins[1:]:   # in the order written
                t = t + u
        elif kind == "concat":
            t = torch.cat(ins, dim=1)
        elif kind == "relu":
            t = F.relu(t)
        elif kind == "relu6":
            t = F.hardtanh(t, 0.0, 6.0)
        elif kind == "leakyrelu":
            t = F.leaky_relu(t, layer["slope"])
        elif kind == "sigmoid":
            t = torch.sigmoid(t)
        elif kind == "tanh":
            t = torch.tanh(t)
        elif kind == "softmax":
            t = F.softmax(t, dim=1)
        elif kind == "dropout":
            pass
        else:
            raise ValueError("unknown layer kind " + kind)
        assert tuple(t.shape[1:]) == tuple(reversed(layer["out"])), (layer, t.shape)
        outs[layer["name"]] = t
    return output_layout(t.numpy())


def output_layout(y):
    return y.reshape(y.shape[0], -1) if y.shape[2] == 1 and y.shape[3] == 1 else y


# -- the same, naively in numpy, after SPEC sections 1-2 and 9 -------------------

def np_forward(net, params, x):
    outs = {net["input_name"]: x.astype(np.float64)}
    for layer in net["layers"]:
        kind = layer["kind"]
        ins = [outs[name] for name in layer["inputs"]]
        a = ins[0]
        n = a.shape[0]
        if kind == "conv":
            w, b = layer_params(layer, params)
            w = w.astype(np.float64)
            (w2, h2, k), (w1, h1, d1) = layer["out"], layer["in"]
            (fw, fh), (sx, sy), (px, py), (rx, ry) = window_params(layer)
            g = layer["groups"]
            kg, dg = k // g, d1 // g   # each group: kg filters over dg channels
            big = np.zeros((n, d1, h1 + 2 * py + ry * fh + sy * h2,
                            w1 + 2 * px + rx * fw + sx * w2))
            big[:, :, py:py + h1, px:px + w1] = a   # zero padding, and zeros past it (ceil)
            out = np.zeros((n, k, h2, w2))
            for gi in range(g):
                for fy in range(fh):
                    for fx in range(fw):   # tap (fx, fy) reads (x*S + fx*R, y*S + fy*R)
                        patch = big[:, gi * dg:(gi + 1) * dg,
                                    fy * ry:fy * ry + sy * h2:sy, fx * rx:fx * rx + sx * w2:sx]
                        out[:, gi * kg:(gi + 1) * kg] += np.einsum(
                            "kd,ndhw->nkhw", w[gi * kg:(gi + 1) * kg, :, fy, fx], patch)
            if b is not None:
                out += b.astype(np.float64)[None, :, None, None]
            a = out
        elif kind == "pool" and layer["global"]:
            a = (a.max(axis=(2, 3), keepdims=True) if layer["mode"] == "max"
                 else a.mean(axis=(2, 3), keepdims=True))
        elif kind == "pool":
            (w2, h2, d), (w1, h1, _) = layer["out"], layer["in"]
            (fw, fh), (sx, sy), (px, py), _ = window_params(layer)
            out = np.zeros((n, d, h2, w2))
            for oy in range(h2):
                y0 = oy * sy - py
                y1 = y0 + fh
                for ox in range(w2):
                    x0 = ox * sx - px
                    x1 = x0 + fw
                    cells = a[:, :, max(y0, 0):min(y1, h1), max(x0, 0):min(x1, w1)]
                    if layer["mode"] == "max":   # max ignores padding
                        out[:, :, oy, ox] = cells.max(axis=(2, 3))
                    else:   # avg: zeros of the padding count, cells past it do not
                        div = ((min(y1, h1 + py) - y0) * (min(x1, w1 + px) - x0))
                        out[:, :, oy, ox] = cells.sum(axis=(2, 3)) / div
            a = out
        elif kind == "fc":
            w, b = layer_params(layer, params)
            out = a.reshape(n, -1) @ w.astype(np.float64).T
            if b is not None:
                out += b.astype(np.float64)
            a = out.reshape(n, -1, 1, 1)
        elif kind == "flatten":
            a = a.reshape(n, -1, 1, 1)
        elif kind == "batchnorm":
            weight, bias, mean, var = (v.astype(np.float64)[None, :, None, None]
                                       for v in batchnorm_params(layer, params))
            a = (a - mean) / np.sqrt(var + layer["eps"]) * weight + bias
        elif kind == "add":
            a = sum(ins[1:], ins[0])
        elif kind == "concat":
            a = np.concatenate(ins, axis=1)
        elif kind == "relu":
            a = np.maximum(a, 0)
        elif kind == "relu6":
            a = np.minimum(np.maximum(a, 0), 6)
        elif kind == "leakyrelu":
            a = np.where(a > 0, a, layer["slope"] * a)
        elif kind == "sigmoid":
            a = 1 / (1 + np.exp(-a))
        elif kind == "tanh":
            a = np.tanh(a)
        elif kind == "softmax":
            e = np.exp(a - a.max(axis=1, keepdims=True))
            a = e / e.sum(axis=1, keepdims=True)
        outs[layer["name"]] = a
    return output_layout(a)


# -- checks -------------------------------------------------------------------------

def error_ratio(out, ref):
    """tests/tolerance.h: the worst error relative to the bound; <= 1 passes."""
    bound = TOLERANCE * max(1.0, float(np.max(np.abs(ref))))
    return float(np.max(np.abs(out.astype(np.float64) - ref.astype(np.float64)))) / bound


def sensitivity(net, params, x, ref):
    """How far (in tolerances) scaling the first / last weights by 1.01 moves out."""
    names = [n for n, _, _, layer in sw.param_shapes(net)
             if n.endswith(".weight") and "weights" not in layer]
    found = []
    for name in dict.fromkeys([names[0], names[-1]]) if names else []:
        changed = dict(params)
        changed[name] = (params[name] * np.float32(1.01)).astype(np.float32)
        found.append(error_ratio(torch_forward(net, changed, x, torch.float64), ref))
    return min(found) if found else None


def make(net, out_dir, params, inputs, write_weights=True, naive=True, seed=None,
         extra_dtypes=False):
    os.makedirs(out_dir, exist_ok=True)
    name = net["name"]
    notes = []
    for tag, x in inputs.items():
        ref = torch_forward(net, params, x, torch.float64)
        r32 = error_ratio(torch_forward(net, params, x, torch.float32), ref)
        assert r32 <= 0.1, "%s %s: float32 model off by %.3g tolerances" % (name, tag, r32)
        notes.append("f32 %.2g" % r32)
        if naive:
            rn = float(np.max(np.abs(np_forward(net, params, x) - ref))) / max(1.0, float(np.max(np.abs(ref))))
            assert rn <= 1e-9, "%s %s: numpy reference differs by %.3g" % (name, tag, rn)
            notes.append("numpy %.1g" % rn)
        if tag == "1":
            sens = sensitivity(net, params, x, ref)
            if sens is not None:
                notes.append("sens %.0f" % sens)
                if sens < 10:
                    print("  warning: %s: weak golden (1%% weight change = %.1f tolerances)"
                          % (name, sens))
        np.save(os.path.join(out_dir, "in%s.npy" % tag), x.astype(np.float32))
        np.save(os.path.join(out_dir, "out%s.npy" % tag), ref.astype(np.float32))
        notes.append("max|out%s| %.3g" % (tag, float(np.max(np.abs(ref)))))
    if write_weights:
        sw.write_safetensors(os.path.join(out_dir, name + ".safetensors"), params)
        if extra_dtypes:
            for dtype in ("F16", "BF16", "F64"):
                path = os.path.join(out_dir, "%s.%s.safetensors" % (name, dtype.lower()))
                sw.write_safetensors(path, params, dtype)
                back = sw.read_safetensors(path)
                assert all(np.array_equal(back[k], params[k]) for k in params), dtype
    else:
        with open(os.path.join(out_dir, "synth_weights"), "w") as fp:
            fp.write("# weights: /usr/bin/python3 scripts/synth_weights.py NET.cnn OUT"
                     " --seed %s\n%s\n" % (seed, seed))
    print("  %-8s %s" % (name, ", ".join(notes)))


# -- the examples ---------------------------------------------------------------

def examples():
    ex_dir = os.path.join(ROOT, "examples")
    for fname in sorted(os.listdir(ex_dir)):
        if not fname.endswith(".cnn"):
            continue
        net = sw.load_cnn(os.path.join(ex_dir, fname))
        name = net["name"]
        if name in SKIP:
            print("  %-8s skipped: %s" % (name, SKIP[name]))
            continue
        n_params = sum(int(np.prod(s)) for _, s, _, _ in sw.param_shapes(net))
        big = 4 * n_params > SYNTH_BYTES
        params = sw.synth_weights(net, name)
        if name == "slides":   # exactly representable in F16, BF16, F32 and F64
            params = {k: (np.round(v * 256) / 256).astype(np.float32) for k, v in params.items()}
        w, h, d = net["input"]
        rng = np.random.default_rng(sum(map(ord, name)))
        inputs = {"1": rng.random((1, d, h, w), dtype=np.float32),
                  "7": rng.random((7, d, h, w), dtype=np.float32)}
        if not big:  # 8 + 4 + 1 images: every group size an executable runs
            inputs["13"] = rng.random((13, d, h, w), dtype=np.float32)
        make(net, os.path.join(DATA, name), params, inputs, write_weights=not big,
             naive=not big, seed=name, extra_dtypes=(name == "slides"))


# -- the random networks ----------------------------------------------------------

class Retry(Exception):
    pass


def fmt(v):
    return "%.9g" % v


def pick_window(rng, w1, h1, kind):
    """size, stride, pad, round for a conv or pool on w1 x h1, or Retry."""
    fmax = min(5 if kind == "conv" else 4, max(w1, h1))
    f = int(rng.integers(1, fmax + 1))
    if kind == "pool":
        p = int(rng.integers(0, f // 2 + 1)) if rng.random() < 0.5 else 0
        s = f if rng.random() < 0.5 else int(rng.integers(1, f + 2))
    else:
        p = int(rng.integers(0, f)) if rng.random() < 0.6 else 0
        s = 1 if rng.random() < 0.5 else int(rng.integers(1, 4))
    if f > w1 + 2 * p or f > h1 + 2 * p:
        raise Retry
    exact = (w1 - f + 2 * p) % s == 0 and (h1 - f + 2 * p) % s == 0
    if exact:
        rnd = str(rng.choice(["floor", "ceil"])) if rng.random() < 0.1 else None
    else:
        rnd = str(rng.choice(["floor", "ceil"]))
    return f, s, p, rnd


def random_net(rng, idx):
    """One random chain as (.cnn text); raises Retry for a dull or oversized one."""
    name = "r%02d" % idx
    w = int(rng.integers(3, 21))
    h = w if rng.random() < 0.5 else int(rng.integers(3, 21))
    d = int(rng.integers(1, 4))
    lines = ["# Generated by scripts/make_goldens.py (random chain %d); do not edit." % idx,
             "network %s {" % name, "    input %dx%dx%d" % (w, h, d)]
    shape, n_params, n_layers = (w, h, d), 0, int(rng.integers(3, 9))
    inline_done = idx % 8 != 5      # a few networks give one layer's weights inline
    spaced = idx % 6 == 4           # and some write 'key = value'
    eq = " = " if spaced else "="
    for i in range(n_layers):
        w1, h1, d1 = shape
        vector = w1 == 1 and h1 == 1
        kinds = (["fc", "relu", "softmax", "dropout", "conv"] if vector else
                 ["conv", "conv", "conv", "relu", "relu", "pool", "pool", "fc",
                  "softmax", "dropout", "flatten"])
        kind = str(rng.choice(kinds))
        if kind == "softmax" and (d1 == 1 or "softmax" in lines[-1]):
            raise Retry   # a softmax over one value, or twice in a row, tells little
        label = ""
        if rng.random() < 0.2:
            label = str(rng.choice(["block%d.%s" % (i, kind), "features.%d" % i,
                                    "L%d_%s" % (i, kind)])) + ": "
        if kind == "conv":
            k = int(rng.integers(1, 9))
            if vector:
                f, s, p, rnd = 1, 1, 0, None
            else:
                f, s, p, rnd = pick_window(rng, w1, h1, "conv")
            bias = rng.random() < 0.75
            shape = (sw.window(w1, f, s, p, rnd), sw.window(h1, f, s, p, rnd), k)
            n_params += k * f * f * d1 + (k if bias else 0)
            text = "conv filters%s%d size%s%d" % (eq, k, eq, f)
            if s != 1 or rng.random() < 0.2:
                text += " stride%s%d" % (eq, s)
            if p:
                text += " pad%s%d" % (eq, p)
            if rnd:
                text += " round%s%s" % (eq, rnd)
            if not bias:
                text += " bias%sfalse" % eq
            elif rng.random() < 0.1:
                text += " bias%strue" % eq
        elif kind == "pool":
            mode = str(rng.choice(["max", "avg"]))
            f, s, p, rnd = pick_window(rng, w1, h1, "pool")
            shape = (sw.window(w1, f, s, p, rnd), sw.window(h1, f, s, p, rnd), d1)
            text = "pool %s size%s%d" % (mode, eq, f)
            if s != f:
                text += " stride%s%d" % (eq, s)
            if p:
                text += " pad%s%d" % (eq, p)
            if rnd:
                text += " round%s%s" % (eq, rnd)
        elif kind == "fc":
            k = int(rng.integers(2, 13))
            bias = rng.random() < 0.75
            n = w1 * h1 * d1
            shape = (1, 1, k)
            n_params += n * k + (k if bias else 0)
            text = "fc %d" % k + ("" if bias else " bias%sfalse" % eq)
        elif kind == "dropout":
            text = "dropout" if rng.random() < 0.5 else "dropout p%s%s" % (eq, rng.choice(["0.5", "0.25", "0"]))
        elif kind == "flatten":
            shape = (1, 1, w1 * h1 * d1)
            text = "flatten"
        else:
            text = kind
        if kind in ("conv", "fc") and not inline_done and n_params <= 200:
            inline_done = True
            text += " weights%s[INLINE]" % eq
        lines.append("    " + label + text)
    if rng.random() < 0.3 and "softmax" not in lines[-1] and shape[2] > 1:
        lines.append("    softmax")
    lines.append("}")
    if n_params == 0 or n_params > 20000 or not inline_done:
        raise Retry
    if shape[0] * shape[1] * shape[2] > 4000:
        raise Retry
    text = "\n".join(lines) + "\n"
    if idx % 5 == 3:   # some layers share a line
        text = text.replace("\n    relu\n", "; relu\n", 1)
    return text


def fill_inline(text, seed_name):
    """Replaces weights=[INLINE] by values (and biases=[...] when the layer has bias)."""
    if "[INLINE]" not in text:
        return text
    net = sw.parse_cnn(text.replace("[INLINE]", "[0]"))
    sw.shapes(net)
    for name, shape, fan, layer in sw.param_shapes(net):
        if "weights" in layer and name.endswith(".weight"):
            wv = sw.synth_tensor(seed_name, name, shape, fan).ravel()
            rows = [", ".join(fmt(v) for v in wv[i:i + 6]) for i in range(0, len(wv), 6)]
            repl = "[" + ",\n            ".join(rows) + "]"   # a list may span lines
            if layer["bias"]:
                bv = sw.synth_tensor(seed_name, layer["name"] + ".bias", (shape[0],), fan)
                repl += " biases=[" + ", ".join(fmt(v) for v in bv) + "]"
            text = text.replace("[INLINE]", repl, 1)
    return text


def coverage(net):
    feats = set()
    for layer in net["layers"]:
        k = layer["kind"]
        feats.add(k)
        if k in ("conv", "pool"):
            tag = k if k == "conv" else "pool-" + layer["mode"]
            feats.add("%s-round-%s" % (tag, layer["round"]))
            if layer["pad"]:
                feats.add(tag + "-pad")
            if layer["stride"] > 1:
                feats.add(tag + "-stride")
            if layer["stride"] != layer["size"] and k == "pool":
                feats.add("pool-overlap-or-gap")
        if k in ("conv", "fc") and not layer["bias"]:
            feats.add(k + "-nobias")
        if "weights" in layer:
            feats.add("inline")
        if k == "softmax" and layer["in"][:2] != (1, 1):
            feats.add("softmax-map")
        if k in ("conv", "pool") and layer["in"][:2] == (1, 1):
            feats.add(k + "-on-vector")
        if not layer["name"].startswith(k):
            feats.add("named")
    out = net["layers"][-1]["out"]
    feats.add("map-output" if out[:2] != (1, 1) else "vector-output")
    if net["input"][0] != net["input"][1]:
        feats.add("non-square")
    return feats


WANTED = {"conv-round-floor", "conv-round-ceil", "pool-max-round-ceil",
          "pool-avg-round-ceil", "pool-max-round-floor", "pool-avg-round-floor",
          "pool-avg-pad", "pool-max-pad", "conv-pad", "conv-stride", "conv-nobias",
          "fc-nobias", "softmax-map", "flatten", "dropout", "inline", "named",
          "map-output", "vector-output", "non-square"}


def generate(seed, prefix, count, draw, batches, wanted, cover, fill_last, label):
    """count networks PREFIXnn.cnn in tests/data/random and their goldens:
    draw(rng, idx, name) gives a source (or raises Retry/ValueError); a
    network too flat to tell a wrong result from a right one is drawn
    again, and the last fill_last ones again until they add a feature of
    wanted (cover(net) says which a network has) that the others missed.
    Returns the features the family covers."""
    rng = np.random.default_rng(seed)
    rdir = os.path.join(DATA, "random")
    os.makedirs(rdir, exist_ok=True)
    seen = set()
    for idx in range(1, count + 1):
        name = "%s%02d" % (prefix, idx)
        while True:
            try:
                text = draw(rng, idx, name)
            except (Retry, ValueError):
                continue
            net = sw.parse_cnn(text)
            sw.shapes(net)
            params = sw.synth_weights(net, name)
            w, h, d = net["input"]
            inputs = {str(n): rng.standard_normal((n, d, h, w), dtype=np.float32) for n in batches}
            ref = torch_forward(net, params, inputs["1"], torch.float64)
            sens = sensitivity(net, params, inputs["1"], ref)
            if sens is None or sens < 10:
                continue   # too flat a network to tell a wrong result from a right one
            missing = wanted - seen
            if idx > count - fill_last and missing and not cover(net) & missing:
                continue   # the last few fill in what the others missed
            break
        path = os.path.join(rdir, name + ".cnn")
        with open(path, "w") as fp:
            fp.write(text)
        net = sw.load_cnn(path)
        seen |= cover(net)
        make(net, os.path.join(rdir, name), params, inputs, seed=name)
    print("%s cover: %s" % (label, " ".join(sorted(seen))))
    return seen


def randoms():
    seen = generate(20240611, "r", N_RANDOM, lambda rng, idx, name: fill_inline(random_net(rng, idx), name),
                    (1, 7), WANTED, coverage, 4, "random networks")
    missing = WANTED - seen
    if missing:
        print("warning: random networks miss: " + " ".join(sorted(missing)))


# -- the random graphs ----------------------------------------------------------------

PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
ACTS = ["relu", "relu6", "leakyrelu", "sigmoid", "tanh"]


class DagBuilder:
    """A random graph written line by line; each line is parsed with the rest
    (scripts/synth_weights.py), so the shapes the generator sees are the
    parser's and a line the shape rule refuses is a Retry."""

    def __init__(self, rng, idx, w, h, d, rnd):
        self.rng, self.idx = rng, idx
        self.head = ["# Generated by scripts/make_goldens.py (random graph %d); do not edit." % idx,
                     "network d%02d%s {" % (idx, " round=" + rnd if rnd else ""),
                     "    input %dx%dx%d" % (w, h, d)]
        self.lines = []
        self.quoted = 0
        self.net = None
        self.parse()

    def text(self):
        return "\n".join(self.head + self.lines + ["}"]) + "\n"

    def parse(self):
        net = sw.parse_cnn(self.text())
        sw.shapes(net)
        self.net = net

    def layers(self):
        """[(name, (W, H, D))], the input first."""
        return ([(self.net["input_name"], self.net["input"])] +
                [(layer["name"], layer["out"]) for layer in self.net["layers"]])

    def last(self):
        return self.layers()[-1]

    def ref(self, name):
        """How to write a reference: plain, or quoted (always when it must be)."""
        if not PLAIN_NAME.match(name) or self.rng.random() < 0.15:
            return '"%s"' % name
        return name

    def label(self, hint):
        """A name for the next layer: none, a dotted one, or a quoted one."""
        r = self.rng.random()
        if r < 0.5:
            return ""
        n = len(self.lines)
        if r < 0.8:
            return "%s%d.%s: " % (str(self.rng.choice(["b", "block", "layer"])), n, hint)
        self.quoted += 1
        return '"%s": ' % str(self.rng.choice(["%d" % n, "%d.%s" % (n, hint), "skip %d" % n,
                                               "%s#%d" % (hint, n), "%s-%d,x" % (hint, n)]))

    def add(self, text, hint="x"):
        """Appends a layer; returns its name, or raises Retry (and drops it)."""
        self.lines.append("    " + self.label(hint) + text)
        try:
            self.parse()
        except (ValueError, KeyError, ZeroDivisionError):
            self.lines.pop()
            self.parse()
            raise Retry
        return self.last()[0]

    def src(self, name):
        """' from=NAME' unless NAME is the previous layer (then sometimes)."""
        if name == self.last()[0] and self.rng.random() < 0.7:
            return ""
        return " from=" + self.ref(name)

    # -- layers ----------------------------------------------------------------

    def conv(self, name, same=False, filters=None):
        """A random conv reading NAME; same=True keeps W x H (stride 1, odd spans)."""
        rng = self.rng
        w1, h1, d1 = dict(self.layers())[name]
        k = filters or int(rng.integers(1, 9))
        groups = 1
        r = rng.random()
        if r < 0.25 and d1 > 1:      # depthwise: groups = D1, K a multiple of it
            groups = d1
            k = d1 * int(rng.integers(1, 3)) if filters is None else filters
        elif r < 0.45 and d1 > 1:    # grouped
            divs = [g for g in range(2, d1 + 1) if d1 % g == 0]
            groups = int(rng.choice(divs))
            k = groups * int(rng.integers(1, 4)) if filters is None else filters
        if k % groups:
            groups = 1
        fw = int(rng.choice([1, 3, 3, 5])) if min(w1, h1) > 2 else 1
        fh = fw if rng.random() < 0.6 else int(rng.choice([1, 3]))
        dw = dh = 1
        if rng.random() < 0.3 and (fw > 1 or fh > 1):
            dw = int(rng.integers(1, 3)) + (1 if rng.random() < 0.3 else 0)
            dh = dw if rng.random() < 0.6 else int(rng.integers(1, 3))
        span_w, span_h = dw * (fw - 1) + 1, dh * (fh - 1) + 1
        if same:
            sx = sy = 1
            px, py = (span_w - 1) // 2, (span_h - 1) // 2
            if span_w % 2 == 0 or span_h % 2 == 0:
                raise Retry
            rnd = None
        else:
            sx = 1 if rng.random() < 0.6 else int(rng.integers(1, 3))
            sy = sx if rng.random() < 0.7 else int(rng.integers(1, 3))
            px = int(rng.integers(0, (span_w + 1) // 2 + 1)) if rng.random() < 0.7 else 0
            py = px if rng.random() < 0.7 else int(rng.integers(0, (span_h + 1) // 2 + 1))
            rnd = None
            exact = ((w1 - span_w + 2 * px) % sx == 0 and (h1 - span_h + 2 * py) % sy == 0)
            if not exact or rng.random() < 0.15:
                rnd = str(rng.choice(["floor", "ceil"]))
            if rnd == self.net["round"] and rng.random() < 0.7:
                rnd = None   # the network's default says it
            if not exact and rnd is None and self.net["round"] is None:
                rnd = "floor"
        text = "conv filters=%d size=%s" % (k, wh(fw, fh))
        if (sx, sy) != (1, 1):
            text += " stride=" + wh(sx, sy)
        if (px, py) != (0, 0):
            text += " pad=" + wh(px, py)
        if groups > 1:
            text += " groups=%d" % groups
        if (dw, dh) != (1, 1):
            text += " dilation=" + wh(dw, dh)
        if rnd:
            text += " round=" + rnd
        if rng.random() < 0.3:
            text += " bias=false"
        return self.add(text + self.src(name), "conv")

    def pool(self, name, same=False):
        rng = self.rng
        w1, h1, _ = dict(self.layers())[name]
        mode = str(rng.choice(["max", "avg"]))
        fw = int(rng.integers(1, 4))
        fh = fw if rng.random() < 0.5 else int(rng.integers(1, 4))
        if same:
            if fw % 2 == 0 or fh % 2 == 0:
                raise Retry
            sx = sy = 1
            px, py = fw // 2, fh // 2
            rnd = None
        else:
            sx = fw if rng.random() < 0.5 else int(rng.integers(1, fw + 2))
            sy = fh if rng.random() < 0.5 else int(rng.integers(1, fh + 2))
            px = int(rng.integers(0, fw // 2 + 1))
            py = int(rng.integers(0, fh // 2 + 1))
            exact = (w1 - fw + 2 * px) % sx == 0 and (h1 - fh + 2 * py) % sy == 0
            rnd = None
            if not exact or rng.random() < 0.15:
                rnd = str(rng.choice(["floor", "ceil"]))
            if rnd == self.net["round"] and rng.random() < 0.7:
                rnd = None
            if not exact and rnd is None and self.net["round"] is None:
                rnd = "ceil"
        text = "pool %s size=%s" % (mode, wh(fw, fh))
        if (sx, sy) != (fw, fh):
            text += " stride=" + wh(sx, sy)
        if (px, py) != (0, 0):
            text += " pad=" + wh(px, py)
        if rnd:
            text += " round=" + rnd
        return self.add(text + self.src(name), "pool")

    def act(self, name, kind=None):
        kind = kind or str(self.rng.choice(ACTS))
        text = kind
        if kind == "leakyrelu" and self.rng.random() < 0.7:
            text += " slope=%s" % str(self.rng.choice(["0.1", "0.25", "-0.5", "1.5", "0.02"]))
        return self.add(text + self.src(name), kind)

    def batchnorm(self, name):
        text = "batchnorm"
        if self.rng.random() < 0.3:
            text += " eps=%s" % str(self.rng.choice(["1e-3", "0.01", "1e-05"]))
        return self.add(text + self.src(name), "bn")

    def join(self, kind, names):
        sep = ", " if self.rng.random() < 0.3 else " "
        return self.add(kind + " " + sep.join(self.ref(n) for n in names), kind)


def wh(w, h):
    return str(w) if w == h else "%dx%d" % (w, h)


def random_dag(rng, idx):
    """One random graph as .cnn text; raises Retry for a dull or oversized one."""
    w = int(rng.integers(5, 17))
    h = w if rng.random() < 0.3 else int(rng.integers(5, 17))
    d = int(rng.integers(1, 5))
    rnd = [None, "floor", "ceil"][idx % 3]
    g = DagBuilder(rng, idx, w, h, d, rnd)
    g.conv(g.last()[0], filters=int(rng.integers(2, 7)))
    n_blocks = int(rng.integers(4, 8))
    for _ in range(n_blocks * 4):
        if n_blocks == 0:
            break
        mark = len(g.lines)
        try:
            dag_block(g, str(rng.choice(["conv", "conv", "residual", "residual", "concat",
                                         "concat", "down", "act", "bn"])))
            n_blocks -= 1
        except Retry:   # drop the block's layers: none may be left unread
            del g.lines[mark:]
            g.parse()
            continue
        if len(g.lines) > 40 or g.last()[1][2] > 16:
            raise Retry
    if n_blocks:
        raise Retry
    name, (w1, h1, d1) = g.last()
    r = rng.random()
    if r < 0.6 and (w1, h1) != (1, 1):   # a global pool, maybe an fc and softmax after it
        g.add("pool %s global" % str(rng.choice(["max", "avg"])) + g.src(name), "gpool")
        if rng.random() < 0.6:
            g.add("fc %d" % int(rng.integers(2, 11)), "fc")
            if rng.random() < 0.3:
                g.add("softmax")
    elif r < 0.7 and g.last()[1][2] > 1:
        g.add("softmax")
    text = g.text()
    net = g.net
    read = {n for layer in net["layers"] for n in layer["inputs"]}
    if any(layer["name"] not in read for layer in net["layers"][:-1]):
        raise Retry   # a layer nobody reads (cnnc warns) would test nothing
    n_params = sum(int(np.prod(s)) for _, s, _, _ in sw.param_shapes(net))
    # Small enough for a Cortex-M4 (tests/cross/run_cortex_m.sh: 64 KiB of RAM for
    # one image's workspace, batch 7's outputs and an 8 KiB stack).
    if (n_params > 20000 or any(int(np.prod(layer["out"])) > 2048 for layer in net["layers"])
            or int(np.prod(net["layers"][-1]["out"])) > 512):
        raise Retry
    return text


def dag_block(g, kind):
    """One block of a random graph; raises Retry (the caller drops its lines)."""
    rng = g.rng
    layers = g.layers()
    name, shape = layers[-1]
    if kind == "conv":   # conv [batchnorm] [activation]
        c = g.conv(name)
        if rng.random() < 0.6:
            c = g.batchnorm(c)
        if rng.random() < 0.7:
            g.act(c)
    elif kind == "residual":   # add of the current map and 1-2 others of its shape
        same = [n for n, s in layers[:-1] if s == shape]
        wh_same = [n for n, s in layers[:-1] if s[:2] == shape[:2]]
        if not wh_same:
            raise Retry
        others = []
        for _ in range(1 if rng.random() < 0.6 else 2):
            if same and rng.random() < 0.5:
                others.append(str(rng.choice(same)))
            else:   # a projection: a shape-keeping conv from an earlier map
                c = g.conv(str(rng.choice(wh_same)), same=True, filters=shape[2])
                if rng.random() < 0.5:
                    c = g.batchnorm(c)
                others.append(c)
        names = [name] + others
        rng.shuffle(names)
        s = g.join("add", names)
        if rng.random() < 0.3:
            s = g.batchnorm(s)
        if rng.random() < 0.6:
            g.act(s)
    elif kind == "concat":   # 2-4 branches from one earlier map, or maps of its W x H
        src = str(rng.choice([n for n, s in layers if s[:2] == shape[:2]][-4:]))
        branches = []
        for _ in range(int(rng.integers(2, 5))):
            r = rng.random()
            if r < 0.15:
                branches.append(src)
            elif r < 0.35:
                branches.append(g.pool(src, same=True))
            else:
                b = g.conv(src, same=True)
                if rng.random() < 0.4:
                    b = g.act(b)
                branches.append(b)
        if sum(dict(g.layers())[b][2] for b in branches) > 16:
            raise Retry
        c = g.join("concat", branches)
        if rng.random() < 0.4:
            g.conv(c, filters=int(rng.integers(2, 9)))
    elif kind == "down":
        if rng.random() < 0.5:
            g.pool(name)
        else:
            g.conv(name)
        if min(g.last()[1][:2]) < 2:
            raise Retry
    elif kind == "act":
        g.act(name)
    elif kind == "bn":   # a batchnorm that is not folded: after a non-conv,
        #                  or after a conv that a later add reads too
        if rng.random() < 0.5:
            c = g.conv(name, same=True)
            b = g.batchnorm(c)
            g.join("add", [b, c] if rng.random() < 0.5 else [c, b])
        else:
            g.batchnorm(name)


def dag_coverage(net):
    """The section 9 features a graph uses (DAG_WANTED lists the ones required)."""
    feats = set()
    readers = {}
    index = {net["input_name"]: -1}
    for i, layer in enumerate(net["layers"]):
        index[layer["name"]] = i
        for n in layer["inputs"]:
            readers.setdefault(n, []).append(layer)
    by_name = {layer["name"]: layer for layer in net["layers"]}
    if net["round"]:
        feats.add("net-round-" + net["round"])
    for i, layer in enumerate(net["layers"]):
        k = layer["kind"]
        feats.add(k)
        if not PLAIN_NAME.match(layer["name"]):
            feats.add("quoted-name")
        src = layer["inputs"][0]
        if k not in ("add", "concat") and index[src] < i - 1:
            feats.add("from")
            if index[src] <= i - 4:
                feats.add("from-far")
        if k in ("add", "concat"):
            feats.add("%s%d" % (k, min(len(layer["inputs"]), 4)))
            if any(index[n] <= i - 4 for n in layer["inputs"]):
                feats.add(k + "-far")
        if k == "batchnorm":
            c = by_name.get(src)
            folded = c is not None and c["kind"] == "conv" and len(readers[src]) == 1
            feats.add("bn-folded" if folded else "bn-standalone")
            if layer["eps"] != 1e-5:
                feats.add("bn-eps")
        if k == "conv":
            d1 = layer["in"][2]
            if layer["groups"] == d1 and d1 > 1:
                feats.add("conv-depthwise")
            elif layer["groups"] > 1:
                feats.add("conv-groups")
            if layer["dilation"] != 1:
                feats.add("conv-dilation")
            if isinstance(layer["dilation"], tuple):
                feats.add("conv-dilation-WxH")
        if k in ("conv", "pool") and not layer.get("global"):
            for key in ("size", "stride", "pad"):
                if isinstance(layer[key], tuple):
                    feats.add("%s-%s-WxH" % (k, key))
            if layer["round"]:
                feats.add("%s-round-%s" % (k, layer["round"]))
                (fw, fh), (sx, sy), (px, py), (rx, ry) = window_params(layer)
                w1, h1, _ = layer["in"]
                if ((w1 + 2 * px - rx * (fw - 1) - 1) % sx or
                        (h1 + 2 * py - ry * (fh - 1) - 1) % sy):   # the rounding matters
                    feats.add("%s-round-%s-inexact" % (k, layer["round"]))
            if net["round"] and layer["round"] != net["round"]:
                feats.add("round-override")
        if k == "pool" and layer["global"]:
            w1, h1, _ = layer["in"]
            feats.add("pool-global-%s%s" % (layer["mode"], "-nonsquare" if w1 != h1 else ""))
        if k == "leakyrelu" and layer["slope"] != 0.01:
            feats.add("leakyrelu-slope")
    out = net["layers"][-1]["out"]
    feats.add("map-output" if out[:2] != (1, 1) else "vector-output")
    return feats


DAG_WANTED = {"from", "from-far", "add2", "add3", "concat2", "concat3", "concat4",
              "add-far", "bn-folded", "bn-standalone", "bn-eps", "conv-groups",
              "conv-depthwise", "conv-dilation", "conv-dilation-WxH", "conv-size-WxH",
              "conv-stride-WxH", "conv-pad-WxH", "pool-size-WxH", "pool-stride-WxH",
              "pool-pad-WxH", "pool-global-max-nonsquare", "pool-global-avg-nonsquare",
              "relu", "relu6", "leakyrelu", "leakyrelu-slope", "sigmoid", "tanh",
              "quoted-name", "net-round-floor", "net-round-ceil", "round-override",
              "conv-round-ceil-inexact", "pool-round-ceil-inexact",
              "conv-round-floor-inexact", "pool-round-floor-inexact",
              "fc", "softmax", "map-output", "vector-output"}


def dags():
    seen = generate(20250117, "d", N_DAGS, lambda rng, idx, name: random_dag(rng, idx), (1, 7, 13), DAG_WANTED,
                    dag_coverage, 6, "random graphs")
    missing = DAG_WANTED - seen
    if missing:   # every feature must be checked against PyTorch somewhere
        raise SystemExit("random graphs miss: " + " ".join(sorted(missing)))


# -- the digits example: its trained weights, its whole data set ------------------

def digits():
    net = sw.load_cnn(os.path.join(ROOT, "examples", "digits", "digits.cnn"))
    params = sw.read_safetensors(os.path.join(ROOT, "examples", "digits", "digits.safetensors"))
    x = np.load(os.path.join(DATA, "digits", "all.npy"))
    ref = torch_forward(net, params, x, torch.float64)
    r32 = error_ratio(torch_forward(net, params, x, torch.float32), ref)
    assert r32 <= 0.1, "digits: float32 model off by %.3g tolerances" % r32
    np.save(os.path.join(DATA, "digits", "out_all.npy"), ref.astype(np.float32))
    print("  digits   %d images, f32 %.2g, max|out| %.3g" % (len(x), r32, float(np.max(np.abs(ref)))))


def main():
    if "--digits-only" in sys.argv:
        digits()
        return 0
    if "--examples-only" in sys.argv:
        examples()
        return 0
    if "--dags-only" in sys.argv:
        print("random graphs:")
        dags()
        return 0
    if "--random-only" not in sys.argv:
        print("digits:")
        digits()
        print("examples:")
        examples()
    print("random networks:")
    randoms()
    print("random graphs:")
    dags()
    return 0


if __name__ == "__main__":
    sys.exit(main())
