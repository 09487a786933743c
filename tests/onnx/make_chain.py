#!/usr/bin/env python3
"""Writes a ModelProto of COUNT nodes in a chain, every node named the same,
to check that cnnc imports it in time near linear in the graph: relu (the
default), Relu nodes (it once searched every earlier name for every suffix
it tried, and a 10,000-node model hung); matmul, MatMul + Add pairs sharing
one weight and one bias (each Add folds into the fc before it only when
nothing else reads the product, which is counted once for all names).
Plain Python, made at test time: a quarter of a megabyte.

    make_chain.py OUT COUNT [relu|matmul]
"""
import struct
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


def node(inputs, output, op):
    # NodeProto: input 1, output 2, name 3, op_type 4
    return field(1, b"".join(field(1, i) for i in inputs) + field(2, output) + field(3, "a") + field(4, op))


def floats(name, dims, values):
    # TensorProto: dims 1, data_type 2 (float 1), float_data 4 (packed), name 8
    body = b"".join(varint(1 << 3) + varint(d) for d in dims) + varint(2 << 3) + varint(1)
    return field(5, body + field(4, struct.pack(f"<{len(values)}f", *values)) + field(8, name))


count, kind = int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "relu"
nodes, inits = b"", b""
if kind == "relu":
    dims = (1, 3, 8, 8)
    for i in range(count):
        nodes += node(["x" if i == 0 else f"v{i - 1}"], "y" if i == count - 1 else f"v{i}", "Relu")
else:
    dims = (1, 4)
    inits = floats("w", (4, 4), [0.5 if r == c else 0.0 for r in range(4) for c in range(4)]) + floats(
        "b", (4,), [0.25] * 4)
    for i in range(count // 2):
        src = "x" if i == 0 else f"a{i - 1}"
        nodes += node([src, "w"], f"m{i}", "MatMul")
        nodes += node([f"m{i}", "b"], "y" if i == count // 2 - 1 else f"a{i}", "Add")
shape = field(2, b"".join(dim(v) for v in dims))  # TensorShapeProto.dim
tensor = field(1, varint(1 << 3) + varint(1) + shape)  # TypeProto.tensor_type: elem_type float, shape
graph = nodes + field(2, "g") + inits + field(11, field(1, "x") + field(2, tensor)) + field(12, field(1, "y"))
opset = field(8, field(1, "") + varint(2 << 3) + varint(13))
with open(sys.argv[1], "wb") as f:
    f.write(varint(1 << 3) + varint(8) + opset + field(7, graph))
