#!/usr/bin/env python3
"""Writes a ModelProto of COUNT Relu nodes in a chain, every node named the
same, to check that cnnc keeps its layers' names unique in time linear in
the graph (it once searched every earlier name for every suffix it tried,
and a 10,000-node model hung). Plain Python, made at test time: the file is
a quarter of a megabyte.

    make_chain.py OUT COUNT
"""
import sys


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def field(num, payload):
    """A length-delimited field (strings and messages)."""
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def dim(v):
    return field(1, varint(1 << 3) + varint(v))  # Dimension.dim_value = 1


count = int(sys.argv[2])
nodes = b""
for i in range(count):
    src = "x" if i == 0 else f"v{i - 1}"
    dst = "y" if i == count - 1 else f"v{i}"
    # NodeProto: input 1, output 2, name 3, op_type 4
    nodes += field(1, field(1, src) + field(2, dst) + field(3, "a") + field(4, "Relu"))
shape = field(2, b"".join(dim(v) for v in (1, 3, 8, 8)))  # TensorShapeProto.dim
tensor = field(1, varint(1 << 3) + varint(1) + shape)  # TypeProto.tensor_type: elem_type float, shape
graph = nodes + field(2, "g") + field(11, field(1, "x") + field(2, tensor)) + field(12, field(1, "y"))
opset = field(8, field(1, "") + varint(2 << 3) + varint(13))
with open(sys.argv[1], "wb") as f:
    f.write(varint(1 << 3) + varint(8) + opset + field(7, graph))
