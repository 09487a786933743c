#!/usr/bin/env bash
# What NAME.h tells a C program (SPEC section 5), and what -c and -S say
# about the machine they build for:
#  - the input's normalisation, as macros: a C program that normalises a PPM
#    with NORM_MEAN and NORM_STD (header_norm.c) gets what the program cnnc
#    builds gets from the same image;
#  - the CPU: made for this machine's CPU by default, the header names it
#    and its features, and -c and -S say so once on stderr with the --cpu
#    of a portable object; that --cpu works, and then nothing is said.
#
#   run_header.sh CNNC TESTS_DIR
set -u
export LC_ALL=C
cnnc=${1:?usage: run_header.sh CNNC TESTS_DIR}
tests=${2:?usage: run_header.sh CNNC TESTS_DIR}
case $cnnc in /*) ;; *) cnnc=$PWD/$cnnc ;; esac
tests=$(cd "$tests" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cnnc-header.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 2
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() {
    failed=$((failed + 1))
    echo "FAIL: $1"
    [[ -s err ]] && head -c 600 err | sed 's/^/  | /'
}

# A 5x4 colour network with ImageNet's normalisation; inline weights, so
# that nothing but cnnc makes the data.
weights=$(for i in $(seq 1 54); do echo "0.$(((i * 37) % 97))"; done | paste -sd, | sed 's/,/, /g')
cat >norm.cnn <<EOF
network norm {
  input 5x4x3 mean=[0.485, 0.456, 0.406] std=[0.229, 0.224, 0.225]
  conv filters=2 size=3 pad=1 weights=[$weights] biases=[-0.5, 0.25]
  relu
  pool avg global
}
EOF
{
    printf 'P6 5 4 255\n'
    for i in $(seq 0 59); do printf "\\$(printf %03o $(((i * 73 + 11) % 256)))"; done
} >img.ppm

# ---- normalisation -------------------------------------------------------------
if "$cnnc" norm.cnn -o norm 2>err && ./norm img.ppm --output expected.npy >/dev/null 2>err &&
    "$cnnc" -c norm.cnn -o norm.o 2>err &&
    cc -std=c11 -Wall -Wextra -Werror -pedantic -I. -I"$tests" "$tests/cli/header_norm.c" norm.o -lm -o header_norm 2>err &&
    ./header_norm img.ppm expected.npy >err 2>&1; then
    ok
else
    bad "a C program normalising with norm.h's macros against ./norm"
fi
# The macros hold one value per channel even when the source gives one for
# all (the program's rule, runtime/image.c), and a header with more than a
# line of them compiles alone in C and C++.
printf 'network many {\n  input 2x2x10 mean=0.5 std=[%s]\n  relu\n}\n' "$(seq -s ', ' 1 10)" >many.cnn
cat >many.c <<'EOF'
#include "many.h"
#include <stdio.h>
static const float mean[] = MANY_MEAN, sd[] = MANY_STD;
int main(void)
{
    int ok = sizeof mean / sizeof *mean == MANY_INPUT_DEPTH && sizeof sd / sizeof *sd == MANY_INPUT_DEPTH;
    for (int c = 0; c < MANY_INPUT_DEPTH; c++)
        ok = ok && mean[c] == 0.5f && sd[c] == (float)(c + 1);
    printf("%s\n", ok ? "ok" : "wrong values");
    return !ok;
}
EOF
cp many.c many.cpp
if "$cnnc" -c many.cnn --cpu=generic 2>err && cc -std=c11 -Wall -Wextra -Werror -pedantic many.c -o many_c 2>err &&
    c++ -Wall -Wextra -Werror many.cpp -o many_cpp 2>err && ./many_c >err && ./many_cpp >err; then
    ok
else
    bad "ten channels, one mean and ten stds: MANY_MEAN and MANY_STD in C and C++"
fi

# ---- the machine ---------------------------------------------------------------
# -c and -S by default: one note naming the CPU and the --cpu that makes a
# portable object.
note_re="^cnnc: note: (.*) is made for this machine's CPU \\(([^)]*)\\) and may not run on another; --cpu=([^ ]*) makes a portable one\$"
portable=""
for kind in -c -S; do
    rm -f norm.o norm.h norm.s
    "$cnnc" $kind norm.cnn 2>err
    rc=$?
    lines=$(wc -l <err)
    if ((rc == 0)) && ((lines == 1)) && [[ $(cat err) =~ $note_re ]]; then
        what=${BASH_REMATCH[1]} cpu=${BASH_REMATCH[2]} portable=${BASH_REMATCH[3]}
        want=norm.o
        [[ $kind == -S ]] && want=norm.s
        if [[ $what == "$want" && -s $want ]]; then ok; else bad "$kind: the note names '$what', not $want"; fi
        if [[ $kind == -c ]]; then
            if grep -qxF "#define NORM_CPU \"$cpu\"" norm.h && grep -qF "the CPU of the machine that" norm.h &&
                grep -qF " * cnnc --cpu=$portable)" norm.h; then ok; else bad "norm.h does not name the CPU $cpu and --cpu=$portable"; fi
            # The features the compiling machine has are the header's: AVX-512
            # where /proc/cpuinfo shows it.
            if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
                if grep -q '^#define NORM_FEATURES ".*+avx512f[,"]' norm.h && sed -n '/Vector features/,/_FEATURES lists/p' norm.h | grep -qw avx512f; then ok; else bad "norm.h does not say that the object may use AVX-512"; fi
            fi
        fi
    else
        bad "cnnc $kind norm.cnn: exit $rc, $lines lines on stderr, not one note"
    fi
done

# The portable choice works, says nothing, and the header says what it is;
# on x86-64 its code has no AVX-512 (no zmm register).
if [[ -n $portable ]] && "$cnnc" -c --cpu="$portable" norm.cnn 2>err && [[ ! -s err ]] &&
    grep -qxF "#define NORM_CPU \"$portable\"" norm.h && ! grep -qF "machine that" norm.h; then
    ok
    if [[ $(uname -m) == x86_64 ]]; then
        if objdump -d norm.o | grep -q zmm; then bad "the --cpu=$portable object uses AVX-512 registers"; else ok; fi
    fi
else
    bad "-c --cpu=${portable:-(none named)}: must be quiet and named in the header"
fi

# No note when the CPU was chosen, for another target, or for a program.
for args in "-c --cpu=native" "-S --cpu=generic" "-c --target=aarch64-linux-gnu" "-o prog"; do
    # shellcheck disable=SC2086 # the arguments are words
    if "$cnnc" norm.cnn $args 2>err && [[ ! -s err ]]; then ok; else bad "cnnc norm.cnn $args: expected no message"; fi
done
if grep -qF '#define NORM_CPU "generic"' norm.h && grep -qF 'aarch64' norm.h; then ok; else bad "the aarch64 header does not name its target and CPU"; fi

echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))
