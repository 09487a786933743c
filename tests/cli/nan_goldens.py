#!/usr/bin/python3
"""An input with NaN in it and PyTorch's outputs for the max pools of
tests/cli/nan/*.cnn, committed in tests/data/nan/ so that the test needs no
PyTorch. Regenerate (from the repository root, then review and commit):

    /usr/bin/python3 tests/cli/nan_goldens.py tests/data/nan

    nan_goldens.py DIR    writes into DIR:
      x.npy               a batch of 2 images (34x6x3), NaN at the first,
                          last and a middle cell of windows, at both side
                          columns, and a channel without any
      fused.safetensors   the weights of fused.cnn's conv
      overlap.safetensors the weights of overlap.cnn's conv
      NET.npy             PyTorch's output for each network NET

PyTorch's max_pool2d takes a NaN in a window as the window's maximum. Needs
torch and numpy.
"""

import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'scripts'))
from synth_weights import write_safetensors  # noqa: E402


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20261207)
    x = rng.standard_normal((2, 3, 6, 34)).astype(np.float32)
    # (image, channel, row, column); channel 2 of image 1 stays clean.
    for at in [(0, 0, 0, 0), (0, 0, 3, 33), (0, 1, 1, 1), (0, 1, 5, 16), (0, 2, 2, 7),
               (1, 0, 4, 0), (1, 1, 0, 20), (1, 1, 5, 33)]:
        x[at] = np.nan
    np.save(os.path.join(out, "x.npy"), x)
    t = torch.from_numpy(x)
    outs = {
        "tile": F.max_pool2d(t, 2, 2),
        "edges": F.max_pool2d(t, 3, 1, padding=1),
        "strided": F.max_pool2d(t, 3, 2, ceil_mode=True),
        "global": F.adaptive_max_pool2d(t, 1).flatten(1),  # a vector output is (N, K)
    }
    w = rng.standard_normal((16, 3, 1, 1)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    write_safetensors(os.path.join(out, "fused.safetensors"), {"conv1.weight": w, "conv1.bias": b})
    outs["fused"] = F.max_pool2d(F.conv2d(t.double(), torch.from_numpy(w).double(), torch.from_numpy(b).double()), 2, 2)
    w = rng.standard_normal((16, 3, 1, 1)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    write_safetensors(os.path.join(out, "overlap.safetensors"), {"conv1.weight": w, "conv1.bias": b})
    conv = F.conv2d(t.double(), torch.from_numpy(w).double(), torch.from_numpy(b).double(), stride=2)
    outs["overlap"] = F.max_pool2d(conv, 3, 2, ceil_mode=True)
    for name, y in outs.items():
        np.save(os.path.join(out, name + ".npy"), y.numpy().astype(np.float32))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
