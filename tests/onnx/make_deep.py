#!/usr/bin/env python3
"""Writes a ModelProto whose messages nest DEPTH deep (graph.node ->
node.attribute -> attribute.g -> ...), to check that cnnc refuses it
rather than let the protobuf decoder recurse off the stack. Plain Python:
run at test time, as the file is a megabyte.

    make_deep.py OUT DEPTH
"""
import sys


def varint(n):
    out = b""
    while True:
        b = n & 0x7f
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


# Each level holds only the next, so the message is the levels' headers
# (tag, length of the rest) in order, built from the innermost out.
depth = int(sys.argv[2])
heads, rest = [], 0
for k in reversed(range(depth)):
    h = bytes([(0x0a, 0x2a, 0x32)[k % 3]]) + varint(rest)  # graph.node 1, node.attribute 5, attribute.g 6
    heads.append(h)
    rest += len(h)
heads.reverse()
with open(sys.argv[1], "wb") as f:
    f.write(b"\x08\x07\x3a" + varint(rest) + b"".join(heads))
