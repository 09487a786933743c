#!/usr/bin/env python3
"""Checks README.md against the checkout it describes.

  check_readme.py outputs ROOT
      Every file that a command of the README's ```sh blocks writes in the
      checkout (-o FILE, --output FILE, > FILE on a line that runs
      something from it: build/ or examples/) lands under build/ or is
      ignored by git, so following the README leaves no untracked files.

  check_readme.py examples ROOT BUILD_DIR
      Every fenced block right after a line

          <!-- readme-check: output of COMMAND -->   (the whole output)
          <!-- readme-check: lines of COMMAND -->    (lines found in a row in it)

      is what COMMAND prints: run by bash in ROOT, with build/ (./build/)
      meaning BUILD_DIR, it must exit 0 and print the block. Words and
      integers must be equal; decimals (a score, 46.0 KiB) within 1e-4 of
      each other, relatively, since the last digit of a float may differ
      between CPUs. A README with no such block fails. Every block is
      checked in every build: what cnnc generates does not depend on the
      compiler that built it (tests/peer).
"""
import re
import shlex
import subprocess
import sys


def fenced_blocks(text):
    """(info string, first line number, lines) of each fenced block."""
    blocks, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        m = re.match(r"^```(\S*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, body = i + 1, []
        i += 1
        while i < len(lines) and lines[i] != "```":
            body.append(lines[i])
            i += 1
        blocks.append((m.group(1), start + 1, body))
        i += 1
    return blocks


def written_files(line):
    """The files a shell line writes: -o X, --output X, > X."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return []
    out = []
    for k, w in enumerate(words):
        if w in ("-o", "--output", ">") and k + 1 < len(words):
            out.append(words[k + 1])
        elif w.startswith("--output="):
            out.append(w[len("--output="):])
        elif w.startswith(">") and len(w) > 1:
            out.append(w[1:])
    return [f for f in out if f != "-"]


def check_outputs(root):
    text = open(f"{root}/README.md", encoding="utf-8").read()
    bad, seen = [], 0
    for info, first, body in fenced_blocks(text):
        if info != "sh":
            continue
        for k, line in enumerate(body):
            if "build/" not in line and "examples/" not in line:
                continue
            for f in written_files(line):
                seen += 1
                if f.startswith("build/") or f.startswith("./build/"):
                    continue
                r = subprocess.run(["git", "-C", root, "check-ignore", "-q", "--no-index", f])
                if r.returncode == 128:
                    print(f"check_readme: git check-ignore failed in {root}", file=sys.stderr)
                    return 1
                if r.returncode != 0:
                    bad.append(f"README.md:{first + k}: writes '{f}', neither under build/ nor ignored by git")
    for b in bad:
        print(b)
    if seen == 0:
        print("check_readme: no command of the README writes a file: the parser is broken")
        return 1
    print(f"README outputs: {seen} files written, {len(bad)} left untracked")
    return 1 if bad else 0


MARK = re.compile(r"^<!-- readme-check: (output|lines) of (.+) -->$")
NUMBER = re.compile(r"(-?\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?)")


def same_line(got, want):
    """Equal, but for decimals within 1e-4 relatively (see the usage)."""
    g, w = NUMBER.split(got), NUMBER.split(want)
    if len(g) != len(w):
        return False
    for k, (a, b) in enumerate(zip(g, w)):
        if a == b:
            continue
        if k % 2 == 0 or not re.search(r"[.e]", b) or not re.search(r"[.e]", a):
            return False
        x, y = float(a.replace(",", "")), float(b.replace(",", ""))
        if abs(x - y) > 1e-4 * abs(y) + 1e-12:
            return False
    return True


def check_examples(root, build):
    lines = open(f"{root}/README.md", encoding="utf-8").read().split("\n")
    bad, checked = [], 0
    for i, line in enumerate(lines):
        m = MARK.match(line)
        if not m:
            if line.startswith("<!-- readme-check"):
                bad.append(f"README.md:{i + 1}: not a readme-check line: {line}")
            continue
        kind, command = m.group(1), m.group(2)
        j = i + 1
        while j < len(lines) and lines[j].strip() == "":
            j += 1
        if j >= len(lines) or not lines[j].startswith("```"):
            bad.append(f"README.md:{i + 1}: no fenced block after the readme-check line")
            continue
        k = j + 1
        while k < len(lines) and lines[k] != "```":
            k += 1
        want = lines[j + 1:k]
        run = re.sub(r"(?<![\w./-])(?:\./)?build/", build.rstrip("/") + "/", command)
        r = subprocess.run(["bash", "-c", run], cwd=root, capture_output=True, text=True, timeout=600)
        checked += 1
        if r.returncode != 0:
            bad.append(f"README.md:{i + 1}: '{command}' exited {r.returncode}: {r.stderr.strip()[:300]}")
            continue
        got = r.stdout.rstrip("\n").split("\n")
        if kind == "output":
            ok = len(got) == len(want) and all(same_line(a, b) for a, b in zip(got, want))
        else:
            ok = any(all(same_line(got[s + t], want[t]) for t in range(len(want)))
                     for s in range(len(got) - len(want) + 1))
        if not ok:
            bad.append(f"README.md:{j + 2}: the block is not what '{command}' prints; it prints:\n"
                       + "\n".join(got))
    for b in bad:
        print(b)
    if checked == 0:
        print("check_readme: no readme-check block in README.md")
        return 1
    print(f"README examples: {checked} checked, {len(bad)} wrong")
    return 1 if bad else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "outputs":
        return check_outputs(argv[2])
    if len(argv) == 4 and argv[1] == "examples":
        return check_examples(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
