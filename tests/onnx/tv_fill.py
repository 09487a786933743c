"""The weights and inputs of the torchvision ONNX test (tests/onnx/run_torchvision.sh),
from numpy alone, the same on every machine and numpy version.

Each value is a pure function of a key and its position: a splitmix64 hash of a
counter, in numpy's wrapping uint64 arithmetic, so no random generator's stream
(which numpy may change) is involved. scripts/make_tv_onnx.py puts the same values
into PyTorch's model to make the goldens; the test puts them into the committed
skeletons (exported models whose Conv and Gemm weights were emptied), so no weights
are committed.

    python3 tests/onnx/tv_fill.py unpack SKELETONS.tar.xz DIR
    python3 tests/onnx/tv_fill.py refill NET SKELETON.onnx OUT.onnx [SKELETON OUT ...]
    python3 tests/onnx/tv_fill.py input N OUT.npy

The skeletons are committed as one tar.xz (NET/opsetK_fixed.onnx and
NET/opsetK_sym.onnx): the 24 differ little, so together they compress a
hundredfold. Python's tarfile unpacks it, so the test needs no xz program.

A refilled tensor is keyed by (NET, the index of its node among the graph's Conv and
Gemm nodes, the node input it feeds: 1 weight, 2 bias).
"""

import sys

import numpy as np

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def key_seed(*parts):
    """A 64-bit seed from a key's parts, by FNV-1a over its text."""
    h = 0xCBF29CE484222325
    for b in "/".join(str(p) for p in parts).encode():
        h = ((h ^ b) * 0x100000001B3) & MASK
    return h


def uniform(seed, n):
    """n floats in [-1, 1): splitmix64 of seed + (i + 1) * golden, top 24 bits."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + (np.arange(1, n + 1, dtype=np.uint64) * np.uint64(GOLDEN))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    top = (z >> np.uint64(40)).astype(np.float64)  # 24 bits: exact in float32
    return (top * (2.0 / (1 << 24)) - 1.0).astype(np.float32)


def fill(net, index, slot, shape):
    """The values of a Conv or Gemm node's weight (slot 1) or bias (slot 2).

    Weights are uniform scaled by sqrt(6 / fan-in) (He's rule for ReLU), so the
    activations keep their scale through a deep network without batch norms and
    a wrong value shows at the output; biases are uniform in [-0.1, 0.1]."""
    shape = tuple(int(d) for d in shape)
    n = int(np.prod(shape))
    v = uniform(key_seed(net, index, slot), n)
    if slot == 1:
        fan_in = n // shape[0]
        v = v * np.float32(np.sqrt(6.0 / fan_in))
    else:
        v = v * np.float32(0.1)
    return v.reshape(shape)


def image_batch(n):
    """n images of 3 x 224 x 224 in [-2, 2) (a normalised photo's range); the
    first k images of a batch are the same for any n >= k."""
    return (uniform(key_seed("input"), n * 3 * 224 * 224) * np.float32(2.0)).reshape(n, 3, 224, 224)


def filled_slots(graph):
    """[(node index among Conv/Gemm, slot, initializer name)] in graph order:
    every weight and bias input of a Conv or Gemm node that is an initializer."""
    inits = {t.name for t in graph.initializer}
    out = []
    index = 0
    for node in graph.node:
        if node.op_type not in ("Conv", "Gemm"):
            continue
        for slot in (1, 2):
            if slot < len(node.input) and node.input[slot] in inits:
                out.append((index, slot, node.input[slot]))
        index += 1
    return out


def refill(net, skeleton, out):
    import onnx

    model = onnx.load(skeleton)
    inits = {t.name: t for t in model.graph.initializer}
    slots = filled_slots(model.graph)
    if not slots:
        raise SystemExit(f"tv_fill: {skeleton}: no Conv or Gemm weights to fill")
    for index, slot, name in slots:
        t = inits[name]
        if t.data_type != onnx.TensorProto.FLOAT:
            raise SystemExit(f"tv_fill: {skeleton}: initializer '{name}' is not float")
        t.raw_data = fill(net, index, slot, t.dims).astype("<f4").tobytes()
    onnx.save(model, out)


def unpack(archive, out):
    import tarfile

    with tarfile.open(archive, "r:xz") as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")
            if not member.isfile() or len(parts) != 2 or not all(p and p not in (".", "..") for p in parts):
                raise SystemExit(f"tv_fill: {archive}: unexpected member '{member.name}'")
            tar.extract(member, out)


def main(argv):
    if len(argv) == 4 and argv[1] == "unpack":
        unpack(argv[2], argv[3])
    elif len(argv) >= 5 and argv[1] == "refill" and len(argv) % 2 == 1:
        for i in range(3, len(argv), 2):
            refill(argv[2], argv[i], argv[i + 1])
    elif len(argv) == 4 and argv[1] == "input":
        np.save(argv[3], image_batch(int(argv[2])))
    else:
        sys.stderr.write(__doc__.split("\n\n")[2] + "\n")
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
