#!/usr/bin/python3
"""Trains examples/digits/resdigits: a small residual network with batch norm
for scikit-learn's handwritten digits (SPEC section 9's layers, real weights).

Regenerate (from the repository root; a few seconds, deterministic):

    /usr/bin/python3 scripts/train_resdigits.py

Needs PyTorch, numpy and scikit-learn (Debian's python3-torch and
python3-sklearn under /usr/bin/python3); it does not run cnnc. The data are
scripts/train_digits.py's (pixels / 16, as a program reads a PGM of maxval 16;
tests/data/digits/all.npy). It writes:

    examples/digits/resdigits.cnn           the network, its layers named as the
                                            PyTorch module's state dict
    examples/digits/resdigits.safetensors   model.state_dict() as it is: F32
                                            tensors, num_batches_tracked as I64
    tests/data/digits/resdigits_accuracy.json  PyTorch's predictions (float64
                                            eval forward of the float32 weights)
                                            over the whole set, and its accuracy
    tests/data/digits/resdigits_out_all.npy    that forward's softmax outputs,
                                            (1797, 10) float32: what the program
                                            prints for the whole set

Training: the same stratified 80/20 split as train_digits.py, Adam, 30 epochs,
batch 64, torch.manual_seed(0), one thread. The held-out accuracy must reach
95%. The batch norms are trained, so their statistics are far from the
identity: a program that folded them wrongly would not match.
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth_weights as sw  # noqa: E402
import train_digits  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(0)
torch.use_deterministic_algorithms(True)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EX = os.path.join(ROOT, "examples", "digits")
DATA = os.path.join(ROOT, "tests", "data", "digits")

CNN = """\
# A small residual network with batch norm for scikit-learn's 8x8 digits,
# trained by scripts/train_resdigits.py; its weights file is the PyTorch
# model's state_dict() as it is. Try:
#     cnnc examples/digits/resdigits.cnn --weights examples/digits/resdigits.safetensors -o resdigits
#     ./resdigits --labels examples/digits/labels.txt examples/digits/digit-*.pgm
network resdigits round=floor {
    input 8x8x1
    stem.conv: conv filters=16 size=3 pad=1 bias=false
    stem.bn: batchnorm                          # folded into stem.conv
    stem: relu
    block.conv1: conv filters=16 size=3 pad=1 bias=false
    block.bn1: batchnorm
    relu
    block.conv2: conv filters=16 size=3 pad=1 bias=false
    block.bn2: batchnorm
    block: add block.bn2 stem                   # the residual connection
    relu
    down.conv: conv filters=32 size=3 stride=2 pad=1 bias=false   # 4x4x32
    down.bn: batchnorm
    relu
    pool avg global                             # 1x1x32
    fc: fc 10
    softmax
}
"""


class ResDigits(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential()
        self.stem.add_module("conv", nn.Conv2d(1, 16, 3, padding=1, bias=False))
        self.stem.add_module("bn", nn.BatchNorm2d(16))
        self.block = nn.Module()
        self.block.conv1 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.block.bn1 = nn.BatchNorm2d(16)
        self.block.conv2 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.block.bn2 = nn.BatchNorm2d(16)
        self.down = nn.Sequential()
        self.down.add_module("conv", nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False))
        self.down.add_module("bn", nn.BatchNorm2d(32))
        self.fc = nn.Linear(32, 10)

    def forward(self, x):  # logits; the .cnn's softmax is applied at inference
        s = F.relu(self.stem(x))
        b = F.relu(self.block.bn1(self.block.conv1(s)))
        b = F.relu(self.block.bn2(self.block.conv2(b)) + s)
        d = F.relu(self.down(b))
        return self.fc(F.adaptive_avg_pool2d(d, 1).flatten(1))


def main():
    _, labels, x, idx_train, idx_test = train_digits.digits_data()
    model = ResDigits()
    train_digits.train(model, x, labels, idx_train, 30)
    xt = torch.from_numpy(x)
    model.eval()
    sd = model.state_dict()
    tensors = [(k, v.numpy().astype("<i8" if v.dtype == torch.int64 else "<f4")) for k, v in sd.items()]
    model = model.double()
    with torch.no_grad():
        probs = F.softmax(model(xt.double()), dim=1).numpy()
    pred = probs.argmax(axis=1)
    correct = pred == labels
    held = float(correct[idx_test].mean())
    print("held-out accuracy %.4f (%d/%d), whole set %.4f (%d/%d)"
          % (held, correct[idx_test].sum(), len(idx_test), correct.mean(), correct.sum(), len(x)))
    if held < 0.95:
        print("error: held-out accuracy below 95%")
        return 1
    bn = sd["block.bn2.running_var"].numpy()
    print("block.bn2.running_var from %.3g to %.3g" % (bn.min(), bn.max()))
    top2 = np.sort(probs, axis=1)[:, -2:]
    with open(os.path.join(EX, "resdigits.cnn"), "w") as fp:
        fp.write(CNN)
    sw.write_safetensors(os.path.join(EX, "resdigits.safetensors"), dict(tensors))
    np.save(os.path.join(DATA, "resdigits_out_all.npy"), probs.astype(np.float32))
    with open(os.path.join(DATA, "resdigits_accuracy.json"), "w") as fp:
        json.dump({
            "network": "examples/digits/resdigits.cnn",
            "weights": "examples/digits/resdigits.safetensors",
            "images": len(x),
            "correct": int(correct.sum()),
            "accuracy": float(correct.mean()),
            "held_out": {"images": len(idx_test), "correct": int(correct[idx_test].sum()), "accuracy": held},
            "smallest_top2_margin": float((top2[:, 1] - top2[:, 0]).min()),
            "predictions": [int(p) for p in pred],
        }, fp, indent=1)
        fp.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
