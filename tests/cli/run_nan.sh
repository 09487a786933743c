#!/bin/bash
# A NaN in a max pool's window is the window's maximum, as PyTorch's
# max_pool2d has it, on every path a max pool takes (tests/cli/nan/*.cnn:
# tiling windows, windows over the padding, strided overhanging ones, a
# global pool, a pool fused into its conv, an overlapping one fused into
# a conv of stride 2): at -O0 and -O2, batch 2, the
# NaN land where PyTorch's do and the other values match PyTorch's
# (tests/data/nan/, written by tests/cli/nan_goldens.py; check_output.py
# nanclose).
#   run_nan.sh CNNC_BINARY DATA_DIR
set -u
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
program_args "$0" "$@"
find_python || { echo "$0: needs a python3 with numpy" >&2; exit 2; }
make_scratch nan 0
CHECK_MODE=nanclose
nan=$DATA/nan
[ -f "$nan/x.npy" ] || fail "data" "no $nan/x.npy (tests/cli/nan_goldens.py writes it)"
for net in "$ROOT"/tests/cli/nan/*.cnn; do
    name=$(basename "$net" .cnn)
    weights=()
    [ -f "$nan/$name.safetensors" ] && weights=(--weights "$nan/$name.safetensors")
    for O in 0 2; do
        if [ ! -f "$nan/$name.npy" ]; then
            fail "$name -O$O" "no $nan/$name.npy (tests/cli/nan_goldens.py writes it)"
        elif compile "$name -O$O" "$WORK/$name-O$O" -O$O "${weights[@]}" "$net"; then
            run_check "$name -O$O" "$nan/$name.npy" "$WORK/$name-O$O" "$nan/x.npy"
        fi
    done
done
[ $((PASS + FAIL)) -eq 12 ] || fail "count" "$((PASS + FAIL)) checks, expected 12 (6 networks at -O0 and -O2)"
summary "nan"
