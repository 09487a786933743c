#!/bin/bash
# Cortex-M4 firmware on QEMU: builds examples/cortex-m/ (build.sh) around
# objects cnnc compiles for thumbv7em-none-eabihf, runs them on mps2-an386
# (run.sh) and compares what they print with the goldens.
#
#   tests/cross/run_cortex_m.sh CNNC_BINARY DATA_DIR        (DATA_DIR is tests/data)
#
# - lenet, batch 1 and batch 7 (DATA_DIR/lenet/in1.npy, in7.npy): the outputs,
#   read back from their exact float bits, against PyTorch's out1.npy and
#   out7.npy with the one tolerance of tests/tolerance.h
#   (tests/e2e/check_output.py close);
# - the object cnnc wrote needs nothing but memcpy, memmove, memset;
# - the firmware fits a 512 KiB flash and a 64 KiB RAM by arm-none-eabi-size
#   (flash = text + data, RAM = data + bss, the stack inside bss); the link
#   itself fails otherwise;
# - digits (examples/digits/): the ten images of digit-<label>-<i>.pgm, as
#   rows i of the data set, against PyTorch's logits for them
#   (DATA_DIR/digits/out_all.npy); each classified as its label;
# - resdigits (a residual network with batch norm) on those ten images,
#   against PyTorch's outputs (DATA_DIR/digits/resdigits_out_all.npy);
# - the generated networks (DATA_DIR/random: 24 chains rNN, 12 graphs dNN),
#   batch 7, against PyTorch.
#
# Prints one line per check and a summary; exits 1 if any check failed or a
# tool is missing (arm-none-eabi-gcc, arm-none-eabi-size, qemu-system-arm,
# newlib; a python3 with numpy), 2 on a usage error. Environment: PYTHON,
# CROSS_KEEP=1 (keep the scratch directory), CROSS_TIMEOUT (seconds a run
# may take, default 120).

set -u

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
program_args "$0" "$@"
FIRMWARE=$ROOT/examples/cortex-m
TIME_LIMIT=${CROSS_TIMEOUT:-120}

missing() {
    echo "FAIL cortex-m tools: $1 not found; install the Debian package $2" >&2
    exit 1
}
for tool in arm-none-eabi-gcc:gcc-arm-none-eabi arm-none-eabi-size:binutils-arm-none-eabi \
    qemu-system-arm:qemu-system-arm; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || missing "${tool%%:*}" "${tool#*:}"
done
if [ ! -f "$(arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 \
    -print-file-name=libc.a)" ]; then
    missing "newlib's libc.a for arm-none-eabi" libnewlib-arm-none-eabi
fi
find_python || missing "a python3 with numpy (or set PYTHON)" python3-numpy
export PYTHON=$PY
make_scratch cortex-m "${CROSS_KEEP:-0}"

# build TAG OUTDIR WEIGHTS INPUT [NET]: build.sh, then the checks of the
# object's undefined symbols and of the sizes.
build() {
    local tag=$1 out=$2 weights=$3 input=$4 net=${5:-} text data bss flash ram
    if ! "$FIRMWARE/build.sh" "$CNNC" "$weights" "$input" "$out" ${net:+"$net"} >"$out.build" 2>&1; then
        fail "$tag build" "$(grep -m1 -E 'error|build.sh:' "$out.build" | cut -c1-200)"
        return 1
    fi
    pass "$tag build"
    # The object's hooks (SPEC section 5: it allocates nothing): at most the
    # mem* functions of any C library, or their ARM run-time ABI names
    # (__aeabi_memcpy4 and the like, which every ARM C library provides).
    # Unwind tables that name a personality routine, for one, would pull in
    # libgcc's unwinder, abort and malloc.
    local obj extra
    obj=$(ls "$out"/*-m4.elf)
    obj=${obj%-m4.elf}.o
    extra=$(arm-none-eabi-nm -u "$obj" | awk '{print $NF}' | grep -v -E '^(__aeabi_)?(memcpy|memmove|memset|memclr)[48]?$' | tr '\n' ' ')
    if [ -z "$extra" ]; then
        pass "$tag object's undefined symbols" "$(arm-none-eabi-nm -u "$obj" | awk '{print $NF}' | tr '\n' ' ' | grep . || echo none)"
    else
        fail "$tag object's undefined symbols" "$(basename "$obj") needs more than mem*: $extra"
    fi
    read -r text data bss _ < <(arm-none-eabi-size "$out"/*-m4.elf | tail -1)
    flash=$((text + data))
    ram=$((data + bss))
    if [ "$flash" -le $((512 * 1024)) ] && [ "$ram" -le $((64 * 1024)) ]; then
        pass "$tag fits" "flash $flash <= 524288, RAM $ram <= 65536 (text $text, data $data, bss $bss)"
    else
        fail "$tag fits" "flash $flash (of 524288), RAM $ram (of 65536)"
    fi
}

# run TAG OUTDIR: the firmware on QEMU; its output lines become OUTDIR/out.npy,
# shaped like REF.npy ((images, outputs) when no REF is given).
run() {
    local tag=$1 out=$2 ref=${3:-} start end rc
    start=$(date +%s.%N)
    TIMEOUT=$TIME_LIMIT "$FIRMWARE/run.sh" "$out"/*-m4.elf </dev/null >"$out.stdout" 2>"$out.run"
    rc=$?
    end=$(date +%s.%N)
    SECONDS_TAKEN=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.2f", b - a}')
    if [ $rc -eq 124 ]; then
        fail "$tag run" "no exit within ${TIME_LIMIT} s"
        return 1
    elif [ $rc -ne 0 ]; then
        fail "$tag run" "qemu exited $rc: $(grep -m1 -E 'error|fault' "$out.run" || first_error "$out.run")"
        return 1
    fi
    # output[i][k] = 0xBITS decimal: the exact floats, in order.
    if ! "$PY" - "$out.run" "$out/out.npy" "$ref" >"$out.parse" 2>&1 <<'EOF'; then
import re, sys
import numpy as np
lines = open(sys.argv[1]).read().splitlines()
found = [re.match(r"output\[(\d+)\]\[(\d+)\] = 0x([0-9a-f]{8}) ", l) for l in lines]
found = [(int(m.group(1)), int(m.group(2)), int(m.group(3), 16)) for m in found if m]
if not found:
    sys.exit("no output lines")
images, outputs = found[-1][0] + 1, found[-1][1] + 1
expect = [(i, k) for i in range(images) for k in range(outputs)]
if [(i, k) for i, k, _ in found] != expect:
    sys.exit("output lines out of order or missing")
out = np.array([b for _, _, b in found], dtype=np.uint32).view(np.float32)
if len(sys.argv) > 3 and sys.argv[3]:
    shape = np.load(sys.argv[3]).shape
    if out.size == int(np.prod(shape)):
        out = out.reshape(shape)
    else:
        out = out.reshape(images, outputs)
else:
    out = out.reshape(images, outputs)
np.save(sys.argv[2], out)
EOF
        fail "$tag run" "$(first_error "$out.parse")"
        return 1
    fi
    pass "$tag run" "qemu ${SECONDS_TAKEN} s"
}

# compare TAG OUT.npy REF.npy: the one tolerance.
compare() {
    local detail
    if detail=$("$PY" "$CHECK" close "$2" "$3" 2>&1); then
        pass "$1" "$detail"
    else
        fail "$1" "$detail"
    fi
}

# LeNet-5 against PyTorch, one image and a batch of seven.
for n in 1 7; do
    ref=$DATA/lenet/out$n.npy
    if [ ! -f "$DATA/lenet/in$n.npy" ]; then
        [ $n = 1 ] && fail "lenet data" "no $DATA/lenet/in1.npy"
        continue
    fi
    dir=$WORK/lenet$n
    build "lenet batch$n" "$dir" "$DATA/lenet/lenet.safetensors" "$DATA/lenet/in$n.npy" &&
        run "lenet batch$n" "$dir" "$ref" &&
        compare "lenet batch$n vs PyTorch" "$dir/out.npy" "$ref"
done

# digits: the ten images of examples/digits/digit-<label>-<i>.pgm, taken as
# rows i of the data set (DATA_DIR/digits/all.npy), against PyTorch's logits
# for those rows (out_all.npy, scripts/make_goldens.py); each classified as
# its label.
digits=$ROOT/examples/digits
dir=$WORK/digits
pgms=("$digits"/digit-*.pgm)
if ! "$PY" - "$DATA/digits" "$WORK" "${pgms[@]}" >"$WORK/digits.err" 2>&1 <<'EOF'; then
import os, sys
import numpy as np
data, work = sys.argv[1], sys.argv[2]
rows = [int(os.path.basename(p)[:-4].split("-")[2]) for p in sys.argv[3:]]
np.save(os.path.join(work, "digits-in.npy"), np.load(os.path.join(data, "all.npy"))[rows])
np.save(os.path.join(work, "digits-ref.npy"), np.load(os.path.join(data, "out_all.npy"))[rows])
np.save(os.path.join(work, "resdigits-ref.npy"), np.load(os.path.join(data, "resdigits_out_all.npy"))[rows])
EOF
    fail "digits input" "$(first_error "$WORK/digits.err")"
elif build "digits" "$dir" "$digits/digits.safetensors" "$WORK/digits-in.npy" "$digits/digits.cnn" &&
    run "digits" "$dir"; then
    compare "digits ${#pgms[@]} images vs PyTorch" "$dir/out.npy" "$WORK/digits-ref.npy"
    labels=$(for p in "${pgms[@]}"; do basename "$p" | cut -d- -f2; done | tr '\n' ' ')
    got=$(grep -o 'class [0-9]*' "$dir.run" | cut -d' ' -f2 | tr '\n' ' ')
    if [ "$got" = "$labels" ]; then
        pass "digits top1" "${#pgms[@]} images classified as their labels"
    else
        fail "digits top1" "classes $got, labels $labels"
    fi
fi

# resdigits, a residual network with batch norm (SPEC section 9), on the
# same ten images against PyTorch's outputs for them (resdigits_out_all.npy,
# scripts/train_resdigits.py; the rows were taken above).
dir=$WORK/resdigits
if [ ! -f "$WORK/resdigits-ref.npy" ]; then
    fail "resdigits input" "no reference rows (see digits input)"
elif build "resdigits" "$dir" "$digits/resdigits.safetensors" "$WORK/digits-in.npy" "$digits/resdigits.cnn" &&
    run "resdigits" "$dir"; then
    compare "resdigits ${#pgms[@]} images vs PyTorch" "$dir/out.npy" "$WORK/resdigits-ref.npy"
fi

# The generated networks, batch 7, against PyTorch: the chains
# (DATA_DIR/random/rNN: convs with strides, pads and ceil rounding, pools,
# softmax over maps) and the graphs (dNN: adds, concats, batch norms, grouped
# and dilated convs, WxH windows, global pools, every activation).
for cnn in "$DATA"/random/r[0-9]*.cnn "$DATA"/random/d[0-9]*.cnn; do
    name=$(basename "$cnn" .cnn)
    rdir=$DATA/random/$name
    [ -f "$rdir/$name.safetensors" ] || continue
    dir=$WORK/$name
    build "$name" "$dir" "$rdir/$name.safetensors" "$rdir/in7.npy" "$cnn" &&
        run "$name" "$dir" "$rdir/out7.npy" &&
        compare "$name batch7 vs PyTorch" "$dir/out.npy" "$rdir/out7.npy"
done

summary cortex-m
