#!/usr/bin/python3
"""ONNX exports of torchvision models and a small hand-written one, with an
input and PyTorch's output each, laid out as libonnx-testdata lays out its
models (DIR/model.onnx, DIR/test_data_set_0/{input_0,output_0}.pb) so the
conformance runner checks them (tests/onnx/run_models.sh).

Random weights and randomised BatchNorm statistics, fixed seed. Committed
sizes stay small: MobileNetV2 at width 0.25 and a reduced-width ResNet-18
(the same 18 layers, 8 to 64 channels). The full-size models (ResNet-18
at opsets 13 and 11, SqueezeNet 1.1, GoogLeNet, MobileNetV2 at opset 17;
5 to 47 MB each) are made only with --full DIR, for a manual check (CI checks
full-size exports with scripts/make_tv_onnx.py's data):
    for d in DIR/*/; do bash tests/onnx/run_conformance.sh --one build/cnnc \
        build/tests/onnx/onnx_tensor /tmp "$d"; done

    /usr/bin/python3 scripts/make_onnx_models.py tests/data/onnx [--full DIR]
"""
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torchvision
from onnx import numpy_helper
from torchvision.models.resnet import BasicBlock, ResNet


def randomise_bn(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)


class NarrowResNet18(ResNet):
    """torchvision's ResNet-18 with every width divided by 8."""

    def __init__(self, num_classes=10):
        super().__init__(BasicBlock, [2, 2, 2, 2], num_classes=num_classes)
        self.inplanes = 8
        self.conv1 = nn.Conv2d(3, 8, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.layer1 = self._make_layer(BasicBlock, 8, 2)
        self.layer2 = self._make_layer(BasicBlock, 16, 2, stride=2)
        self.layer3 = self._make_layer(BasicBlock, 32, 2, stride=2)
        self.layer4 = self._make_layer(BasicBlock, 64, 2, stride=2)
        self.fc = nn.Linear(64, num_classes)


class ViewNet(nn.Module):
    """x.view(x.size(0), -1): the Shape/Gather/Unsqueeze/Concat/Reshape chain."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn(self.conv(x))))
        x = x.view(x.size(0), -1)
        return torch.softmax(self.fc(x), dim=1)


class PadNet(nn.Module):
    """Zero padding as PyTorch exports it: a Pad before an average pool that
    counts its padding, and nn.ZeroPad2d before a conv; LeakyReLU, Sigmoid,
    Tanh and a concatenation."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3)
        self.pool = nn.AvgPool2d(3, stride=2, padding=1)
        self.pad = nn.ZeroPad2d(2)
        self.conv2 = nn.Conv2d(6, 4, 5, stride=2)
        self.fc = nn.Linear(8 * 4 * 4, 5)

    def forward(self, x):
        x = self.pool(nn.functional.leaky_relu(self.conv(x), 0.2))
        a = self.conv2(self.pad(x))
        x = torch.cat([torch.sigmoid(a), torch.tanh(a)], 1)
        return self.fc(torch.flatten(x, 1))


class RectNet(nn.Module):
    """Windows that differ across and down, on a map that is not square:
    what a swapped height and width would get wrong."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 6, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
        self.pool = nn.MaxPool2d((2, 3), stride=(1, 2), padding=(1, 1))
        self.avg = nn.AvgPool2d((3, 2), stride=(2, 1), padding=(1, 0))
        self.fc = nn.Linear(6 * 6 * 6, 4)

    def forward(self, x):
        x = self.avg(self.pool(nn.functional.relu6(self.conv(x))))
        return self.fc(x.reshape(x.shape[0], -1))


class MatNet(nn.Module):
    """MatMul + Add as the fc, a BatchNorm1d after it, a global max pool and
    LogSoftmax's cousin Softmax over the last axis."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 3, stride=2)
        self.w = nn.Parameter(torch.randn(12, 7) * 0.3)
        self.b = nn.Parameter(torch.randn(7) * 0.1)
        self.bn = nn.BatchNorm1d(7)

    def forward(self, x):
        x = torch.flatten(nn.functional.adaptive_max_pool2d(torch.tanh(self.conv(x)), 1), 1)
        return torch.softmax(torch.relu(self.bn(torch.matmul(x, self.w) + self.b)), dim=-1)


def randomise_bn1d(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)


def export(model, name, out, size, batch, opset, dynamic, gen):
    model.eval()
    randomise_bn(model, gen)
    randomise_bn1d(model, gen)
    h, w = size if isinstance(size, tuple) else (size, size)
    channels = model.conv.in_channels if hasattr(model, "conv") else 3
    x = torch.randn(batch, channels, h, w, generator=gen)
    with torch.no_grad():
        y = model(x)
    d = out / name
    (d / "test_data_set_0").mkdir(parents=True, exist_ok=True)
    axes = {"input": {0: "N"}, "output": {0: "N"}} if dynamic else None
    torch.onnx.export(model, x, str(d / "model.onnx"), opset_version=opset, input_names=["input"],
                      output_names=["output"], dynamic_axes=axes)
    onnx.checker.check_model(onnx.load(str(d / "model.onnx")))
    for kind, t in (("input_0", x), ("output_0", y)):
        pb = numpy_helper.from_array(t.numpy().astype(np.float32), kind)
        (d / "test_data_set_0" / f"{kind}.pb").write_bytes(pb.SerializeToString())
    print(name, (d / "model.onnx").stat().st_size, "bytes")


def main():
    out = Path(sys.argv[1])
    gen = torch.Generator().manual_seed(21)
    torch.manual_seed(21)
    export(NarrowResNet18(), "resnet18_narrow", out, 64, 1, 13, False, gen)
    export(torchvision.models.mobilenet_v2(width_mult=0.25, num_classes=10), "mobilenet_v2_025", out, 64, 2, 11,
           True, gen)
    export(ViewNet(), "viewnet", out, 16, 3, 13, True, gen)
    export(ViewNet(), "viewnet_opset9", out, 16, 1, 9, False, gen)
    export(PadNet(), "padnet", out, 18, 2, 13, False, gen)
    export(RectNet(), "rectnet", out, (20, 17), 1, 13, False, gen)
    export(MatNet(), "matnet", out, 11, 4, 13, True, gen)
    export(PadNet(), "padnet_opset9", out, 18, 1, 9, True, gen)
    if "--full" in sys.argv:
        full = Path(sys.argv[sys.argv.index("--full") + 1])
        export(torchvision.models.resnet18(), "resnet18", full, 224, 1, 13, False, gen)
        export(torchvision.models.resnet18(), "resnet18_opset11", full, 224, 2, 11, True, gen)
        export(torchvision.models.squeezenet1_1(), "squeezenet1_1", full, 224, 1, 11, False, gen)
        export(torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True), "googlenet", full,
               224, 2, 13, True, gen)
        export(torchvision.models.mobilenet_v2(), "mobilenet_v2", full, 224, 3, 17, True, gen)


if __name__ == "__main__":
    main()
