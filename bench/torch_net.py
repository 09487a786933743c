"""The PyTorch peer of bench/run.sh: a .cnn network as a torch.nn.Module.

The layers follow scripts/make_goldens.py's torch_forward, the code the tests'
goldens come from, and reuse its helpers; the difference is that this model is a
module (so torch.onnx.export can trace it, and its weights are tensors made once,
not per call) and that a conv pads inside conv2d rather than with a separate
F.pad copy whenever no extra zeros past the padding are needed, as a PyTorch
user would write it. check_against_goldens() holds the two to the tests'
tolerance.

Runs under /usr/bin/python3 (Debian's python3-torch and python3-numpy).
"""

import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import make_goldens as mg  # noqa: E402  (sets torch's threads to 2: callers set theirs after)
import synth_weights as sw  # noqa: E402

TOLERANCE = mg.TOLERANCE  # tests/tolerance.h, the one definition


def load(cnn_path, weights_path):
    """(parsed network, {name: float32 array}) of a .cnn and its safetensors."""
    return sw.load_cnn(cnn_path), sw.read_safetensors(weights_path)


class CnnNet(torch.nn.Module):
    """Input (N, D, H, W); output (N, K) for a vector output, else (N, D, H, W)."""

    def __init__(self, net, params):
        super().__init__()
        self.steps = []  # (kind, layer, weight buffer name, bias buffer name)
        for i, layer in enumerate(net["layers"]):
            wname = bname = None
            if layer["kind"] in ("conv", "fc"):
                w, b = mg.layer_params(layer, params)
                wname = "w%d" % i
                self.register_buffer(wname, torch.from_numpy(np.array(w, dtype=np.float32)))
                if b is not None:
                    bname = "b%d" % i
                    self.register_buffer(bname, torch.from_numpy(np.array(b, dtype=np.float32)))
            self.steps.append((layer["kind"], layer, wname, bname))

    def forward(self, x):
        t = x
        for kind, layer, wname, bname in self.steps:
            w = getattr(self, wname) if wname else None
            b = getattr(self, bname) if bname else None
            if kind in ("conv", "pool") and t.dim() == 2:
                t = t.reshape(t.shape[0], -1, 1, 1)  # an fc's vector as a 1x1 map
            if kind == "conv":
                p = layer["pad"]
                (w2, h2, _), (w1, h1, _) = layer["out"], layer["in"]
                f, st, dil = layer["size"], layer["stride"], layer["dilation"]
                ex, ey = mg.conv_extra(w1, w2, f, st, p, dil), mg.conv_extra(h1, h2, f, st, p, dil)
                if ex or ey:  # round=ceil reading past the padding: explicit zeros
                    t = F.pad(t, (p, p + ex, p, p + ey))
                    t = F.conv2d(t, w, b, stride=st, dilation=dil, groups=layer["groups"])
                else:
                    t = F.conv2d(t, w, b, stride=st, padding=p, dilation=dil, groups=layer["groups"])
            elif kind == "pool":
                args = (layer["size"], layer["stride"], layer["pad"])
                ceil = layer["round"] == "ceil"
                if layer["mode"] == "max":
                    t = F.max_pool2d(t, *args, ceil_mode=ceil)
                else:
                    t = F.avg_pool2d(t, *args, ceil_mode=ceil, count_include_pad=True)
            elif kind == "fc":
                t = F.linear(torch.flatten(t, 1), w, b)
            elif kind == "flatten":
                t = torch.flatten(t, 1)
            elif kind == "relu":
                t = F.relu(t)
            elif kind == "softmax":
                t = F.softmax(t, dim=1)
            elif kind == "dropout":
                pass
            else:
                raise ValueError("unknown layer kind " + kind)
        if t.dim() == 4 and t.shape[2] == 1 and t.shape[3] == 1:
            t = torch.flatten(t, 1)
        return t


def check_against_goldens(net, params, model, x):
    """Raises unless model(x) agrees with make_goldens.torch_forward in float64."""
    with torch.inference_mode():
        got = model(torch.from_numpy(x)).numpy()
    ref = mg.torch_forward(net, params, x, torch.float64)
    err = float(np.max(np.abs(got.astype(np.float64) - ref)))
    bound = TOLERANCE * max(1.0, float(np.max(np.abs(ref))))
    if got.shape != ref.shape or not err <= bound:
        raise RuntimeError("%s: the bench's PyTorch model differs from make_goldens.torch_forward: "
                           "shape %s vs %s, max error %g > %g"
                           % (net["name"], got.shape, ref.shape, err, bound))
    return err


def export_onnx(model, x, path, opset):
    """ONNX with a dynamic batch axis; input 'input', output 'output'."""
    tmp = path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(model, (torch.from_numpy(x),), tmp, opset_version=opset,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                          do_constant_folding=True)
    import onnx  # Debian's python3-onnx
    onnx.checker.check_model(tmp)
    os.replace(tmp, path)
