#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a
# given time: scripts/fuzz.sh [SECONDS] [TARGET...]. Corpora live in
# build-fuzz/corpus/TARGET, seeded from the examples and tests; crashes are
# written to build-fuzz/findings/ and should become regression tests.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_frontend fuzz_onnx fuzz_safetensors fuzz_npy fuzz_image)

cmake -S . -B build-fuzz -DCNNC_FUZZ=ON -DCMAKE_C_COMPILER=clang -DBUILD_TESTING=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]}"
mkdir -p build-fuzz/findings
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$t
  mkdir -p "$corpus"
  case $t in
    fuzz_frontend) cp -n examples/*.cnn examples/*/*.cnn tests/diff/corners/*.cnn tests/cli/bad/*.cnn "$corpus"/ 2>/dev/null || true ;;
    fuzz_onnx) # the conformance models (when installed) and the committed exports and hostile models
      i=0
      for f in /usr/share/libonnx-testdata/data/*/*/model.onnx tests/data/onnx/*/model.onnx tests/onnx/hostile/*.onnx; do
        [ -f "$f" ] || continue
        i=$((i + 1))
        [ "$(stat -c %s "$f")" -le 65536 ] && cp "$f" "$corpus/m$i.onnx"
      done ;;
    fuzz_safetensors)
      cp -n tests/data/*/*.safetensors examples/digits/*.safetensors "$corpus"/ 2>/dev/null || true
      python3 tests/runtime/fixtures.py make "$corpus" >/dev/null
      find "$corpus" -type f ! -name '*.safetensors' -delete ;;
    fuzz_npy)
      mkdir -p build-fuzz/fixtures && python3 tests/runtime/fixtures.py make build-fuzz/fixtures >/dev/null
      cp -n build-fuzz/fixtures/*.npy tests/data/lenet/in1.npy tests/data/random/r0*/in1.npy "$corpus"/ 2>/dev/null || true
      i=0; for f in tests/data/random/r0*/in1.npy; do i=$((i + 1)); cp "$f" "$corpus/r$i.npy"; done ;;
    fuzz_image)
      mkdir -p build-fuzz/fixtures && python3 tests/runtime/fixtures.py make build-fuzz/fixtures >/dev/null
      cp -n build-fuzz/fixtures/*.p?m examples/digits/*.pgm tests/runtime/photos/*.png tests/runtime/photos/*.jpg \
        "$corpus"/ 2>/dev/null || true ;;
  esac
  echo "== $t for ${seconds}s"
  ASAN_OPTIONS=detect_leaks=1 ./build-fuzz/tests/fuzz/"$t" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -rss_limit_mb=2048 -max_len=65536 -artifact_prefix=build-fuzz/findings/"$t"- "$corpus" 2>&1 |
    grep -E "^#[0-9]+[[:space:]]+(DONE|INITED)|ERROR|SUMMARY|Done|stat::" || true
done
