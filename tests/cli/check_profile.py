#!/usr/bin/env python3
"""Checks a program's --profile lines (run_profile.sh) against cnnc's JSON report.

    check_profile.py REPORT.json STDERR THREADS BATCH RUNS PLAIN.npy PROFILED.npy [MODE]

MODE is how the program ran the batch: "images" (each thread its own images,
thread time) or "layers" (layers split over the threads, time per run). By
default, images when THREADS and BATCH are both above 1.

Standard library only. Exit 0 when every check holds, 1 with the reasons."""

import json
import re
import sys

LINE = re.compile(r"^  (.+?)\s+(\d+\.\d{5})\s+(\d+\.\d)% +(-|\d+\.\d)$")


def kernels(report):
    """The kernels in run order: fused groups as "a + b", other layers alone,
    with their MACs for one image."""
    layers = report["layers"][1:]  # not the input
    group_of = {}
    for group in report["fused_groups"]:
        for name in group:
            group_of[name] = group
    out, seen = [], set()
    for layer in layers:
        group = group_of.get(layer["name"], [layer["name"]])
        if group[0] in seen:
            continue
        seen.add(group[0])
        macs = sum(l["macs"] for l in layers if l["name"] in group)
        out.append((" + ".join(group), macs))
    return out


def npy_payload(path):
    with open(path, "rb") as f:
        data = f.read()
    header_len = int.from_bytes(data[8:10], "little")
    return data[10 + header_len:]


def main():
    report_path, stderr_path, threads, batch, runs, plain, profiled = sys.argv[1:8]
    threads, batch, runs = int(threads), int(batch), int(runs)
    mode = sys.argv[8] if len(sys.argv) > 8 else ("images" if threads > 1 and batch > 1 else "layers")
    report = json.load(open(report_path))
    lines = open(stderr_path).read().splitlines()
    errors = []
    head = [l for l in lines if l.startswith("profile: ")]
    single = "profile: %d runs; time by layer, per run" % runs
    # The header says how the run was split, whichever thread happened to
    # take which images: one header for each mode.
    if mode == "images":
        want = "profile: %d runs; thread time by layer, summed over the %d threads that share the images" % (
            runs, min(threads, batch))
    else:
        want = single
    if head != [want]:
        errors.append("header %r, expected %r" % (head, want))
    rows = []
    for l in lines:
        m = LINE.match(l)
        if m:
            rows.append((m.group(1), float(m.group(2)), float(m.group(3)), m.group(4)))
    expected = kernels(report)
    names = [r[0] for r in rows[:-1]]
    if names != [k[0] for k in expected] or not rows or rows[-1][0] != "all layers":
        errors.append("kernels %r, expected %r then 'all layers'" % ([r[0] for r in rows], [k[0] for k in expected]))
    else:
        total = rows[-1][1]
        if abs(sum(r[1] for r in rows[:-1]) - total) > 1e-5 * (len(rows) + 1):
            errors.append("layer times sum to %.5f, 'all layers' says %.5f" % (sum(r[1] for r in rows[:-1]), total))
        if abs(sum(r[2] for r in rows[:-1]) - 100) > 0.05 * len(rows):
            errors.append("shares sum to %.1f%%" % sum(r[2] for r in rows[:-1]))
        for (name, ms, _, gflops), (_, macs) in zip(rows, expected):
            if macs == 0:
                if gflops != "-":
                    errors.append("%s: no MACs but %s GFLOP/s" % (name, gflops))
                continue
            if gflops == "-" or ms <= 0:
                errors.append("%s: %d MACs but no GFLOP/s" % (name, macs))
                continue
            # The line's ms is rounded to 5 decimals: allow for that.
            want_g = 2.0 * macs * batch / (ms * 1e6)
            slack = want_g * (0.5e-5 / ms) + 0.05
            if ms >= 1e-3 and abs(float(gflops) - want_g) > slack + 0.01 * want_g:
                errors.append("%s: %s GFLOP/s, the report's MACs over its time give %.1f" % (name, gflops, want_g))
    if npy_payload(plain) != npy_payload(profiled):
        errors.append("the outputs differ with --profile")
    for e in errors:
        print("check_profile: " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
