#!/usr/bin/env bash
# cnnc on ONNX models as on .cnn sources (SPEC section 10): --check,
# --report, --emit=dot, -c with its header, --target, a program; --weights replacing
# the initializers and checked as for a .cnn; a file whose name says the
# other format.
#   run_cli.sh CNNC ONNX_TENSOR SRC_DIR
set -uo pipefail
cnnc=$1 tool=$2 src=$3
model=$src/tests/data/onnx/viewnet/model.onnx
data=$src/tests/data/onnx/viewnet/test_data_set_0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
check() { # NAME COMMAND...: the command must succeed
  local name=$1
  shift
  if "$@" >"$work/out" 2>"$work/err"; then
    echo "ok   $name"
  else
    echo "FAIL $name: $(head -c 400 "$work/err")"
    fail=1
  fi
}
has() { grep -qF -- "$1" "$2"; }

check "--check" "$cnnc" --check "$model"
# viewnet: conv 3->8 3x3 with bias (its BatchNorm folded in by the exporter)
# = 224, fc 512->10 = 5130: 5,354 params.
check "--report" "$cnnc" --report "$model" -o "$work/report.txt"
check "--report params" has "5,354 params" "$work/report.txt"
check "--report names the ONNX nodes" has "/fc/Gemm" "$work/report.txt"
check "--report=json" "$cnnc" --report=json "$model" -o "$work/report.json"
check "--emit=dot" "$cnnc" --emit=dot "$model" -o "$work/g.dot"
check "dot is a graph" has "digraph" "$work/g.dot"
check "-c" "$cnnc" -c "$model" -o "$work/vn.o"
check "-c object" test -s "$work/vn.o"
check "-c header" test -s "$work/model.h"
check "-c --target" "$cnnc" -c --target=aarch64-linux-gnu "$model" -o "$work/vn-a64.o"
check "-c --target object" test -s "$work/vn-a64.o"
check "--report --target" "$cnnc" --report --target=thumbv7em-none-eabihf "$model" -o "$work/m4.txt"
check "--report --target flash" has "flash" "$work/m4.txt"

# The initializers are the weights: the program matches PyTorch.
check "program" "$cnnc" "$model" -o "$work/prog"
check "input" "$tool" tonpy "$data/input_0.pb" "$work/in.npy"
check "run" "$work/prog" "$work/in.npy" --output "$work/out.npy"
check "matches PyTorch" "$tool" compare "$work/out.npy" "$data/output_0.pb"

# --weights replaces them: all zeros make the softmax uniform, 0.1 each.
check "zero weights" python3 "$src/tests/onnx/zero_weights.py" "$work/report.json" "$work/zero.safetensors"
check "compile with --weights" "$cnnc" "$model" --weights "$work/zero.safetensors" -o "$work/prog0"
"$work/prog0" "$work/in.npy" --json --top 10 >"$work/zero.json" 2>"$work/err"
if python3 - "$work/zero.json" <<'PY'; then
import json, sys
scores = [c["score"] for image in json.load(open(sys.argv[1])) for c in image["result"]]
sys.exit(0 if len(scores) == 30 and all(abs(s - 0.1) < 1e-6 for s in scores) else 1)
PY
  echo "ok   --weights replaced the initializers (uniform softmax)"
else
  echo "FAIL --weights did not replace the initializers: $(head -c 300 "$work/zero.json" "$work/err")"
  fail=1
fi
# ... and are checked as for a .cnn: a missing tensor is named.
python3 "$src/tests/onnx/zero_weights.py" "$work/report.json" "$work/short.safetensors" "/fc/Gemm.bias"
if "$cnnc" "$model" --weights "$work/short.safetensors" -o "$work/prog1" 2>"$work/err"; then
  echo "FAIL a weights file without /fc/Gemm.bias was taken"
  fail=1
elif has "/fc/Gemm.bias" "$work/err"; then
  echo "ok   a missing tensor is named"
else
  echo "FAIL missing tensor: $(head -c 300 "$work/err")"
  fail=1
fi

# Names that say the other format: the content decides, and a note says what the file is.
cp "$model" "$work/named.cnn"
check "an ONNX model named .cnn" "$cnnc" --check "$work/named.cnn"
cp "$work/err" "$work/note"
check "... is noted" has "is an ONNX model (a protobuf ModelProto), not .cnn source" "$work/note"
printf 'network tiny {\n  input 4x4x1\n  relu\n}\n' >"$work/tiny.onnx"
check "a .cnn source named .onnx" "$cnnc" --check "$work/tiny.onnx"
cp "$work/err" "$work/note"
check "... is noted" has "does not start like an ONNX model" "$work/note"
if "$cnnc" "$model" --weights "$model" -c -o "$work/x.o" 2>"$work/err"; then
  echo "FAIL an ONNX model given as --weights was taken"
  fail=1
elif has "this looks like an ONNX model, not safetensors" "$work/err"; then
  echo "ok   an ONNX model as --weights is named"
else
  echo "FAIL ONNX as --weights: $(head -c 300 "$work/err")"
  fail=1
fi
((fail == 0)) && echo PASS
exit "$fail"
