#!/usr/bin/python3
"""Hostile ONNX models for tests/onnx/run_hostile.sh: each must get a clear
error (exit 1), never a crash, a hang or a huge allocation. Small files,
made with the onnx package from one valid model (conv + relu), each broken
in one way; the expected message fragments are in hostile.tsv. (The deeply nested model is
made at test time by tests/onnx/make_deep.py. slice_overflow.onnx and
claims_8gb.onnx are not made here: they are fuzz_onnx findings, kept as
found.)

    /usr/bin/python3 scripts/make_onnx_hostile.py tests/onnx/hostile
"""
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def base(weight=None, nodes=None, inputs=None, inits=None, in_dims=(1, 3, 8, 8)):
    w = weight if weight is not None else numpy_helper.from_array(
        np.linspace(-1, 1, 4 * 3 * 3 * 3, dtype=np.float32).reshape(4, 3, 3, 3), "w")
    nodes = nodes or [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
                      helper.make_node("Relu", ["c"], ["y"], name="relu")]
    g = helper.make_graph(nodes, "hostile",
                          inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(in_dims))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          initializer=[w] if inits is None else inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    good = base().SerializeToString()

    def write(name, data):
        (out / name).write_bytes(data if isinstance(data, bytes) else data.SerializeToString())

    write("valid.onnx", good)
    write("truncated.onnx", good[: len(good) * 2 // 3])
    # A valid start, then bytes that are no protobuf (a length past the end).
    write("corrupt.onnx", good[:20] + bytes([0x3a, 0xff, 0xff, 0xff, 0x0f]) + b"\x00" * 40)
    # 2^40 elements claimed by a tensor holding 16 bytes.
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 20, 1 << 20], raw_data=b"\x00" * 16)
    write("huge_tensor.onnx", base(weight=t))
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4, 3, 3, 3], raw_data=b"\x00" * 10)
    write("short_raw.onnx", base(weight=t))
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4, 3, 3, 3],
                    data_location=TensorProto.EXTERNAL)
    t.external_data.add(key="location", value="weights.bin")
    write("external.onnx", base(weight=t))
    write("cycle.onnx", base(nodes=[helper.make_node("Relu", ["z"], ["c"], name="first"),
                                    helper.make_node("Relu", ["c"], ["z"], name="second"),
                                    helper.make_node("Relu", ["z"], ["y"], name="relu")]))
    write("dangling.onnx", base(nodes=[helper.make_node("Relu", ["nowhere"], ["y"], name="relu")]))
    write("missing_init.onnx", base(inits=[]))
    write("huge_dims.onnx", base(in_dims=(1, 3, 1 << 40, 1 << 40)))
    write("huge_map.onnx", base(in_dims=(1, 3, (1 << 31) - 1, (1 << 31) - 1)))
    # Names that are not UTF-8: written as placeholders, then the bytes swapped.
    m = base(nodes=[helper.make_node("Conv", ["x", "w"], ["c"], name="NAMEAAAA", pads=[1, 1, 1, 1]),
                    helper.make_node("OPBBBB", ["c"], ["y"], name="NAMECCCC")]).SerializeToString()
    write("non_utf8.onnx", m.replace(b"NAMEAAAA", b"\xff\xfe\x80AAAA\x01").replace(b"OPBBBB", b"Op\xc3\x28\xa0\xa1")
          .replace(b"NAMECCCC", b"\xc0\xaf\xed\xa0\x80CC\x1b"))
    # The same names on ops cnnc compiles: they reach the report escaped.
    m = base(nodes=[helper.make_node("Conv", ["x", "w"], ["c"], name="NAMEAAAA", pads=[1, 1, 1, 1]),
                    helper.make_node("Relu", ["c"], ["y"], name="NAMECCCC")]).SerializeToString()
    write("non_utf8_ok.onnx", m.replace(b"NAMEAAAA", b"\xff\xfe\x80AAAA\x01").replace(b"NAMECCCC", b"\xc0\xaf\xed\xa0\x80CC\x1b"))
    # A slope past float32: the IR's slope is finite, as a .cnn's is.
    write("leaky_inf.onnx", base(nodes=[helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
                                        helper.make_node("LeakyRelu", ["c"], ["y"], name="leaky",
                                                         alpha=float("inf"))]))
    # A Concat of one tensor is that tensor (it once failed an IR assertion).
    write("concat_one.onnx", base(nodes=[helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
                                         helper.make_node("Concat", ["c"], ["y"], name="cat", axis=1)]))
    # Messages nested 5000 deep: attribute -> graph -> node -> attribute ...
    write("empty.onnx", b"")


if __name__ == "__main__":
    main()
