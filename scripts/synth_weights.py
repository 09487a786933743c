#!/usr/bin/python3
"""Deterministic weights for a .cnn network, written as safetensors.

    python3 scripts/synth_weights.py NET.cnn OUT.safetensors [--seed NAME] [--zeros]

Writes every parameter tensor of NET.cnn that is not given inline
(`<layer>.weight` [K, D/G, Fh, Fw] or [K, N], `<layer>.bias` [K], and a
batchnorm's `.weight`, `.bias`, `.running_mean`, `.running_var` [D]) as F32.
The values come from a formula, not a random generator whose stream could
change between numpy versions: element i of tensor T is
splitmix64((crc32(SEED/T) << 32) + i), its top 24 bits mapped to u in
[-1, 1), times He's bound sqrt(6 / fan_in) (fan_in = D/G*Fw*Fh for conv, N
for fc), rounded to float32; for a batchnorm, weight 1 + u/2, bias and
running_mean u/2, running_var 2^u (batchnorm_tensor). SEED defaults to the
network's name. The same bits come out on every machine, so the VGG-16 and
AlexNet goldens (tests/data/vgg16, tests/data/alexnet) commit only inputs and
outputs and tests/e2e/run_goldens.sh regenerates their 553 MB and 244 MB of
weights with this script at test time. With --zeros every tensor is 0: a
network's code without its weights' text, whose bytes would dwarf it
(tests/peer/run_peer.sh).

Needs Python 3 and numpy only (Debian's python3-numpy). scripts/make_goldens.py,
scripts/train_digits.py and scripts/make_filter_images.py import this file for
its .cnn parser (SPEC sections 1, 8 and 9: the chains and the graphs, with
from=, add, concat, quoted names, batchnorm, groups, dilation, WxH windows,
global pools and the activations; valid sources only, cnnc checks the bad
ones), its shape rule (SPEC sections 2 and 9) and its safetensors writer.
"""

import json
import os
import math
import re
import struct
import sys
import zlib

import numpy as np

# -- the .cnn language (SPEC sections 1, 8 and 9) ------------------------------

# A layer's name before ':': a plain name (dotted parts allowed) or, SPEC
# section 9, anything but '"' and newline in double quotes.
NAME_RE = re.compile(r'^(?:([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)|"([^"\n]*)")\s*:\s*')
NETWORK_RE = re.compile(r"network\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?:round\s*=\s*(floor|ceil)\s*)?\{")
WINDOW_KEYS = ("size", "stride", "pad", "dilation")   # integers, or WxH pairs
FLOAT_KEYS = ("p", "eps", "slope")
ACTIVATIONS = ("relu", "relu6", "leakyrelu", "sigmoid", "tanh", "softmax", "dropout")


def _outside_quotes(text, fn):
    """Applies fn to the parts of text outside "..." names, keeping those as written."""
    parts = re.split(r'("[^"\n]*")', text)
    return "".join(p if i % 2 else fn(p) for i, p in enumerate(parts))


def _strip_comments(text):
    """Cuts '#' and '//' comments; a quoted name may hold either."""
    lines = []
    for line in text.split("\n"):
        cut, quoted, i = len(line), False, 0
        while i < len(line):
            ch = line[i]
            if ch == '"':
                quoted = not quoted
            elif not quoted and (ch == "#" or line.startswith("//", i)):
                cut = i
                break
            i += 1
        lines.append(line[:cut])
    return "\n".join(lines)


def _statements(body):
    """Splits a network body on newlines and ';' outside [...] lists and names."""
    out, cur, depth, quoted = [], [], 0, False
    for ch in body:
        if ch == '"' and depth == 0:
            quoted = not quoted
        elif quoted:
            pass
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if depth == 0 and not quoted and ch in "\n;":
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(" " if ch in "\r\t\n" else ch)
    out.append("".join(cur).strip())
    return [s for s in out if s]


def _floats(text):
    return [float(v) for v in text.replace(",", " ").split()]


def _names(tok):
    """The layer names in one token: 'a,b', '"0","x y"', 'from' values."""
    return [q if q or not p else p for q, p in re.findall(r'"([^"\n]*)"|([^,"]+)', tok)
            if q or p]


def _ints(val):
    """'3' -> 3, '3x1' -> (3, 1) (width x height, SPEC section 9)."""
    if "x" in val:
        return tuple(int(v) for v in val.split("x"))
    return int(val)


def pair(v):
    """An int or (w, h) as (w, h)."""
    return (v, v) if isinstance(v, int) else tuple(v)


def parse_cnn(text):
    """Returns {'name', 'round', 'input': (W, H, D), 'input_name', 'mean', 'std',
    'layers': [...]}.

    Each layer is a dict with 'kind', 'name', 'inputs' (the names it reads) and
    its keys (ints, floats, lists; size/stride/pad/dilation an int or a (w, h)
    pair as written); pool layers carry 'mode' ('max'/'avg') and 'global',
    fc layers 'filters' (K). Defaults are filled in (stride=size for pools,
    else 1, pad=0, groups=1, dilation=1, bias=True, round=the network's,
    eps=1e-5, slope=0.01). Only valid sources are expected: cnnc itself
    checks the bad ones.
    """
    text = _strip_comments(text)
    m = NETWORK_RE.search(text)
    if not m:
        raise ValueError("no 'network NAME {'")
    body = text[m.end():text.rindex("}")]
    net = {"name": m.group(1), "round": m.group(2), "mean": None, "std": None,
           "input_name": "input", "layers": []}
    counts = {}
    prev = None
    for stmt in _statements(body):
        stmt = _outside_quotes(stmt, lambda s: re.sub(r"\s*,\s*", ",", re.sub(r"\s*=\s*", "=", s)))
        name = None
        nm = NAME_RE.match(stmt)
        if nm:
            name = nm.group(1) if nm.group(1) is not None else nm.group(2)
            stmt = stmt[nm.end():]
        toks = re.findall(r'[A-Za-z_]+=\[[^\]]*\]|(?:[^\s"]|"[^"\n]*")+', stmt)
        kind, args = toks[0], toks[1:]
        counts[kind] = counts.get(kind, 0) + 1
        if kind == "input":
            w, h, d = (int(v) for v in args[0].split("x"))
            net["input"] = (w, h, d)
            net["input_name"] = prev = name or "input"
            for a in args[1:]:
                key, val = a.split("=", 1)
                net[key] = _floats(val)
            continue
        default = "%s%s%d" % (kind, "_" if kind[-1].isdigit() else "", counts[kind])
        layer = {"kind": kind, "name": name or default}
        for a in args:
            if "=" in a and not a.startswith('"'):
                key, val = a.split("=", 1)
                if val.startswith("["):
                    layer[key] = _floats(val.strip("[]"))
                elif val in ("true", "false"):
                    layer[key] = val == "true"
                elif key in ("round",):
                    layer[key] = val
                elif key == "from":
                    layer[key] = _names(val)[0]
                elif key in FLOAT_KEYS:
                    layer[key] = float(val)
                elif key in WINDOW_KEYS:
                    layer[key] = _ints(val)
                else:
                    layer[key] = int(val)
            elif kind == "pool":
                if a == "global":
                    layer["global"] = True
                else:
                    layer["mode"] = a
            elif kind == "fc":
                layer["filters"] = int(a)
            elif kind in ("add", "concat"):
                layer.setdefault("inputs", []).extend(_names(a))
        if kind not in ("add", "concat"):
            layer["inputs"] = [layer.pop("from", prev)]
        if kind == "pool":
            layer.setdefault("global", False)
        if kind in ("conv", "pool") and not layer.get("global"):
            # stride defaults to 1 for conv, to the window's size for pool
            layer.setdefault("stride", 1 if kind == "conv" else layer["size"])
            layer.setdefault("pad", 0)
            layer.setdefault("round", net["round"])
        if kind == "conv":
            layer.setdefault("groups", 1)
            layer.setdefault("dilation", 1)
        if kind in ("conv", "fc"):
            layer.setdefault("bias", True)
        if kind == "batchnorm":
            layer.setdefault("eps", 1e-5)
        if kind == "leakyrelu":
            layer.setdefault("slope", 0.01)
        net["layers"].append(layer)
        prev = layer["name"]
    return net


def window(w1, f, s, p, rnd, dilation=1):
    """SPEC section 2: (W1 - F + 2P)/S + 1, exact or rounded as round= says,
    with F the dilated window's span R*(F-1)+1 (section 9)."""
    num = w1 - (dilation * (f - 1) + 1) + 2 * p
    if num < 0:
        raise ValueError("window does not fit")
    if num % s == 0 or rnd == "floor":
        return num // s + 1
    if rnd == "ceil":
        out = -(-num // s) + 1
        if (out - 1) * s >= w1 + p:  # PyTorch's ceil_mode: start inside input or left pad
            out -= 1
        return out
    raise ValueError("(%d - %d + 2*%d)/%d + 1 is not a whole number" % (w1, f, p, s))


def shapes(net):
    """Fills each layer's 'in' (its first input's shape), 'ins' (every input's)
    and 'out' (W, H, D); returns the output shape (the last layer's)."""
    shape_of = {net["input_name"]: net["input"]}
    shape = net["input"]
    for layer in net["layers"]:
        ins = [shape_of[n] for n in layer["inputs"]]
        layer["in"], layer["ins"] = ins[0], ins
        w, h, d = ins[0]
        k = layer["kind"]
        if k == "pool" and layer["global"]:
            shape = (1, 1, d)
        elif k in ("conv", "pool"):
            (fw, fh), (sw_, sh), (pw, ph) = (pair(layer[key]) for key in ("size", "stride", "pad"))
            dw, dh = pair(layer.get("dilation", 1))
            r = layer["round"]
            shape = (window(w, fw, sw_, pw, r, dw), window(h, fh, sh, ph, r, dh),
                     layer["filters"] if k == "conv" else d)
        elif k == "fc":
            shape = (1, 1, layer["filters"])
        elif k == "flatten":
            shape = (1, 1, w * h * d)
        elif k == "add":
            if any(s != ins[0] for s in ins):
                raise ValueError("add of different shapes %s" % (ins,))
            shape = ins[0]
        elif k == "concat":
            if any(s[:2] != ins[0][:2] for s in ins):
                raise ValueError("concat of different sizes %s" % (ins,))
            shape = (w, h, sum(s[2] for s in ins))
        else:
            shape = ins[0]
        layer["out"] = shape_of[layer["name"]] = shape
    return shape


BATCHNORM_TENSORS = ("weight", "bias", "running_mean", "running_var")


def param_shapes(net):
    """[(tensor name, shape, fan_in, layer)] for every parameter, in order;
    a batchnorm's four tensors (fan_in None: see batchnorm_tensor)."""
    out = []
    for layer in net["layers"]:
        w, h, d = layer["in"]
        if layer["kind"] == "conv":
            (fw, fh), k, g = pair(layer["size"]), layer["filters"], layer["groups"]
            wshape, fan = (k, d // g, fh, fw), d // g * fh * fw
        elif layer["kind"] == "fc":
            k = layer["filters"]
            wshape, fan = (k, w * h * d), w * h * d
        elif layer["kind"] == "batchnorm":
            out.extend((layer["name"] + "." + t, (d,), None, layer) for t in BATCHNORM_TENSORS)
            continue
        else:
            continue
        out.append((layer["name"] + ".weight", wshape, fan, layer))
        if layer["bias"]:
            out.append((layer["name"] + ".bias", (k,), fan, layer))
    return out


def load_cnn(path):
    with open(path) as fp:
        net = parse_cnn(fp.read())
    shapes(net)
    return net


# -- the weight formula --------------------------------------------------------

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(z):
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _uniform(seed_name, tensor_name, n, chunk=1 << 22):
    """The formula's u in [-1, 1), float64, for elements 0 .. n-1 of a tensor."""
    base = np.uint64(zlib.crc32(("%s/%s" % (seed_name, tensor_name)).encode()) << 32)
    for start in range(0, n, chunk):
        idx = np.arange(start, min(n, start + chunk), dtype=np.uint64)
        bits = _splitmix64(base + idx) >> np.uint64(40)          # 24 bits
        yield start, bits.astype(np.float64) * (2.0 / (1 << 24)) - 1.0   # exact


def synth_tensor(seed_name, tensor_name, shape, fan_in, chunk=1 << 22):
    """float32 array of `shape`: the formula in this file's header."""
    n = int(np.prod(shape, dtype=np.int64))
    bound = math.sqrt(6.0 / fan_in)
    out = np.empty(n, dtype=np.float32)
    for start, u in _uniform(seed_name, tensor_name, n, chunk):
        out[start:start + len(u)] = (u * bound).astype(np.float32)
    return out.reshape(shape)


def batchnorm_tensor(seed_name, tensor_name, depth):
    """A batchnorm's statistic, far from the identity so that a wrong fold
    shows: weight 1 + u/2, bias and running_mean u/2, running_var 2^u (in
    [0.5, 2), positive), from the same u as the other tensors."""
    u = next(_uniform(seed_name, tensor_name, depth))[1]
    leaf = tensor_name.rsplit(".", 1)[1]
    v = {"weight": 1 + u / 2, "bias": u / 2, "running_mean": u / 2,
         "running_var": np.exp2(u)}[leaf]
    return v.astype(np.float32)


def synth_weights(net, seed_name=None):
    """{tensor name: float32 array} for every parameter not given inline."""
    seed_name = seed_name or net["name"]
    tensors = {}
    for name, shape, fan, layer in param_shapes(net):
        if "weights" in layer:  # inline parameters win (SPEC section 8)
            continue
        if layer["kind"] == "batchnorm":
            tensors[name] = batchnorm_tensor(seed_name, name, shape[0])
        else:
            tensors[name] = synth_tensor(seed_name, name, shape, fan)
    return tensors


# -- safetensors -----------------------------------------------------------------

_DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2"}


def _bf16_bytes(a):
    """float32 -> bfloat16 (round to nearest even) as little-endian bytes."""
    u = np.ascontiguousarray(a, dtype="<f4").view("<u4").astype(np.uint64)
    u = (u + np.uint64(0x7FFF) + ((u >> np.uint64(16)) & np.uint64(1))) >> np.uint64(16)
    return u.astype("<u2").tobytes()


def write_safetensors(path, tensors, dtype="F32"):
    """The format by hand: u64 LE header length, JSON header, raw LE data.
    Float tensors are written as dtype; int64 ones (PyTorch's
    num_batches_tracked) as I64. Written to a temporary file, then renamed."""
    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        arr = np.asarray(arr)  # not ascontiguousarray: it makes a scalar 1-d
        kind = "I64" if arr.dtype == np.int64 else dtype
        if kind == "I64":
            data = arr.astype("<i8").tobytes()
        elif kind == "BF16":
            data = _bf16_bytes(arr)
        else:
            data = np.ascontiguousarray(arr, dtype=_DTYPES[kind]).tobytes()
        header[name] = {"dtype": kind, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # keep the data 8-byte aligned, as safetensors does
    tmp = path + ".tmp"
    with open(tmp, "wb") as fp:
        fp.write(struct.pack("<Q", len(text)))
        fp.write(text)
        for data in blobs:
            fp.write(data)
    os.replace(tmp, path)


def read_safetensors(path):
    """{name: float32 array}: reads back F32, F64, F16 and BF16."""
    with open(path, "rb") as fp:
        raw = fp.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        data = raw[base + a:base + b]
        if info["dtype"] == "BF16":
            u = np.frombuffer(data, dtype="<u2").astype("<u4") << 16
            arr = u.view("<f4")
        else:
            arr = np.frombuffer(data, dtype=_DTYPES[info["dtype"]])
        out[name] = arr.astype(np.float32).reshape(info["shape"])
    return out


def main(argv):
    args = list(argv[1:])
    seed, zeros = None, "--zeros" in args
    if zeros:
        args.remove("--zeros")
    if "--seed" in args:
        i = args.index("--seed")
        seed = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        sys.stderr.write("usage: synth_weights.py NET.cnn OUT.safetensors [--seed NAME] [--zeros]\n")
        return 2
    net = load_cnn(args[0])
    if zeros:
        tensors = {name: np.zeros(shape, np.float32)
                   for name, shape, _, layer in param_shapes(net) if "weights" not in layer}
    else:
        tensors = synth_weights(net, seed)
    write_safetensors(args[1], tensors)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
