#!/usr/bin/env bash
# valgrind memcheck over compiling and running every example: cnnc itself
# (report, check, compile with embedded weights) and the programs it builds
# (embedded and run-time weights, every input kind). Any error or definite
# leak fails the run. usage: scripts/valgrind.sh [BUILD_DIR]   (default build)
# VG_ONLY=REGEX runs only the examples whose name matches.
# Programs are compiled for a generic x86-64-v2 CPU: valgrind does not
# emulate AVX-512, which cnnc would otherwise use on such a host. VGG-16 and
# AlexNet take several minutes each.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cnnc=$root/${1:-build}/cnnc
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --track-fds=no)
py=/usr/bin/python3
fail=0
check() {
  local tag=$1
  shift
  local t0=$SECONDS
  if "${vg[@]}" "$@" >"$work/out" 2>"$work/err"; then
    echo "clean  $tag ($((SECONDS - t0)) s)"
  else
    echo "FAIL   $tag (exit $?)"; head -40 "$work/err"; fail=1
  fi
}

for f in examples/*.cnn examples/digits/digits.cnn; do
  name=$(basename "$f" .cnn)
  echo "$name" | grep -Eq -- "${VG_ONLY:-.}" || continue
  check "$name: cnnc --report=json" "$cnnc" --report=json "$f"
  check "$name: cnnc --emit=dot" "$cnnc" --emit=dot "$f"
  [ "$name" = disaster ] && continue # 64 GB of weights: report only
  weights=
  case $name in
    digits) weights=examples/digits/digits.safetensors ;;
    alexnet|vgg16) $py scripts/synth_weights.py "$f" "$work/$name.st" --seed "$name"; weights=$work/$name.st ;;
    edge|emboss) ;;
    *) weights=tests/data/$name/$name.safetensors ;;
  esac
  input=tests/data/$name/in7.npy
  case $name in
    digits) input=examples/digits/digit-3-705.pgm ;;
    edge|emboss) input=examples/images/ascent.pgm ;;
    alexnet|vgg16) input=tests/data/$name/in1.npy ;;
  esac
  if [ -n "$weights" ]; then
    check "$name: cnnc -O2 --weights (embedded)" "$cnnc" --cpu=x86-64-v2 --weights "$weights" "$f" -o "$work/$name"
    check "$name: run, embedded weights" "$work/$name" --output "$work/o.npy" "$input"
    rm -f "$work/$name"
    check "$name: cnnc -O0 (weights at run time)" "$cnnc" -O0 --cpu=x86-64-v2 "$f" -o "$work/$name-rt"
    check "$name: run, weights at run time" "$work/$name-rt" --weights "$weights" --json "$input"
  else
    check "$name: cnnc -O2" "$cnnc" --cpu=x86-64-v2 "$f" -o "$work/$name"
    check "$name: run, --output .pgm" "$work/$name" --output "$work/o.pgm" "$input"
  fi
  check "$name: cnnc -c" "$cnnc" -c --cpu=x86-64-v2 ${weights:+--weights "$weights"} "$f" -o "$work/$name.o"
  rm -f "$work"/*.st.unused "$work/$name" "$work/$name-rt" "$work/$name.o"
done
exit $fail
