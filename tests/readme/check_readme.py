#!/usr/bin/env python3
"""Checks README.md against the checkout it describes.

  check_readme.py outputs ROOT
      Every file that a command of the README's ```sh blocks writes in the
      checkout (-o FILE, --output FILE, > FILE on a line that runs
      something from it: build/ or examples/) lands under build/ or is
      ignored by git, so following the README leaves no untracked files.
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


def main(argv):
    if len(argv) == 3 and argv[1] == "outputs":
        return check_outputs(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
