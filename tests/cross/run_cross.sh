#!/bin/bash
# Programs for other machines, run there by emulation and compared with
# PyTorch's outputs (issue 6):
#
#   tests/cross/run_cross.sh CNNC_BINARY DATA_DIR        (DATA_DIR is tests/data)
#
# For each target - aarch64-linux-gnu and riscv64-linux-gnu under qemu-user,
# wasm32-wasi under Node's WASI (wasi-run, beside cnnc) - it builds with
# `cnnc --target=TRIPLE -o PROG` and checks against the goldens of
# scripts/make_goldens.py:
# - LeNet-5 with embedded weights at -O2, batch 1 and 7, and at -O0 with
#   the weights read at run time (the naive kernels and the target's reader);
# - the digits example, its whole data set (1,797 images) at once against
#   the logits PyTorch computed (tests/data/digits/out_all.npy);
# - resdigits, a residual network with batch norm, on that set: every image
#   classified as PyTorch does, with embedded weights (-O2) and with the
#   weights read there (-O0);
# - every generated network at -O2, batch 7: the chains tests/data/random/rNN
#   and the graphs dNN (branches, adds, concats, batch norms folded and not,
#   grouped and dilated convs, WxH windows, global pools, every activation);
# - for wasm32, LeNet-5 also without SIMD128 (--features=-simd128);
# - tests/diff/corners/big_fc.cnn, whose fc runs images in groups, against
#   this machine's program (codegen.vs_reference checks that one).
# Each program must be the target's kind of file (ELF machine, wasm magic).
# Then the refusals: a missing cross compiler names its Debian package, a
# bare-metal executable is refused, and neither leaves a file behind.
# Tolerance: max|out - ref| <= 1e-4 x max(1, max|ref|) (check_output.py).
#
# Environment: PYTHON (python3 with numpy), CROSS_TARGETS (a space-separated
# subset of the three), CROSS_RANDOM (how many random networks of each kind,
# chains and graphs; default all).
# Exits 1 if any check failed (a missing emulator or compiler is a failure:
# scripts/setup.sh installs them), 2 on a usage error.

set -u

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
program_args "$0" "$@"
WASI_RUN=$(dirname "$CNNC")/wasi-run
TARGETS=${CROSS_TARGETS:-aarch64-linux-gnu riscv64-linux-gnu wasm32-wasi}
NRANDOM=${CROSS_RANDOM:-1000}
if ! find_python; then
    echo "$0: needs a python3 with numpy (set PYTHON)" >&2
    exit 2
fi
make_scratch cross "${CROSS_KEEP:-0}"

# The emulator that runs TARGET's programs on this machine, as a command prefix.
runner_for() {
    case $1 in
        aarch64-linux-gnu) echo qemu-aarch64 ;;
        riscv64-linux-gnu) echo qemu-riscv64 ;;
        wasm32-wasi) echo "$WASI_RUN" ;;
    esac
}

# What `file`-free magic the program must have: ELF e_machine, or wasm.
kind_ok() {
    local target=$1 prog=$2 machine
    case $target in
        wasm32-wasi) [ "$(head -c 4 "$prog" | od -An -c | tr -d ' ')" = '\0asm' ] ;;
        *)
            machine=$(readelf -h "$prog" 2>/dev/null | sed -n 's/^ *Machine: *//p')
            case $target in
                aarch64-*) [ "$machine" = AArch64 ] ;;
                riscv64-*) [ "$machine" = RISC-V ] ;;
            esac ;;
    esac
}

# build TARGET TAG PROG ARGS...: cnnc --target=TARGET ARGS -o PROG.
build() {
    local target=$1 tag=$2 prog=$3
    shift 3
    if ! timeout 600 "$CNNC" --target="$target" "$@" -o "$prog" >"$WORK/cc.out" 2>"$WORK/cc.err"; then
        fail "$tag compile" "$(first_error "$WORK/cc.err")"
        return 1
    fi
    if ! kind_ok "$target" "$prog"; then
        fail "$tag compile" "$(basename "$prog") is not a $target program"
        return 1
    fi
    return 0
}

# check TARGET TAG REF PROG ARGS...: runs PROG ARGS --output out.npy there.
check() {
    local target=$1 tag=$2 ref=$3 prog=$4 out=$WORK/out.npy detail
    shift 4
    rm -f "$out"
    # shellcheck disable=SC2046 # the runner is a command word
    if ! (cd "$WORK" && timeout 600 $(runner_for "$target") "$prog" "$@" --output "$out") \
        >"$WORK/run.out" 2>"$WORK/run.err"; then
        fail "$tag" "$(first_error "$WORK/run.err")"
    elif detail=$("$PY" "$CHECK" close "$out" "$ref" 2>&1); then
        pass "$tag" "$detail"
    else
        fail "$tag" "$detail"
    fi
}

# A network whose fc is past 1 MiB, so its images run in groups
# (codegen/ops/fc.c): this machine's program, which codegen.vs_reference
# checks against the reference interpreter, is the reference here.
bigfc=$ROOT/tests/diff/corners/big_fc.cnn
bigfc_ok=0
if "$PY" "$ROOT/scripts/synth_weights.py" "$bigfc" "$WORK/big_fc.safetensors" >"$WORK/synth.err" 2>&1 &&
    "$PY" -c 'import sys, numpy as np; np.save(sys.argv[1], np.random.default_rng(7).standard_normal((7, 8, 16, 16), dtype=np.float32))' "$WORK/big_fc_in.npy" &&
    "$CNNC" "$bigfc" --weights "$WORK/big_fc.safetensors" -o "$WORK/big_fc_host" 2>>"$WORK/synth.err" &&
    "$WORK/big_fc_host" "$WORK/big_fc_in.npy" --output "$WORK/big_fc_ref.npy" >/dev/null 2>>"$WORK/synth.err"; then
    bigfc_ok=1
else
    fail "big_fc on this machine" "$(first_error "$WORK/synth.err")"
fi

for target in $TARGETS; do
    runner=$(runner_for "$target")
    if [ -z "$runner" ]; then
        fail "$target" "unknown target (aarch64-linux-gnu, riscv64-linux-gnu or wasm32-wasi)"
        continue
    fi
    if ! command -v "${runner%% *}" >/dev/null; then
        fail "$target" "no '$runner' to run its programs (scripts/setup.sh installs qemu-user and nodejs)"
        continue
    fi
    t=$WORK/$target
    mkdir -p "$t"
    lenet=$DATA/lenet
    if build "$target" "$target lenet -O2 embedded" "$t/lenet" "$ROOT/examples/lenet.cnn" \
        --weights "$lenet/lenet.safetensors" -O2; then
        check "$target" "$target lenet -O2 embedded batch1" "$lenet/out1.npy" "$t/lenet" "$lenet/in1.npy"
        check "$target" "$target lenet -O2 embedded batch7" "$lenet/out7.npy" "$t/lenet" "$lenet/in7.npy"
    fi
    if build "$target" "$target lenet -O0 runtime" "$t/lenet0" "$ROOT/examples/lenet.cnn" -O0; then
        # Relative paths: the WASI runner must start the module in this directory.
        cp "$lenet/lenet.safetensors" "$lenet/in7.npy" "$WORK/"
        check "$target" "$target lenet -O0 runtime batch7" "$lenet/out7.npy" "$t/lenet0" \
            --weights lenet.safetensors in7.npy
    fi
    if [ "$target" = wasm32-wasi ] && build "$target" "$target lenet scalar" "$t/lenet-scalar" \
        "$ROOT/examples/lenet.cnn" --weights "$lenet/lenet.safetensors" --features=-simd128; then
        check "$target" "$target lenet -simd128 batch7" "$lenet/out7.npy" "$t/lenet-scalar" "$lenet/in7.npy"
    fi
    if build "$target" "$target digits -O2" "$t/digits" "$ROOT/examples/digits/digits.cnn" \
        --weights "$ROOT/examples/digits/digits.safetensors"; then
        check "$target" "$target digits all 1797" "$DATA/digits/out_all.npy" "$t/digits" "$DATA/digits/all.npy"
    fi
    # A residual network with batch norm (SPEC section 9): trained weights,
    # every image classified as PyTorch does; at -O2 embedded (folded at
    # compile time) and at -O0 reading the weights there (folded by the
    # target's runtime).
    res=$ROOT/examples/digits/resdigits
    for mode in embedded runtime; do
        if [ $mode = embedded ]; then
            build "$target" "$target resdigits -O2 embedded" "$t/resdigits" "$res.cnn" --weights "$res.safetensors" -O2 ||
                continue
            args=()
        else
            build "$target" "$target resdigits -O0 runtime" "$t/resdigits" "$res.cnn" -O0 || continue
            cp "$res.safetensors" "$WORK/"
            args=(--weights resdigits.safetensors)
        fi
        cp "$DATA/digits/all.npy" "$WORK/all.npy"
        rm -f "$WORK/out.npy"
        # shellcheck disable=SC2046 # the runner is a command word
        if ! (cd "$WORK" && timeout 600 $(runner_for "$target") "$t/resdigits" "${args[@]}" all.npy --output out.npy) \
            >"$WORK/run.out" 2>"$WORK/run.err"; then
            fail "$target resdigits $mode all 1797" "$(first_error "$WORK/run.err")"
        elif detail=$("$PY" "$CHECK" accuracy "$WORK/out.npy" "$DATA/digits/labels.npy" \
            "$DATA/digits/resdigits_accuracy.json" 2>&1); then
            pass "$target resdigits $mode all 1797" "$detail"
        else
            fail "$target resdigits $mode all 1797" "$detail"
        fi
    done
    if [ $bigfc_ok = 1 ] && build "$target" "$target big_fc" "$t/big_fc" "$bigfc" \
        --weights "$WORK/big_fc.safetensors"; then
        check "$target" "$target big_fc batch7 (grouped fc) vs this machine" "$WORK/big_fc_ref.npy" "$t/big_fc" \
            "$WORK/big_fc_in.npy"
    fi
    for family in r d; do   # the chains rNN, then the graphs dNN
        n=0
        for cnn in "$DATA"/random/"$family"[0-9]*.cnn; do
            [ $n -lt "$NRANDOM" ] || break
            name=$(basename "$cnn" .cnn)
            dir=$DATA/random/$name
            [ -f "$dir/$name.safetensors" ] || continue
            n=$((n + 1))
            if build "$target" "$target $name -O2" "$t/$name" "$cnn" --weights "$dir/$name.safetensors"; then
                check "$target" "$target $name -O2 batch7" "$dir/out7.npy" "$t/$name" "$dir/in7.npy"
            fi
        done
    done
done

# refused TAG STATUS TEXT OUT ARGS...: cnnc ARGS -o OUT fails with STATUS,
# says TEXT and writes nothing.
refused() {
    local tag=$1 want=$2 text=$3 out=$4 rc
    shift 4
    rm -f "$out"
    env "$@" -o "$out" >"$WORK/ref.out" 2>"$WORK/ref.err"
    rc=$?
    if [ $rc -ne "$want" ]; then
        fail "$tag" "exit $rc, not $want: $(first_error "$WORK/ref.err")"
    elif ! grep -qF -- "$text" "$WORK/ref.err"; then
        fail "$tag" "no '$text' in: $(first_error "$WORK/ref.err")"
    elif ls "$out"* >/dev/null 2>&1; then
        fail "$tag" "left $(ls "$out"*)"
    else
        pass "$tag" "$(first_error "$WORK/ref.err" | cut -c1-120)..."
    fi
}
lenet_src=$ROOT/examples/lenet.cnn
refused "no aarch64 compiler" 1 "apt-get install gcc-aarch64-linux-gnu" "$WORK/x-arm" \
    PATH=/nonexistent "$CNNC" --target=aarch64-linux-gnu "$lenet_src"
refused "no riscv64 compiler" 1 "apt-get install gcc-riscv64-linux-gnu" "$WORK/x-rv" \
    PATH=/nonexistent "$CNNC" --target=riscv64-linux-gnu "$lenet_src"
refused "no wasm compiler" 1 "apt-get install clang-19 lld-19 wasi-libc" "$WORK/x-wasm" \
    PATH=/nonexistent "$CNNC" --target=wasm32-wasi "$lenet_src"
# A machine the build has no runtime for: what it has, and -c instead (not
# a compiler to install, which would not help).
refused "no runtime for armhf" 1 "cnnc links programs for this machine and for aarch64-linux-gnu" \
    "$WORK/x-armhf" "$CNNC" --target=arm-linux-gnueabihf "$lenet_src"
refused "--cc that is not there" 1 "its C compiler '/no/such-gcc' is not installed" "$WORK/x-cc" \
    "$CNNC" --target=aarch64-linux-gnu --cc=/no/such-gcc "$lenet_src"
refused "bare-metal executable" 2 "is bare metal" "$WORK/x-m4" \
    "$CNNC" --target=thumbv7em-none-eabihf "$lenet_src"

# The report for a target: LeNet-5's weights as PyTorch counts them (61,706
# parameters, tests/golden/lenet.torch.json); with --weights, code and
# constants exactly what llvm-size finds in the object `cnnc -c` writes for
# that target; without, an estimate within 5% of that code.
report_sizes() {
    local target=$1 obj=$WORK/report-$1.o detail
    if ! "$CNNC" --report=json --target="$target" --weights "$DATA/lenet/lenet.safetensors" "$lenet_src" \
        -o "$WORK/exact.json" 2>"$WORK/rep.err" ||
        ! "$CNNC" --report=json --target="$target" "$lenet_src" -o "$WORK/estimate.json" 2>>"$WORK/rep.err" ||
        ! "$CNNC" -c --target="$target" --weights "$DATA/lenet/lenet.safetensors" "$lenet_src" -o "$obj" \
        2>>"$WORK/rep.err"; then
        fail "$target report sizes" "$(first_error "$WORK/rep.err")"
        return
    fi
    llvm-size-19 -A "$obj" >"$WORK/size.txt"
    if detail=$("$PY" - "$WORK/exact.json" "$WORK/estimate.json" "$ROOT/tests/golden/lenet.torch.json" \
        "$WORK/size.txt" <<'PYEOF'
import json, sys
exact = json.load(open(sys.argv[1]))["target"]
estimate = json.load(open(sys.argv[2]))["target"]
torch = json.load(open(sys.argv[3]))
code = const = 0
for line in open(sys.argv[4]):
    f = line.split()
    if len(f) != 3 or not f[1].isdigit():
        continue
    if f[0].startswith((".text", ".ARM.ex", ".eh_frame")):
        code += int(f[1])
    elif f[0].startswith((".rodata", ".srodata", ".data.rel.ro")):
        const += int(f[1])
want = 4 * torch["total_params"]
for rep in exact, estimate:
    assert rep["weights_bytes"] == want, "weights %d, PyTorch says %d" % (rep["weights_bytes"], want)
    assert rep["flash_bytes"] == rep["code_bytes"] + rep["weights_bytes"] + rep["constant_bytes"], rep
assert exact["exact"] and not estimate["exact"]
assert exact["code_bytes"] == code, "report code %d, object %d" % (exact["code_bytes"], code)
assert exact["weights_bytes"] + exact["constant_bytes"] == const, \
    "report weights + constants %d, object %d" % (exact["weights_bytes"] + exact["constant_bytes"], const)
assert abs(estimate["code_bytes"] - code) <= 0.05 * code, "estimate %d, object %d" % (estimate["code_bytes"], code)
print("code %d, constants %d + weights %d, flash %d, RAM %d; estimate without weights: code %d" % (
    code, exact["constant_bytes"], exact["weights_bytes"], exact["flash_bytes"], exact["ram_bytes"],
    estimate["code_bytes"]))
PYEOF
    ); then
        pass "$target report sizes" "$detail"
    else
        fail "$target report sizes" "$(echo "$detail" | tail -1)"
    fi
}
# The kernels' vectors come from the target: NEON's fmla on 4 floats for
# aarch64, SIMD128's f32x4 for wasm32 (none with --features=-simd128).
vectors() {
    local tag=$1 pattern=$2 want=$3 n
    shift 3
    if ! "$CNNC" -c "$@" --weights "$DATA/lenet/lenet.safetensors" "$lenet_src" -o "$WORK/vec.o" \
        2>"$WORK/vec.err"; then
        fail "$tag" "$(first_error "$WORK/vec.err")"
        return
    fi
    n=$(llvm-objdump-19 -d "$WORK/vec.o" | grep -cE "$pattern")
    if { [ "$want" = some ] && [ "$n" -gt 0 ]; } || { [ "$want" = none ] && [ "$n" -eq 0 ]; }; then
        pass "$tag" "$n instructions match '$pattern'"
    else
        fail "$tag" "$n instructions match '$pattern', want $want"
    fi
}
vectors "aarch64 NEON kernels" 'fmla[[:space:]]+v[0-9]+\.4s' some --target=aarch64-linux-gnu
vectors "wasm32 SIMD128 kernels" 'f32x4\.(mul|add)' some --target=wasm32-wasi
vectors "wasm32 scalar kernels with -simd128" 'f32x4' none --target=wasm32-wasi --features=-simd128

report_sizes thumbv7em-none-eabihf
report_sizes aarch64-linux-gnu

summary cross
