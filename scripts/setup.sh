#!/usr/bin/env bash
# Installs what cnnc needs to build and test on Debian 12 (run as root).
set -euo pipefail
packages=(
  build-essential cmake pkg-config   # C11 compiler, CMake + CTest
  flex bison                         # the .cnn scanner and parser
  llvm-19-dev libzstd-dev zlib1g-dev # code generation (LLVM's CMake package needs zstd, zlib)
  check                              # unit tests
  libcjson-dev                       # safetensors headers, JSON reports in tests
  libpng-dev libjpeg62-turbo-dev     # programs read PNG and JPEG inputs (runtime/image.c)
  clang libclang-rt-14-dev           # the ASan+UBSan build
  python3 python3-numpy              # golden comparisons (tests/golden, tests/e2e)
  time                               # /usr/bin/time: the limits table's memory figures
  dpkg-dev                           # apt-get source: cJSON's source for the cross runtimes
  libonnx-dev libprotobuf-c-dev protobuf-c-compiler  # ONNX models: Debian's onnx.proto, read by protobuf-c
  libonnx-testdata                   # the ONNX conformance models (tests/onnx)
  python3-onnx                       # tests/onnx/tv_fill.py refills the torchvision exports' skeletons
  lld                                # ld.lld: cnnc links VGG-16 (553 MB of weights) in 0.3-1.2 s, GNU ld 2.8-3.2 s
  # Other machines (issue 6): cross C compilers, whose libcnnrt-TRIPLE.a the
  # build makes, and the emulators the tests run their programs on.
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  gcc-riscv64-linux-gnu libc6-dev-riscv64-cross
  clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32 llvm-19
  gcc-arm-none-eabi libnewlib-arm-none-eabi
  qemu-user qemu-system-arm nodejs  # nodejs: Node 20's WASI runs wasm32 programs
)
if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (it calls apt-get)" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
# Source packages too: Debian builds cJSON for amd64 and arm64 but not for
# riscv64 or wasm32, so the cross runtimes compile Debian's own source of it.
# The deb-src entry names the mirror the machine's own sources name
# (scripts/apt_deb_src.sh), rewritten on each run so that it follows them.
src_list=/etc/apt/sources.list.d/cnnc-src.sources
src_new=$(mktemp)
bash "$(dirname "$0")/apt_deb_src.sh" / "$src_list" >"$src_new"
if ! cmp -s "$src_new" "$src_list"; then
  install -m 644 "$src_new" "$src_list"
  echo "setup.sh: wrote $src_list from the machine's apt sources"
fi
rm -f "$src_new"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "setup.sh: installed ${packages[*]}"

# cJSON's source, Debian's patched version, where runtime/CMakeLists.txt
# looks for it (CNNC_CJSON_SOURCE).
if [ ! -f /usr/local/src/cjson/cJSON.c ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get source -qq cjson >/dev/null 2>&1)
  dir=$(find "$tmp" -maxdepth 1 -type d -name 'cjson-*' | head -1)
  if [ -z "$dir" ] || [ ! -f "$dir/cJSON.c" ]; then
    echo "setup.sh: apt-get source cjson failed" >&2
    exit 1
  fi
  mkdir -p /usr/local/src
  rm -rf /usr/local/src/cjson
  mv "$dir" /usr/local/src/cjson
  rm -rf "$tmp"
  echo "setup.sh: cJSON source in /usr/local/src/cjson"
fi
