#!/usr/bin/env bash
# Hostile ONNX models (made by scripts/make_onnx_hostile.py): each gets the
# exit status and the message hostile.tsv gives, never a crash or a hang;
# the ones that compile also go through --report=json, --emit=dot and (the
# small ones) a program, whose names must stay printable.
#   run_hostile.sh CNNC SRC_DIR
set -uo pipefail
cnnc=$1 dir=$2/hostile
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0 n=0
# 2 GB of address space: a model that claims more may not be allocated for.
# A sanitized cnnc reserves terabytes of shadow and cannot start under it;
# there the sanitizers watch instead.
vlimit=unlimited
if (ulimit -v 2000000 && "$cnnc" --version) >/dev/null 2>&1; then
  vlimit=2000000
fi
python3 "$2/make_deep.py" "$work/deep.onnx" 300000 || { echo "FAIL: make_deep.py"; exit 1; }
python3 "$2/make_chain.py" "$work/chain.onnx" 10000 || { echo "FAIL: make_chain.py"; exit 1; }
python3 "$2/make_chain.py" "$work/chain_matmul.onnx" 10000 matmul || { echo "FAIL: make_chain.py matmul"; exit 1; }
while IFS=$'\t' read -r file want msg; do
  [[ -z $file || $file == \#* ]] && continue
  n=$((n + 1))
  path=$dir/$file
  [[ -f $work/$file ]] && path=$work/$file # made above
  if [[ ! -f $path ]]; then
    echo "FAIL $file: missing"
    fail=1
    continue
  fi
  (ulimit -v "$vlimit" && exec timeout 60 "$cnnc" --check "$path") >"$work/out" 2>"$work/err"
  rc=$?
  if grep -qiE 'sanitizer|runtime error' "$work/err"; then
    echo "FAIL $file: a sanitizer report: $(head -c 300 "$work/err")"
    fail=1
  elif ((rc != want)); then
    echo "FAIL $file: exit $rc, want $want: $(head -c 300 "$work/err")"
    fail=1
  elif [[ -n $msg ]] && ! grep -qF -- "$msg" "$work/err"; then
    echo "FAIL $file: no '$msg' in: $(head -c 300 "$work/err")"
    fail=1
  elif ((want == 0)); then
    if ! timeout 60 "$cnnc" --report=json "$path" -o "$work/r.json" ||
      ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/r.json" ||
      ! timeout 60 "$cnnc" --emit=dot "$path" -o "$work/g.dot" ||
      { [[ $path == "$dir"/* ]] && ! { timeout 120 "$cnnc" "$path" -o "$work/prog" && "$work/prog" --help >/dev/null; }; }; then
      echo "FAIL $file: compiles with --check, but a report, the graph or the program failed"
      fail=1
    else
      echo "ok   $file"
    fi
  else
    echo "ok   $file: $(grep -m1 'error' "$work/err" | cut -c1-150)"
  fi
done <"$2/hostile.tsv"
((n >= 19)) || { echo "FAIL: only $n cases read"; fail=1; }
((fail == 0)) && echo PASS
exit "$fail"
