#!/usr/bin/env bash
# Valid input past the sizes a fixed buffer once guessed: every size here is
# legal by SPEC section 4 (names of any length, a mean and std per channel
# for any depth), so each must compile, or be refused by a message about the
# file system, never stop with an internal error or cut a name short.
#
#   run_limits.sh CNNC
set -u
export LC_ALL=C
cnnc=${1:?usage: run_limits.sh CNNC}
case $cnnc in /*) ;; *) cnnc=$PWD/$cnnc ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cnnc-limits.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 2
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() {
    failed=$((failed + 1))
    echo "FAIL: $1"
    [[ -s err ]] && head -c 400 err | sed 's/^/  | /'
}
internal() { grep -q 'internal error' err; }

# n copies of a string.
rep() { printf "%${1}s" '' | tr ' ' "$2"; }

# 257 input channels, each with its own mean and std: a program and an
# object with a header.
{
    printf 'network wide {\n  input 1x1x257 mean=['
    seq -s, 0 256 | sed 's/,/, /g'
    printf '] std=['
    for i in $(seq 1 257); do printf '%s2' "$( ((i > 1)) && echo ', ')"; done
    printf ']\n  pool avg global\n}\n'
} >wide.cnn
if "$cnnc" wide.cnn -o wide 2>err && [[ -x wide ]] && ./wide --bench 1 >/dev/null 2>>err; then ok; else bad "257 channels with mean and std: program"; fi
if "$cnnc" -c wide.cnn 2>err && [[ -s wide.o && -s wide.h ]]; then ok; else bad "257 channels with mean and std: -c"; fi

# A name of 250 characters: NAME.h is 252 bytes, a file name Linux takes,
# and the symbols NAME_infer and NAME_workspace_size (265 bytes) must be
# whole for a C program to link against them.
long=n$(rep 249 x)
printf 'network %s {\n  input 2x1x1\n  fc 1 weights=[1, 2] biases=[0.5]\n}\n' "$long" >long.cnn
if "$cnnc" -c long.cnn -o long.o 2>err && [[ -s $long.h ]]; then
    cat >main.c <<EOF
#include <stdio.h>
#include <stdlib.h>
#include "$long.h"
int main(void)
{
    float in[2] = {3, 4}, out[1];
    void *ws = aligned_alloc(64, ${long}_workspace_size(1) + 64);
    int rc = ${long}_infer(in, out, 1, ws);
    printf("%d %g\n", rc, out[0]);
    return 0;
}
EOF
    if cc -std=c11 -I. main.c long.o -lm -o main 2>err && [[ $(./main) == "0 11.5" ]]; then ok; else bad "a C program linked against a 250-character network's object"; fi
else
    bad "-c on a network named with 250 characters"
fi

# A name of 300 characters: its symbols are whole in the assembly, and -c,
# whose NAME.h cannot be a file name here, says so and writes nothing.
huge=n$(rep 299 y)
printf 'network %s {\n  input 2x1x1\n  fc 1 weights=[1, 2] biases=[0.5]\n}\n' "$huge" >huge.cnn
if "$cnnc" -S huge.cnn -o huge.s 2>err && grep -q "^${huge}_infer:" huge.s && grep -q "^${huge}_workspace_size:" huge.s; then ok; else bad "-S on a network named with 300 characters"; fi
rm -f huge.s
"$cnnc" -c huge.cnn -o huge.o 2>err
rc=$?
files=$(ls | grep -v -x -E 'err|huge\.cnn|long\.cnn|long\.o|'"$long"'\.h|main|main\.c|wide.*')
if ((rc == 1)) && ! internal && grep -qF "huge.cnn: the header for -c is NAME.h, here 302 bytes, but file names here are at most 255; give the network a shorter name" err &&
    [[ -z $files ]]; then ok; else bad "-c on a network named with 300 characters: exit $rc, left: $files"; fi

# Messages hold names of any length: a layer name of 600 characters used
# twice, and a tensor of that layer missing from a weights file.
lname=L$(rep 599 l)
printf 'network n {\n  input 2x1x1\n  %s: fc 1\n  %s: relu\n}\n' "$lname" "$lname" >dup.cnn
if ! "$cnnc" --check dup.cnn 2>err && ! internal && grep -qF "error: layer name '$lname' is already used" err; then ok; else bad "a 600-character layer name in a message"; fi
printf 'network n {\n  input 2x1x1\n  %s: fc 1\n}\n' "$lname" >miss.cnn
hdr='{"other":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
{ printf "\\x$(printf %02x ${#hdr})\\0\\0\\0\\0\\0\\0\\0%s" "$hdr"; printf '\0\0\0\0'; } >w.safetensors
if ! "$cnnc" miss.cnn --weights w.safetensors -o miss 2>err && ! internal &&
    grep -qF "missing tensor '$lname.weight': expected shape [1, 2], found no tensor of that name" err; then ok; else bad "a 600-character tensor name in a weights message"; fi

echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))
