"""bench/run.sh's driver: cnnc against onnxruntime and PyTorch, side by side.

    bash bench/run.sh [options]          (runs /usr/bin/python3 bench/bench.py)

For each network (examples/NET.cnn) it makes deterministic weights
(scripts/synth_weights.py's formula) and inputs, compiles the network with cnnc
(-O2, weights embedded), exports the same model and weights to ONNX through
PyTorch (bench/torch_net.py), and then, for each batch and thread count, runs
the three side by side, each in its own process under /usr/bin/time:

    cnnc   the compiled program's own timer:  ./prog --bench N --threads T in.npy
    ort    onnxruntime-node in node:          bench/ort_run.js (process.hrtime)
    torch  Debian's PyTorch:                  bench/torch_run.py (time.perf_counter)

Every runner makes untimed warm-up runs and reports the median of its timed
runs. cnnc and onnxruntime, the pair the targets compare, take turns in
--rounds rounds (default 3), each with a share of the budget, and the table
gives the median of their rounds' medians: this machine's speed drifts by
10% over minutes, which one long run each would put in the ratio. cnnc's programs take a run count, so the count comes from a calibration
run (one image, one thread) and the time budget; the peers stop at the run
count or the budget, whichever comes first (never below --min-runs). At the
largest batch on the first thread count each runner writes its outputs, and the
three are compared pairwise with the tests' tolerance (tests/tolerance.h):
max|a - b| <= 1e-4 x max(1, max|b|).

bench/peak.c measures the machine's peak FMA rate on one thread and on all;
cnnc's GFLOP/s (2 x MACs from `cnnc --report=json`, times the batch, over the
median) is given as a percentage of the one-thread peak at T=1 and of the
all-thread peak otherwise.

Results: a table on standard output, and bench/results/latest.md and
bench/results/latest.json (or --out PREFIX). Exit status 0 when everything ran
and agreed, 1 when a runner failed or outputs disagreed, 2 for a bad command
line or a missing tool.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import statistics
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(HERE, "work")
CHAIN_NETS = ["lenet", "slides", "cifar10", "alexnet", "vgg16"]
TV_NETS = ["resnet18", "resnet50", "mobilenet_v2", "googlenet", "squeezenet1_1"]  # bench/tv_net.py
ALL_NETS = CHAIN_NETS + TV_NETS
QUICK_NETS = ["lenet", "slides"]
PEERS = ["ort", "torch"]
RUNNERS = ["cnnc"] + PEERS
OPSET = 13


class Missing(Exception):
    """A tool or package the bench needs is not there; the message says what to run."""


def say(msg):
    print(msg, flush=True)


# -- command line -------------------------------------------------------------------

def parse_args(argv):
    ncpu = os.cpu_count() or 1
    ap = argparse.ArgumentParser(
        prog="bash bench/run.sh",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Benchmark cnnc-compiled networks against onnxruntime (onnxruntime-node, CPU) "
                    "and PyTorch (Debian's python3-torch) on the same weights and inputs: medians, "
                    "ratios, GFLOP/s as a % of the measured peak, compile time, max RSS, and an "
                    "agreement check of the outputs. Set the peers up once with: bash bench/setup.sh",
        epilog="examples:\n"
               "  bash bench/run.sh                 # every network, batch 1 and 8, 1 and all threads\n"
               "  bash bench/run.sh --quick         # LeNet-5 and the slides' net, few runs (seconds)\n"
               "  bash bench/run.sh --nets lenet,cifar10 --runs 50\n"
               "  bash bench/run.sh --no-build --cnnc /path/to/cnnc --peers ort\n"
               "\nnetworks: %s (examples/NET.cnn; any other examples/*.cnn name works too)\n"
               "torchvision's networks (%s) run torchvision's model in the peers (bench/tv_net.py).\n"
               "the whole default run takes about 8 minutes on 2 cores for the first five."
               % (", ".join(ALL_NETS), ", ".join(TV_NETS)))
    ap.add_argument("--quick", action="store_true",
                    help="small networks only (%s), --runs 20, --budget 1" % ",".join(QUICK_NETS))
    ap.add_argument("--nets", help="comma-separated networks (default: %s)" % ",".join(ALL_NETS))
    ap.add_argument("--batches", default="1,8", help="comma-separated batch sizes (default 1,8)")
    ap.add_argument("--threads", default="1,all",
                    help="comma-separated thread counts, 'all' = %d here (default 1,all)" % ncpu)
    ap.add_argument("--runs", type=int, help="timed runs per runner and configuration, at most (default 100)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="turns cnnc and onnxruntime take, each with its share of the runs and the budget "
                         "(default 3)")
    ap.add_argument("--budget", type=float,
                    help="seconds of timed runs per runner and configuration, about (default 10)")
    ap.add_argument("--min-runs", type=int, default=3,
                    help="timed runs at least, whatever the budget (default 3)")
    ap.add_argument("--peers", default=",".join(PEERS),
                    help="peers to run: ort,torch (default both; '' for none)")
    ap.add_argument("--cnnc", help="the cnnc compiler to use (default: build/cnnc, built first)")
    ap.add_argument("--no-build", action="store_true", help="do not run cmake --build before benchmarking")
    ap.add_argument("--opset", type=int, default=OPSET, help="ONNX opset of the export (default %d)" % OPSET)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "latest"),
                    help="results prefix: writes PREFIX.md and PREFIX.json (default bench/results/latest)")
    a = ap.parse_args(argv)

    a.nets = [n for n in (a.nets or ",".join(QUICK_NETS if a.quick else ALL_NETS)).split(",") if n]
    for n in a.nets:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", n) or not os.path.isfile(cnn_path(n)):
            ap.error("no network '%s': want one of %s (examples/NET.cnn)" % (n, ", ".join(ALL_NETS)))
    a.runs = a.runs if a.runs is not None else (20 if a.quick else 100)
    a.budget = a.budget if a.budget is not None else (1.0 if a.quick else 10.0)
    try:
        a.batches = [int(b) for b in a.batches.split(",")]
        a.threads = sorted(set(ncpu if t == "all" else int(t) for t in a.threads.split(",")))
    except ValueError:
        ap.error("--batches and --threads want comma-separated whole numbers ('all' for threads)")
    if min(a.batches) < 1 or min(a.threads) < 1 or a.runs < 1 or a.min_runs < 1 or a.budget < 0 or a.rounds < 1:
        ap.error("batches, threads and runs must be at least 1, the budget not negative")
    a.min_runs = min(a.min_runs, a.runs)
    a.peers = [p for p in a.peers.split(",") if p]
    for p in a.peers:
        if p not in PEERS:
            ap.error("unknown peer '%s': want ort or torch" % p)
    a.ncpu = ncpu
    return a


def cnn_path(net):
    return os.path.join(ROOT, "examples", net + ".cnn")


# -- tools ------------------------------------------------------------------------------

def check_tools(a):
    """Builds cnnc unless told not to; raises Missing with the fix for anything absent."""
    if not os.path.exists("/usr/bin/time"):
        raise Missing("/usr/bin/time is missing (for max RSS): run bash bench/setup.sh")
    if not shutil.which("cc"):
        raise Missing("no C compiler 'cc' (for bench/peak.c): run bash bench/setup.sh")
    if a.cnnc:
        a.cnnc = os.path.abspath(a.cnnc)
    else:
        a.cnnc = os.path.join(ROOT, "build", "cnnc")
        if not a.no_build:
            build = os.path.join(ROOT, "build")
            say("building cnnc (cmake --build build; --no-build to skip)")
            steps = ([] if os.path.isfile(os.path.join(build, "CMakeCache.txt"))
                     else [["cmake", "-S", ROOT, "-B", build]])
            steps.append(["cmake", "--build", build, "-j%d" % a.ncpu])
            for cmd in steps:
                p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                if p.returncode != 0:
                    raise Missing("building cnnc failed (%s):\n%s\n(run with --no-build to bench the "
                                  "existing build/cnnc)" % (" ".join(cmd), p.stdout[-3000:]))
    if not os.access(a.cnnc, os.X_OK):
        raise Missing("no cnnc at %s: build it (cmake -S . -B build && cmake --build build) "
                      "or give --cnnc PATH" % a.cnnc)
    try:
        import numpy  # noqa: F401
    except ImportError:
        raise Missing("numpy is missing: run bash bench/setup.sh (Debian's python3-numpy, "
                      "under /usr/bin/python3)")
    try:
        if a.peers:
            import torch  # noqa: F401
        if "ort" in a.peers:
            import onnx  # noqa: F401
    except ImportError as e:
        raise Missing("%s: the weights' export to ONNX and the PyTorch peer need Debian's "
                      "python3-torch and python3-onnx under /usr/bin/python3: run bash bench/setup.sh"
                      % e)
    if "ort" in a.peers:
        if not shutil.which("node"):
            raise Missing("node is missing (the onnxruntime peer runs in it): run bash bench/setup.sh, "
                          "or --peers torch to leave onnxruntime out")
        p = subprocess.run(["node", "-e", "require('onnxruntime-node')"], cwd=HERE,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            lines = p.stdout.strip().splitlines()
            first = next((ln.strip() for ln in lines if "Error" in ln), lines[0] if lines else "")
            raise Missing("onnxruntime-node does not load from bench/node_modules (%s): run bash "
                          "bench/setup.sh, or --peers torch to leave onnxruntime out" % first)


def measured(cmd, env=None, rss=True):
    """Runs cmd: (returncode, stdout, stderr, wall seconds, max RSS in KiB or None)."""
    rss_file = os.path.join(WORK, ".rss")
    full = (["/usr/bin/time", "-f", "%M", "-o", rss_file] if rss else []) + cmd
    t0 = time.perf_counter()
    p = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    wall = time.perf_counter() - t0
    kib = None
    if rss and os.path.exists(rss_file):
        with open(rss_file) as fp:
            lines = [ln for ln in fp.read().split("\n") if ln.strip()]
        os.unlink(rss_file)
        if lines and lines[-1].strip().isdigit():
            kib = int(lines[-1])
    return p.returncode, p.stdout, p.stderr, wall, kib


def tail(text, n=6):
    lines = [ln for ln in text.strip().split("\n") if ln.strip()]
    return "\n".join(lines[-n:])


# -- the machine -------------------------------------------------------------------------

def machine_info():
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as fp:
            m = re.search(r"model name\s*:\s*(.*)", fp.read())
            cpu = m.group(1).strip() if m else cpu
    except OSError:
        pass
    git = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip()
    return {"cpu": cpu, "cpus": os.cpu_count(), "load_before": os.getloadavg()[0],
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": git or "?", "kernel": platform.release()}


def measure_peak(a):
    exe = os.path.join(WORK, "peak")
    src = os.path.join(HERE, "peak.c")
    p = subprocess.run(["cc", "-O2", "-march=native", "-pthread", src, "-o", exe],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        raise Missing("cannot compile bench/peak.c:\n" + tail(p.stdout))
    p = subprocess.run([exe, str(a.ncpu)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError("bench/peak.c failed: " + tail(p.stderr))
    return json.loads(p.stdout)


def peak_for(peak, threads):
    """The measured peak for a thread count: one thread's, or all threads' (scaled if fewer)."""
    if threads == 1:
        return peak["gflops_1"]
    return peak["gflops_all"] * min(threads, peak["threads"]) / peak["threads"]


# -- preparing a network -----------------------------------------------------------------

def newer(path, *deps):
    return os.path.exists(path) and all(os.path.getmtime(path) >= os.path.getmtime(d) for d in deps)


def prepare(a, name, rec):
    """Weights, inputs, report, ONNX export and the compiled program of one network."""
    import numpy as np
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import synth_weights as sw

    d = os.path.join(WORK, name)
    os.makedirs(d, exist_ok=True)
    cnn = cnn_path(name)
    net = sw.load_cnn(cnn)
    weights = os.path.join(d, name + ".safetensors")
    tv = name in TV_NETS
    if tv:
        import tv_net
        if not newer(weights, cnn, tv_net.manifest_path(name), tv_net.tv_weights.__file__):
            say("  weights: %s, torchvision's state dict with scripts/tv_weights.py's values"
                % os.path.relpath(weights, ROOT))
            tmp = weights + ".tmp"
            tv_net.write_weights(name, tmp)
            os.replace(tmp, weights)
    elif not newer(weights, cnn, sw.__file__):
        say("  weights: synthesising %s (scripts/synth_weights.py's formula)"
            % os.path.relpath(weights, ROOT))
        tmp = weights + ".tmp"
        sw.write_safetensors(tmp, sw.synth_weights(net))
        os.replace(tmp, weights)
    rec["weights"] = weights

    # Inputs uniform in [0, 1), like scaled pixels; batch b is the first b images
    # of the largest batch, the same for every runner.
    w, h, dep = net["input"]
    inputs = {}
    big = max(a.batches)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    x = rng.random((big, dep, h, w), dtype=np.float32)
    for b in a.batches:
        path = os.path.join(d, "in%d.npy" % b)
        if not (os.path.exists(path) and np.array_equal(np.load(path), x[:b])):
            np.save(path, x[:b])
        inputs[b] = path
    rec["inputs"] = inputs

    p = subprocess.run([a.cnnc, "--report=json", cnn], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if p.returncode != 0:
        raise RuntimeError("cnnc --report=json %s failed: %s" % (cnn, tail(p.stderr)))
    report = json.loads(p.stdout)
    rec["macs"] = report["total_macs"]
    rec["params"] = report["total_params"]
    rec["fused_groups"] = len(report.get("fused_groups", []))

    prog = os.path.join(d, name + ".prog")
    # Compiles under 2 s are timed three times, the median reported beside
    # the first: the first may be the one that pages libLLVM's code in
    # (LeNet-5: 0.22-0.26 s, then 0.14-0.15).
    walls = []
    while True:
        rc, out, err, wall, kib = measured([a.cnnc, cnn, "--weights", weights, "-O2", "-o", prog])
        if rc != 0:
            raise RuntimeError("cnnc failed to compile %s:\n%s" % (name, tail(err)))
        walls.append(wall)
        if len(walls) == 3 or walls[0] >= 2:
            break
    rec["compile_s"], rec["compile_first_s"], rec["compile_rss_kib"] = statistics.median(walls), walls[0], kib
    rec["prog"] = prog
    say("  cnnc: compiled in %.2f s (first of %d: %.2f s; max RSS %.0f MB), %s MACs an image"
        % (rec["compile_s"], len(walls), walls[0], kib / 1024 if kib else float("nan"), format(rec["macs"], ",")))

    if "ort" in a.peers:
        onnx_path = os.path.join(d, "%s.opset%d.onnx" % (name, a.opset))
        deps = (cnn, weights, os.path.join(HERE, "torch_net.py"), os.path.join(HERE, "tv_net.py"))
        if tv and not newer(onnx_path, *deps):
            import torch_net
            import tv_net
            model = tv_net.model(name)
            t0 = time.perf_counter()
            torch_net.export_onnx(model, np.load(inputs[min(a.batches)]), onnx_path, a.opset)
            say("  onnx: exported torchvision's %s in %.1f s" % (name, time.perf_counter() - t0))
            del model
        elif not newer(onnx_path, *deps):
            import torch_net
            net_w, params = torch_net.load(cnn, weights)
            model = torch_net.CnnNet(net_w, params).eval()
            x1 = np.load(inputs[min(a.batches)])
            t0 = time.perf_counter()
            err1 = torch_net.check_against_goldens(net_w, params, model, x1)
            torch_net.export_onnx(model, x1, onnx_path, a.opset)
            say("  onnx: exported %s in %.1f s (the model matches make_goldens.torch_forward: "
                "max error %.2g)" % (os.path.relpath(onnx_path, ROOT), time.perf_counter() - t0, err1))
            del model, params
        rec["onnx"] = onnx_path


# -- running ------------------------------------------------------------------------------

BENCH_RE = re.compile(r"bench: (\d+) runs, batch (\d+): min ([\d.e+-]+) ms, median ([\d.e+-]+) ms, "
                      r"mean ([\d.e+-]+) ms")


def runner_env(threads):
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(threads)
    return env


def run_cnnc(a, rec, batch, threads, runs, out_npy=None):
    cmd = [rec["prog"], "--bench", str(runs), "--threads", str(threads)]
    if out_npy:
        cmd += ["--output", out_npy]
    cmd.append(rec["inputs"][batch])
    rc, out, err, wall, kib = measured(cmd, runner_env(threads))
    m = BENCH_RE.search(out + err)
    if rc != 0 or not m:
        return {"error": "exit %d: %s" % (rc, tail(err or out, 3))}
    return {"runs": int(m.group(1)), "min_ms": float(m.group(3)), "median_ms": float(m.group(4)),
            "mean_ms": float(m.group(5)), "rss_kib": kib, "wall_s": wall}


def run_peer(a, peer, rec, name, batch, threads, out_npy=None, share=1):
    runs, budget = max(1, a.runs // share), a.budget / share
    args = [str(threads), str(runs), str(budget), str(min(a.min_runs, runs))] + ([out_npy] if out_npy else [])
    if peer == "ort":
        cmd = ["node", os.path.join(HERE, "ort_run.js"), rec["onnx"], rec["inputs"][batch]] + args
    else:
        cmd = [sys.executable, os.path.join(HERE, "torch_run.py"), cnn_path(name), rec["weights"],
               rec["inputs"][batch]] + args
    rc, out, err, wall, kib = measured(cmd, runner_env(threads))
    if rc != 0:
        return {"error": "exit %d: %s" % (rc, tail(err or out, 3))}
    try:
        res = json.loads(out.strip().split("\n")[-1])
    except (ValueError, IndexError):
        return {"error": "no result line: %s" % tail(out + err, 3)}
    res["rss_kib"], res["wall_s"] = kib, wall
    return res


def merge_rounds(results):
    """One result from a runner's rounds: the median of their medians, the
    least minimum, all the runs, the most memory; the first error if any."""
    for r in results:
        if "error" in r:
            return r
    merged = dict(results[0])
    medians = sorted(r["median_ms"] for r in results)
    k = len(medians)
    merged["median_ms"] = medians[k // 2] if k % 2 else (medians[k // 2 - 1] + medians[k // 2]) / 2
    merged["round_medians_ms"] = [r["median_ms"] for r in results]
    merged["min_ms"] = min(r["min_ms"] for r in results)
    merged["runs"] = sum(r["runs"] for r in results)
    kibs = [r["rss_kib"] for r in results if r.get("rss_kib")]
    if kibs:
        merged["rss_kib"] = max(kibs)
    return merged


def agreement(outs, tolerance):
    """Pairwise worst error over the tests' bound, per pair; <= 1 agrees."""
    import numpy as np
    pairs = {}
    names = [n for n in RUNNERS if n in outs]
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            # the reference (b) is the later of the pair in RUNNERS order: torch, then ort
            ref, got = np.load(outs[y]).astype(np.float64), np.load(outs[x]).astype(np.float64)
            key = "%s-%s" % (x, y)
            if ref.shape != got.shape:
                pairs[key] = {"error": "shapes %s and %s" % (got.shape, ref.shape), "ratio": float("inf")}
                continue
            err = float(np.max(np.abs(got - ref)))
            bound = tolerance * max(1.0, float(np.max(np.abs(ref))))
            pairs[key] = {"max_abs": err, "bound": bound, "ratio": err / bound}
    return pairs


def bench_net(a, name, peak):
    rec = {"name": name, "configs": []}
    say("\n== %s" % name)
    prepare(a, name, rec)

    # Calibration: cnnc's run count per configuration comes from one image on
    # one thread (the slowest case per image), scaled by the batch.
    small = min(a.batches)
    cal = run_cnnc(a, rec, small, 1, 1)
    if "error" in cal:
        raise RuntimeError("%s: the compiled program failed: %s" % (name, cal["error"]))
    per_image = cal["median_ms"] / small

    outs = {}
    for batch in a.batches:
        for threads in a.threads:
            check = batch == max(a.batches) and threads == a.threads[0]
            cfg = {"batch": batch, "threads": threads}
            est = per_image * batch
            runs = max(a.min_runs, min(a.runs, int(a.budget * 1e3 / est) if est > 0 else a.runs))
            # cnnc and ort in turns (--rounds), torch once.
            turns = {"cnnc": []}
            for r in range(a.rounds):
                out = os.path.join(WORK, name, "out-cnnc.npy") if check and r == 0 else None
                turns["cnnc"].append(run_cnnc(a, rec, batch, threads, max(1, runs // a.rounds), out))
                if "ort" in a.peers:
                    out = os.path.join(WORK, name, "out-ort.npy") if check and r == 0 else None
                    turns.setdefault("ort", []).append(run_peer(a, "ort", rec, name, batch, threads, out,
                                                                a.rounds))
            for runner, results in turns.items():
                cfg[runner] = merge_rounds(results)
            for peer in a.peers:
                if peer != "ort":
                    out = os.path.join(WORK, name, "out-%s.npy" % peer) if check else None
                    cfg[peer] = run_peer(a, peer, rec, name, batch, threads, out)
            for runner in ["cnnc"] + a.peers:
                if check and "error" not in cfg[runner]:
                    outs[runner] = os.path.join(WORK, name, "out-%s.npy" % runner)
            c = cfg["cnnc"]
            if "error" not in c:
                c["gflops"] = 2.0 * rec["macs"] * batch / (c["median_ms"] * 1e-3) * 1e-9
                c["pct_peak"] = 100.0 * c["gflops"] / peak_for(peak, threads)
            for peer in a.peers:
                if "error" not in cfg[peer]:
                    cfg[peer]["gflops"] = 2.0 * rec["macs"] * batch / (cfg[peer]["median_ms"] * 1e-3) * 1e-9
                    if "error" not in c:
                        cfg["cnnc/" + peer] = c["median_ms"] / cfg[peer]["median_ms"]
            rec["configs"].append(cfg)
            say("  " + config_line(a, cfg))
    # ort builds a session per configuration; the fastest is the least disturbed
    setups = [c["ort"]["setup_ms"] for c in rec["configs"] if "error" not in c.get("ort", {"error": 1})]
    if setups:
        rec["ort_setup_ms"] = min(setups)

    rec["check_batch"] = max(a.batches)
    rec["agreement"] = {}
    if a.peers:
        import torch_net
        rec["agreement"] = agreement(outs, torch_net.TOLERANCE)
    missing = [r for r in ["cnnc"] + a.peers if r not in outs]
    rec["agree"] = (None if not a.peers else
                    not missing and all(p["ratio"] <= 1.0 for p in rec["agreement"].values()))
    say("  outputs at batch %d: %s%s" % (rec["check_batch"], verdict(rec["agree"]),
                                         "".join("; %s %.3g of the bound" % (k, v["ratio"])
                                                 for k, v in rec["agreement"].items())))
    return rec


def verdict(agree):
    return "-" if agree is None else "PASS" if agree else "FAIL"


# -- the table ------------------------------------------------------------------------------

def fmt_ms(r):
    if not r or "error" in r:
        return "error" if r else "-"
    v = r["median_ms"]
    return "%.3g" % v if v < 100 else "%.0f" % v


def fmt_mb(r):
    return "%.0f" % (r["rss_kib"] / 1024) if r and "error" not in r and r.get("rss_kib") else "-"


def config_line(a, cfg):
    parts = ["batch %d, %d thread%s:" % (cfg["batch"], cfg["threads"], "s" if cfg["threads"] > 1 else "")]
    for r in ["cnnc"] + a.peers:
        res = cfg[r]
        parts.append("%s %s ms" % (r, fmt_ms(res)) + ("" if "error" in res else " (%d runs)" % res["runs"]))
        if "error" in res:
            parts.append("[%s: %s]" % (r, res["error"]))
    return " ".join(parts)


def tables(a, results, peak):
    peers = a.peers
    head = ["net", "batch", "T", "cnnc ms"] + ["%s ms" % p for p in peers] + \
           ["cnnc/%s" % p for p in peers] + ["cnnc GFLOP/s", "% peak"] + \
           ["max RSS MB cnnc / " + " / ".join(peers) if peers else "max RSS MB cnnc"]
    rows = []
    for rec in results:
        for cfg in rec.get("configs", []):
            c = cfg["cnnc"]
            row = [rec["name"], str(cfg["batch"]), str(cfg["threads"]), fmt_ms(c)]
            row += [fmt_ms(cfg[p]) for p in peers]
            row += ["%.3g" % cfg["cnnc/" + p] if "cnnc/" + p in cfg else "-" for p in peers]
            row += ["%.1f" % c["gflops"], "%.1f%%" % c["pct_peak"]] if "gflops" in c else ["-", "-"]
            row.append(" / ".join(fmt_mb(cfg[r]) for r in ["cnnc"] + peers))
            rows.append(row)
    t1 = md_table(head, rows, right_from=1)

    head2 = ["net", "MACs / image", "params", "cnnc compile s (first)", "cnnc compile MB"]
    if "ort" in peers:
        head2.append("ort session s")
    head2 += ["outputs agree", "worst error / bound"]
    rows2 = []
    for rec in results:
        if "error" in rec:
            rows2.append([rec["name"], "-", "-", "-", "-"] + (["-"] if "ort" in peers else []) +
                         ["ERROR", rec["error"].split("\n")[0][:80]])
            continue
        worst = max([p["ratio"] for p in rec["agreement"].values()] or [float("nan")])
        row = [rec["name"], format(rec["macs"], ","), format(rec["params"], ","),
               "%.2f (%.2f)" % (rec["compile_s"], rec["compile_first_s"]),
               "%.0f" % (rec["compile_rss_kib"] / 1024) if rec.get("compile_rss_kib") else "-"]
        if "ort" in peers:
            row.append("%.2f" % (rec["ort_setup_ms"] / 1e3) if "ort_setup_ms" in rec else "-")
        row += [verdict(rec["agree"]), "%.3g" % worst if rec["agreement"] else "-"]
        rows2.append(row)
    t2 = md_table(head2, rows2, right_from=1)
    return t1, t2


def md_table(head, rows, right_from):
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]

    def line(cells):
        return "| " + " | ".join(c.rjust(w) if i >= right_from else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + " |"
    sep = "|" + "|".join("-" * (w + 1) + ":" if i >= right_from else "-" * (w + 2)
                         for i, w in enumerate(widths)) + "|"
    return "\n".join([line(head), sep] + [line(r) for r in rows])


def header_text(a, info, peak, versions):
    busy = peak["gflops_all"] < 0.75 * peak["threads"] * peak["gflops_1"]
    lines = [
        "cnnc benchmark, %s, run from commit %s; compiler %s, -O2, weights embedded"
        % (info["date"], info["commit"], info["cnnc"]),
        "machine: %s, %d CPUs, load average %.2f before, %.2f after"
        % (info["cpu"], info["cpus"], info["load_before"], info.get("load_after", float("nan"))),
        "peak (bench/peak.c, %s): %.1f GFLOP/s on 1 thread, %.1f on %d threads%s; "
        "triad bandwidth %.1f GB/s on 1 thread, %.1f on %d"
        % (peak["isa"], peak["gflops_1"], peak["gflops_all"], peak["threads"],
           " (below %d x one thread: other processes share the cores)" % peak["threads"] if busy else "",
           peak["bandwidth_gbs_1"], peak["bandwidth_gbs_all"], peak["threads"]),
        "peers: %s" % (", ".join("%s %s" % kv for kv in versions.items()) or "none"),
        "runs: medians of up to %d timed runs or about %g s per runner and configuration (at least %d), "
        "after warm-up; cnnc and ort in %d alternating rounds, each with its share, the median of the "
        "rounds' medians; T = threads" % (a.runs, a.budget, a.min_runs, a.rounds),
        "cnnc/peer = cnnc's median time over the peer's (above 1: cnnc is slower); "
        "% peak = cnnc's GFLOP/s (2 x MACs x batch / median) over the peak for T threads",
    ]
    return lines


def main(argv):
    a = parse_args(argv)
    try:
        os.makedirs(WORK, exist_ok=True)
        check_tools(a)
        sys.path.insert(0, HERE)
        info = machine_info()
        ver = subprocess.run([a.cnnc, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
        info["cnnc"] = "%s (%s)" % (a.cnnc if os.path.relpath(a.cnnc, ROOT).startswith("..")
                                    else os.path.relpath(a.cnnc, ROOT), ver.stdout.strip() or "?")
        say("cnnc: %s; networks: %s; batches %s; threads %s; peers: %s"
            % (info["cnnc"], ",".join(a.nets), a.batches, a.threads,
               ",".join(a.peers) or "none"))
        if info["load_before"] > 0.5:
            say("note: load average %.2f: other processes are running, timings will be noisy"
                % info["load_before"])
        peak = measure_peak(a)
        say("peak: %s, %.1f GFLOP/s on 1 thread, %.1f on %d; triad %.1f / %.1f GB/s"
            % (peak["isa"], peak["gflops_1"], peak["gflops_all"], peak["threads"],
               peak["bandwidth_gbs_1"], peak["bandwidth_gbs_all"]))
    except Missing as e:
        sys.stderr.write("bench: %s\n" % e)
        return 2

    results = []
    for name in a.nets:
        try:
            results.append(bench_net(a, name, peak))
        except Exception as e:  # one network's failure must not lose the others'
            say("  ERROR: %s" % e)
            results.append({"name": name, "error": str(e)})
    info["load_after"] = os.getloadavg()[0]

    versions = {}
    for rec in results:
        for cfg in rec.get("configs", []):
            if "onnxruntime" in cfg.get("ort", {}):
                versions["onnxruntime-node"] = cfg["ort"]["onnxruntime"]
            if "torch" in cfg.get("torch", {}):
                versions["torch"] = cfg["torch"]["torch"]
    t1, t2 = tables(a, results, peak)
    head = header_text(a, info, peak, versions)
    say("\n" + "\n".join(head) + "\n\n" + t1 + "\n\n" + t2)

    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out + ".md", "w") as fp:
        fp.write("\n".join("- " + h for h in head) + "\n\n" + t1 + "\n\n" + t2 + "\n")
    with open(a.out + ".json", "w") as fp:
        opts = {k: getattr(a, k) for k in ("nets", "batches", "threads", "runs", "budget", "min_runs",
                                            "rounds", "peers", "opset")}
        json.dump({"machine": info, "peak": peak, "options": opts, "versions": versions,
                   "networks": results}, fp, indent=1, default=str)
    say("\nwrote %s.md and %s.json" % (os.path.relpath(a.out, ROOT), os.path.relpath(a.out, ROOT)))

    ok = all("error" not in rec and rec["agree"] is not False and
             all("error" not in cfg[r] for cfg in rec["configs"] for r in ["cnnc"] + a.peers)
             for rec in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
