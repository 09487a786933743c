#!/bin/bash
# A program's --profile (runtime/profile.c): CIFAR-10 compiled with its test
# weights, run on one thread (layers timed on the calling thread) and on two
# (images on threads of their own, thread time). check_profile.py holds the
# lines against cnnc's own JSON report: one line per kernel in the report's
# order, named as its fused groups are, shares summing to 100%, GFLOP/s that
# agree with the report's MACs, and the same outputs as without --profile.
# Then big_fc on two threads, whose fc is too big for images on threads.
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

# A network with an fc past 4 MiB of weights splits its layers over the
# threads instead of giving each thread its own images (codegen/module.c,
# image_parallel): each image would stream the fc's weights from memory
# again. big_fc is a small conv and an fc of 4.9 MB.
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
exit $fail
