#!/usr/bin/python3
"""torchvision's networks as .cnn examples, and their goldens from PyTorch.

Regenerate (from the repository root; a minute or two, then review and commit):

    /usr/bin/python3 scripts/make_torchvision_examples.py [NAME ...]

It needs Debian's python3-torch and python3-torchvision under /usr/bin/python3;
it does not run cnnc. For resnet18, resnet50, mobilenet_v2, squeezenet1_1 and googlenet
(torchvision.models.NAME(), no pretrained weights; GoogLeNet without its
auxiliary classifiers, as torchvision's pretrained one) it writes:

    examples/NAME.cnn        the network, traced with torch.fx: each layer with
                             parameters named as its module, so the model's
                             state_dict() saved as safetensors loads as it is
    tests/golden/NAME.torch.json  the report PyTorch's shapes give (per layer
                             output, params, MACs; totals), which
                             tests/golden/check_golden.py compares with cnnc's
    tests/data/tv/NAME/manifest.json  the state dict's names, shapes and dtypes
    tests/data/tv/NAME/in1.npy, out1.npy  one 224x224 input and the model's output
    tests/data/tv/NAME/in2.npy, out2.npy  a batch of two

The weights are scripts/tv_weights.py's deterministic values for the manifest,
loaded into the model (every batch norm with random weight, bias, running mean
and variance); the tests remake them with that script. Inputs are uniform in
[0, 1); the .npy inputs bypass the input layer's mean/std (SPEC section 8).

Checks before writing: the model in float32 agrees with the float64 model
within the tests' tolerance (max|out - ref| <= 1e-4 x max(1, max|ref|)), and
the golden is sensitive: scaling the last batch norm's running variance (the
last weight, for SqueezeNet) by 1.01 moves the output past the tolerance.
"""

import json
import operator
import os
import sys

import numpy as np
import torch
import torch.fx
import torch.fx.passes.shape_prop
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tv_weights  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETS = ["resnet18", "resnet50", "mobilenet_v2", "squeezenet1_1", "googlenet"]
TOLERANCE = 1e-4

HEADERS = {
    "resnet18": "ResNet-18 (He et al., 2015): basic residual blocks, projection shortcuts",
    "resnet50": "ResNet-50 (He et al., 2015): bottleneck blocks of 1x1, 3x3 and 1x1 convs",
    "mobilenet_v2": "MobileNetV2 (Sandler et al., 2018): inverted residuals, depthwise convs, relu6",
    "squeezenet1_1": "SqueezeNet 1.1 (Iandola et al., 2016): fire modules, concats of 1x1 and 3x3 expands",
    "googlenet": "GoogLeNet (Szegedy et al., 2014): inception modules, four-way concats",
}


def model_of(name):
    torch.manual_seed(0)
    # GoogLeNet's two auxiliary classifiers train it and are dropped for
    # inference, as torchvision drops them from its pretrained model; their
    # batch norms' statistics would be an error (SPEC section 9).
    kwargs = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
    return getattr(torchvision.models, name)(weights=None, **kwargs).eval()


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def wh(v):
    """PyTorch's (h, w) as .cnn's WxH, or one number when square."""
    h, w = pair(v)
    return str(w) if w == h else f"{w}x{h}"


def quoted(name):
    import re
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*", name) else f'"{name}"'


def layer_text(mod, node):
    """The .cnn kind and keys of an fx node, or None when it is an identity."""
    if node.op == "call_module":
        if isinstance(mod, nn.Conv2d):
            assert mod.padding_mode == "zeros" and not isinstance(mod.padding, str)
            s = f"conv filters={mod.out_channels} size={wh(mod.kernel_size)}"
            if pair(mod.stride) != (1, 1):
                s += f" stride={wh(mod.stride)}"
            if pair(mod.padding) != (0, 0):
                s += f" pad={wh(mod.padding)}"
            if mod.groups != 1:
                s += f" groups={mod.groups}"
            if pair(mod.dilation) != (1, 1):
                s += f" dilation={wh(mod.dilation)}"
            if mod.bias is None:
                s += " bias=false"
            return s
        if isinstance(mod, nn.BatchNorm2d):
            return "batchnorm" + ("" if mod.eps == 1e-5 else f" eps={mod.eps:g}")
        if isinstance(mod, nn.ReLU):
            return "relu"
        if isinstance(mod, nn.ReLU6):
            return "relu6"
        if isinstance(mod, (nn.MaxPool2d, nn.AvgPool2d)):
            kind = "max" if isinstance(mod, nn.MaxPool2d) else "avg"
            if isinstance(mod, nn.AvgPool2d):
                assert mod.count_include_pad
            s = f"pool {kind} size={wh(mod.kernel_size)}"
            if pair(mod.stride) != pair(mod.kernel_size):
                s += f" stride={wh(mod.stride)}"
            if pair(mod.padding) != (0, 0):
                s += f" pad={wh(mod.padding)}"
            if mod.ceil_mode:
                s += " round=ceil"
            return s
        if isinstance(mod, nn.AdaptiveAvgPool2d):
            assert pair(mod.output_size) == (1, 1)
            return "pool avg global"
        if isinstance(mod, nn.Dropout):
            return f"dropout p={mod.p:g}"
        if isinstance(mod, nn.Linear):
            return f"fc {mod.out_features}" + ("" if mod.bias is not None else " bias=false")
        if isinstance(mod, nn.Flatten):
            return "flatten"
        if isinstance(mod, nn.Identity):
            return None
        raise SystemExit(f"no .cnn layer for module {node.target} ({type(mod).__name__})")
    if node.op == "call_function":
        if node.target in (operator.add, torch.add):
            return "add"
        if node.target is torch.cat:
            assert node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0) == 1
            return "concat"
        if node.target is torch.flatten:
            return "flatten"
        if node.target is F.relu:
            return "relu"
        if node.target is F.adaptive_avg_pool2d:
            assert pair(node.args[1]) == (1, 1)
            return "pool avg global"
        if node.target is F.dropout:
            return None
    raise SystemExit(f"no .cnn layer for {node.op} {node.target}")


class ScopeTracer(torch.fx.Tracer):
    """symbolic_trace that notes in each node's meta the module whose
    forward made it, so a function such as an add is named after its block."""

    def __init__(self):
        super().__init__()
        self.scopes = [""]

    def call_module(self, m, forward, args, kwargs):
        self.scopes.append(self.path_of_module(m))
        try:
            return super().call_module(m, forward, args, kwargs)
        finally:
            self.scopes.pop()

    def create_node(self, *args, **kwargs):
        node = super().create_node(*args, **kwargs)
        node.meta["scope"] = self.scopes[-1]
        return node


def emit_cnn(name, model):
    graph = ScopeTracer().trace(model)
    mods = dict(model.named_modules())
    lines = [f"# {HEADERS[name]}, as torchvision.models.{name}() builds it.",
             "# Made by scripts/make_torchvision_examples.py from the model's torch.fx trace:",
             "# layers with parameters are named as their modules, so the model's",
             "# state_dict(), saved as safetensors, loads as it is (README: From PyTorch).",
             f"network {name} round=floor {{",
             "    input 224x224x3 mean=0.485,0.456,0.406 std=0.229,0.224,0.225"]
    records = [("input", "input", None, [])]  # (layer name, kind word, fx node, inputs) for the report
    alias = {}    # fx node -> the name of the layer that holds its value
    used = set()  # names given so far
    prev = None   # the last layer written
    for node in graph.nodes:
        if node.op == "placeholder":
            alias[node] = prev = "input"
            continue
        if node.op == "output":
            assert alias[node.args[0]] == prev, "the model's output must be the last layer"
            continue
        if node.op == "get_attr":
            raise SystemExit(f"{name}: get_attr {node.target}")
        text = layer_text(mods.get(node.target), node)
        ins = [alias[a] for a in node.args if isinstance(a, torch.fx.Node)]
        if node.target is torch.cat:
            ins = [alias[a] for a in node.args[0]]
        if text is None:  # an identity: its value is its input's
            alias[node] = ins[0]
            continue
        # Layers with parameters take their module's name (the state dict's
        # prefix). The others too where it is free (a module called twice,
        # as ResNet's relu, is free once); a function is named after the
        # module whose forward called it (GoogLeNet's conv1.relu, ResNet's
        # layer1.0.add); a second use of a name gets _2, _3.
        has_params = node.op == "call_module" and any(True for _ in mods[node.target].parameters(recurse=False))
        if node.op == "call_module":
            base = node.target
        else:
            scope = node.meta["scope"]
            base = (scope + "." if scope else "") + node.name.rstrip("0123456789").rstrip("_")
        lname, k = base, 2
        while lname in used:
            assert not has_params, lname
            lname, k = f"{base}_{k}", k + 1
        used.add(lname)
        if text in ("add", "concat"):
            line = f"{text} " + " ".join(quoted(i) for i in ins)
        else:
            assert len(ins) == 1, (node, ins)
            line = text + ("" if ins[0] == prev else f" from={quoted(ins[0])}")
        lines.append(f"    {quoted(lname)}: {line}")
        records.append((lname, text.split()[0], node, ins))
        alias[node] = prev = lname
    lines.append("}")
    return "\n".join(lines) + "\n", graph, records


def torch_report(name, model, graph, records):
    """tests/golden/NAME.torch.json as scripts/torch_reports.py writes them:
    per layer its output [W, H, D] from PyTorch's own shapes, params (the
    module's own parameters) and MACs by SPEC sections 2 and 9 (a grouped
    conv W2*H2*K*(D1/G)*Fw*Fh, fc N*K); weights_bytes counts the batch
    norms' running statistics too."""
    gm = torch.fx.GraphModule(model, graph)
    torch.fx.passes.shape_prop.ShapeProp(gm).propagate(torch.zeros(1, 3, 224, 224))
    mods = dict(model.named_modules())
    layers, params_total, macs_total, floats = [], 0, 0, 0
    for lname, kind, node, ins in records:
        if node is None:
            shape = [224, 224, 3]
        else:
            s = list(node.meta["tensor_meta"].shape)
            shape = [s[3], s[2], s[1]] if len(s) == 4 else [1, 1, s[1]]
        mod = mods.get(node.target) if node is not None and node.op == "call_module" else None
        params = sum(p.numel() for p in mod.parameters(recurse=False)) if mod is not None else 0
        macs = 0
        if isinstance(mod, nn.Conv2d):
            kh, kw = pair(mod.kernel_size)
            macs = shape[0] * shape[1] * mod.out_channels * (mod.in_channels // mod.groups) * kh * kw
        elif isinstance(mod, nn.Linear):
            macs = mod.in_features * mod.out_features
        if isinstance(mod, nn.BatchNorm2d):
            floats += mod.running_mean.numel() + mod.running_var.numel()
        entry = {"name": lname, "op": kind, "inputs": ins, "output": shape, "params": params, "macs": macs}
        if kind == "pool":
            entry["pool"] = "max" if isinstance(mod, nn.MaxPool2d) else "avg"
        layers.append(entry)
        params_total += params
        macs_total += macs
    return {"network": name, "input": [224, 224, 3], "output": layers[-1]["output"], "layers": layers,
            "total_params": params_total, "total_macs": macs_total, "weights_bytes": 4 * (params_total + floats)}


def load_weights(model, manifest):
    sd = {n: torch.from_numpy(np.array(v)) for n, v in tv_weights.manifest_tensors(manifest)}
    model.load_state_dict(sd)


def error_ratio(out, ref):
    return float(np.max(np.abs(out - ref)) / (TOLERANCE * max(1.0, float(np.max(np.abs(ref))))))


def make(name):
    model = model_of(name)
    cnn, graph, records = emit_cnn(name, model)
    with open(os.path.join(ROOT, "examples", f"{name}.cnn"), "w") as fp:
        fp.write(cnn)
    with open(os.path.join(ROOT, "tests", "golden", f"{name}.torch.json"), "w") as fp:
        json.dump(torch_report(name, model, graph, records), fp, indent=1)
        fp.write("\n")
    sd = model.state_dict()
    manifest = {"model": f"torchvision.models.{name}()",
                "tensors": [[k, list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in sd.items()]}
    load_weights(model, manifest)
    out_dir = os.path.join(ROOT, "tests", "data", "tv", name)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "manifest.json"), "w") as fp:
        json.dump(manifest, fp, indent=0)
        fp.write("\n")
    rng = np.random.default_rng(1)
    model64 = model_of(name)
    load_weights(model64, manifest)
    model64 = model64.double()
    for batch in (1, 2):
        x = rng.uniform(0, 1, (batch, 3, 224, 224)).astype(np.float32)
        with torch.no_grad():
            ref = model64(torch.from_numpy(x).double()).numpy()
            f32 = model(torch.from_numpy(x)).numpy()
        r = error_ratio(f32, ref)
        assert r <= 1.0, f"{name}: float32 is {r:.3g} of the tolerance from float64"
        np.save(os.path.join(out_dir, f"in{batch}.npy"), x)
        np.save(os.path.join(out_dir, f"out{batch}.npy"), ref.astype(np.float32))
        print(f"{name} batch {batch}: max|out| {np.max(np.abs(ref)):.4g}, float32 at {r:.3g} of the tolerance")
    # Sensitivity: the last batch norm's variance (or, without one, the last
    # layer's weight) scaled by 1.01.
    bns = [m for n, m in model64.named_modules() if isinstance(m, nn.BatchNorm2d) and not n.startswith("aux")]
    what = "the last batch norm's variance" if bns else "the last weight"
    with torch.no_grad():
        if bns:
            bns[-1].running_var.mul_(1.01)
        else:
            [m for m in model64.modules() if isinstance(m, (nn.Conv2d, nn.Linear))][-1].weight.mul_(1.01)
        moved = model64(torch.from_numpy(x).double()).numpy()
    r = error_ratio(moved, ref)
    assert r > 2.0, f"{name}: golden insensitive ({r:.3g})"
    print(f"{name}: {what} x 1.01 moves the output {r:.3g} x the tolerance")


def main():
    for name in sys.argv[1:] or NETS:
        assert name in NETS, name
        make(name)


if __name__ == "__main__":
    main()
