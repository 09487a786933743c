#!/usr/bin/python3
"""Trains the examples/digits network on scikit-learn's handwritten digits.

Regenerate (from the repository root; a few seconds, deterministic):

    /usr/bin/python3 scripts/train_digits.py

Needs PyTorch, numpy and scikit-learn (Debian's python3-torch and
python3-sklearn under /usr/bin/python3); it does not run cnnc. The data set is
sklearn.datasets.load_digits: 1,797 8x8 grayscale digits with values 0..16,
bundled with scikit-learn. Pixels are scaled by 1/16, which is exactly what a
compiled program does to a PGM image of maxval 16 (pixel / maxval, SPEC
section 1; the network has no mean/std). It writes:

    examples/digits/digits.cnn            the network (8x8x1 -> 10 classes)
    examples/digits/digits.safetensors    its trained weights (F32)
    examples/digits/labels.txt            zero .. nine, one per line
    examples/digits/digit-<label>-<i>.pgm one real digit per class (P2, maxval 16;
                                          i is its index in the data set)
    tests/data/digits/all.npy             the whole set, (1797, 1, 8, 8) float32, scaled
    tests/data/digits/labels.npy          its labels, (1797,) int64
    tests/data/digits/torch_accuracy.json PyTorch's predictions (float64 forward of the
                                          float32 weights) over the whole set, its
                                          accuracy as a fraction and the count correct

Training: a stratified 80/20 split (seed 0), Adam, 40 epochs, batch 64, with
torch.manual_seed(0) and one thread, so the weights come out the same on a
re-run on the same machine. It prints the held-out accuracy, which must reach
95%, and the accuracy over the whole set.
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth_weights as sw  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(0)
torch.use_deterministic_algorithms(True)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EX = os.path.join(ROOT, "examples", "digits")
DATA = os.path.join(ROOT, "tests", "data", "digits")
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

CNN = """\
# A small CNN for scikit-learn's 8x8 handwritten digits (load_digits: 1,797
# images, values 0..16), trained by scripts/train_digits.py. Images are
# PGM files of maxval 16, so the program's pixel / maxval equals the
# training's scaling by 1/16. Try:
#     cnnc examples/digits/digits.cnn --weights examples/digits/digits.safetensors -o digits
#     ./digits --labels examples/digits/labels.txt examples/digits/digit-*.pgm
network digits {
    input 8x8x1
    conv1: conv filters=16 size=3 pad=1         # (8 - 3 + 2*1)/1 + 1 = 8
    relu
    pool max size=2                             # 4x4x16
    conv2: conv filters=32 size=3 pad=1         # 4x4x32
    relu
    pool max size=2                             # 2x2x32 = 128 values
    fc1: fc 10                                  # the ten digits
    softmax
}
"""


class Digits(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(128, 10)

    def forward(self, x):   # logits; the .cnn's softmax is applied at inference
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc1(x.flatten(1))


def write_pgm(path, img):
    rows = "\n".join(" ".join("%2d" % v for v in row) for row in img)
    with open(path, "w") as fp:
        fp.write("P2\n# scikit-learn digits, 0..16\n8 8\n16\n%s\n" % rows)


def digits_data():
    """The data set as the programs read it: images (1797, 8, 8) of 0..16,
    labels, x = images / 16 as (N, 1, 8, 8) float32, and the stratified
    80/20 split's indices (train, held out)."""
    digits = load_digits()
    images = digits.images.astype(np.int64)           # (1797, 8, 8), 0..16
    labels = digits.target.astype(np.int64)
    x = (images / 16.0).astype(np.float32)[:, None]    # pixel / maxval
    idx_train, idx_test = train_test_split(np.arange(len(x)), test_size=0.2,
                                           random_state=0, stratify=labels)
    return images, labels, x, idx_train, idx_test


def train(model, x, labels, idx_train, epochs):
    """Adam (lr 3e-3), batches of 64 in an order drawn from seed 0."""
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(labels)
    gen = torch.Generator().manual_seed(0)
    model.train()
    for epoch in range(epochs):
        perm = torch.from_numpy(idx_train)[torch.randperm(len(idx_train), generator=gen)]
        for i in range(0, len(perm), 64):
            b = perm[i:i + 64]
            opt.zero_grad()
            loss = F.cross_entropy(model(xt[b]), yt[b])
            loss.backward()
            opt.step()


def main():
    images, labels, x, idx_train, idx_test = digits_data()
    model = Digits()
    train(model, x, labels, idx_train, 40)
    xt = torch.from_numpy(x)

    params = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    # The reference: the .cnn read back, in float64, on the float32 weights.
    net = sw.parse_cnn(CNN)
    sw.shapes(net)
    assert sorted(n for n, _, _, _ in sw.param_shapes(net)) == sorted(params)
    model = model.double().eval()
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
    top2 = np.sort(probs, axis=1)[:, -2:]
    margin = float((top2[:, 1] - top2[:, 0]).min())

    os.makedirs(EX, exist_ok=True)
    os.makedirs(DATA, exist_ok=True)
    with open(os.path.join(EX, "digits.cnn"), "w") as fp:
        fp.write(CNN)
    sw.write_safetensors(os.path.join(EX, "digits.safetensors"), params)
    with open(os.path.join(EX, "labels.txt"), "w") as fp:
        fp.write("\n".join(WORDS) + "\n")
    for old in os.listdir(EX):
        if old.startswith("digit-") and old.endswith(".pgm"):
            os.remove(os.path.join(EX, old))
    samples = {}
    for i in idx_test:           # one held-out digit per class that torch gets right
        if correct[i] and labels[i] not in samples:
            samples[int(labels[i])] = int(i)
    for label, i in sorted(samples.items()):
        write_pgm(os.path.join(EX, "digit-%d-%d.pgm" % (label, i)), images[i])
    np.save(os.path.join(DATA, "all.npy"), x)
    np.save(os.path.join(DATA, "labels.npy"), labels)
    with open(os.path.join(DATA, "torch_accuracy.json"), "w") as fp:
        json.dump({
            "network": "examples/digits/digits.cnn",
            "weights": "examples/digits/digits.safetensors",
            "images": len(x),
            "correct": int(correct.sum()),
            "accuracy": float(correct.mean()),
            "held_out": {"indices": "train_test_split(test_size=0.2, random_state=0, stratify)",
                         "images": len(idx_test), "correct": int(correct[idx_test].sum()),
                         "accuracy": held},
            "smallest_top2_margin": margin,
            "samples": {"digit-%d-%d.pgm" % (k, v): k for k, v in sorted(samples.items())},
            "predictions": [int(p) for p in pred],
        }, fp, indent=1)
        fp.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
