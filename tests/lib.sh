# The harness the whole-program test scripts share (tests/e2e/run_goldens.sh,
# tests/e2e/run_x86_cpus.sh, tests/cross/run_cross.sh,
# tests/cross/run_cortex_m.sh): their arguments, a python3 with numpy, a
# scratch directory, compiling and checking a program against a golden,
# PASS/FAIL lines and the summary.
# Sourced.

# The repository, from where this file is.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CHECK=$ROOT/tests/e2e/check_output.py

# program_args SCRIPT ARGS...: the scripts' two arguments, CNNC_BINARY and
# DATA_DIR (tests/data), into CNNC and DATA as absolute paths; a usage error
# (exit 2) otherwise.
program_args() {
    local script=$1
    shift
    if [ $# -ne 2 ]; then
        echo "usage: $script CNNC_BINARY DATA_DIR" >&2
        exit 2
    fi
    if [ ! -x "$1" ] || [ ! -d "$2" ]; then
        echo "$script: $1 must be the cnnc executable and $2 the tests/data directory" >&2
        exit 2
    fi
    CNNC=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
    DATA=$(cd "$2" && pwd)
}

# find_python: PY is $PYTHON, or the first of /usr/bin/python3 and python3
# that imports numpy (Debian's python3-numpy loads under /usr/bin/python3);
# returns 1 when there is none.
find_python() {
    PY=${PYTHON:-}
    if [ -z "$PY" ]; then
        for p in /usr/bin/python3 python3; do
            if "$p" -c 'import numpy' 2>/dev/null; then PY=$p; break; fi
        done
    fi
    [ -n "$PY" ]
}

# make_scratch NAME KEEP: WORK is a new directory, removed on exit unless
# KEEP is 1 (then its path is printed).
make_scratch() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/cnnc-$1.XXXXXX")
    if [ "${2:-0}" = 1 ]; then
        echo "scratch directory: $WORK"
    else
        trap 'rm -rf "$WORK"' EXIT
    fi
}

PASS=0
FAIL=0
FAILED=()
pass() { PASS=$((PASS + 1)); echo "PASS $1${2:+: $2}"; }
fail() { FAIL=$((FAIL + 1)); FAILED+=("$1"); echo "FAIL $1${2:+: $2}"; }

# The first line of a command's error output, for a FAIL line.
first_error() { grep -m1 -v '^\s*$' "$1" | cut -c1-200; }

# compile TAG PROG ARGS...: $CNNC ARGS -o PROG; records a failure under TAG.
compile() {
    local tag=$1 prog=$2
    shift 2
    rm -f "$prog"
    timeout 900 "$CNNC" "$@" -o "$prog" >"$WORK/cc.out" 2>"$WORK/cc.err"
    local rc=$?
    if [ $rc -ne 0 ]; then
        fail "$tag compile" "cnnc $* exited $rc: $(first_error "$WORK/cc.err")"
        return 1
    fi
    if [ ! -x "$prog" ]; then
        fail "$tag compile" "cnnc $* made no executable $prog"
        return 1
    fi
    return 0
}

# run_check TAG REF PROG ARGS...: PROG ARGS --output out.npy, compared with REF
# by check_output.py's CHECK_MODE (default close).
run_check() {
    local tag=$1 ref=$2 prog=$3 out=$WORK/out.npy detail
    shift 3
    rm -f "$out"
    timeout 900 "$prog" "$@" --output "$out" >"$WORK/run.out" 2>"$WORK/run.err"
    local rc=$?
    if [ $rc -ne 0 ]; then
        fail "$tag" "$(basename "$prog") exited $rc: $(first_error "$WORK/run.err")"
        return
    fi
    if detail=$("$PY" "$CHECK" "${CHECK_MODE:-close}" "$out" "$ref" 2>&1); then
        pass "$tag" "$detail"
    else
        fail "$tag" "$detail"
    fi
}

# summary LABEL: the counts, the failed checks, and the exit status. A run
# that checked nothing fails: its data were missing or its filter matched
# nothing, and either way it proved nothing.
summary() {
    echo "$1: $PASS passed, $FAIL failed"
    if [ $((PASS + FAIL)) -eq 0 ]; then
        echo "  no check ran" >&2
        exit 1
    fi
    if [ "$FAIL" -ne 0 ]; then
        printf '  failed: %s\n' "${FAILED[@]}"
        exit 1
    fi
    exit 0
}
