#!/usr/bin/env bash
# A window whose W2 is not whole (SPEC section 2) gets fixes to try: each
# one, written into the layer as the message spells it, must make the whole
# layer check (both width and height, for square and non-square maps and
# windows), and give the W2 and H2 the message promises.
#
#   run_fixes.sh CNNC
set -u
export LC_ALL=C
cnnc=${1:?usage: run_fixes.sh CNNC}
case $cnnc in /*) ;; *) cnnc=$PWD/$cnnc ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cnnc-fixes.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 2
passed=0 failed=0

# INPUT|LAYER: a network of the input and one layer that does not divide.
cases=(
    "80x60x1|pool avg size=8"
    "60x80x1|pool avg size=8"
    "81x61x1|pool max size=8"
    "28x29x1|conv filters=6 size=5 stride=2"
    "29x28x1|conv filters=6 size=5 stride=2"
    "28x28x1|conv filters=6 size=3 stride=3"
    "30x31x2|conv filters=2 size=3 stride=2 pad=0"
    "9x7x3|conv filters=4 size=3x2 stride=2"
    "17x12x1|conv filters=1 size=3 stride=4 pad=1"
    "10x10x3|conv filters=4 size=3 stride=2 dilation=2 pad=1"
    "224x150x3|pool max size=3 stride=2"
)

# with KEY=VALUE LAYER: the layer with the key set (replaced, or added).
with() {
    local kv=$1 layer=$2 key=${1%%=*}
    if [[ " $layer " == *" $key="* ]]; then
        sed -E "s/(^| )$key=[^ ]*/\\1$kv/" <<<"$layer"
    else
        echo "$layer $kv"
    fi
}

for c in "${cases[@]}"; do
    IFS='|' read -r input layer <<<"$c"
    printf 'network n {\n  input %s\n  %s\n}\n' "$input" "$layer" >n.cnn
    "$cnnc" --check n.cnn 2>err
    rc=$?
    msg=$(head -n 1 err)
    if ((rc != 1)) || [[ $msg != *"is not a whole number; try "* ]]; then
        failed=$((failed + 1))
        echo "FAIL $input $layer: no fix offered (exit $rc): $msg"
        continue
    fi
    fixes=${msg#*; try }
    # "pad=0x2 (height 8), stride=4 (width 19, height 14), or round=floor ... (height 7)"
    n=0
    while [[ $fixes =~ (pad|stride|round)=([0-9x]+|floor)[^\(]*\(([^\)]*)\) ]]; do
        kv=${BASH_REMATCH[1]}=${BASH_REMATCH[2]} promised=${BASH_REMATCH[3]}
        fixes=${fixes#*"${BASH_REMATCH[0]}"}
        n=$((n + 1))
        fixed=$(with "$kv" "$layer")
        printf 'network n {\n  input %s\n  %s\n}\n' "$input" "$fixed" >f.cnn
        if ! "$cnnc" --report=json f.cnn >r.json 2>err; then
            failed=$((failed + 1))
            echo "FAIL $input $layer: the fix '$kv' ($fixed) does not work: $(head -n 1 err)"
            continue
        fi
        # The layer's output shape, [W, H, D], from the JSON report.
        shape=$(tr -d ' \n' <r.json | grep -o '"output":\[[0-9]*,[0-9]*,[0-9]*\]' | tail -n 1 | tr -dc '0-9,')
        IFS=, read -r w h _ <<<"$shape"
        ok=1
        [[ $promised =~ width\ ([0-9]+) || $promised =~ width\ and\ height\ ([0-9]+) ]] && ((BASH_REMATCH[1] != w)) && ok=0
        [[ $promised =~ height\ ([0-9]+) ]] && ((BASH_REMATCH[1] != h)) && ok=0
        if ((ok)); then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            echo "FAIL $input $layer: the fix '$kv' promises '$promised', gives ${w}x$h"
        fi
    done
    if ((n == 0)); then
        failed=$((failed + 1))
        echo "FAIL $input $layer: no fix could be read from: $msg"
    fi
done

echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))
