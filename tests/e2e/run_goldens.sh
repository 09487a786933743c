#!/bin/bash
# End-to-end goldens: compiles whole networks with cnnc, runs the programs and
# compares their outputs with what PyTorch computed (scripts/make_goldens.py,
# scripts/make_filter_images.py, scripts/train_digits.py wrote the data).
#
#   tests/e2e/run_goldens.sh CNNC_BINARY DATA_DIR        (DATA_DIR is tests/data)
#
# For each DATA_DIR/<net>/ and DATA_DIR/random/<net>/ (the chains rNN and the
# graphs dNN of scripts/make_goldens.py) whose network is found
# (examples/<net>.cnn or DATA_DIR/random/<net>.cnn):
# - with <net>.safetensors: builds the program with embedded weights and
#   with weights read at run time (--weights), at -O0 and -O2 (the random
#   graphs dNN at -O1 and -O3 too), and runs
#   in1.npy, in7.npy and in13.npy (batch 1, 7 and 13, on one thread and two)
#   with --output; any further
#   <net>.<dtype>.safetensors (F16, BF16, F64 copies) are run at -O2 both ways;
# - with a file synth_weights (VGG-16, AlexNet: too big to commit): makes the
#   weights with scripts/synth_weights.py, then checks them as above, but
#   at -O0 one image with run-time weights only (the naive arithmetic takes
#   about 35 s an image for VGG-16);
# - with only inline weights (edge, emboss): -O0 and -O2 on the ascent photo
#   (examples/images/ascent.pgm): --output .npy, --output .pgm, and a batch
#   of the photo seven times;
# - digits and resdigits (examples/digits/): the whole data set (all.npy)
#   must be classified as PyTorch classifies it, image by image
#   (torch_accuracy.json, resdigits_accuracy.json), and each
#   digit-<label>-<i>.pgm as <label> (--json), embedded and run-time weights,
#   at -O0 and -O2.
# Every comparison uses the one tolerance of tests/tolerance.h:
#   max|out - ref| <= 1e-4 x max(1, max|ref|)   (tests/e2e/check_output.py).
#
# Prints one line per check and a summary; exits 1 if any check failed,
# 2 on a usage error. Environment: PYTHON (a python3 with numpy; default
# /usr/bin/python3, else python3), E2E_ONLY (a regex: run only networks whose
# name matches), E2E_BIG=0 (skip VGG-16 and AlexNet), E2E_KEEP=1 (keep the
# scratch directory).

set -u

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
program_args "$0" "$@"
EXAMPLES=$ROOT/examples
SYNTH=$ROOT/scripts/synth_weights.py
ONLY=${E2E_ONLY:-.}
BIG=${E2E_BIG:-1}
if ! find_python; then
    echo "$0: needs a python3 with numpy (set PYTHON)" >&2
    exit 2
fi
make_scratch e2e "${E2E_KEEP:-0}"

# runq CMD...: runs CMD under a time limit; its status is left in RC.
runq() {
    timeout 900 "$@"
    RC=$?
    return $RC
}

# batches TAG DIR PROG ARGS...: batch 1 and, when there are ones, batch 7
# and batch 13 (a group of 8, one of 4 and one image: codegen/module.c), the
# last on one thread and on two (each thread a group of 4). With ONE_IMAGE=1,
# batch 1 only.
batches() {
    local tag=$1 dir=$2 prog=$3 n
    shift 3
    if [ ! -f "$dir/in1.npy" ]; then
        fail "$tag batch1" "no $dir/in1.npy"
        return
    fi
    if [ "${ONE_IMAGE:-0}" = 1 ]; then
        run_check "$tag batch1" "$dir/out1.npy" "$prog" "$@" "$dir/in1.npy"
        return
    fi
    for n in 1 7; do
        [ -f "$dir/in$n.npy" ] || continue
        run_check "$tag batch$n" "$dir/out$n.npy" "$prog" "$@" "$dir/in$n.npy"
    done
    if [ -f "$dir/in13.npy" ]; then
        run_check "$tag batch13 T1" "$dir/out13.npy" "$prog" "$@" --threads 1 "$dir/in13.npy"
        run_check "$tag batch13 T2" "$dir/out13.npy" "$prog" "$@" --threads 2 "$dir/in13.npy"
    fi
}

# A network whose weights are in DIR/NET.safetensors (and maybe other dtypes),
# or in the file given as a fourth argument. A fifth argument "big" (VGG-16,
# AlexNet) runs -O0 on one image with run-time weights only: the naive
# kernels on the big shapes, at about 35 s an image for VGG-16, where every
# other kind of check (embedded weights, batches, threads) at -O0 is the
# smaller networks' and at -O2 the big ones' too.
check_weights_file() {
    local name=$1 cnn=$2 dir=$3 st=${4:-$3/$1.safetensors} big=${5:-} opt prog f dt levels=(-O0 -O2) one
    # The random graphs (dNN, every op of SPEC section 9) at every level.
    [[ $name =~ ^d[0-9]+$ ]] && levels=(-O0 -O1 -O2 -O3)
    for opt in "${levels[@]}"; do
        one=0
        [ "$big" = big ] && [ "$opt" = -O0 ] && one=1
        prog=$WORK/$name-embedded$opt
        if [ $one = 0 ] && compile "$name $opt embedded" "$prog" "$cnn" --weights "$st" "$opt"; then
            batches "$name $opt embedded" "$dir" "$prog"
        fi
        rm -f "$prog" # VGG-16's is 553 MB
        prog=$WORK/$name-runtime$opt
        if compile "$name $opt runtime" "$prog" "$cnn" "$opt"; then
            ONE_IMAGE=$one batches "$name $opt runtime" "$dir" "$prog" --weights "$st"
        fi
    done
    for f in "$dir/$name".*.safetensors; do
        [ -f "$f" ] || continue
        dt=${f%.safetensors}
        dt=${dt##*.}
        prog=$WORK/$name-runtime-O2
        if [ -x "$prog" ]; then
            batches "$name -O2 runtime $dt" "$dir" "$prog" --weights "$f"
        fi
        prog=$WORK/$name-$dt-O2
        if compile "$name -O2 embedded $dt" "$prog" "$cnn" --weights "$f" -O2; then
            batches "$name -O2 embedded $dt" "$dir" "$prog"
        fi
    done
}

# VGG-16, AlexNet: the weights are made at test time, then checked as above
# (the naive code takes about 35 s an image for VGG-16 at -O0, 8 s at -O2).
check_synth() {
    local name=$1 cnn=$2 dir=$3 st=$WORK/$1.safetensors seed
    if [ "$BIG" = 0 ]; then
        echo "SKIP $name (E2E_BIG=0)"
        return
    fi
    seed=$(grep -v '^#' "$dir/synth_weights" | head -1)
    if ! "$PY" "$SYNTH" "$cnn" "$st" --seed "$seed" 2>"$WORK/synth.err"; then
        fail "$name synth_weights" "$(first_error "$WORK/synth.err")"
        return
    fi
    check_weights_file "$name" "$cnn" "$dir" "$st" big
    rm -f "$st"
}

# edge, emboss: inline weights, checked on the ascent photo.
check_image() {
    local name=$1 cnn=$2 dir=$3 img=$EXAMPLES/images/ascent.pgm opt prog detail
    for opt in -O0 -O2; do
        prog=$WORK/$name$opt
        compile "$name $opt" "$prog" "$cnn" "$opt" || continue
        run_check "$name $opt ascent.pgm -> npy" "$dir/ascent_$name.npy" "$prog" "$img"
        rm -f "$WORK/out.pgm"
        if ! runq "$prog" --output "$WORK/out.pgm" "$img" >"$WORK/run.out" 2>"$WORK/run.err"; then
            fail "$name $opt ascent.pgm -> pgm" "exited $RC: $(first_error "$WORK/run.err")"
        elif detail=$("$PY" "$CHECK" pgm "$WORK/out.pgm" "$dir/ascent_$name.pgm" 2>&1); then
            pass "$name $opt ascent.pgm -> pgm" "$detail"
        else
            fail "$name $opt ascent.pgm -> pgm" "$detail"
        fi
        # Seven inputs make a batch: (7, 1, 512, 512), each the photo's output.
        rm -f "$WORK/out.npy"
        if ! runq "$prog" --output "$WORK/out.npy" "$img" "$img" "$img" "$img" "$img" "$img" "$img" \
            >"$WORK/run.out" 2>"$WORK/run.err"; then
            fail "$name $opt batch7 of pgm" "exited $RC: $(first_error "$WORK/run.err")"
        else
            "$PY" -c 'import numpy as np, sys; r = np.load(sys.argv[1]); np.save(sys.argv[2], np.concatenate([r] * 7))' \
                "$dir/ascent_$name.npy" "$WORK/ref7.npy"
            if detail=$("$PY" "$CHECK" close "$WORK/out.npy" "$WORK/ref7.npy" 2>&1); then
                pass "$name $opt batch7 of pgm" "$detail"
            else
                fail "$name $opt batch7 of pgm" "$detail"
            fi
        fi
    done
}

# digits and resdigits (examples/digits/): the whole data set (all.npy) must
# be classified as PyTorch classifies it, image by image (NET's accuracy
# file), and the sample PGMs by name.
check_digits() {
    local dir=$1 net=$2 acc=$3 ex=$EXAMPLES/digits opt mode prog detail st
    local -a at_compile at_run
    st=$ex/$net.safetensors
    for opt in -O0 -O2; do
        for mode in embedded runtime; do
            prog=$WORK/$net-$mode$opt
            at_compile=() at_run=()
            if [ $mode = embedded ]; then at_compile=(--weights "$st"); else at_run=(--weights "$st"); fi
            compile "$net $opt $mode" "$prog" "$ex/$net.cnn" "${at_compile[@]}" "$opt" || continue
            rm -f "$WORK/out.npy"
            if ! runq "$prog" "${at_run[@]}" --output "$WORK/out.npy" "$dir/all.npy" >"$WORK/run.out" 2>"$WORK/run.err"; then
                fail "$net $opt $mode accuracy" "exited $RC: $(first_error "$WORK/run.err")"
            elif detail=$("$PY" "$CHECK" accuracy "$WORK/out.npy" "$dir/labels.npy" "$dir/$acc" 2>&1); then
                pass "$net $opt $mode accuracy" "$detail"
            else
                fail "$net $opt $mode accuracy" "$detail"
            fi
            if ! runq "$prog" "${at_run[@]}" --json --labels "$ex/labels.txt" "$ex"/digit-*.pgm >"$WORK/run.json" 2>"$WORK/run.err"; then
                fail "$net $opt $mode pgm samples" "exited $RC: $(first_error "$WORK/run.err")"
            elif detail=$("$PY" "$CHECK" top1 "$WORK/run.json" "$dir/$acc" 2>&1); then
                pass "$net $opt $mode pgm samples" "$detail"
            else
                fail "$net $opt $mode pgm samples" "$detail"
            fi
        done
    done
}

for dir in "$DATA"/*/ "$DATA"/random/*/; do
    dir=${dir%/}
    [ -d "$dir" ] || continue
    name=$(basename "$dir")
    # random holds the chains and graphs; bn, nan, tv, onnx and onnx_tv are
    # the data of cli.batchnorm, cli.nan, e2e.torchvision, onnx.models and
    # onnx.torchvision. Any other directory is a network whose goldens must
    # be here: a missing file fails, it is not skipped.
    case $name in random | bn | nan | tv | onnx | onnx_tv) continue ;; esac
    echo "$name" | grep -Eq -- "$ONLY" || continue
    if [ "$name" = digits ]; then
        check_digits "$dir" digits torch_accuracy.json
        check_digits "$dir" resdigits resdigits_accuracy.json
        continue
    fi
    if [ -f "$dir/../$name.cnn" ]; then
        cnn=$(cd "$dir/.." && pwd)/$name.cnn
    elif [ -f "$EXAMPLES/$name.cnn" ]; then
        cnn=$EXAMPLES/$name.cnn
    else
        fail "$name" "no $name.cnn in examples/ or beside $dir"
        continue
    fi
    if [ -f "$dir/$name.safetensors" ]; then
        check_weights_file "$name" "$cnn" "$dir"
    elif [ -f "$dir/synth_weights" ]; then
        check_synth "$name" "$cnn" "$dir"
    elif [ -f "$dir/ascent_$name.npy" ]; then
        check_image "$name" "$cnn" "$dir"
    elif [ -f "$dir/in1.npy" ]; then   # inline weights only
        for opt in -O0 -O2; do
            compile "$name $opt" "$WORK/$name$opt" "$cnn" "$opt" && batches "$name $opt" "$dir" "$WORK/$name$opt"
        done
    else
        fail "$name" "no goldens in $dir (no $name.safetensors, synth_weights, ascent_$name.npy or in1.npy)"
    fi
done

summary "e2e goldens"
