#!/usr/bin/env bash
# The benchmark: cnnc-compiled networks against onnxruntime (onnxruntime-node,
# CPU) and PyTorch (Debian's python3-torch) on the same weights and inputs.
#
#     bash bench/setup.sh          # once, as root: the peers (apt, npm)
#     bash bench/run.sh [--quick] [--nets lenet,slides] [--runs N] ...
#     bash bench/run.sh --help     # every option
#
# The driver is bench/bench.py; it runs under Debian's /usr/bin/python3, the
# Python whose torch, onnx and numpy bench/setup.sh installs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x /usr/bin/python3 ]; then
  echo "bench/run.sh: /usr/bin/python3 is missing: run bash bench/setup.sh" >&2
  exit 2
fi
# No __pycache__ beside scripts/ or bench/ from the imports (children inherit it).
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "$here/bench.py" "$@"
