"""torchvision's networks for bench/run.sh: the model PyTorch and onnxruntime
run, with the weights cnnc compiles.

For NAME in NETS, the model is torchvision.models.NAME() (GoogLeNet without
its auxiliary classifiers) holding scripts/tv_weights.py's values for the
state dict that tests/data/tv/NAME/manifest.json lists: fixed-seed weights,
and every batch norm with random weight, bias, running mean and variance.
cnnc compiles examples/NAME.cnn with the same values, written as safetensors
by write_weights. Both come from scripts/make_torchvision_examples.py, the
code the tests' goldens come from.

Runs under /usr/bin/python3 (Debian's python3-torch and python3-torchvision).
"""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import tv_weights  # noqa: E402

NETS = ("resnet18", "resnet50", "mobilenet_v2", "googlenet", "squeezenet1_1")


def manifest(name):
    with open(os.path.join(ROOT, "tests", "data", "tv", name, "manifest.json")) as fp:
        return json.load(fp)


def manifest_path(name):
    return os.path.join(ROOT, "tests", "data", "tv", name, "manifest.json")


def write_weights(name, path):
    """The state dict's values as safetensors, for cnnc."""
    tv_weights.write_safetensors(path, dict(tv_weights.manifest_tensors(manifest(name))))


def model(name):
    """The torchvision model in eval mode, holding the same values."""
    import make_torchvision_examples as mte  # imports torch and torchvision

    m = mte.model_of(name)
    mte.load_weights(m, manifest(name))
    return m.eval()
