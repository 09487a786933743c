#!/usr/bin/python3
"""Deterministic weights for a torchvision state dict, from numpy alone.

    python3 scripts/tv_weights.py MANIFEST.json OUT.safetensors

MANIFEST.json lists a state dict's tensors as torchvision names them
([name, shape, dtype] in order), written by scripts/make_torchvision_examples.py,
which loads these same values into the torchvision model to make the goldens.
The tests remake the weights with this script at test time, so no 47 MB
weights file is committed, and they need no PyTorch.

Each tensor's values come from a generator seeded by the CRC-32 of its name:
- conv and linear weights: uniform, scaled by sqrt(6 / fan-in) (He's uniform
  rule), so a deep network keeps its activations' scale;
- biases and batch-norm biases and running means: uniform in [-0.2, 0.2];
- batch-norm weights and running variances: uniform in [0.5, 1.5], so every
  statistic is far from the identity and a wrong fold shows;
- num_batches_tracked: int64 0, as PyTorch writes it (cnnc ignores it).
"""

import json
import os
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synth_weights import write_safetensors  # noqa: E402


def tensor_values(name, shape):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    n = int(np.prod(shape)) if shape else 1
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "num_batches_tracked":
        return np.zeros(shape, dtype="<i8")
    if leaf in ("running_var",) or (leaf == "weight" and len(shape) == 1):
        v = rng.uniform(0.5, 1.5, n)
    elif leaf == "weight":
        fan_in = n // shape[0]
        v = rng.uniform(-1.0, 1.0, n) * np.sqrt(6.0 / fan_in)
    else:  # bias, running_mean
        v = rng.uniform(-0.2, 0.2, n)
    return v.astype("<f4").reshape(shape)


def manifest_tensors(manifest):
    return [(name, tensor_values(name, tuple(shape))) for name, shape, _ in manifest["tensors"]]


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: tv_weights.py MANIFEST.json OUT.safetensors\n")
        sys.exit(2)
    with open(sys.argv[1]) as fp:
        manifest = json.load(fp)
    write_safetensors(sys.argv[2], dict(manifest_tensors(manifest)))


if __name__ == "__main__":
    main()
