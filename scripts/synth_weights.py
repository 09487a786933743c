#!/usr/bin/python3
"""Deterministic weights for a .cnn network, written as safetensors.

    python3 scripts/synth_weights.py NET.cnn OUT.safetensors [--seed NAME]

Writes every parameter tensor of NET.cnn that is not given inline
(`<layer>.weight` [K, D, F, F] or [K, N], `<layer>.bias` [K]) as F32. The values
come from a formula, not a random generator whose stream could change between
numpy versions: element i of tensor T is splitmix64((crc32(SEED/T) << 32) + i),
its top 24 bits mapped to u in [-1, 1), times He's bound sqrt(6 / fan_in)
(fan_in = D*F*F for conv, N for fc), rounded to float32. SEED defaults to the
network's name. The same bits come out on every machine, so the VGG-16 and
AlexNet goldens (tests/data/vgg16, tests/data/alexnet) commit only inputs and
outputs and tests/e2e/run_goldens.sh regenerates their 553 MB and 244 MB of
weights with this script at test time.

Needs Python 3 and numpy only (Debian's python3-numpy). scripts/make_goldens.py,
scripts/train_digits.py and scripts/make_filter_images.py import this file for
its .cnn parser (the subset of SPEC section 1 the examples and generated
networks use), its shape rule (SPEC section 2) and its safetensors writer.
"""

import json
import math
import re
import struct
import sys
import zlib

import numpy as np

# -- the .cnn language (SPEC section 1 and 8) ---------------------------------

NAME_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*:\s*")


def _strip_comments(text):
    lines = []
    for line in text.split("\n"):
        cut = len(line)
        for mark in ("#", "//"):
            at = line.find(mark)
            if at >= 0:
                cut = min(cut, at)
        lines.append(line[:cut])
    return "\n".join(lines)


def _statements(body):
    """Splits a network body on newlines and ';' outside [...] lists."""
    out, cur, depth = [], [], 0
    for ch in body:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if depth == 0 and ch in "\n;":
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(" " if ch in "\r\t\n" else ch)
    out.append("".join(cur).strip())
    return [s for s in out if s]


def _floats(text):
    return [float(v) for v in text.replace(",", " ").split()]


def parse_cnn(text):
    """Returns {'name', 'input': (W, H, D), 'mean', 'std', 'layers': [...]}.

    Each layer is a dict with 'kind', 'name' and its keys (ints, floats, lists);
    pool layers carry 'mode' ('max'/'avg'), fc layers 'filters' (K).
    Defaults are filled in (stride=size, pad=0, bias=True, round=None).
    Only valid sources are expected: cnnc itself checks the bad ones.
    """
    text = _strip_comments(text)
    m = re.search(r"network\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{", text)
    if not m:
        raise ValueError("no 'network NAME {'")
    body = text[m.end():text.rindex("}")]
    net = {"name": m.group(1), "mean": None, "std": None, "layers": []}
    counts = {}
    for stmt in _statements(body):
        stmt = re.sub(r"\s*=\s*", "=", stmt)
        stmt = re.sub(r"\s*,\s*", ",", stmt)
        name = None
        nm = NAME_RE.match(stmt)
        if nm:
            name, stmt = nm.group(1), stmt[nm.end():]
        toks = re.findall(r"[A-Za-z_]+=\[[^\]]*\]|\S+", stmt)
        kind, args = toks[0], toks[1:]
        counts[kind] = counts.get(kind, 0) + 1
        if kind == "input":
            w, h, d = (int(v) for v in args[0].split("x"))
            net["input"] = (w, h, d)
            for a in args[1:]:
                key, val = a.split("=", 1)
                net[key] = _floats(val)
            continue
        layer = {"kind": kind, "name": name or "%s%d" % (kind, counts[kind])}
        for a in args:
            if "=" in a:
                key, val = a.split("=", 1)
                if val.startswith("["):
                    layer[key] = _floats(val.strip("[]"))
                elif val in ("true", "false"):
                    layer[key] = val == "true"
                elif key in ("round",):
                    layer[key] = val
                elif key == "p":
                    layer[key] = float(val)
                else:
                    layer[key] = int(val)
            elif kind == "pool":
                layer["mode"] = a
            elif kind == "fc":
                layer["filters"] = int(a)
        if kind in ("conv", "pool"):
            # stride defaults to 1 for conv, to the window's size for pool
            layer.setdefault("stride", 1 if kind == "conv" else layer["size"])
            layer.setdefault("pad", 0)
            layer.setdefault("round", None)
        if kind in ("conv", "fc"):
            layer.setdefault("bias", True)
        net["layers"].append(layer)
    return net


def window(w1, f, s, p, rnd):
    """SPEC section 2: (W1 - F + 2P)/S + 1, exact or rounded as round= says."""
    num = w1 - f + 2 * p
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
    """Fills each layer's 'in' and 'out' (W, H, D); returns the output shape."""
    shape = net["input"]
    for layer in net["layers"]:
        w, h, d = shape
        layer["in"] = shape
        k = layer["kind"]
        if k in ("conv", "pool"):
            f, s, p, r = layer["size"], layer["stride"], layer["pad"], layer["round"]
            shape = (window(w, f, s, p, r), window(h, f, s, p, r),
                     layer["filters"] if k == "conv" else d)
        elif k == "fc":
            shape = (1, 1, layer["filters"])
        elif k == "flatten":
            shape = (1, 1, w * h * d)
        layer["out"] = shape
    return shape


def param_shapes(net):
    """[(tensor name, shape, fan_in, layer)] for every parameter, in order."""
    out = []
    for layer in net["layers"]:
        w, h, d = layer["in"]
        if layer["kind"] == "conv":
            f, k = layer["size"], layer["filters"]
            wshape, fan = (k, d, f, f), d * f * f
        elif layer["kind"] == "fc":
            k = layer["filters"]
            wshape, fan = (k, w * h * d), w * h * d
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


def synth_tensor(seed_name, tensor_name, shape, fan_in, chunk=1 << 22):
    """float32 array of `shape`: the formula in this file's header."""
    n = int(np.prod(shape, dtype=np.int64))
    base = np.uint64(zlib.crc32(("%s/%s" % (seed_name, tensor_name)).encode()) << 32)
    bound = math.sqrt(6.0 / fan_in)
    out = np.empty(n, dtype=np.float32)
    for start in range(0, n, chunk):
        idx = np.arange(start, min(n, start + chunk), dtype=np.uint64)
        bits = _splitmix64(base + idx) >> np.uint64(40)          # 24 bits
        u = bits.astype(np.float64) * (2.0 / (1 << 24)) - 1.0    # exact, in [-1, 1)
        out[start:start + len(idx)] = (u * bound).astype(np.float32)
    return out.reshape(shape)


def synth_weights(net, seed_name=None):
    """{tensor name: float32 array} for every parameter not given inline."""
    seed_name = seed_name or net["name"]
    tensors = {}
    for name, shape, fan, layer in param_shapes(net):
        if "weights" in layer:  # inline parameters win (SPEC section 8)
            continue
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
    """The format by hand: u64 LE header length, JSON header, raw LE data."""
    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        if dtype == "BF16":
            data = _bf16_bytes(arr)
        else:
            data = np.ascontiguousarray(arr, dtype=_DTYPES[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # keep the data 8-byte aligned, as safetensors does
    with open(path, "wb") as fp:
        fp.write(struct.pack("<Q", len(text)))
        fp.write(text)
        for data in blobs:
            fp.write(data)


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
    seed = None
    if "--seed" in args:
        i = args.index("--seed")
        seed = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        sys.stderr.write("usage: synth_weights.py NET.cnn OUT.safetensors [--seed NAME]\n")
        return 2
    net = load_cnn(args[0])
    write_safetensors(args[1], synth_weights(net, seed))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
