#!/bin/bash
# torchvision's networks against PyTorch: examples/NAME.cnn with the model's
# whole state dict as its weights file (scripts/make_torchvision_examples.py
# wrote the .cnn files, the manifests and the goldens).
#
#   tests/e2e/run_torchvision.sh CNNC_BINARY DATA_DIR        (DATA_DIR is tests/data)
#
# For each DATA_DIR/tv/NAME/: remakes the weights from manifest.json with
# scripts/tv_weights.py (numpy only; every tensor of torchvision's state
# dict, num_batches_tracked included, as PyTorch saves it), then builds
# examples/NAME.cnn with the weights embedded (-O2) and without them
# (-O0, the weights read at run time, so batch norms are folded by the
# runtime), and runs in1.npy and in2.npy on one thread and two against
# out1.npy and out2.npy with the one tolerance of tests/tolerance.h.
# A network listed below whose data or .cnn is missing is a failure.
# Environment: PYTHON, E2E_ONLY (a regex over the names), E2E_KEEP=1.

set -u

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
program_args "$0" "$@"
ONLY=${E2E_ONLY:-.}
if ! find_python; then
    echo "$0: needs a python3 with numpy (set PYTHON)" >&2
    exit 2
fi
make_scratch tv "${E2E_KEEP:-0}"

for name in resnet18 resnet50 mobilenet_v2 squeezenet1_1 googlenet; do
    echo "$name" | grep -Eq -- "$ONLY" || continue
    dir=$DATA/tv/$name cnn=$ROOT/examples/$name.cnn st=$WORK/$name.safetensors
    if [ ! -f "$dir/manifest.json" ] || [ ! -f "$cnn" ]; then
        fail "$name data" "missing $dir/manifest.json or $cnn"
        continue
    fi
    if ! "$PY" "$ROOT/scripts/tv_weights.py" "$dir/manifest.json" "$st" 2>"$WORK/tv.err"; then
        fail "$name weights" "$(first_error "$WORK/tv.err")"
        continue
    fi
    prog=$WORK/$name-embedded
    if compile "$name -O2 embedded" "$prog" "$cnn" --weights "$st" -O2; then
        for n in 1 2; do
            for t in 1 2; do
                run_check "$name -O2 embedded batch$n T$t" "$dir/out$n.npy" "$prog" --threads $t "$dir/in$n.npy"
            done
        done
    fi
    rm -f "$prog"
    prog=$WORK/$name-runtime
    if compile "$name -O0 runtime" "$prog" "$cnn" -O0; then
        run_check "$name -O0 runtime batch2" "$dir/out2.npy" "$prog" --weights "$st" "$dir/in2.npy"
    fi
    rm -f "$prog" "$st"
done
summary "torchvision"
