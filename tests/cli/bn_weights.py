#!/usr/bin/python3
"""Weights, an input and PyTorch's output for tests/cli/bn.cnn, committed in
tests/data/bn/ so that the test needs no PyTorch. Regenerate (from the
repository root, then review and commit):

    /usr/bin/python3 tests/cli/bn_weights.py tests/data/bn

    bn_weights.py DIR    writes into DIR:
      bn.safetensors      the module's state dict, num_batches_tracked (I64) included
      orphan.safetensors  the same plus bn9.running_mean and bn9.running_var, which
                          no batchnorm of bn.cnn reads
      aux.safetensors     the state dict plus aux1.bn's running statistics, a part
                          of the model (as GoogLeNet's aux1) the network lacks whole
      conv1.safetensors   the state dict with c1 named conv1, for bn.cnn without bn1
                          and c1 so renamed: the error suggests where bn1 goes
      x.npy, want.npy     a batch of 3 images and PyTorch's output for them

Running statistics and affine parameters are random (not the 0/1 of a fresh
BatchNorm2d), so a fold that drops any term shows. Needs torch and numpy.
"""

import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'scripts'))
from synth_weights import write_safetensors  # noqa: E402


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.c2 = nn.Conv2d(16, 16, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(16, eps=1e-3)
        self.bn3 = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16 * 3 * 3, 5)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.bn1(self.c1(x))), 2)
        x = nn.functional.avg_pool2d(torch.relu(self.bn2(self.c2(x))), 2)
        return self.fc(torch.flatten(self.bn3(x), 1))


def main(out):
    torch.manual_seed(7)
    net = Net()
    with torch.no_grad():
        for bn in (net.bn1, net.bn2, net.bn3):
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.num_batches_tracked.fill_(100)
    net.eval()
    x = torch.rand(3, 3, 12, 12) * 2 - 1
    with torch.no_grad():
        want = net(x)
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    write_safetensors(os.path.join(out, 'bn.safetensors'), state)
    renamed = {('conv1.weight' if k == 'c1.weight' else k): v for k, v in state.items()}
    write_safetensors(os.path.join(out, 'conv1.safetensors'), renamed)
    aux = dict(state)
    state['bn9.running_mean'] = np.zeros(16, np.float32)
    state['bn9.running_var'] = np.ones(16, np.float32)
    write_safetensors(os.path.join(out, 'orphan.safetensors'), state)
    aux['aux1.bn.running_mean'] = np.zeros(16, np.float32)
    aux['aux1.bn.running_var'] = np.ones(16, np.float32)
    write_safetensors(os.path.join(out, 'aux.safetensors'), aux)
    np.save(os.path.join(out, 'x.npy'), x.numpy())
    np.save(os.path.join(out, 'want.npy'), want.numpy())


if __name__ == '__main__':
    main(sys.argv[1])
