#!/usr/bin/python3
"""The slides' image filters on a photo: examples/images/ and tests/data/{edge,emboss}/.

Regenerate (from the repository root; a few seconds, then review and commit):

    /usr/bin/python3 scripts/make_filter_images.py

Needs PyTorch, numpy, scipy and PIL (Debian's python3-torch, python3-scipy and
python3-pil under /usr/bin/python3); it does not run cnnc. It converts scipy's
ascent photo (scipy.misc.ascent, 512x512, 8-bit; public domain, bundled with
scipy) once to examples/images/ascent.pgm (P5), reads examples/edge.cnn and
examples/emboss.cnn (one inline 3x3 conv each, SPEC section 1) with the parser
of scripts/synth_weights.py, and computes what the compiled programs must
output for that image, in float64 with PyTorch's conv2d:

    tests/data/<net>/ascent_<net>.npy   (1, 1, 512, 512) float32, for --output X.npy
    tests/data/<net>/ascent_<net>.pgm   P5: value x 255, rounded, clamped to
                                        0..255 (SPEC section 8), for --output X.pgm

The input is what the program makes of the PGM: pixel / maxval (255), as
neither network gives mean/std. It also writes 256x256 PNG previews for the
README: examples/images/ascent.png, ascent-edge.png, ascent-emboss.png (the
filter outputs as the programs' PGMs show them).
"""

import os
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth_weights as sw  # noqa: E402

torch.set_num_threads(2)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGES = os.path.join(ROOT, "examples", "images")


def ascent():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from scipy import datasets
            img = datasets.ascent()       # scipy >= 1.10 with pooch and a cache
        except Exception:
            from scipy import misc
            img = misc.ascent()            # bundled in scipy < 1.12
    img = np.asarray(img)
    assert img.shape == (512, 512) and img.min() >= 0 and img.max() <= 255
    return img.astype(np.uint8)


def write_pgm(path, img):
    with open(path, "wb") as fp:
        fp.write(b"P5\n%d %d\n255\n" % (img.shape[1], img.shape[0]))
        fp.write(np.ascontiguousarray(img, dtype=np.uint8).tobytes())


def read_pgm(path):
    with open(path, "rb") as fp:
        data = fp.read()
    magic, w, h, maxval, body = data.split(maxsplit=4)
    assert magic == b"P5" and maxval == b"255"
    return np.frombuffer(body, dtype=np.uint8).reshape(int(h), int(w))


def to_pgm_pixels(y):
    """SPEC section 8: value x 255, rounded, clamped to 0..255."""
    return np.clip(np.floor(y * 255.0 + 0.5), 0, 255).astype(np.uint8)


def preview(path, img):
    Image.fromarray(img).resize((256, 256), Image.LANCZOS).save(path, optimize=True)


def main():
    os.makedirs(IMAGES, exist_ok=True)
    pgm = os.path.join(IMAGES, "ascent.pgm")
    if not os.path.exists(pgm):   # converted once; the committed file is the input
        write_pgm(pgm, ascent())
    img = read_pgm(pgm)
    preview(os.path.join(IMAGES, "ascent.png"), img)
    x = torch.from_numpy(img.astype(np.float64) / 255.0)[None, None]
    for name in ("edge", "emboss"):
        net = sw.load_cnn(os.path.join(ROOT, "examples", name + ".cnn"))
        (layer,) = net["layers"]
        assert layer["kind"] == "conv" and not layer["bias"] and net["input"] == (512, 512, 1)
        f, p = layer["size"], layer["pad"]
        w = torch.tensor(np.array(layer["weights"], dtype=np.float32).reshape(1, 1, f, f),
                         dtype=torch.float64)
        y = F.conv2d(x, w, stride=layer["stride"], padding=p).numpy()
        y32 = F.conv2d(x.float(), w.float(), stride=layer["stride"], padding=p).double().numpy()
        bound = 1e-4 * max(1.0, float(np.abs(y).max()))
        assert float(np.abs(y32 - y).max()) <= bound   # float32 gets there too
        out_dir = os.path.join(ROOT, "tests", "data", name)
        os.makedirs(out_dir, exist_ok=True)
        np.save(os.path.join(out_dir, "ascent_%s.npy" % name), y.astype(np.float32))
        pixels = to_pgm_pixels(y[0, 0])
        # A value x 255 this close to .5 could round either way in float32.
        frac = np.abs((y[0, 0] * 255.0) % 1.0 - 0.5)
        assert frac.min() > 1e-3, "%s: a pixel sits on a rounding edge" % name
        write_pgm(os.path.join(out_dir, "ascent_%s.pgm" % name), pixels)
        preview(os.path.join(IMAGES, "ascent-%s.png" % name), pixels)
        print("%-7s range [%.3f, %.3f], %d of %d pixels clamped to 0, %d to 255"
              % (name, y.min(), y.max(), int((y < 0).sum()), y.size, int((y * 255 > 255).sum())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
