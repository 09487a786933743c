#!/bin/bash
# A NaN in a max pool's window is the window's maximum, as PyTorch's
# max_pool2d has it, on every path a max pool takes (tests/cli/nan/*.cnn:
# tiling windows, windows over the padding, strided overhanging ones, a
# global pool, a pool fused into its conv): at -O0 and -O2, batch 2, the
# NaN land where PyTorch's do and the other values match PyTorch's
# (tests/data/nan/, written by tests/cli/nan_goldens.py).
# usage: run_nan.sh CNNC SOURCE_DIR
set -u
cnnc=$1 src=$2
case $cnnc in /*) ;; *) cnnc=$PWD/$cnnc ;; esac
case $src in /*) ;; *) src=$PWD/$src ;; esac
py=/usr/bin/python3; [ -x $py ] || py=python3
work=$(mktemp -d "${TMPDIR:-/tmp}/cnnc-nan.XXXXXX")
trap 'rm -rf "$work"' EXIT
data=$src/tests/data/nan
check=$src/tests/e2e/check_output.py
fail=0 n=0
for f in x.npy fused.safetensors; do
    [ -f "$data/$f" ] || { echo "FAIL: no $data/$f (tests/cli/nan_goldens.py writes it)"; exit 1; }
done
for net in "$src"/tests/cli/nan/*.cnn; do
    name=$(basename "$net" .cnn)
    ref=$data/$name.npy
    if [ ! -f "$ref" ]; then
        echo "FAIL $name: no $ref (tests/cli/nan_goldens.py writes it)"
        fail=1
        continue
    fi
    weights=()
    [ -f "$data/$name.safetensors" ] && weights=(--weights "$data/$name.safetensors")
    for O in 0 2; do
        n=$((n + 1))
        prog=$work/$name-O$O
        cp "$ref" "$work/ref.npy"
        if ! "$cnnc" -O$O "${weights[@]}" "$net" -o "$prog" 2>"$work/err"; then
            echo "FAIL $name -O$O: cnnc: $(head -c 300 "$work/err")"
            fail=1
            continue
        fi
        if ! "$prog" "$data/x.npy" --output "$work/out.npy" >/dev/null 2>"$work/err"; then
            echo "FAIL $name -O$O: the program: $(head -c 300 "$work/err")"
            fail=1
            continue
        fi
        if detail=$($py "$check" nanclose "$work/out.npy" "$work/ref.npy"); then
            echo "ok $name -O$O: $detail"
        else
            echo "FAIL $name -O$O: $detail"
            fail=1
        fi
    done
done
[ $n -eq 10 ] || { echo "FAIL: $n checks, expected 10 (5 networks at -O0 and -O2)"; fail=1; }
exit $fail
