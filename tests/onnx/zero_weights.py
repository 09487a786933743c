#!/usr/bin/env python3
"""Writes a safetensors file of zeros for every parameter tensor a network's
JSON report (cnnc --report=json) implies, named as cnnc names them
(<layer>.weight ...). Standard library only: the ONNX CLI test runs it.

    zero_weights.py REPORT.json OUT.safetensors [SKIP_NAME]

SKIP_NAME leaves one tensor out, for the error a short file gets.
"""
import json
import struct
import sys


def pair(v):
    return (v, v) if isinstance(v, int) else (v[0], v[1])  # width, height


def main():
    rep = json.load(open(sys.argv[1]))
    skip = sys.argv[3] if len(sys.argv) > 3 else None
    shape = {l["name"]: l["output"] for l in rep["layers"]}  # W, H, D
    tensors = []
    for l in rep["layers"]:
        name, op = l["name"], l["op"]
        ins = [shape[i] for i in l["inputs"]]
        if op == "conv":
            w, h = pair(l["size"])
            tensors.append((name + ".weight", [l["filters"], ins[0][2] // l["groups"], h, w]))
            if l["bias"]:
                tensors.append((name + ".bias", [l["filters"]]))
        elif op == "fc":
            n = ins[0][0] * ins[0][1] * ins[0][2]
            tensors.append((name + ".weight", [l["outputs"], n]))
            if l["bias"]:
                tensors.append((name + ".bias", [l["outputs"]]))
        elif op == "batchnorm":
            for role in ("weight", "bias", "running_mean", "running_var"):
                tensors.append((f"{name}.{role}", [ins[0][2]]))
    header, offset = {}, 0
    for name, dims in tensors:
        if name == skip:
            continue
        count = 1
        for d in dims:
            count *= d
        header[name] = {"dtype": "F32", "shape": dims, "data_offsets": [offset, offset + 4 * count]}
        offset += 4 * count
    text = json.dumps(header).encode()
    with open(sys.argv[2], "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + bytes(offset))


main()
