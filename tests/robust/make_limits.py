#!/usr/bin/env python3
"""Writes the inputs of the limits table (run_limits.sh) into DIR, with the
standard library only: huge declared sizes, huge sources, hostile weights
files and tensors. usage: make_limits.py DIR"""
import json
import os
import struct
import sys

d = sys.argv[1]


def put(name, data):
    with open(os.path.join(d, name), "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def st(entries, data=b"", hlen=None):
    """A safetensors file: entries name -> (dtype, shape, [begin, end])."""
    h = json.dumps({k: {"dtype": t, "shape": s, "data_offsets": o} for k, (t, s, o) in entries.items()}).encode()
    return struct.pack("<Q", len(h) if hlen is None else hlen) + h + data


# Sizes declared in sources.
put("input_2e40.cnn", "network big {\n  input 1048576x1048576x1\n  relu\n}\n")
put("input_overflow.cnn", "network big {\n  input 4294967296x4294967296x1\n}\n")
put("fc_overflow.cnn", "network big {\n  input 65536x65536x1\n  fc 4294967296\n}\n")
put("conv_overflow.cnn", "network big {\n  input 8x8x4294967296\n  conv filters=4294967296 size=1\n}\n")
# Sources that are big in other ways.
put("line_10mb.cnn", "network l {\n  input 8x8x1   # " + "x" * 10_000_000 + "\n  relu\n}\n")
put("line_10mb_error.cnn", "network l {\n  input 8x8x1\n" + " " * 10_000_000 + "relu strid=2\n}\n")
put("layers_1m.cnn", "network m {\n  input 8x8x1\n" + "  relu\n" * 1_000_000 + "}\n")
put("names_repeated.cnn", "network n {\n  input 8x8x1\n" + "  a: relu\n" * 100_000 + "}\n")
put("names_deep.cnn", "network n {\n  input 8x8x1\n" + "".join(
    "  %s: relu\n" % ".".join(["layer"] * 1000 + [str(i)]) for i in range(1000)) + "}\n")
# Weights files for examples/lenet.cnn that lie about their sizes.
w = struct.pack("<f", 1.0) * 150
put("st_header_2e62.safetensors", st({"conv1.weight": ("F32", [6, 1, 5, 5], [0, 600])}, w, hlen=1 << 62))
put("st_offsets_past_end.safetensors", st({"conv1.weight": ("F32", [6, 1, 5, 5], [0, 1 << 40])}, w))
put("st_shape_overflow.safetensors", st({"conv1.weight": ("F32", [1 << 40, 1 << 40, 1 << 40], [0, 600])}, w))
put("st_offsets_wrap.safetensors", st({"conv1.weight": ("F32", [6, 1, 5, 5], [(1 << 64) - 8, 592])}, w))
# An .npy whose shape's product overflows, for a LeNet program.
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }"
hdr += " " * (63 - (10 + len(hdr)) % 64) + "\n"
put("npy_overflow.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode())
