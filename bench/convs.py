#!/usr/bin/python3
"""VGG-16's 3x3 conv layers, as a % of this machine's peak.

    /usr/bin/python3 bench/convs.py [--cnnc build/cnnc] [--threads 1,2] [--runs N] [--rounds R] [--alone]

The issue's kernel target is about these layers, not the whole network (whose
fc layers are bound by memory). By default VGG-16 itself (examples/vgg16.cnn,
synthetic weights from scripts/synth_weights.py) runs at batch 1 with the
program's --bench and --profile, and the table gives each of its thirteen
convs (with their fused relu and pool) as the profile times them in the
network: ms, GFLOP/s (2 x MACs / time) and that as a % of bench/peak.c's
measurement, then their total. The machine drifts, so that runs in rounds
(--rounds, default 3), each with a peak measured just before it, each
round's % against its own peak, and the table is the median round. With --alone, each distinct shape (pad 1, with
its relu) is compiled as a network of its own instead: its input is then the
network's, which the conv must copy into a padded buffer, where in VGG-16 the
layer before writes it padded already, so alone the convs run on the direct
kernel, not as Winograd (codegen/ops/winograd.c). Needs numpy (Debian's python3-numpy)
and a C compiler.
"""

import argparse
import json
import os
import re
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
    ap.add_argument("--rounds", type=int, default=3,
                    help="in the network: rounds of a peak measurement then the program's runs (default 3)")
    ap.add_argument("--only", help="with --alone: comma-separated widths to run (e.g. 28,14)")
    ap.add_argument("--alone", action="store_true", help="each shape as a network of its own")
    a = ap.parse_args()
    a.ncpu = os.cpu_count() or 1
    os.makedirs(WORK, exist_ok=True)
    peak = bench.measure_peak(a)
    threads = [int(t) for t in a.threads.split(",")]
    print("peak: %.1f GFLOP/s on one thread, %.1f on %d" % (peak["gflops_1"], peak["gflops_all"], peak["threads"]))
    if not a.alone:
        return in_network(a, peak, threads)
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


# A --profile line: name, ms, share, GFLOP/s (runtime/profile.c).
PROFILE_RE = re.compile(r"^  (.+?)\s+(\d+\.\d+)\s+\d+\.\d% +(-|\d+\.\d)$")


def in_network(a, peak, threads):
    """VGG-16 whole, its convs timed by the program's --profile.

    The machine's speed drifts by 10-20% within minutes, so the peak is
    measured again before each of a.rounds rounds of the program's runs, and
    each round's times are taken against its own peak; the table gives the
    round whose total is the median."""
    cnn = os.path.join(ROOT, "examples", "vgg16.cnn")
    st = os.path.join(WORK, "vgg16.safetensors")
    prog = os.path.join(WORK, "vgg16")
    if not os.path.exists(st):
        run([sys.executable, os.path.join(ROOT, "scripts", "synth_weights.py"), cnn, st])
    run([a.cnnc, cnn, "--weights", st, "-O2", "-o", prog])
    report = json.loads(run([a.cnnc, "--report=json", cnn]))
    convs = {}  # kernel name -> MACs of its conv
    for group in report["fused_groups"]:
        first = next(l for l in report["layers"] if l["name"] == group[0])
        if first["op"] == "conv":
            convs[" + ".join(group)] = first["macs"]
    flop = 2 * sum(convs.values())
    rounds = []  # per round: ({threads: {kernel: ms}}, peak)
    for r in range(a.rounds):
        if r > 0:
            peak = bench.measure_peak(a)
        times = {t: {} for t in threads}
        for t in threads:
            out = run([prog, "--bench", str(a.runs), "--threads", str(t), "--profile"])
            for line in out.splitlines():
                m = PROFILE_RE.match(line)
                if m and m.group(1) in convs:
                    times[t][m.group(1)] = float(m.group(2))
            if set(times[t]) != set(convs):
                sys.exit("no --profile line for %s" % ", ".join(sorted(set(convs) - set(times[t]))))
        rounds.append((times, peak))
        gf = flop / (sum(times[threads[0]].values()) * 1e6)
        print("round %d: peak %.1f GFLOP/s on one thread, %.1f on %d; T%d convs %.1f%% of peak"
              % (r + 1, peak["gflops_1"], peak["gflops_all"], peak["threads"], threads[0],
                 100 * gf / bench.peak_for(peak, threads[0])))

    def share(rnd, t):
        times, pk = rnd
        return flop / (sum(times[t].values()) * 1e6) / bench.peak_for(pk, t)

    ordered = sorted(rounds, key=lambda rnd: share(rnd, threads[0]))
    times, peak = ordered[len(ordered) // 2]
    head = ["VGG-16 conv (batch 1)", "MACs"]
    for t in threads:
        head += ["T%d ms" % t, "GFLOP/s", "% peak"]
    print("the median round (peak %.1f GFLOP/s on one thread, %.1f on %d):"
          % (peak["gflops_1"], peak["gflops_all"], peak["threads"]))
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, macs in convs.items():
        row = [name, "{:,}".format(macs)]
        for t in threads:
            ms = times[t][name]
            gf = 2 * macs / (ms * 1e6)
            row += ["%.3f" % ms, "%.1f" % gf, "%.1f%%" % (100 * gf / bench.peak_for(peak, t))]
        print("| " + " | ".join(row) + " |")
    for t in threads:
        ms = sum(times[t].values())
        gf = flop / (ms * 1e6)
        print("T%d: VGG-16's %d convs %.1f ms, %.1f GFLOP/s, %.1f%% of peak (rounds: %s)"
              % (t, len(convs), ms, gf, 100 * gf / bench.peak_for(peak, t),
                 ", ".join("%.1f%%" % (100 * share(rnd, t)) for rnd in rounds)))
    if len(threads) > 1:
        print("T%d / T%d: %.2fx" % (threads[0], threads[-1],
                                   sum(times[threads[0]].values()) / sum(times[threads[-1]].values())))


if __name__ == "__main__":
    main()
