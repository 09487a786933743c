#!/bin/bash
# The kernels cnnc generates for named x86 CPUs (--cpu, --features), against
# PyTorch's outputs:
#
#   tests/e2e/run_x86_cpus.sh CNNC_BINARY DATA_DIR        (DATA_DIR is tests/data)
#
# For each CPU the assembly (-S) must use the widest vector registers that
# CPU has: zmm with AVX-512, ymm with AVX2, xmm only for plain x86-64. A
# list of CPU names used to decide this and gave cascadelake, rocketlake,
# skylake and broadwell SSE's 4 floats a vector. Then, where this machine can
# run that CPU's code, LeNet-5 and the CIFAR-10 net built for it (embedded
# weights, -O2) run their batch of 7 against the goldens: the 8-float
# kernels are checked here, the host's 16-float ones everywhere else.
# Tolerance: max|out - ref| <= 1e-4 x max(1, max|ref|) (check_output.py).

set -u

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
program_args "$0" "$@"
if ! find_python; then
    echo "$0: needs a python3 with numpy (set PYTHON)" >&2
    exit 2
fi
make_scratch x86cpus "${X86_KEEP:-0}"

# Whether this machine runs code that needs the CPU flag (from /proc/cpuinfo).
host_has() { grep -qw "$1" /proc/cpuinfo; }

# case: CPU options | widest register | the host flag needed to run it
cases=(
    "--cpu=x86-64|xmm|sse2"
    "--cpu=broadwell|ymm|avx2"
    "--cpu=skylake|ymm|avx2"
    "--cpu=cascadelake --features=-avx512f|ymm|avx2"
    "--cpu=cascadelake|zmm|avx512f"
    "--cpu=rocketlake|zmm|avx512f"
)

for c in "${cases[@]}"; do
    IFS='|' read -r opts want flag <<<"$c"
    tag="${opts// /,}"
    # shellcheck disable=SC2086 # the options are words
    if ! "$CNNC" "$ROOT/examples/lenet.cnn" --weights "$DATA/lenet/lenet.safetensors" $opts -S \
        -o "$WORK/lenet.s" 2>"$WORK/cc.err"; then
        fail "$tag asm" "cnnc exited $?: $(first_error "$WORK/cc.err")"
        continue
    fi
    # The kernels' register class outnumbers the narrower ones, which
    # copies and reductions use too (a few dozen lines).
    zmm=$(grep -c '%zmm' "$WORK/lenet.s")
    ymm=$(grep -c '%ymm' "$WORK/lenet.s")
    xmm=$(grep -c '%xmm' "$WORK/lenet.s")
    case $want in
        zmm) ok=$((zmm > ymm && zmm > xmm)) ;;
        ymm) ok=$((zmm == 0 && ymm > xmm)) ;;
        xmm) ok=$((zmm == 0 && ymm == 0)) ;;
    esac
    if [ "$ok" = 1 ]; then
        pass "$tag registers" "$want ($zmm zmm, $ymm ymm, $xmm xmm lines)"
    else
        fail "$tag registers" "want the kernels in $want, got $zmm zmm, $ymm ymm and $xmm xmm lines"
    fi
    if ! host_has "$flag"; then
        echo "SKIP $tag programs (this machine has no $flag)"
        continue
    fi
    for net in lenet cifar10; do
        # shellcheck disable=SC2086 # the options are words
        compile "$tag $net" "$WORK/$net" "$ROOT/examples/$net.cnn" --weights "$DATA/$net/$net.safetensors" \
            $opts -O2 &&
            run_check "$tag $net batch7" "$DATA/$net/out7.npy" "$WORK/$net" "$DATA/$net/in7.npy"
    done
done

summary "x86 CPUs"
