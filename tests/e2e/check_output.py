#!/usr/bin/python3
"""Compares what a compiled program wrote with a golden; used by run_goldens.sh.

    check_output.py close OUT.npy REF.npy        the one tolerance (read from tests/tolerance.h):
                                                 max|out - ref| <= 1e-4 x max(1, max|ref|)
    check_output.py nanclose OUT.npy REF.npy     NaN exactly where the reference has NaN,
                                                 the other values as close does
    check_output.py pgm OUT.pgm REF.pgm          same size, pixels within 1 level
    check_output.py accuracy OUT.npy LABELS.npy TORCH.json
                                                 argmax over classes: as many correct as
                                                 PyTorch got (torch_accuracy.json)
    check_output.py top1 OUT.json TORCH.json     --json output for digit-<label>-<i>.pgm
                                                 files: each one's best class is <label>

Prints one short line of detail and exits 0 on a pass, 1 on a failure.
Needs Python 3 and numpy only.
"""

import json
import os
import re
import sys

import numpy as np



def read_tolerance():
    """CNNC_TOLERANCE from tests/tolerance.h: the one place it is defined."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tolerance.h")
    with open(path) as fp:
        return float(re.search(r"#define\s+CNNC_TOLERANCE\s+(\S+)", fp.read()).group(1))


TOLERANCE = read_tolerance()


def close(out_path, ref_path):
    return close_arrays(np.load(out_path), np.load(ref_path))


def close_arrays(out, ref):
    if out.dtype != np.float32:
        return False, "output dtype %s, expected float32" % out.dtype
    if out.shape != ref.shape:
        return False, "output shape %s, expected %s" % (out.shape, ref.shape)
    ref64 = ref.astype(np.float64)
    bound = TOLERANCE * max(1.0, float(np.max(np.abs(ref64))))
    diff = np.abs(out.astype(np.float64) - ref64)
    if np.isnan(diff).any():
        return False, "NaN in the output"
    worst = int(np.argmax(diff))
    err = float(diff.flat[worst])
    detail = "max err %.3g = %.3g x bound" % (err, err / bound)
    if err > bound:
        where = np.unravel_index(worst, out.shape)
        detail += "; at %s out %.7g ref %.7g; %d of %d values off" % (
            tuple(int(i) for i in where), float(out.flat[worst]), float(ref.flat[worst]),
            int((diff > bound).sum()), diff.size)
        return False, detail
    return True, detail


def nanclose(out_path, ref_path):
    out, ref = np.load(out_path), np.load(ref_path)
    if out.shape != ref.shape:
        return False, "output shape %s, expected %s" % (out.shape, ref.shape)
    want, got = np.isnan(ref), np.isnan(out)
    if not want.any():
        return False, "the reference has no NaN: nothing to check"
    if (want != got).any():
        where = tuple(int(i) for i in np.argwhere(want != got)[0])
        return False, "%d NaN, %d expected; first differing at %s: out %.7g ref %.7g" % (
            int(got.sum()), int(want.sum()), where, float(out[where]), float(ref[where]))
    ok, detail = close_arrays(np.where(want, 0, out).astype(out.dtype), np.where(want, 0, ref).astype(ref.dtype))
    return ok, "%d NaN where expected; %s" % (int(want.sum()), detail)


def read_pnm(path):
    with open(path, "rb") as fp:
        data = fp.read()
    fields, pos = [], 0
    while len(fields) < 4:
        m = re.compile(rb"\s*(#[^\n]*\n\s*)*([^\s#]+)").match(data, pos)
        fields.append(m.group(2))
        pos = m.end()
    magic, w, h, maxval = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    if magic == b"P5":
        body = data[pos + 1:]
        dt = np.uint8 if maxval < 256 else ">u2"
        return np.frombuffer(body, dtype=dt)[:w * h].reshape(h, w).astype(np.int64), maxval
    if magic == b"P2":
        return np.array(data[pos:].split(), dtype=np.int64)[:w * h].reshape(h, w), maxval
    raise ValueError("%s: not a P2/P5 PGM" % path)


def pgm(out_path, ref_path):
    out, omax = read_pnm(out_path)
    ref, rmax = read_pnm(ref_path)
    if out.shape != ref.shape or omax != rmax:
        return False, "image %s maxval %d, expected %s maxval %d" % (out.shape, omax, ref.shape, rmax)
    diff = np.abs(out - ref)
    detail = "%d of %d pixels differ, by at most %d" % (int((diff > 0).sum()), diff.size, int(diff.max()))
    return bool(diff.max() <= 1), detail


def accuracy(out_path, labels_path, torch_path):
    out, labels = np.load(out_path), np.load(labels_path)
    with open(torch_path) as fp:
        ref = json.load(fp)
    if out.shape != (len(labels), 10):
        return False, "output shape %s, expected (%d, 10)" % (out.shape, len(labels))
    pred = out.argmax(axis=1)
    correct = int((pred == labels).sum())
    differ = np.flatnonzero(pred != np.array(ref["predictions"]))
    detail = "%d/%d correct (%.4f), PyTorch %d/%d (%.4f); %d predictions differ from PyTorch's" % (
        correct, len(labels), correct / len(labels), ref["correct"], ref["images"],
        ref["accuracy"], len(differ))
    if len(differ):
        detail += " (images %s)" % ", ".join(str(i) for i in differ[:10])
    return correct == ref["correct"] and len(differ) == 0, detail


def top1(out_path, torch_path):
    with open(out_path) as fp:
        results = json.load(fp)
    bad = []
    for item in results:
        m = re.match(r"digit-(\d)-\d+\.pgm$", os.path.basename(item["input"]))
        if not m or item["result"][0]["index"] != int(m.group(1)):
            bad.append(os.path.basename(item["input"]))
    detail = "%d images, %d classified as their file name says" % (len(results), len(results) - len(bad))
    if bad:
        detail += "; wrong: " + " ".join(bad)
    return not bad and len(results) > 0, detail


def main(argv):
    cmds = {"close": (close, 2), "nanclose": (nanclose, 2), "pgm": (pgm, 2), "accuracy": (accuracy, 3), "top1": (top1, 2)}
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 != cmds[argv[1]][1]:
        sys.stderr.write(__doc__)
        return 2
    try:
        ok, detail = cmds[argv[1]][0](*argv[2:])
    except Exception as e:   # an unreadable or malformed output is a failure, not a crash
        ok, detail = False, "%s: %s" % (type(e).__name__, e)
    print(detail)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
