#!/bin/bash
# torchvision's ResNet-18, MobileNetV2, SqueezeNet 1.1 and GoogLeNet as
# torch.onnx.export writes them (opsets 11, 13 and 17, fixed and symbolic
# batch; scripts/make_tv_onnx.py): each of the 24 models compiles with cnnc
# and matches PyTorch at batch 1 and batch 7.
#
#   tests/onnx/run_torchvision.sh CNNC_BINARY DATA_DIR        (DATA_DIR is tests/data)
#
# DATA_DIR/onnx_tv/skeletons.tar.xz holds the exports with their Conv and
# Gemm weights emptied, DATA_DIR/onnx_tv/NET/ PyTorch's outputs;
# tests/onnx/tv_fill.py unpacks the skeletons, puts the weights back and
# makes the inputs (numpy and python3-onnx, no PyTorch).
# A skeleton must be refused as it is, so the test cannot pass on weights
# that are not there. Missing data is a failure.
# Environment: PYTHON (a python3 with numpy and onnx), TV_ONLY (a regex over
# the networks' names), TV_KEEP=1 (keep the scratch directory).

set -u

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
program_args "$0" "$@"
FILL=$ROOT/tests/onnx/tv_fill.py
if ! find_python || ! "$PY" -c 'import onnx' 2>/dev/null; then
    echo "$0: needs a python3 with numpy and onnx (python3-onnx; set PYTHON)" >&2
    exit 2
fi
make_scratch tv_onnx "${TV_KEEP:-0}"

if ! "$PY" "$FILL" unpack "$DATA/onnx_tv/skeletons.tar.xz" "$WORK/skel" 2>"$WORK/unpack.err"; then
    fail "skeletons" "$(first_error "$WORK/unpack.err")"
fi
if ! "$PY" "$FILL" input 1 "$WORK/in1.npy" || ! "$PY" "$FILL" input 7 "$WORK/in7.npy"; then
    fail "inputs" "tv_fill.py input failed"
    summary "onnx torchvision"
fi
for net in resnet18 mobilenet_v2 squeezenet1_1 googlenet; do
    echo "$net" | grep -Eq -- "${TV_ONLY:-.}" || continue
    dir=$DATA/onnx_tv/$net skel=$WORK/skel/$net
    args=()
    for f in out1.npy out7.npy; do
        [ -f "$dir/$f" ] || fail "$net data" "missing $dir/$f"
    done
    for opset in 11 13 17; do
        for batch in fixed sym; do
            tag=opset${opset}_$batch
            if [ -f "$skel/$tag.onnx" ]; then
                args+=("$skel/$tag.onnx" "$WORK/$net-$tag.onnx")
            else
                fail "$net $tag data" "missing $net/$tag.onnx in skeletons.tar.xz"
            fi
        done
    done
    [ ${#args[@]} -gt 0 ] || continue
    # The skeleton has no weights to compile: a clear error, exit 1.
    "$CNNC" "${args[0]}" --check >"$WORK/skel.out" 2>&1
    rc=$?
    if [ $rc -eq 1 ] && grep -q 'error: ' "$WORK/skel.out"; then
        pass "$net skeleton refused" "$(first_error "$WORK/skel.out")"
    else
        fail "$net skeleton refused" "cnnc exited $rc on ${args[0]}, which has no weights"
    fi
    if ! "$PY" "$FILL" refill "$net" "${args[@]}" 2>"$WORK/fill.err"; then
        fail "$net refill" "$(first_error "$WORK/fill.err")"
        continue
    fi
    for ((i = 1; i < ${#args[@]}; i += 2)); do
        model=${args[i]} tag=$(basename "${args[i]}" .onnx)
        prog=$WORK/prog
        if compile "$tag" "$prog" "$model"; then
            for n in 1 7; do
                run_check "$tag batch$n" "$dir/out$n.npy" "$prog" "$WORK/in$n.npy"
            done
        fi
        rm -f "$prog" "$model"
    done
done
summary "onnx torchvision"
