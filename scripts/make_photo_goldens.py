#!/usr/bin/python3
"""Makes the PNG and JPEG test images of tests/runtime/photos and what PIL and
torchvision make of them, for runtime.photos (tests/runtime/test_photos.c)
and runtime.cli (tests/runtime/run_cli.sh).

    /usr/bin/python3 scripts/make_photo_goldens.py [OUT_DIR]

Needs PIL, numpy and torchvision (Debian's python3-pil, python3-numpy,
python3-torchvision); the tests read only the committed files. Writes:
- the images: small, in every layout the runtime reads (grey, RGB,
  palette, 4-bit palette, 1-bit grey, RGBA, 16-bit grey PNG; RGB, grey
  and progressive JPEG), drawn from a seeded generator;
- NAME.npy: the samples PIL decodes, (H, W, C), after convert("L") or
  convert("RGB") (uint8), or 16-bit grey as it is (float32);
- NAME_S_WxH.npy: torchvision's Resize(S) then CenterCrop((H, W)) on that
  PIL image, (H, W, C) uint8;
- gray8_4x4.pgm: gray8.png through Resize(4) + CenterCrop(4);
- cases.tsv: file, S (0: decode only), W, H, golden.
"""
import os
import sys

import numpy as np
import torchvision.transforms as T
from PIL import Image


def picture(rng, w, h, channels):
    """Smooth ramps plus noise and a few hard edges: every filter tap matters."""
    y, x = np.mgrid[0:h, 0:w]
    planes = []
    for c in range(channels):
        base = 127 + 90 * np.sin(x / (3.0 + c) + y / (5.0 + 2 * c))
        base += rng.normal(0, 20, (h, w))
        base[(x // 7 + y // 5 + c) % 3 == 0] += 60
        planes.append(np.clip(np.rint(base), 0, 255))
    return np.stack(planes, axis=-1).astype(np.uint8)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "runtime", "photos")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(22)
    images = {}  # name -> mode it is read in

    Image.fromarray(picture(rng, 37, 29, 1)[:, :, 0], "L").save(f"{out}/gray8.png")
    images["gray8.png"] = "L"
    Image.fromarray(picture(rng, 41, 30, 3), "RGB").save(f"{out}/rgb8.png")
    images["rgb8.png"] = "RGB"
    Image.fromarray(picture(rng, 33, 35, 3), "RGB").quantize(16).save(f"{out}/palette.png")
    images["palette.png"] = "RGB"
    rgba = np.concatenate([picture(rng, 23, 31, 3), picture(rng, 23, 31, 1)], axis=-1)
    Image.fromarray(rgba, "RGBA").save(f"{out}/rgba.png")
    images["rgba.png"] = "RGB"
    g16 = (picture(rng, 20, 15, 1)[:, :, 0].astype(np.uint16) * 257 + rng.integers(0, 257, (15, 20))).astype(np.uint16)
    Image.fromarray(g16, "I;16").save(f"{out}/gray16.png")
    images["gray16.png"] = None
    Image.fromarray(picture(rng, 45, 34, 3), "RGB").save(f"{out}/photo.jpg", quality=90)
    images["photo.jpg"] = "RGB"
    Image.fromarray(picture(rng, 30, 40, 1)[:, :, 0], "L").save(f"{out}/gray.jpg", quality=85)
    images["gray.jpg"] = "L"
    Image.fromarray(picture(rng, 26, 19, 3), "RGB").save(f"{out}/progressive.jpg", quality=80, progressive=True)
    images["progressive.jpg"] = "RGB"
    # 1-bit grey and a 4-bit palette: samples libpng widens to 8 bits.
    Image.fromarray(picture(rng, 19, 13, 1)[:, :, 0] > 127).save(f"{out}/bilevel.png")
    images["bilevel.png"] = "L"
    Image.fromarray(picture(rng, 21, 17, 3), "RGB").quantize(12).save(f"{out}/palette4.png", bits=4)
    images["palette4.png"] = "RGB"

    def load(name):
        img = Image.open(f"{out}/{name}")
        return img.convert(images[name]) if images[name] else img

    def save(arr, golden):
        a = np.asarray(arr)
        if a.ndim == 2:
            a = a[:, :, None]
        # 8-bit samples as uint8 (the runtime's .npy reader converts them).
        np.save(f"{out}/{golden}", a if a.dtype == np.uint8 else a.astype(np.float32))

    rows = []
    for name in images:
        golden = name.replace(".", "_") + ".npy"
        save(load(name), golden)
        rows.append((name, 0, 0, 0, golden))
    # (file, S, W, H): down and up, odd margins (Python's round to even),
    # a size that does not change, a crop of the whole image.
    resizes = [("bilevel.png", 15, 11, 15), ("gray8.png", 20, 16, 16), ("gray8.png", 40, 24, 30), ("gray8.png", 29, 37, 29),
               ("rgb8.png", 16, 16, 16), ("rgb8.png", 7, 5, 5), ("rgb8.png", 45, 40, 44),
               ("palette.png", 12, 10, 12), ("rgba.png", 25, 20, 20), ("photo.jpg", 24, 20, 20),
               ("photo.jpg", 33, 43, 33), ("gray.jpg", 33, 30, 30), ("progressive.jpg", 17, 16, 16)]
    for name, s, w, h in resizes:
        golden = "%s_%d_%dx%d.npy" % (name.replace(".", "_"), s, w, h)
        save(T.Compose([T.Resize(s), T.CenterCrop((h, w))])(load(name)), golden)
        rows.append((name, s, w, h, golden))
    # For runtime.cli: a 4x4 network given gray8.png with --resize=4 must
    # see what it sees given this PGM.
    T.Compose([T.Resize(4), T.CenterCrop(4)])(load("gray8.png")).save(f"{out}/gray8_4x4.pgm")
    with open(f"{out}/cases.tsv", "w") as f:
        f.write("# file\tresize\twidth\theight\tgolden (scripts/make_photo_goldens.py)\n")
        for r in rows:
            f.write("\t".join(str(v) for v in r) + "\n")


if __name__ == "__main__":
    main()
