#!/bin/bash
# run_goldens.sh must fail, not skip, when a network's goldens are missing,
# and tests/lib.sh's summary must fail after zero checks. Each case is a
# scratch copy of tests/data with something taken away.
#
#   tests/e2e/run_missing.sh CNNC_BINARY DATA_DIR

set -u
. "$(dirname "$0")/../lib.sh"
program_args "$0" "$@"
make_scratch goldens-missing 0
GOLDENS=$ROOT/tests/e2e/run_goldens.sh

# expect TAG WANT DATA_DIR [ENV...]: run_goldens.sh on DATA_DIR exits 1 and
# prints the line WANT (an extended regex).
expect() {
    local tag=$1 want=$2 data=$3
    shift 3
    env "$@" E2E_BIG=0 "$GOLDENS" "$CNNC" "$data" >"$WORK/out" 2>&1
    local rc=$?
    if [ $rc -ne 1 ]; then
        fail "$tag" "exited $rc, not 1: $(tail -1 "$WORK/out")"
    elif ! grep -Eq -- "$want" "$WORK/out"; then
        fail "$tag" "no line matching '$want' in: $(tr '\n' '|' <"$WORK/out" | cut -c1-300)"
    elif grep -q '^SKIP' "$WORK/out"; then
        fail "$tag" "a SKIP line: $(grep -m1 '^SKIP' "$WORK/out")"
    else
        pass "$tag"
    fi
}

# A network directory with nothing in it.
mkdir -p "$WORK/a/lenet"
expect "no goldens" '^FAIL lenet: no goldens' "$WORK/a"

# A directory whose network is nowhere.
mkdir -p "$WORK/b/nosuchnet"
cp "$DATA/lenet/in1.npy" "$WORK/b/nosuchnet/"
expect "no network" '^FAIL nosuchnet: no nosuchnet.cnn' "$WORK/b"

# Weights but no inputs: the program is built, then there is nothing to run.
mkdir -p "$WORK/c/lenet"
cp "$DATA/lenet/lenet.safetensors" "$WORK/c/lenet/"
expect "no inputs" '^FAIL lenet -O0 embedded batch1: no .*in1.npy' "$WORK/c"

# Nothing checked at all: an empty data directory, and a filter that
# matches no network.
mkdir -p "$WORK/d"
expect "empty data" '^e2e goldens: 0 passed, 0 failed' "$WORK/d"
expect "filter matches nothing" '^e2e goldens: 0 passed, 0 failed' "$DATA" E2E_ONLY='^no-such-network$'

summary "goldens missing"
