#!/usr/bin/env bash
# Builds cnnc twice -- warnings as errors, then with ASan+UBSan -- and runs the
# whole test suite in each. Exits non-zero on the first failure. The second
# build is clang's and the first the default compiler's (gcc): the second
# also checks that both cnnc binaries generate the same code (tests/peer).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

echo "== release build (-Werror)"
cmake -S . -B build -DCNNC_WERROR=ON -DCNNC_CROSS_REQUIRED=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== ASan + UBSan build"
cmake -S . -B build-asan -DCNNC_WERROR=ON -DCNNC_CROSS_REQUIRED=ON -DCNNC_SANITIZE=ON -DCMAKE_C_COMPILER=clang \
  -DCNNC_PEER_CNNC="$PWD/build/cnnc" >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"
echo "== all tests passed"
