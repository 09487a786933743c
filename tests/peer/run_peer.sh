#!/bin/bash
# The code cnnc generates must not depend on the C compiler that built cnnc
# (C leaves the order of a call's arguments open, and codegen/ builds one
# instruction at a time). This compiles every examples/*.cnn and
# examples/*/*.cnn with two cnnc binaries built from the same sources by
# different compilers and wants the same bytes from both:
#
#   tests/peer/run_peer.sh CNNC_BINARY PEER_CNNC_BINARY
#
# for --emit=llvm and -S, at -O0 and -O2, for this machine and for
# thumbv7em-none-eabihf and aarch64-linux-gnu. The weights: the committed
# ones (tests/data/NAME/NAME.safetensors, or NAME.safetensors beside the
# source), else zeros (scripts/synth_weights.py --zeros), which print as
# zeroinitializer where other weights would make gigabytes of text; the code
# reads them through a table whatever they are. A network whose weights
# would not fit in memory (disaster.cnn) is compiled without weights: both
# must refuse it with the same message.
#
# Prints one line per comparison and a summary; exits 1 if any differed,
# 2 on a usage error. Environment: PYTHON (a python3 with numpy),
# PEER_ONLY (a regex: only the networks whose name matches), PEER_KEEP=1
# (keep the scratch directory).

set -u

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
if [ $# -ne 2 ] || [ ! -x "$1" ] || [ ! -x "$2" ]; then
    echo "usage: $0 CNNC_BINARY PEER_CNNC_BINARY (two cnnc executables)" >&2
    exit 2
fi
A=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
B=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
if cmp -s "$A" "$B"; then
    echo "$0: $A and $B are the same binary: comparing them proves nothing" >&2
    exit 2
fi
if ! find_python; then
    echo "$0: needs a python3 with numpy (set PYTHON)" >&2
    exit 2
fi
ONLY=${PEER_ONLY:-.}
TOO_BIG=$((1 << 30)) # bytes of weights past which a network is compiled without them
make_scratch peer "${PEER_KEEP:-0}"
mkdir "$WORK/a" "$WORK/b"
echo "cnnc: $A"
echo "peer: $B"

# same TAG ARGS...: cnnc ARGS -o out in $WORK/a and the peer in $WORK/b;
# their exit status, messages and output file must be the same.
same() {
    local tag=$1
    shift
    rm -f "$WORK"/a/* "$WORK"/b/*
    (cd "$WORK/a" && timeout 900 "$A" "$@" -o out >stdout 2>stderr)
    local ra=$?
    (cd "$WORK/b" && timeout 900 "$B" "$@" -o out >stdout 2>stderr)
    local rb=$?
    if [ $ra -ne $rb ]; then
        fail "$tag" "exit $ra, the peer's $rb"
    elif ! cmp -s "$WORK/a/stderr" "$WORK/b/stderr" || ! cmp -s "$WORK/a/stdout" "$WORK/b/stdout"; then
        fail "$tag" "messages differ: $(diff "$WORK/a/stderr" "$WORK/b/stderr" | sed -n 2p | cut -c1-160)"
    elif [ $ra -ne 0 ]; then
        pass "$tag" "both exit $ra: $(first_error "$WORK/a/stderr")"
    elif [ ! -s "$WORK/a/out" ]; then
        fail "$tag" "cnnc $* wrote no output"
    elif ! cmp -s "$WORK/a/out" "$WORK/b/out"; then
        fail "$tag" "$(diff "$WORK/a/out" "$WORK/b/out" | grep -c '^[<>]') lines differ, the first: $(diff "$WORK/a/out" "$WORK/b/out" | sed -n 2p | cut -c1-120)"
    else
        pass "$tag" "$(wc -c <"$WORK/a/out") bytes"
    fi
}

nets=0
for cnn in "$ROOT"/examples/*.cnn "$ROOT"/examples/*/*.cnn; do
    name=$(basename "$cnn" .cnn)
    echo "$name" | grep -Eq -- "$ONLY" || continue
    nets=$((nets + 1))
    bytes=$("$A" --report=json "$cnn" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["weights_bytes"])')
    if [ -z "$bytes" ]; then
        fail "$name report" "cnnc --report=json gave no weights_bytes"
        continue
    fi
    weights=()
    if [ "$bytes" -gt "$TOO_BIG" ]; then
        same "$name refused" "$cnn" --emit=llvm
        continue
    elif [ -f "$ROOT/tests/data/$name/$name.safetensors" ]; then
        weights=(--weights "$ROOT/tests/data/$name/$name.safetensors")
    elif [ -f "$(dirname "$cnn")/$name.safetensors" ]; then
        weights=(--weights "$(dirname "$cnn")/$name.safetensors")
    else
        if ! "$PY" "$ROOT/scripts/synth_weights.py" "$cnn" "$WORK/zeros.safetensors" --zeros 2>"$WORK/synth.err"; then
            fail "$name weights" "$(first_error "$WORK/synth.err")"
            continue
        fi
        weights=(--weights "$WORK/zeros.safetensors")
    fi
    for target in host thumbv7em-none-eabihf aarch64-linux-gnu; do
        t=()
        [ "$target" = host ] || t=(--target="$target")
        for opt in -O0 -O2; do
            for emit in --emit=llvm -S; do
                same "$name $target $opt $emit" "$cnn" "${weights[@]}" "${t[@]}" "$opt" "$emit"
            done
        done
    done
    rm -f "$WORK/zeros.safetensors"
done
if [ "$nets" -eq 0 ]; then
    fail "examples" "no network under $ROOT/examples matched '$ONLY'"
fi
summary "peer"
