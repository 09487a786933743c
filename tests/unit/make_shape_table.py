#!/usr/bin/python3
"""Writes shape_table.h, the expected W2 values test_shape.c checks
ir_window_solve against (SPEC sections 2 and 9: a dilation R makes the
window span R*(F-1)+1). Run from this folder:

    /usr/bin/python3 make_shape_table.py > shape_table.h

The output sizes come from PyTorch itself: conv1d's output length (with its
dilation) for floor
(and for the exact rule, whose W2 is floor's when the division is exact),
max_pool1d(ceil_mode=True)'s for ceil (PyTorch's ceil_mode rule; pooling
allows pad <= size/2 only; ceil rows with a larger pad, which conv allows,
use ATen's pooling_output_shape formula with SPEC section 8's "round= on an
exact division changes nothing", checked against max_pool1d on every row it
can run), and PyTorch's refusal
to run for a window larger than the padded input. The numerator W1 - F + 2P
and its remainder by S are the SPEC's formula. Rows past what a tensor can
hold (64-bit sizes) use ATen's pooling_output_shape formula in Python's
exact integers, written out below.
"""
import itertools
import sys

import torch
import torch.nn.functional as F

INT64_MAX = 2**63 - 1


def torch_floor(w1, f, s, p, d=1):
    x = torch.zeros(1, 1, w1)
    w = torch.zeros(1, 1, f)
    try:
        return F.conv1d(x, w, stride=s, padding=p, dilation=d).shape[-1]
    except RuntimeError:
        return None  # "Kernel size can't be greater than actual input size"


def torch_ceil(w1, f, s, p, d=1):
    x = torch.zeros(1, 1, w1)
    try:
        return F.max_pool1d(x, f, stride=s, padding=p, dilation=d, ceil_mode=True).shape[-1]
    except RuntimeError:
        return None


def aten_pooling_output_shape(w1, f, s, p, ceil, d=1):
    """ATen's pooling_output_shape_pad_lr, in exact integers."""
    out = (w1 + 2 * p - d * (f - 1) - 1 + ((s - 1) if ceil else 0)) // s + 1
    if ceil and (out - 1) * s >= w1 + p:
        out -= 1
    return out


def spec_ceil(w1, f, s, p, d=1):
    """round=ceil for any pad: ATen's rule, except that on an exact division
    ceil changes nothing (SPEC section 8). ATen's rule alone would drop a last
    window starting in the right padding even then, which takes pad >= size
    and so never happens in pooling (pad <= size/2); add() checks that the two
    agree wherever PyTorch pools."""
    if (w1 + 2 * p - d * (f - 1) - 1) % s == 0:
        return aten_pooling_output_shape(w1, f, s, p, False, d)
    return aten_pooling_output_shape(w1, f, s, p, True, d)


rows = []  # (w1, f, s, p, r, round, status, num, rem, out)


def add(w1, f, s, p, d=1):
    num = w1 + 2 * p - (d * (f - 1) + 1)
    fl = torch_floor(w1, f, s, p, d)
    if fl is None:
        assert num < 0, (w1, f, s, p, d)
        for r in ("EXACT", "FLOOR", "CEIL"):
            rows.append((w1, f, s, p, d, r, "TOO_BIG", 0, 0, 0))
        return
    rem = num % s
    if rem == 0:
        rows.append((w1, f, s, p, d, "EXACT", "OK", num, rem, fl))
    else:
        rows.append((w1, f, s, p, d, "EXACT", "NOT_WHOLE", num, rem, 0))
    rows.append((w1, f, s, p, d, "FLOOR", "OK", num, rem, fl))
    if 2 * p <= f:  # PyTorch pools with pad <= size/2 only
        ce = torch_ceil(w1, f, s, p, d)
        # max_pool1d also checks the output is >= 1, which the padded-size check already implies.
        assert ce is not None and ce == aten_pooling_output_shape(w1, f, s, p, True, d), (w1, f, s, p, d)
        assert ce == spec_ceil(w1, f, s, p, d), (w1, f, s, p, d)
        rows.append((w1, f, s, p, d, "CEIL", "OK", num, rem, ce))
    else:
        # conv takes round=ceil with any pad (SPEC section 2); PyTorch's pooling
        # refuses pad > size/2, so these rows use spec_ceil, checked against
        # max_pool1d on every row above.
        rows.append((w1, f, s, p, d, "CEIL", "OK", num, rem, spec_ceil(w1, f, s, p, d)))


# A small grid, every case of the rule near its edges.
for w1, f, s, p in itertools.product(range(1, 9), range(1, 5), range(1, 4), range(0, 3)):
    add(w1, f, s, p)
# Dilated windows (SPEC section 9): the span R*(F-1)+1 in F's place, on a
# grid wide enough for spans up to 10 to fit and not fit.
for w1, f, s, p, d in itertools.product(range(1, 12, 2), range(2, 5), range(1, 4), range(0, 3), range(2, 4)):
    add(w1, f, s, p, d)
# The networks' own cases: LeNet, AlexNet, VGG, ResNet's stem and pools, the
# SPEC's 12.5 example, and a few where ceil drops its last window.
for case in [(28, 5, 1, 2), (28, 5, 2, 0), (32, 5, 1, 0), (224, 11, 4, 2), (227, 11, 4, 0),
             (55, 3, 2, 0), (27, 3, 2, 0), (13, 3, 2, 0), (224, 3, 1, 1), (224, 2, 2, 0),
             (224, 7, 2, 3), (112, 3, 2, 1), (7, 7, 1, 0), (200, 200, 1, 0), (10, 2, 3, 1),
             (6, 4, 5, 2), (9, 3, 4, 1), (100, 10, 7, 5), (1000, 999, 998, 0)]:
    add(*case)
# DeepLab's atrous 3x3 convs (R = 2, 4 with pad = R) and a dilated pool.
for case in [(65, 3, 1, 2, 2), (65, 3, 1, 4, 4), (33, 3, 2, 2, 2), (28, 2, 2, 0, 2)]:
    add(*case)

# 64-bit rows: sizes no tensor holds, by ATen's formula in exact integers.
big = [(INT64_MAX - 2, 1, 1, 1), (INT64_MAX - 10, 1, 2**62 - 1, 0),
       (2**62, 3, 2**61, 2**60), (INT64_MAX, INT64_MAX, 1, 0), (INT64_MAX, 2, INT64_MAX, 0)]
for w1, f, s, p in big:
    num = w1 + 2 * p - f
    assert w1 + 2 * p <= INT64_MAX and num >= 0
    rem = num % s
    rows.append((w1, f, s, p, 1, "EXACT", "OK" if rem == 0 else "NOT_WHOLE", num, rem,
                 num // s + 1 if rem == 0 else 0))
    rows.append((w1, f, s, p, 1, "FLOOR", "OK", num, rem, aten_pooling_output_shape(w1, f, s, p, False)))
    # Ceil for every row, pad > size/2 included, as conv takes it: (W1-2, 1,
    # 1, 1) divides exactly, so ceil keeps floor's W2 (SPEC section 8) though
    # its last window starts in the right padding.
    rows.append((w1, f, s, p, 1, "CEIL", "OK", num, rem, spec_ceil(w1, f, s, p)))

out = sys.stdout
out.write("/* Generated by tests/unit/make_shape_table.py with PyTorch %s; do not edit.\n"
          " * W1, F, S, P, R, rounding, expected status, numerator W1 - (R*(F-1)+1) + 2P,\n"
          " * its remainder by S, and W2 (0 when there is none). */\n" % torch.__version__)
for r in rows:
    out.write("{%dLL, %dLL, %dLL, %dLL, %dLL, IR_ROUND_%s, IR_WINDOW_%s, %dLL, %dLL, %dLL},\n" % r)
