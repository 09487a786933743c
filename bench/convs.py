#!/usr/bin/python3
"""VGG-16's 3x3 conv layers one at a time, as a % of this machine's peak.

    /usr/bin/python3 bench/convs.py [--cnnc build/cnnc] [--threads 1,2] [--runs N]

The issue's kernel target is about these layers, not the whole network (whose
fc layers are bound by memory): each distinct shape of VGG-16's thirteen 3x3
convs (pad 1, each followed by relu, as in the network) is compiled on its own
with synthetic weights (scripts/synth_weights.py) and run with the program's
--bench. The table gives the median per layer, GFLOP/s (2 x MACs / time) and
that as a % of bench/peak.c's measurement, and the MAC-weighted total over
VGG-16's thirteen layers. Needs numpy (Debian's python3-numpy) and a C compiler.
"""

import argparse
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside bench/ from the import
import bench  # noqa: E402 -- bench/bench.py: the peak measurement and the programs' --bench line

HERE = bench.HERE
ROOT = bench.ROOT
WORK = os.path.join(bench.WORK, "convs")

# (input width = height, in channels, out channels, how many of VGG-16's 13 have it)
SHAPES = [
    (224, 3, 64, 1), (224, 64, 64, 1),
    (112, 64, 128, 1), (112, 128, 128, 1),
    (56, 128, 256, 1), (56, 256, 256, 2),
    (28, 256, 512, 1), (28, 512, 512, 2),
    (14, 512, 512, 3),
]


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        sys.exit("%s failed:\n%s" % (" ".join(cmd), p.stdout[-2000:]))
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cnnc", default=os.path.join(ROOT, "build", "cnnc"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--only", help="comma-separated widths to run (e.g. 28,14)")
    a = ap.parse_args()
    a.ncpu = os.cpu_count() or 1
    os.makedirs(WORK, exist_ok=True)
    peak = bench.measure_peak(a)
    threads = [int(t) for t in a.threads.split(",")]
    only = {int(w) for w in a.only.split(",")} if a.only else None
    rows, total, layers = [], {t: [0.0, 0.0] for t in threads}, 0
    for w, c, k, count in SHAPES:
        if only and w not in only:
            continue
        name = "c%d_%d_%d" % (w, c, k)
        cnn = os.path.join(WORK, name + ".cnn")
        with open(cnn, "w") as f:
            f.write("network %s {\n  input %dx%dx%d\n  conv filters=%d size=3 pad=1\n  relu\n}\n" % (name, w, w, c, k))
        st = os.path.join(WORK, name + ".safetensors")
        prog = os.path.join(WORK, name)
        run([sys.executable, os.path.join(ROOT, "scripts", "synth_weights.py"), cnn, st])
        run([a.cnnc, cnn, "--weights", st, "-o", prog])
        macs = w * w * k * c * 9
        row = [name]
        for t in threads:
            out = run([prog, "--bench", str(a.runs), "--threads", str(t)])
            ms = float(bench.BENCH_RE.search(out).group(4))
            gf = 2 * macs / (ms * 1e6)
            row += ["%.3f" % ms, "%.1f" % gf, "%.1f%%" % (100 * gf / bench.peak_for(peak, t))]
            total[t][0] += count * ms
            total[t][1] += count * 2 * macs
        layers += count
        rows.append(row)
    head = ["layer (W_C_K)"]
    for t in threads:
        head += ["T%d ms" % t, "GFLOP/s", "% peak"]
    print("peak: %.1f GFLOP/s on one thread, %.1f on %d" % (peak["gflops_1"], peak["gflops_all"], peak["threads"]))
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    for t in threads:
        ms, flop = total[t]
        if ms > 0:
            gf = flop / (ms * 1e6)
            print("T%d: VGG-16's %d such layers %.1f ms, %.1f GFLOP/s, %.1f%% of peak"
                  % (t, layers, ms, gf, 100 * gf / bench.peak_for(peak, t)))


if __name__ == "__main__":
    main()
