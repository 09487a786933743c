#!/usr/bin/env bash
# The ONNX conformance data Debian ships (libonnx-testdata), SPEC section 10:
# every model either compiles and matches each of its reference outputs
# within the SPEC's tolerance, or is refused with exit 1 and a message; a
# wrong answer, a crash or a hang fails the test.
#   run_conformance.sh CNNC ONNX_TENSOR DATA_DIR [JOBS]
set -uo pipefail

if [[ ${1:-} == --one ]]; then
  # One model: prints "OUTCOME NAME [detail]".
  cnnc=$2 tool=$3 work=$4 dir=$5
  name=${dir#"$(dirname "$(dirname "$dir")")/"}
  tmp=$(mktemp -d "$work/m.XXXXXX")
  timeout 300 "$cnnc" "$dir/model.onnx" -o "$tmp/prog" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if ((rc == 1)); then
    if grep -q 'error: ' "$tmp/err" && ! grep -qiE 'internal|assert|sanitizer' "$tmp/err"; then
      reason=$(grep -m1 'error: ' "$tmp/err" | sed 's/.*: error: //' | cut -c1-60)
      echo "refused $name $reason"
    else
      echo "failed $name exit 1 without a clear message: $(head -c 200 "$tmp/err" | tr '\n' ' ')"
    fi
  elif ((rc == 124 || rc > 128)); then
    echo "crashed $name cnnc exit $rc: $(tail -c 200 "$tmp/err" | tr '\n' ' ')"
  elif ((rc != 0)); then
    echo "failed $name cnnc exit $rc: $(head -c 200 "$tmp/err" | tr '\n' ' ')"
  else
    outcome=matched detail=""
    sets=0
    for set in "$dir"/test_data_set_*; do
      [[ -d $set ]] || continue
      sets=$((sets + 1))
      if [[ ! -f $set/input_0.pb || -f $set/input_1.pb || ! -f $set/output_0.pb || -f $set/output_1.pb ]]; then
        outcome=failed detail="$set: not one input and one output"
        break
      fi
      if ! "$tool" tonpy "$set/input_0.pb" "$tmp/in.npy" 2>"$tmp/terr"; then
        outcome=failed detail="$(cat "$tmp/terr")"
        break
      fi
      timeout 300 "$tmp/prog" "$tmp/in.npy" --output "$tmp/out.npy" >/dev/null 2>"$tmp/perr"
      prc=$?
      if ((prc == 124 || prc > 128)); then
        outcome=crashed detail="program exit $prc on $(basename "$set")"
        break
      elif ((prc != 0)); then
        outcome=wrong detail="program exit $prc on $(basename "$set"): $(head -c 200 "$tmp/perr" | tr '\n' ' ')"
        break
      fi
      if ! "$tool" compare "$tmp/out.npy" "$set/output_0.pb" >"$tmp/cmp" 2>&1; then
        outcome=wrong detail="$(basename "$set"): $(tr '\n' ' ' <"$tmp/cmp")"
        break
      fi
    done
    if [[ $outcome == matched && $sets == 0 ]]; then
      outcome=failed detail="no test_data_set_* to compare with"
    fi
    echo "$outcome $name $detail"
  fi
  rm -rf "$tmp"
  exit 0
fi

cnnc=$1 tool=$2 data=$3 jobs=${4:-2}
suites=(node pytorch-converted pytorch-operator simple)
for s in "${suites[@]}"; do
  if [[ ! -d $data/$s ]]; then
    echo "FAIL: $data/$s is missing (install libonnx-testdata)"
    exit 1
  fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$SECONDS
for s in "${suites[@]}"; do
  for d in "$data/$s"/*/; do
    [[ -f $d/model.onnx ]] && printf '%s\0' "${d%/}"
  done
done | xargs -0 -P "$jobs" -n 1 bash "$0" --one "$cnnc" "$tool" "$work" >"$work/results"
total=$(wc -l <"$work/results")
count() { grep -c "^$1 " "$work/results"; }
matched=$(count matched) refused=$(count refused) wrong=$(count wrong) crashed=$(count crashed) failed=$(count failed)
echo "onnx conformance: $total models in $((SECONDS - start)) s: $matched matched, $refused refused," \
  "$wrong wrong, $crashed crashed or hung, $failed failed otherwise"
grep '^matched ' "$work/results" | sort | sed 's/^/  /'
echo "refusals by reason:"
grep '^refused ' "$work/results" | cut -d' ' -f3- | sed 's/[0-9][0-9]*/N/g; s/'"'"'[^'"'"']*'"'"'/X/g' | sort | uniq -c |
  sort -rn | head -25
bad=$(grep -E '^(wrong|crashed|failed) ' "$work/results")
if [[ -n $bad ]]; then
  echo "FAIL:"
  echo "$bad" | sort | sed 's/^/  /'
  exit 1
fi
# A run that compiled nothing would check nothing.
if ((matched == 0 || total < 1000)); then
  echo "FAIL: $matched models matched of $total; the data or the importer is broken"
  exit 1
fi
echo "PASS"
