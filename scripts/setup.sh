#!/usr/bin/env bash
# Installs what cnnc needs to build and test on Debian 12 (run as root).
set -euo pipefail
packages=(
  build-essential cmake pkg-config   # C11 compiler, CMake + CTest
  flex bison                         # the .cnn scanner and parser
  llvm-19-dev libzstd-dev zlib1g-dev # code generation (LLVM's CMake package needs zstd, zlib)
  check                              # unit tests
  libcjson-dev                       # safetensors headers, JSON reports in tests
  clang libclang-rt-14-dev           # the ASan+UBSan build
  python3 python3-numpy              # golden comparisons (tests/golden, tests/e2e)
  time                               # /usr/bin/time: the limits table's memory figures
)
if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (it calls apt-get)" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "setup.sh: installed ${packages[*]}"
