#!/usr/bin/python3
"""Whole-network goldens from PyTorch: tests/data/<net>/ and tests/data/random/.

Regenerate (from the repository root; takes about a minute, then review and commit):

    /usr/bin/python3 scripts/make_goldens.py

It needs PyTorch and numpy (Debian's python3-torch 1.13 under /usr/bin/python3);
it does not run cnnc. For every examples/*.cnn that can be compiled, and for 24
generated networks (tests/data/random/rNN.cnn: random chains of conv, relu, pool
max/avg, fc, softmax, dropout and flatten with random sizes, strides, pads,
exact/floor/ceil rounding, with or without bias), it reads the .cnn text with
the parser of scripts/synth_weights.py, builds the model in PyTorch
(torch.nn.functional, NCHW) and writes into tests/data/<net>/ (random ones in
tests/data/random/<net>/):

    <net>.safetensors  the weights, F32 (scripts/synth_weights.py's formula)
    in1.npy, out1.npy  one input (1, D, H, W) and the reference output
    in7.npy, out7.npy  a batch of 7 and its output
    in13.npy, out13.npy  for the examples small enough to run naively, a batch
                       of 13: a group of 8, one of 4 and one image, as
                       executables run them (codegen/module.c)

Outputs are (N, K) for a vector output (W = H = 1), else (N, D, H, W), float32,
computed in float64 from the float32 weights and inputs. Inputs are uniform in
[0, 1) for the examples (like scaled images) and standard normal for the random
networks; .npy inputs bypass the input layer's mean/std (SPEC section 8).

Too big to commit: VGG-16 (553 MB of weights) and AlexNet (244 MB) get no
weights file but a file `synth_weights` saying how to make it at test time
(scripts/synth_weights.py NET.cnn OUT --seed NAME).
Skipped: disaster.cnn (64 GB of weights); edge.cnn and emboss.cnn, whose
512x512 goldens are the ascent photo's (scripts/make_filter_images.py).
slides gets three more copies of its weights, slides.{f16,bf16,f64}.safetensors,
with values chosen exactly representable in all four dtypes (multiples of
1/256), so that out1/out7 are the expected outputs for every copy.

`--random-only` remakes just the random networks (a second), `--examples-only`
just the examples.
The digits example's trained network gets the outputs (logits) of its whole
data set, tests/data/digits/out_all.npy, for the cross-target tests
(`--digits-only` remakes just that).

Checks before writing: a float32 run of the model agrees with the float64
reference within the tests' tolerance (max|out - ref| <= 1e-4 x max(1,
max|ref|), tests/tolerance.h), a naive numpy implementation of the layers,
written apart from the PyTorch one and after SPEC sections 1-2, agrees with it
to 1e-9 (all but the two big networks), and the golden is sensitive: scaling
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
SYNTH_BYTES = 20 << 20      # weights above this are synthesised at test time
N_RANDOM = 24


# -- the model in PyTorch ----------------------------------------------------------

def conv_extra(w1, layer, out):
    """Zeros past the right padding that a round=ceil conv's last window reads."""
    need = (out - 1) * layer["stride"] + layer["size"]
    return max(0, need - (w1 + 2 * layer["pad"]))


def layer_params(layer, params):
    """(weight, bias) as float32 numpy, inline ones taken from the layer."""
    name = layer["name"]
    if "weights" in layer:
        k = layer["filters"]
        w1, h1, d1 = layer["in"]
        shape = ((k, d1, layer["size"], layer["size"]) if layer["kind"] == "conv"
                 else (k, w1 * h1 * d1))
        w = np.array(layer["weights"], dtype=np.float32).reshape(shape)
        b = np.array(layer["biases"], dtype=np.float32) if layer["bias"] else None
        return w, b
    return params[name + ".weight"], params.get(name + ".bias")


def torch_forward(net, params, x, dtype):
    """x: numpy (N, D, H, W); returns numpy in the programs' output layout."""
    t = torch.from_numpy(np.ascontiguousarray(x)).to(dtype)
    for layer in net["layers"]:
        kind = layer["kind"]
        if kind == "conv":
            w, b = layer_params(layer, params)
            w = torch.from_numpy(w).to(dtype)
            b = None if b is None else torch.from_numpy(b).to(dtype)
            p = layer["pad"]
            (w2, h2, _), (w1, h1, _) = layer["out"], layer["in"]
            t = F.pad(t, (p, p + conv_extra(w1, layer, w2), p, p + conv_extra(h1, layer, h2)))
            t = F.conv2d(t, w, b, stride=layer["stride"])
        elif kind == "pool":
            args = (layer["size"], layer["stride"], layer["pad"])
            ceil = layer["round"] == "ceil"
            if layer["mode"] == "max":
                t = F.max_pool2d(t, *args, ceil_mode=ceil)
            else:
                t = F.avg_pool2d(t, *args, ceil_mode=ceil, count_include_pad=True)
        elif kind == "fc":
            w, b = layer_params(layer, params)
            t = F.linear(t.reshape(t.shape[0], -1), torch.from_numpy(w).to(dtype),
                         None if b is None else torch.from_numpy(b).to(dtype))
            t = t.reshape(t.shape[0], -1, 1, 1)
        elif kind == "flatten":
            t = t.reshape(t.shape[0], -1, 1, 1)
        elif kind == "relu":
            t = F.relu(t)
        elif kind == "softmax":
            t = F.softmax(t, dim=1)
        elif kind == "dropout":
            pass
        else:
            raise ValueError("unknown layer kind " + kind)
        assert tuple(t.shape[1:]) == tuple(reversed(layer["out"])), (layer, t.shape)
    return output_layout(t.numpy())


def output_layout(y):
    return y.reshape(y.shape[0], -1) if y.shape[2] == 1 and y.shape[3] == 1 else y


# -- the same, naively in numpy, after SPEC sections 1-2 ------------------------

def np_windows(w1, out, f, s, p):
    """Per output index: the window's cells in padded coordinates [lo, hi)."""
    lo = np.arange(out) * s - p
    return lo, lo + f


def np_forward(net, params, x):
    a = x.astype(np.float64)
    for layer in net["layers"]:
        kind = layer["kind"]
        n = a.shape[0]
        if kind == "conv":
            w, b = layer_params(layer, params)
            w = w.astype(np.float64)
            (w2, h2, k), (w1, h1, d1) = layer["out"], layer["in"]
            f, s, p = layer["size"], layer["stride"], layer["pad"]
            big = np.zeros((n, d1, h1 + 2 * p + f + s * h2, w1 + 2 * p + f + s * w2))
            big[:, :, p:p + h1, p:p + w1] = a   # zero padding, and zeros past it (ceil)
            out = np.zeros((n, k, h2, w2))
            for fy in range(f):
                for fx in range(f):
                    patch = big[:, :, fy:fy + s * h2:s, fx:fx + s * w2:s]
                    out += np.einsum("kd,ndhw->nkhw", w[:, :, fy, fx], patch)
            if b is not None:
                out += b.astype(np.float64)[None, :, None, None]
            a = out
        elif kind == "pool":
            (w2, h2, d), (w1, h1, _) = layer["out"], layer["in"]
            f, s, p = layer["size"], layer["stride"], layer["pad"]
            out = np.zeros((n, d, h2, w2))
            for oy in range(h2):
                y0 = oy * s - p
                y1 = y0 + f
                for ox in range(w2):
                    x0 = ox * s - p
                    x1 = x0 + f
                    cells = a[:, :, max(y0, 0):min(y1, h1), max(x0, 0):min(x1, w1)]
                    if layer["mode"] == "max":   # max ignores padding
                        out[:, :, oy, ox] = cells.max(axis=(2, 3))
                    else:   # avg: zeros of the padding count, cells past it do not
                        div = ((min(y1, h1 + p) - y0) * (min(x1, w1 + p) - x0))
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
        elif kind == "relu":
            a = np.maximum(a, 0)
        elif kind == "softmax":
            e = np.exp(a - a.max(axis=1, keepdims=True))
            a = e / e.sum(axis=1, keepdims=True)
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


def randoms():
    rng = np.random.default_rng(20240611)
    rdir = os.path.join(DATA, "random")
    os.makedirs(rdir, exist_ok=True)
    seen = set()
    for idx in range(1, N_RANDOM + 1):
        while True:
            try:
                text = random_net(rng, idx)
            except (Retry, ValueError):
                continue
            name = "r%02d" % idx
            text = fill_inline(text, name)
            net = sw.parse_cnn(text)
            sw.shapes(net)
            params = sw.synth_weights(net, name)
            w, h, d = net["input"]
            inputs = {"1": rng.standard_normal((1, d, h, w), dtype=np.float32),
                      "7": rng.standard_normal((7, d, h, w), dtype=np.float32)}
            ref = torch_forward(net, params, inputs["1"], torch.float64)
            sens = sensitivity(net, params, inputs["1"], ref)
            if sens is None or sens < 10:
                continue   # too flat a network to tell a wrong result from a right one
            missing = WANTED - seen
            if idx > N_RANDOM - 4 and missing and not coverage(net) & missing:
                continue   # the last few fill in what the others missed
            break
        path = os.path.join(rdir, name + ".cnn")
        with open(path, "w") as fp:
            fp.write(text)
        net = sw.load_cnn(path)
        seen |= coverage(net)
        make(net, os.path.join(rdir, name), params, inputs, seed=name)
    print("random networks cover: " + " ".join(sorted(seen)))
    missing = WANTED - seen
    if missing:
        print("warning: random networks miss: " + " ".join(sorted(missing)))


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
    if "--random-only" not in sys.argv:
        print("digits:")
        digits()
        print("examples:")
        examples()
    print("random networks:")
    randoms()
    return 0


if __name__ == "__main__":
    sys.exit(main())
