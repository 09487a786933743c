#!/usr/bin/env python3
"""Whole-network goldens: every examples/*.cnn against PyTorch and against itself.

    python3 tests/golden/check_golden.py CNNC [REPO_ROOT] [--update-reports]

For every top-level example X.cnn (standard library only, run by CTest as
golden.examples):
  - `cnnc --report=json` is compared with X.torch.json, which PyTorch computed
    (scripts/torch_reports.py; scripts/make_torchvision_examples.py for
    torchvision's): network, input and output shapes, and per layer the name,
    op (and pool kind), inputs, output [W, H, D], params and MACs, then
    total_params and total_macs; weights_bytes must be 4 x total_params (SPEC 8).
  - the figures SPEC, README and the lecture name are checked as written (FIGURES).
  - `cnnc --report` must equal X.report.txt exactly. Those files are cnnc's own
    output, reviewed by eye when written; their numbers are the JSON's, checked
    above. `--update-reports` rewrites them: review the diff before committing.
  - `cnnc --emit=dot` must be a Graphviz digraph with one node per layer and
    an edge for every input the JSON report lists; those inputs are PyTorch's
    graph's (for the chains, each layer the one before).
  - `cnnc --check` must accept it.
disaster.cnn (16,000,400,000 parameters, 64 GB as float32) must be reported at
once without its weights allocated: its reports are timed and their peak RSS
measured first, before any other child runs.
"""

import difflib
import glob
import json
import os
import re
import resource
import subprocess
import sys
import time

# Figures named explicitly (SPEC sections 1-2, README, the lecture), checked
# as written here rather than only through the PyTorch files.
FIGURES = {
    "vgg16": {"total_params": 138357544, "total_macs": 15470264320,
              "output": [1, 1, 1000]},
    "lenet": {"total_params": 61706, "total_macs": 416520},
    "alexnet": {"total_params": 62378344, "layer conv1": [55, 55, 96],
                "layer pool3": [6, 6, 256]},
    "slides": {"layer conv1": [32, 32, 10]},  # 32x32x3, 10 filters 5x5 S=1 P=2
    "disaster": {"total_params": 16000400000, "total_macs": 16000000000},
    "edge": {"total_params": 9, "output": [512, 512, 1]},
    "emboss": {"total_params": 9, "output": [512, 512, 1]},
}

# "Instantly", with room for sanitizer builds and a loaded machine; the real
# figure (about 0.01 s) is printed. Weights allocated and touched would need
# 64 GB of RSS; a report needs a few tens of MB (more under ASan).
DISASTER_SECONDS = 2.0
DISASTER_MAX_RSS_MB = 512
TIMEOUT = 120


class Checker:
    def __init__(self, cnnc, root):
        self.cnnc, self.root, self.failures = cnnc, root, []

    def fail(self, example, msg):
        self.failures.append("%s: %s" % (example, msg))
        print("FAIL %s: %s" % (example, msg))

    def run(self, example, *args):
        """cnnc ARGS examples/EXAMPLE.cnn from the repository root: stdout, seconds."""
        cmd = [self.cnnc] + list(args) + ["examples/%s.cnn" % example]
        start = time.monotonic()
        try:
            p = subprocess.run(cmd, cwd=self.root, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail(example, "%s timed out after %d s" % (" ".join(cmd), TIMEOUT))
            return None, TIMEOUT
        seconds = time.monotonic() - start
        if p.returncode != 0:
            self.fail(example, "%s exited %d: %s" % (
                " ".join(cmd), p.returncode, p.stderr.decode(errors="replace").strip()))
            return None, seconds
        return p.stdout.decode(), seconds

    # -- --report=json against PyTorch ----------------------------------------

    def check_json(self, example, text):
        try:
            got = json.loads(text)
        except ValueError as e:
            self.fail(example, "--report=json is not JSON: %s" % e)
            return None
        path = os.path.join(self.root, "tests", "golden", example + ".torch.json")
        if not os.path.exists(path):
            self.fail(example, "no %s: run /usr/bin/python3 scripts/torch_reports.py "
                      "after adding the model there" % os.path.relpath(path, self.root))
            return got
        with open(path) as f:
            want = json.load(f)
        for key in ("network", "input", "output", "total_params", "total_macs"):
            if got.get(key) != want[key]:
                self.fail(example, "%s: cnnc %r, PyTorch %r" % (key, got.get(key), want[key]))
        # 4 x the floats read: the params, and batch norms' running
        # statistics where the PyTorch file counts them (SPEC section 8).
        want_bytes = want.get("weights_bytes", 4 * want["total_params"])
        if got.get("weights_bytes") != want_bytes:
            self.fail(example, "weights_bytes %r, want %d" % (got.get("weights_bytes"), want_bytes))
        layers = got.get("layers", [])
        if len(layers) != len(want["layers"]):
            self.fail(example, "%d layers, PyTorch %d" % (len(layers), len(want["layers"])))
        for i, (g, w) in enumerate(zip(layers, want["layers"])):
            for key in ("name", "op", "pool", "output", "params", "macs"):
                if g.get(key) != w.get(key):
                    self.fail(example, "layer %d (%s) %s: cnnc %r, PyTorch %r" % (
                        i, w["name"], key, g.get(key), w.get(key)))
            # The inputs PyTorch's graph gives; for the chains, the layer before.
            inputs = w.get("inputs", [want["layers"][i - 1]["name"]] if i else [])
            if g.get("inputs") != inputs:
                self.fail(example, "layer %d (%s) inputs: cnnc %r, PyTorch %r" % (i, w["name"], g.get("inputs"), inputs))
            if not isinstance(g.get("line"), int) or g["line"] < 1:
                self.fail(example, "layer %d (%s): no line" % (i, w["name"]))
        for key, sub in (("total_params", "params"), ("total_macs", "macs")):
            if got.get(key) != sum(l.get(sub, 0) for l in layers):
                self.fail(example, "%s is not the sum of the layers' %s" % (key, sub))
        return got

    def check_figures(self, example, got):
        by_name = {l.get("name"): l for l in got.get("layers", [])}
        for key, want in FIGURES.get(example, {}).items():
            if key.startswith("layer "):
                value = by_name.get(key[6:], {}).get("output")
            else:
                value = got.get(key)
            if value != want:
                self.fail(example, "%s is %r, the figure is %r" % (key, value, want))

    # -- --report against its reviewed text ------------------------------------

    def check_text(self, example, text, update):
        path = os.path.join(self.root, "tests", "golden", example + ".report.txt")
        if update:
            with open(path, "w") as f:
                f.write(text)
            print("wrote %s" % os.path.relpath(path, self.root))
            return
        if not os.path.exists(path):
            self.fail(example, "no %s (--update-reports writes it; review it)"
                      % os.path.relpath(path, self.root))
            return
        with open(path) as f:
            want = f.read()
        if text != want:
            diff = "".join(difflib.unified_diff(
                want.splitlines(True), text.splitlines(True),
                os.path.basename(path), "cnnc --report"))
            self.fail(example, "--report differs from its golden:\n" + diff)

    # -- --emit=dot ---------------------------------------------------------

    def check_dot(self, example, text, layers):
        names = [l.get("name") for l in layers]
        body = text.strip()
        if not re.match(r'^digraph\s+("[^"]*"|\w+)?\s*\{', body) or not body.endswith("}"):
            self.fail(example, "--emit=dot is not a digraph { ... }")
            return
        nodes, edges = {}, []  # node id -> first line of its label; (tail, head)
        for stmt in dot_statements(body[body.index("{") + 1:-1]):
            if "->" in stmt:
                ends = [e.strip().strip('"')
                        for e in re.sub(r'\[.*\]$', "", stmt, flags=re.S).split("->")]
                edges += list(zip(ends, ends[1:]))
                continue
            m = re.match(r'("[^"]+"|\w+)\s*\[(.*)\]$', stmt, re.S)
            if not m or m.group(1) in ("node", "edge", "graph"):
                continue
            label = re.search(r'label\s*=\s*"((?:[^"\\]|\\.)*)"', m.group(2))
            ident = m.group(1).strip('"')
            nodes[ident] = label.group(1).split("\\n")[0] if label else ident
        if sorted(nodes.values()) != sorted(names):
            self.fail(example, "dot nodes %r, want one per layer %r"
                      % (sorted(nodes.values()), sorted(names)))
            return
        ident_of = {label: ident for ident, label in nodes.items()}
        edges = sorted(edges)
        # Every input of every layer, as the JSON report lists them (SPEC
        # section 9): for a chain, each layer from the one before.
        want = sorted((ident_of[i], ident_of[l.get("name")]) for l in layers for i in l.get("inputs", []))
        if edges != want:
            self.fail(example, "dot edges %r are not the layers' inputs %r" % (edges, want))


def dot_statements(body):
    """The statements of a DOT body, split at ';', newlines and braces outside
    quotes, with subgraph headers dropped: fused groups are clusters."""
    stmts, cur, quoted, i = [], "", False, 0
    while i < len(body):
        c = body[i]
        if quoted and c == "\\":
            cur += body[i:i + 2]
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        if not quoted and c in ";\n{}":
            stmts.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    stmts.append(cur.strip())
    return [s for s in stmts if s and not s.startswith("subgraph")]


def check_disaster(checker):
    """The 16-billion-parameter network, timed and measured first."""
    times = []
    for args in (["--report=json"], ["--report"], ["--check"]):
        out, seconds = checker.run("disaster", *args)
        times.append("%s %.3f s" % (args[0], seconds))
        if out is not None and seconds > DISASTER_SECONDS:
            checker.fail("disaster", "%s took %.2f s; a report must not touch the weights"
                         % (args[0], seconds))
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    print("disaster: 16,000,400,000 params reported in %s; peak RSS %.1f MB"
          % (", ".join(times), rss_mb))
    if rss_mb > DISASTER_MAX_RSS_MB:
        checker.fail("disaster", "peak RSS %.0f MB > %d MB: were its weights allocated?"
                     % (rss_mb, DISASTER_MAX_RSS_MB))


def main(argv):
    update = "--update-reports" in argv
    args = [a for a in argv[1:] if a != "--update-reports"]
    if not 1 <= len(args) <= 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    cnnc = os.path.abspath(args[0])
    root = os.path.abspath(args[1] if len(args) > 1 else
                           os.path.join(os.path.dirname(__file__), "..", ".."))
    checker = Checker(cnnc, root)
    examples = sorted(os.path.splitext(os.path.basename(p))[0]
                      for p in glob.glob(os.path.join(root, "examples", "*.cnn")))
    if "disaster" in examples:
        check_disaster(checker)
    else:
        checker.fail("disaster", "examples/disaster.cnn is missing")
    for name in FIGURES:
        if name not in examples:
            checker.fail(name, "examples/%s.cnn is missing" % name)
    for example in examples:
        before = len(checker.failures)
        text, _ = checker.run(example, "--report=json")
        got = checker.check_json(example, text) if text is not None else None
        if got is not None:
            checker.check_figures(example, got)
        text, _ = checker.run(example, "--report")
        if text is not None:
            checker.check_text(example, text, update)
        text, _ = checker.run(example, "--emit=dot")
        if text is not None and got is not None:
            checker.check_dot(example, text, got.get("layers", []))
        checker.run(example, "--check")
        if len(checker.failures) == before:
            print("ok   %s" % example)
    if checker.failures:
        print("\n%d failure(s)" % len(checker.failures))
        return 1
    print("\nall %d examples match PyTorch and their goldens" % len(examples))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
