#!/usr/bin/python3
"""torchvision's ResNet-18, MobileNetV2, SqueezeNet 1.1 and GoogLeNet (full size)
as torch.onnx.export writes them at opsets 11, 13 and 17, with a fixed batch of 1
and with a symbolic batch: 24 models, and PyTorch's outputs for them at batch 1
and 7. Checked by tests/onnx/run_torchvision.sh (CTest onnx.torchvision).

    /usr/bin/python3 scripts/make_tv_onnx.py tests/data/onnx_tv

Each model is exported with torch.onnx.export's defaults but for the names
(input "input", output "output", and dynamic_axes {0: "N"} on both for a
symbolic batch), from the network in eval() with randomised BatchNorm
statistics and biases (fixed seed). The exporter folds each BatchNorm into the
Conv before it, so the graph is the one a user gets: every node, attribute,
opset and constant (MobileNetV2's Clip bounds) is as exported. (With torch
1.13 the six exports of a network differ only in the opset number and the
input's and output's batch dimension: these networks use no op whose form
changes between opsets 11 and 17, and flatten exports as Flatten, with no
Shape arithmetic on the batch.)

What differs from a plain user export is only the values of the Conv and Gemm
initializers (weights and biases, the BatchNorms already folded into them).
Full-size random weights do not compress and a model is 5 to 47 MB, too much
to commit 24 times; so those values are replaced by ones that
tests/onnx/tv_fill.py computes from (network, index of the node among the
Conv/Gemm nodes, input slot), and what is committed is the skeleton: the
export with those initializers' data removed (their names, dims and type
kept). The test refills a skeleton and gets the full model back, without
PyTorch. All six exports of a network hold the same weights, so one golden
per network and batch serves them all.

PyTorch's reference is the same torchvision network with each Conv+BatchNorm
fused in torch (torch.nn.utils.fusion.fuse_conv_bn_eval, the BatchNorm
replaced by an identity), so its convs have the parameters of the exported
Conv nodes; each Conv2d and Linear gets the filled values of the Conv or Gemm
node at its position in execution order (recorded with forward hooks). This
script checks, and fails loudly otherwise: that the counts and shapes agree;
that the fused modules' parameters equal the exporter's initializers and the
fused network (with them) the unfused one, so the fusion is the exporter's;
that every export of a network has the same Conv/Gemm sequence; and that a
refilled skeleton equals the export with the fill put in directly.

Written to DIR: skeletons.tar.xz, holding NET/opsetK_fixed.onnx and
NET/opsetK_sym.onnx (the six exports of a network being nearly the same,
together they compress to a few kB), and per
network NET/out1.npy and NET/out7.npy (PyTorch's output in float64, stored as
float32, for tv_fill.image_batch(1) and (7)).
"""
import copy
import os
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torchvision
from onnx import numpy_helper
from torch.nn.utils.fusion import fuse_conv_bn_eval

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "onnx"))
import tv_fill  # noqa: E402

OPSETS = (11, 13, 17)


def networks():
    return {
        "resnet18": lambda: torchvision.models.resnet18(weights=None),
        "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(weights=None),
        "squeezenet1_1": lambda: torchvision.models.squeezenet1_1(weights=None),
        "googlenet": lambda: torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True),
    }


def randomise(model, gen):
    """Random BatchNorm statistics and random biases. torchvision initialises
    biases to zero, and the exporter merges initializers of equal value into
    one (adding Identity nodes), which a trained model's never are."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
            m.bias.data.copy_((torch.rand(m.bias.shape, generator=gen) - 0.5) * 0.2)
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.2)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.2)


def execution_order(model, types, x):
    """The modules of the given types in the order they run on x, with their
    inputs and outputs."""
    seen = []
    hooks = [m.register_forward_hook(lambda m, i, o: seen.append((m, i[0], o)))
             for m in model.modules() if isinstance(m, types)]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return seen


def set_module(model, module, new):
    for name, m in model.named_modules():
        if m is module:
            parent, _, leaf = name.rpartition(".")
            setattr(model.get_submodule(parent) if parent else model, leaf, new)
            return
    raise SystemExit(f"make_tv_onnx: module {module} not found")


def fused(model, x):
    """A copy of model with each BatchNorm2d folded into the Conv2d whose output
    it reads, as the exporter folds it."""
    model = copy.deepcopy(model)
    runs = execution_order(model, (nn.Conv2d, nn.BatchNorm2d), x)
    for bn, bn_in, _ in runs:
        if not isinstance(bn, nn.BatchNorm2d):
            continue
        convs = [c for c, _, out in runs if isinstance(c, nn.Conv2d) and out is bn_in]
        if len(convs) != 1:
            raise SystemExit(f"make_tv_onnx: a BatchNorm2d does not follow one Conv2d ({len(convs)})")
        set_module(model, convs[0], fuse_conv_bn_eval(convs[0], bn))
        set_module(model, bn, nn.Identity())
    if any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
        raise SystemExit("make_tv_onnx: a BatchNorm2d was left unfused")
    return model


def export(model, x, path, opset, symbolic):
    axes = {"input": {0: "N"}, "output": {0: "N"}} if symbolic else None
    torch.onnx.export(model, x, str(path), opset_version=opset, input_names=["input"], output_names=["output"],
                      dynamic_axes=axes)
    m = onnx.load(str(path))
    onnx.checker.check_model(m)
    return m


def conv_gemm_params(model, x):
    """[(module, [weight, bias])] of the Conv2d and Linear modules in execution
    order; a module that runs twice would break the correspondence."""
    runs = [m for m, _, _ in execution_order(model, (nn.Conv2d, nn.Linear), x)]
    if len(set(map(id, runs))) != len(runs):
        raise SystemExit("make_tv_onnx: a Conv2d or Linear runs twice")
    return [(m, [m.weight, m.bias]) for m in runs]


def check_slots(net, m):
    """The Conv/Gemm slots of an export: [(index, slot, name, dims)], each
    initializer used once, and Gemm's weight transposed as Linear's is."""
    uses = {}
    for node in m.graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
        if node.op_type == "Gemm":
            attrs = {a.name: a for a in node.attribute}
            if "transB" not in attrs or attrs["transB"].i != 1:
                raise SystemExit(f"make_tv_onnx: {net}: Gemm {node.name} without transB=1")
    inits = {t.name: t for t in m.graph.initializer}
    out = []
    for index, slot, name in tv_fill.filled_slots(m.graph):
        if uses[name] != 1:
            raise SystemExit(f"make_tv_onnx: {net}: initializer {name} is used {uses[name]} times")
        out.append((index, slot, name, tuple(inits[name].dims)))
    return out


def skeleton(m, slots):
    m = onnx.ModelProto.FromString(m.SerializeToString())
    names = {name for _, _, name, _ in slots}
    for t in m.graph.initializer:
        if t.name in names:
            t.ClearField("raw_data")
            t.ClearField("float_data")
    return m


def make(net, build, out, skel_dir, gen):
    torch.manual_seed(21)
    model = build().eval()
    randomise(model, gen)
    x_check = torch.randn(2, 3, 224, 224, generator=gen)
    fmodel = fused(model, x_check).eval()
    params = conv_gemm_params(fmodel, x_check)

    d = out / net
    d.mkdir(parents=True, exist_ok=True)
    sd = skel_dir / net
    sd.mkdir(parents=True, exist_ok=True)
    layout = None
    with tempfile.TemporaryDirectory() as tmp:
        for opset in OPSETS:
            for symbolic in (False, True):
                tag = f"opset{opset}_{'sym' if symbolic else 'fixed'}"
                m = export(model, torch.zeros(1, 3, 224, 224), Path(tmp) / f"{tag}.onnx", opset, symbolic)
                slots = check_slots(net, m)
                shape = [(i, s, dims) for i, s, _, dims in slots]
                if layout is None:
                    layout = shape
                    first = m
                elif shape != layout:
                    raise SystemExit(f"make_tv_onnx: {net} {tag}: Conv/Gemm weights differ from the first export's")
                if any(n.op_type == "BatchNormalization" for n in m.graph.node):
                    raise SystemExit(f"make_tv_onnx: {net} {tag}: the exporter left a BatchNormalization")
                skel = skeleton(m, slots)
                onnx.save(skel, str(sd / f"{tag}.onnx"))
                # The refilled skeleton is the export with the fill put in.
                direct = onnx.ModelProto.FromString(m.SerializeToString())
                inits = {t.name: t for t in direct.graph.initializer}
                for i, s, name, dims in slots:
                    inits[name].raw_data = tv_fill.fill(net, i, s, dims).astype("<f4").tobytes()
                tv_fill.refill(net, str(sd / f"{tag}.onnx"), os.path.join(tmp, "refilled.onnx"))
                if onnx.load(os.path.join(tmp, "refilled.onnx")).SerializeToString() != direct.SerializeToString():
                    raise SystemExit(f"make_tv_onnx: {net} {tag}: the refilled skeleton is not the filled export")
                print(f"{net} {tag}: {len(m.graph.node)} nodes, skeleton {(sd / f'{tag}.onnx').stat().st_size} bytes")

    # The ONNX Conv/Gemm nodes and the fused modules, position by position.
    by_pos = {}
    for i, s, dims in layout:
        by_pos.setdefault(i, {})[s] = dims
    if len(by_pos) != len(params):
        raise SystemExit(f"make_tv_onnx: {net}: {len(by_pos)} Conv/Gemm nodes, {len(params)} Conv2d/Linear modules")
    inits = {t.name: numpy_helper.to_array(t) for t in first.graph.initializer}
    first_slots = {(i, s): name for i, s, name, _ in check_slots(net, first)}
    for i, (mod, ps) in enumerate(params):
        for s, p in ((1, ps[0]), (2, ps[1])):
            if p is None:
                if s in by_pos[i]:
                    raise SystemExit(f"make_tv_onnx: {net}: node {i} has a bias, its module none")
                continue
            if by_pos[i].get(s) != tuple(p.shape):
                raise SystemExit(f"make_tv_onnx: {net}: node {i} slot {s} is {by_pos[i].get(s)}, "
                                 f"module {type(mod).__name__} {tuple(p.shape)}")
            exported = inits[first_slots[(i, s)]]
            if not np.allclose(exported, p.detach().numpy(), rtol=1e-5, atol=1e-6):
                raise SystemExit(f"make_tv_onnx: {net}: node {i} slot {s}: the torch fusion is not the exporter's")
    # The fused network with the exporter's weights is the unfused network.
    with torch.no_grad():
        for i, (mod, ps) in enumerate(params):
            for s, p in ((1, ps[0]), (2, ps[1])):
                if p is not None:
                    p.copy_(torch.from_numpy(inits[first_slots[(i, s)]].copy()))
        want, got = model(x_check), fmodel(x_check)
    err = float((want - got).abs().max()) / max(1.0, float(want.abs().max()))
    if not err <= 1e-4:
        raise SystemExit(f"make_tv_onnx: {net}: fused and unfused differ by {err:.2e} relative")

    # PyTorch's outputs with the fill, in float64.
    with torch.no_grad():
        for i, (mod, ps) in enumerate(params):
            for s, p in ((1, ps[0]), (2, ps[1])):
                if p is not None:
                    p.copy_(torch.from_numpy(tv_fill.fill(net, i, s, p.shape)))
        ref = fmodel.double()
        for n in (1, 7):
            y = ref(torch.from_numpy(tv_fill.image_batch(n)).double()).numpy()
            np.save(d / f"out{n}.npy", y.astype(np.float32))
            print(f"{net} out{n}: {y.shape}, |y| <= {np.abs(y).max():.3g}, std {y.std():.3g}; "
                  f"fused-vs-unfused {err:.1e}")


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: make_tv_onnx.py OUT_DIR\n")
        sys.exit(2)
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        skel_dir = Path(tmp)
        for net, build in networks().items():
            make(net, build, out, skel_dir, torch.Generator().manual_seed(21))
        # Reproducible bytes: sorted names, no dates or owners.
        with tarfile.open(out / "skeletons.tar.xz", "w:xz", format=tarfile.USTAR_FORMAT) as tar:
            for path in sorted(skel_dir.rglob("*.onnx")):
                info = tar.gettarinfo(str(path), str(path.relative_to(skel_dir)))
                info.mtime, info.uid, info.gid, info.uname, info.gname, info.mode = 0, 0, 0, "", "", 0o644
                with open(path, "rb") as fp:
                    tar.addfile(info, fp)
        print("skeletons.tar.xz", (out / "skeletons.tar.xz").stat().st_size, "bytes")


if __name__ == "__main__":
    main()
