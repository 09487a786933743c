#!/usr/bin/python3
"""Golden reports from PyTorch: tests/golden/<example>.torch.json for every example.

Regenerate (after changing an example, then review the diff and commit):

    /usr/bin/python3 scripts/torch_reports.py            # from the repository root

It needs PyTorch (Debian's python3-torch 1.13 under /usr/bin/python3 works) and
nothing else; it does not run cnnc. Each example of examples/*.cnn is written
here a second time, independently, as the torch.nn model it describes, with
module names equal to cnnc's layer names (dotted names become nested modules,
so VGG-16's state dict keys are torchvision's: features.0.weight, ...). The
models live on device='meta': shapes propagate without any storage, so the
16-billion-parameter disaster.cnn is never allocated.

Per layer the JSON gives the output shape in cnnc's [W, H, D] order (PyTorch's
is [N, C, H, W]), params (the sum of numel of the module's own parameters) and
MACs computed from the output shape and the module's attributes, as SPEC
section 2 defines them: conv W2*H2*K*F*F*D1, fc N*K, others 0. Then the totals.
tests/golden/check_golden.py compares `cnnc --report=json` with these files.
"""

import collections
import json
import os
import sys

import torch
import torch.nn as nn

torch.set_num_threads(2)
DEVICE = "meta"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "golden")


# -- the models, one function per example -------------------------------------
# Each returns (name, input [W, H, D], [(layer name, module), ...]) with the
# layer names cnnc gives: explicit names as in the source, the others by kind
# and ordinal (relu1, pool1, dropout1, softmax1, ...). An fc (nn.Linear) on a
# W x H x D input flattens it first, as cnnc's fc and torchvision's forward do.

def conv(d1, k, f, stride=1, pad=0, bias=True):
    return nn.Conv2d(d1, k, f, stride=stride, padding=pad, bias=bias, device=DEVICE)


def fc(n, k, bias=True):
    return nn.Linear(n, k, bias=bias, device=DEVICE)


def maxpool(f, stride=None, pad=0):
    return nn.MaxPool2d(f, stride=stride, padding=pad)


def avgpool(f, stride=None, pad=0):
    return nn.AvgPool2d(f, stride=stride, padding=pad)


def lenet():
    return "lenet", [28, 28, 1], [
        ("conv1", conv(1, 6, 5, pad=2)), ("relu1", nn.ReLU()),
        ("pool1", maxpool(2)),
        ("conv2", conv(6, 16, 5)), ("relu2", nn.ReLU()),
        ("pool2", maxpool(2)),
        ("fc1", fc(16 * 5 * 5, 120)), ("relu3", nn.ReLU()),
        ("fc2", fc(120, 84)), ("relu4", nn.ReLU()),
        ("fc3", fc(84, 10)),
        ("softmax1", nn.Softmax(dim=1)),
    ]


def slides():
    return "slides", [32, 32, 3], [("conv1", conv(3, 10, 5, stride=1, pad=2))]


def alexnet():
    return "alexnet", [227, 227, 3], [
        ("conv1", conv(3, 96, 11, stride=4)), ("relu1", nn.ReLU()),
        ("pool1", maxpool(3, 2)),
        ("conv2", conv(96, 256, 5, pad=2)), ("relu2", nn.ReLU()),
        ("pool2", maxpool(3, 2)),
        ("conv3", conv(256, 384, 3, pad=1)), ("relu3", nn.ReLU()),
        ("conv4", conv(384, 384, 3, pad=1)), ("relu4", nn.ReLU()),
        ("conv5", conv(384, 256, 3, pad=1)), ("relu5", nn.ReLU()),
        ("pool3", maxpool(3, 2)),
        ("fc6", fc(256 * 6 * 6, 4096)), ("relu6", nn.ReLU()),
        ("dropout1", nn.Dropout(0.5)),
        ("fc7", fc(4096, 4096)), ("relu7", nn.ReLU()),
        ("dropout2", nn.Dropout(0.5)),
        ("fc8", fc(4096, 1000)),
        ("softmax1", nn.Softmax(dim=1)),
    ]


def vgg16():
    # torchvision.models.vgg16 ("D" configuration), without its
    # AdaptiveAvgPool2d((7, 7)): the identity on the 7x7 maps of a 224 input.
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
           512, 512, 512, "M", 512, 512, 512, "M"]
    layers, d1, i = [], 3, 0
    for v in cfg:
        if v == "M":
            layers.append(("features.%d" % i, maxpool(2, 2)))
            i += 1
        else:
            layers.append(("features.%d" % i, conv(d1, v, 3, pad=1)))
            layers.append(("features.%d" % (i + 1), nn.ReLU(inplace=True)))
            d1, i = v, i + 2
    layers += [
        ("classifier.0", fc(512 * 7 * 7, 4096)),
        ("classifier.1", nn.ReLU(True)), ("classifier.2", nn.Dropout(0.5)),
        ("classifier.3", fc(4096, 4096)),
        ("classifier.4", nn.ReLU(True)), ("classifier.5", nn.Dropout(0.5)),
        ("classifier.6", fc(4096, 1000)),
        ("softmax1", nn.Softmax(dim=1)),
    ]
    return "vgg16", [224, 224, 3], layers


def disaster():
    return "disaster", [200, 200, 1], [("hidden", fc(200 * 200 * 1, 400000))]


def cifar10():
    return "cifar10", [32, 32, 3], [
        ("conv1", conv(3, 32, 3, pad=1)), ("relu1", nn.ReLU()),
        ("conv2", conv(32, 32, 3, pad=1)), ("relu2", nn.ReLU()),
        ("pool1", maxpool(2)), ("dropout1", nn.Dropout(0.25)),
        ("conv3", conv(32, 64, 3, pad=1)), ("relu3", nn.ReLU()),
        ("conv4", conv(64, 64, 3, pad=1)), ("relu4", nn.ReLU()),
        ("pool2", maxpool(2)), ("dropout2", nn.Dropout(0.25)),
        ("conv5", conv(64, 128, 3, pad=1)), ("relu5", nn.ReLU()),
        ("pool3", avgpool(2)),
        ("fc1", fc(128 * 4 * 4, 256)), ("relu6", nn.ReLU()),
        ("dropout3", nn.Dropout(0.5)),
        ("fc2", fc(256, 10)),
        ("softmax1", nn.Softmax(dim=1)),
    ]


def edge():
    return "edge", [512, 512, 1], [("edge", conv(1, 1, 3, pad=1, bias=False))]


def emboss():
    return "emboss", [512, 512, 1], [("emboss", conv(1, 1, 3, pad=1, bias=False))]


EXAMPLES = [lenet, slides, alexnet, vgg16, disaster, cifar10, edge, emboss]


# -- building, running on meta, counting ----------------------------------------

def nest(layers):
    """One nn.Module whose named submodules follow the dotted layer names, so
    state_dict() keys are <layer>.weight / <layer>.bias as SPEC section 4 says."""
    root = nn.Module()
    for name, module in layers:
        parent = root
        parts = name.split(".")
        for p in parts[:-1]:
            if not hasattr(parent, p):
                parent.add_module(p, nn.Sequential())  # as torchvision's features
            parent = getattr(parent, p)
        parent.add_module(parts[-1], module)
    return root


def pair(v):
    return v if isinstance(v, tuple) else (v, v)


def hand_shape(module, nchw):
    """The output shape from the module's attributes, for an op that meta
    tensors do not support (PyTorch's own formulas; SPEC section 2)."""
    n, c, h, w = nchw
    if isinstance(module, nn.Conv2d):
        (fh, fw), (sh, sw), (ph, pw) = module.kernel_size, module.stride, module.padding
        return [n, module.out_channels, (h - fh + 2 * ph) // sh + 1, (w - fw + 2 * pw) // sw + 1]
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        (fh, fw), (sh, sw), (ph, pw) = (pair(module.kernel_size),
                                        pair(module.stride or module.kernel_size),
                                        pair(module.padding))
        assert not module.ceil_mode
        return [n, c, (h - fh + 2 * ph) // sh + 1, (w - fw + 2 * pw) // sw + 1]
    if isinstance(module, nn.Linear):
        return [n, module.out_features]
    return list(nchw)  # ReLU, Dropout, Softmax keep the shape


def run_layer(module, x_shape):
    """Propagates a shape through one module on meta, by hand if meta fails."""
    if isinstance(module, nn.Linear) and len(x_shape) == 4:
        x_shape = [x_shape[0], x_shape[1] * x_shape[2] * x_shape[3]]  # C, H, W order
    try:
        with torch.no_grad():
            y = module(torch.empty(x_shape, device=DEVICE))
        return list(y.shape), "meta"
    except (NotImplementedError, RuntimeError):
        return hand_shape(module, x_shape if len(x_shape) == 4 else x_shape + [1, 1]), "hand"


# cnnc's kind word (and pool kind) per module type, as in its JSON report.
OPS = {nn.Conv2d: ("conv", None), nn.Linear: ("fc", None), nn.ReLU: ("relu", None),
       nn.MaxPool2d: ("pool", "max"), nn.AvgPool2d: ("pool", "avg"),
       nn.Softmax: ("softmax", None), nn.Dropout: ("dropout", None),
       nn.Flatten: ("flatten", None)}


def whd(shape):
    """PyTorch's [N, C, H, W] or [N, K] as cnnc's [W, H, D]."""
    if len(shape) == 2:
        return [1, 1, shape[1]]
    return [shape[3], shape[2], shape[1]]


def macs(module, y_whd):
    if isinstance(module, nn.Conv2d):
        w2, h2, k = y_whd
        fh, fw = module.kernel_size
        return w2 * h2 * k * fh * fw * (module.in_channels // module.groups)
    if isinstance(module, nn.Linear):
        return module.in_features * module.out_features
    return 0


def report(example):
    net, input_whd, layers = example()
    model = nest(layers)
    tensors = {k: list(v.shape) for k, v in model.state_dict().items()}
    w, h, d = input_whd
    x_shape = [1, d, h, w]
    rows = [collections.OrderedDict(
        [("name", "input"), ("op", "input"), ("output", list(input_whd)),
         ("params", 0), ("macs", 0)])]
    for name, module in layers:
        y_shape, how = run_layer(module, x_shape)
        y = whd(y_shape)
        row = collections.OrderedDict()
        row["name"] = name
        row["op"], pool = OPS[type(module)]
        if pool:
            row["pool"] = pool
        row["module"] = repr(module)
        row["output"] = y
        row["params"] = sum(p.numel() for p in module.parameters())
        row["macs"] = macs(module, y)
        own = {k: v for k, v in tensors.items() if k.rsplit(".", 1)[0] == name}
        if own:
            row["tensors"] = own  # the state dict entries --weights must hold
        if how != "meta":
            row["shape_by"] = how
        rows.append(row)
        x_shape = y_shape
    out = collections.OrderedDict()
    out["generated_by"] = ("scripts/torch_reports.py with torch %s; regenerate with "
                           "/usr/bin/python3 scripts/torch_reports.py" % torch.__version__)
    out["network"] = net
    out["input"] = list(input_whd)
    out["output"] = rows[-1]["output"]
    out["layers"] = rows
    out["total_params"] = sum(r["params"] for r in rows)
    out["total_macs"] = sum(r["macs"] for r in rows)
    assert out["total_params"] == sum(p.numel() for p in model.parameters())
    return net, out


def dump(obj):
    """JSON with one layer per line, so a diff reads layer by layer."""
    lines = ["{"]
    items = list(obj.items())
    for i, (k, v) in enumerate(items):
        comma = "," if i + 1 < len(items) else ""
        if k == "layers":
            lines.append('  "layers": [')
            for j, row in enumerate(v):
                lines.append("    " + json.dumps(row) + ("," if j + 1 < len(v) else ""))
            lines.append("  ]" + comma)
        else:
            lines.append("  %s: %s%s" % (json.dumps(k), json.dumps(v), comma))
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    only = set(sys.argv[1:])
    for example in EXAMPLES:
        if only and example.__name__ not in only:
            continue
        net, out = report(example)
        path = os.path.join(OUT_DIR, net + ".torch.json")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(dump(out))
        os.replace(tmp, path)
        print("%-9s %3d layers %18s params %18s MACs -> %s" % (
            net, len(out["layers"]), format(out["total_params"], ","),
            format(out["total_macs"], ","), os.path.relpath(path, ROOT)))


if __name__ == "__main__":
    main()
