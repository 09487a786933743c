#!/usr/bin/env bash
# The committed exports of scripts/make_onnx_models.py (torchvision models
# and the x.view(x.size(0), -1) chain, fixed and symbolic batch): each must
# compile and match PyTorch's output; a refusal fails here.
#   run_models.sh CNNC ONNX_TENSOR DATA_DIR
set -uo pipefail
cnnc=$1 tool=$2 data=$3
here=$(dirname "$0")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
want=(mobilenet_v2_025 resnet18_narrow viewnet viewnet_opset9 padnet padnet_opset9 rectnet matnet)
fail=0
for m in "${want[@]}"; do
  if [[ ! -f $data/$m/model.onnx ]]; then
    echo "FAIL: $data/$m/model.onnx is missing"
    fail=1
    continue
  fi
  line=$(bash "$here/run_conformance.sh" --one "$cnnc" "$tool" "$work" "$data/$m")
  echo "$line"
  [[ $line == matched* ]] || fail=1
done
((fail == 0)) && echo PASS
exit "$fail"
