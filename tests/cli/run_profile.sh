#!/bin/bash
# A program's --profile (runtime/profile.c): CIFAR-10 compiled with its test
# weights, run on one thread (layers timed on the calling thread) and on two
# (images on threads of their own, thread time). check_profile.py holds the
# lines against cnnc's own JSON report: one line per kernel in the report's
# order, named as its fused groups are, shares summing to 100%, GFLOP/s that
# agree with the report's MACs, and the same outputs as without --profile.
# Then big_fc on two threads, whose fc is too big for images on threads,
# and a network with a big conv at an even and an odd batch.
# usage: run_profile.sh CNNC SOURCE_DIR
set -u
cnnc=$1 src=$2 here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/cnnc-profile.XXXXXX")
trap 'rm -rf "$work"' EXIT
net=$src/examples/cifar10.cnn data=$src/tests/data/cifar10
fail=0
"$cnnc" --report=json "$net" >"$work/report.json" || { echo "FAIL: cnnc --report=json"; exit 1; }
"$cnnc" -O2 --weights "$data/cifar10.safetensors" -o "$work/prog" "$net" || { echo "FAIL: cnnc"; exit 1; }
for run in "1 in1.npy 1" "2 in7.npy 7"; do
  set -- $run
  threads=$1 input=$2 batch=$3
  if ! "$work/prog" --threads "$threads" --output "$work/plain.npy" "$data/$input" >/dev/null 2>"$work/stderr" ||
     ! "$work/prog" --threads "$threads" --bench 3 --profile --output "$work/prof.npy" "$data/$input" \
        >"$work/stdout" 2>"$work/stderr"; then
    echo "FAIL threads=$threads: the program failed"; cat "$work/stderr"; fail=1; continue
  fi
  if python3 "$here/check_profile.py" "$work/report.json" "$work/stderr" "$threads" "$batch" 3 \
       "$work/plain.npy" "$work/prof.npy"; then
    echo "ok profile, $threads thread(s), batch $batch"
  else
    echo "FAIL profile, $threads thread(s), batch $batch:"; cat "$work/stderr"; fail=1
  fi
done

# A network with an fc past 8 MiB of weights splits its layers over the
# threads instead of giving each thread its own images (codegen/module.c,
# images_on_threads): each image would stream the fc's weights from memory
# again. big_fc is a small conv and an fc of 9.0 MB.
big=$src/tests/diff/corners/big_fc.cnn
if ! find_python; then
  echo "FAIL: big_fc needs a python3 with numpy"; exit 1
fi
if ! "$PY" "$src/scripts/synth_weights.py" "$big" "$work/big.safetensors" >/dev/null ||
   ! "$PY" -c 'import sys, numpy as np; np.save(sys.argv[1], np.random.default_rng(3).standard_normal((7, 8, 16, 16), dtype=np.float32))' "$work/big_in.npy" ||
   ! "$cnnc" --report=json "$big" >"$work/big.json" ||
   ! "$cnnc" -O2 --weights "$work/big.safetensors" -o "$work/big" "$big"; then
  echo "FAIL: building big_fc"; exit 1
fi
if ! "$work/big" --threads 2 --output "$work/plain.npy" "$work/big_in.npy" >/dev/null 2>"$work/stderr" ||
   ! "$work/big" --threads 2 --bench 3 --profile --output "$work/prof.npy" "$work/big_in.npy" \
      >"$work/stdout" 2>"$work/stderr"; then
  echo "FAIL big_fc: the program failed"; cat "$work/stderr"; fail=1
elif python3 "$here/check_profile.py" "$work/big.json" "$work/stderr" 2 7 3 "$work/plain.npy" "$work/prof.npy" layers; then
  echo "ok profile, big_fc, 2 threads, batch 7: layers split over the threads"
else
  echo "FAIL profile, big_fc, 2 threads, batch 7:"; cat "$work/stderr"; fail=1
fi

# A network with a conv past CG_IMAGE_PARALLEL_MAX_MACS (32 M) gives each
# thread its own images only for a batch the threads share evenly: batch 2
# on two threads runs images on threads, batch 3 splits the layers.
printf 'network wide {\n  input 64x64x32\n  conv filters=64 size=3 pad=1\n  relu\n  pool max size=2 stride=2\n  fc 10\n}\n' >"$work/wide.cnn"
if ! "$PY" "$src/scripts/synth_weights.py" "$work/wide.cnn" "$work/wide.safetensors" >/dev/null ||
   ! "$PY" -c 'import sys, numpy as np; np.save(sys.argv[1], np.random.default_rng(5).standard_normal((3, 32, 64, 64), dtype=np.float32))' "$work/wide3.npy" ||
   ! "$PY" -c 'import sys, numpy as np; np.save(sys.argv[2], np.load(sys.argv[1])[:2])' "$work/wide3.npy" "$work/wide2.npy" ||
   ! "$cnnc" --report=json "$work/wide.cnn" >"$work/wide.json" ||
   ! "$cnnc" -O2 --weights "$work/wide.safetensors" -o "$work/wide" "$work/wide.cnn"; then
  echo "FAIL: building wide"; exit 1
fi
for run in "2 images" "3 layers"; do
  set -- $run
  batch=$1 mode=$2
  if ! "$work/wide" --threads 2 --output "$work/plain.npy" "$work/wide$batch.npy" >/dev/null 2>"$work/stderr" ||
     ! "$work/wide" --threads 2 --bench 3 --profile --output "$work/prof.npy" "$work/wide$batch.npy" \
        >"$work/stdout" 2>"$work/stderr"; then
    echo "FAIL wide batch $batch: the program failed"; cat "$work/stderr"; fail=1
  elif python3 "$here/check_profile.py" "$work/wide.json" "$work/stderr" 2 "$batch" 3 "$work/plain.npy" "$work/prof.npy" "$mode"; then
    echo "ok profile, wide, 2 threads, batch $batch: $mode on the threads"
  else
    echo "FAIL profile, wide, 2 threads, batch $batch:"; cat "$work/stderr"; fail=1
  fi
done
exit $fail
