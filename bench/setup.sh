#!/usr/bin/env bash
# Installs the benchmark's peers on Debian 12 (run as root, after scripts/setup.sh):
# PyTorch and ONNX from Debian, Node.js (Debian's, unless one is installed), and
# onnxruntime-node (CPU) from the npm registry into bench/node_modules, at the
# version pinned in bench/package.json and bench/package-lock.json.
#
# onnxruntime-node's install script downloads a GPU provider from outside the npm
# registry, which fails here; --ignore-scripts skips it: the CPU library ships
# inside the package itself.
set -euo pipefail
packages=(
  python3 python3-numpy python3-torch   # the PyTorch peer, weights and inputs
  python3-torchvision                   # torchvision's networks (bench/tv_net.py)
  python3-onnx                          # checks the model torch.onnx.export writes
  nodejs                                # the onnxruntime peer runs in node
  time                                  # /usr/bin/time -f %M: max RSS
  build-essential                       # cc for bench/peak.c
)
ORT_VERSION=${ORT_VERSION:-1.30.0}      # the onnxruntime-node release timed
if [ "$(id -u)" -ne 0 ]; then
  echo "bench/setup.sh: run as root (it calls apt-get)" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
# Debian's nodejs needs Debian's npm; a NodeSource nodejs bundles npm and
# conflicts with Debian's, so npm is asked for only when none is there.
command -v npm >/dev/null 2>&1 || packages+=(npm)
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "bench/setup.sh: installed ${packages[*]}"
cd "$here"
npm install --ignore-scripts --no-audit --no-fund --save-exact "onnxruntime-node@$ORT_VERSION"
node -e 'const o = require("onnxruntime-node"); console.log("bench/setup.sh: onnxruntime-node", require("onnxruntime-node/package.json").version, "loads")'
