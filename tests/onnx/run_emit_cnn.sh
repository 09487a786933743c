#!/usr/bin/env bash
# cnnc --emit=cnn (SPEC section 10): for each model, the emitted .cnn and
# .safetensors must compile into a program whose outputs are the model's
# program's, byte for byte (the same IR, so the same code), and match the
# reference output within the SPEC's tolerance; the two must hold the same
# IR (--dump=ir) and give the same report (--report=json) but for source
# lines; and emitting again from the emitted pair must give the same text
# and the same weights, byte for byte. Then the refusals: what .cnn cannot
# write, an output over an input, -o -, missing weights; none leaves a file.
# Models are ONNX ones and .cnn ones, since the writer reads the IR.
# For two models the text is compared with a file written by hand; key by
# key, unit.cnn checks it.
#   run_emit_cnn.sh CNNC ONNX_TENSOR SRC_DIR TESTDATA_DIR [JOBS]
set -uo pipefail

# One network: prints "ok NAME" or "FAIL NAME: why". JOB is tab-separated:
# "onnx DIR", an ONNX model DIR/model.onnx with its test_data_set_*, or
# "cnn NAME SOURCE WEIGHTS INPUT", a .cnn (WEIGHTS - for none) on one input.
if [[ ${1:-} == --job ]]; then
  cnnc=$2 tool=$3 work=$4
  IFS=$'\t' read -r kind a b c d <<<"$5"
  weights=()
  if [[ $kind == onnx ]]; then
    dir=$a
    name=${dir#"$(dirname "$(dirname "$dir")")/"}
    source=$dir/model.onnx
  else
    name=$a source=$b input=$d
    [[ $c == - ]] || weights=(--weights "$c")
  fi
  t=$(mktemp -d "$work/m.XXXXXX")
  fail() {
    echo "FAIL $name: $*"
    rm -rf "$t"
    exit 0
  }
  [[ -f $source ]] || fail "$source is missing"
  "$cnnc" --emit=cnn "$source" "${weights[@]}" -o "$t/net.cnn" 2>"$t/err" || fail "--emit=cnn: $(head -c 300 "$t/err")"
  [[ -s $t/net.cnn && -s $t/net.safetensors ]] || fail "--emit=cnn wrote no .cnn or no .safetensors"
  "$cnnc" --emit=cnn "$t/net.cnn" --weights "$t/net.safetensors" -o "$t/again.cnn" 2>"$t/err" ||
    fail "--emit=cnn from the emitted pair: $(head -c 300 "$t/err")"
  cmp -s "$t/net.cnn" "$t/again.cnn" || fail "emitting from the emitted .cnn changes the text: $(diff "$t/net.cnn" "$t/again.cnn" | head -5 | tr '\n' ' ')"
  cmp -s "$t/net.safetensors" "$t/again.safetensors" || fail "emitting from the emitted pair changes the weights"
  # The same graph: every node's name, op, inputs, keys, shape, kernel and
  # buffer, and the same report, but for the source lines.
  "$cnnc" --dump=ir "$source" "${weights[@]}" | sed 's/  ; line [0-9]*$//' >"$t/ir.a"
  "$cnnc" --dump=ir "$t/net.cnn" --weights "$t/net.safetensors" | sed 's/  ; line [0-9]*$//' >"$t/ir.b"
  [[ -s $t/ir.a ]] && cmp -s "$t/ir.a" "$t/ir.b" || fail "--dump=ir differs: $(diff "$t/ir.a" "$t/ir.b" | head -4 | tr '\n' ' ')"
  "$cnnc" --report=json "$source" "${weights[@]}" | sed 's/"line": [0-9]*, "col": [0-9]*//g' >"$t/rep.a"
  "$cnnc" --report=json "$t/net.cnn" --weights "$t/net.safetensors" | sed 's/"line": [0-9]*, "col": [0-9]*//g' >"$t/rep.b"
  [[ -s $t/rep.a ]] && cmp -s "$t/rep.a" "$t/rep.b" || fail "--report=json differs: $(diff "$t/rep.a" "$t/rep.b" | head -4 | tr '\n' ' ')"
  "$cnnc" "$source" "${weights[@]}" -o "$t/from_source" 2>"$t/err" || fail "compiling the source: $(head -c 300 "$t/err")"
  "$cnnc" "$t/net.cnn" --weights "$t/net.safetensors" -o "$t/from_cnn" 2>"$t/err" ||
    fail "compiling the emitted pair: $(head -c 300 "$t/err")"
  # run WHAT INPUT: both programs on INPUT, outputs the same bytes.
  run() {
    "$t/from_source" "$2" --output "$t/a.npy" >/dev/null 2>"$t/err" || fail "$1: the source's program: $(head -c 200 "$t/err")"
    "$t/from_cnn" "$2" --output "$t/b.npy" >/dev/null 2>"$t/err" || fail "$1: the emitted program: $(head -c 200 "$t/err")"
    cmp -s "$t/a.npy" "$t/b.npy" || fail "$1: the two programs' outputs differ"
  }
  if [[ $kind == cnn ]]; then
    [[ -f $input ]] || fail "$input is missing"
    run "$(basename "$input")" "$input"
  else
    sets=0
    for set in "$dir"/test_data_set_*; do
      [[ -d $set ]] || continue
      sets=$((sets + 1))
      s=$(basename "$set")
      "$tool" tonpy "$set/input_0.pb" "$t/in.npy" 2>"$t/err" || fail "$s: $(cat "$t/err")"
      run "$s" "$t/in.npy"
      "$tool" compare "$t/b.npy" "$set/output_0.pb" >"$t/cmp" 2>&1 || fail "$s: against the reference: $(tr '\n' ' ' <"$t/cmp")"
    done
    ((sets > 0)) || fail "no test_data_set_* to run"
  fi
  echo "ok $name"
  rm -rf "$t"
  exit 0
fi

cnnc=$1 tool=$2 src=$3 testdata=$4 jobs=${5:-2}
# Absolute: one check runs in the model's directory.
cnnc=$(cd "$(dirname "$cnnc")" && pwd)/$(basename "$cnnc")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$SECONDS
# The committed exports (tests/onnx/run_models.sh) and every conformance
# model cnnc compiles and matches (tests/onnx/run_conformance.sh).
committed=(mobilenet_v2_025 resnet18_narrow viewnet viewnet_opset9 padnet padnet_opset9 rectnet matnet)
conformance=(
  node/test_averagepool_2d_default node/test_averagepool_2d_precomputed_pads_count_include_pad
  node/test_averagepool_2d_precomputed_strides node/test_averagepool_2d_strides node/test_flatten_axis1
  node/test_flatten_default_axis node/test_flatten_negative_axis3 node/test_globalaveragepool
  node/test_globalaveragepool_precomputed node/test_globalmaxpool node/test_globalmaxpool_precomputed
  node/test_maxpool_2d_ceil node/test_maxpool_2d_default node/test_maxpool_2d_precomputed_pads
  node/test_maxpool_2d_precomputed_same_upper node/test_maxpool_2d_precomputed_strides node/test_maxpool_2d_strides
  node/test_softmax_example node/test_softmax_large_number
  pytorch-converted/test_AvgPool2d pytorch-converted/test_AvgPool2d_stride pytorch-converted/test_BatchNorm2d_eval
  pytorch-converted/test_BatchNorm2d_momentum_eval pytorch-converted/test_Conv2d pytorch-converted/test_Conv2d_depthwise
  pytorch-converted/test_Conv2d_depthwise_padded pytorch-converted/test_Conv2d_depthwise_strided
  pytorch-converted/test_Conv2d_depthwise_with_multiplier pytorch-converted/test_Conv2d_dilated
  pytorch-converted/test_Conv2d_groups pytorch-converted/test_Conv2d_groups_thnn pytorch-converted/test_Conv2d_no_bias
  pytorch-converted/test_Conv2d_padding pytorch-converted/test_Conv2d_strided pytorch-converted/test_Linear
  pytorch-converted/test_Linear_no_bias pytorch-converted/test_MaxPool2d pytorch-converted/test_ReLU
  pytorch-converted/test_Sigmoid pytorch-converted/test_Softmax pytorch-converted/test_Tanh
  pytorch-converted/test_softmax_lastdim pytorch-operator/test_operator_conv pytorch-operator/test_operator_flatten
  simple/test_single_relu_model
)
# .cnn sources (--emit=cnn reads the IR, whatever made it): the chains
# and graphs of scripts/make_goldens.py (batch norms, groups, dilation,
# windows WxH, ceil, add and concat, quoted names), examples with weights
# (F16 ones for slides: written back as F32, the values the program uses),
# inline weights, and tests/cli/bn.cnn's batch norms.
d=$src/tests/data
tab=$'\t'
jobs_list=()
for m in "${committed[@]}"; do jobs_list+=("onnx$tab$src/tests/data/onnx/$m"); done
for m in "${conformance[@]}"; do jobs_list+=("onnx$tab$testdata/$m"); done
cnn() { jobs_list+=("cnn$tab$1$tab$2$tab$3$tab$4"); }
cnn lenet "$src/examples/lenet.cnn" "$d/lenet/lenet.safetensors" "$d/lenet/in7.npy"
cnn cifar10 "$src/examples/cifar10.cnn" "$d/cifar10/cifar10.safetensors" "$d/cifar10/in1.npy"
cnn slides.f16 "$src/examples/slides.cnn" "$d/slides/slides.f16.safetensors" "$d/slides/in7.npy"
cnn edge "$src/examples/edge.cnn" - "$src/examples/images/ascent.pgm"
cnn emboss "$src/examples/emboss.cnn" - "$src/examples/images/ascent.pgm"
cnn resdigits "$src/examples/digits/resdigits.cnn" "$src/examples/digits/resdigits.safetensors" \
  "$src/examples/digits/digit-3-705.pgm"
cnn bn "$src/tests/cli/bn.cnn" "$d/bn/bn.safetensors" "$d/bn/x.npy"
ncnn=7
for f in "$d"/random/*.cnn; do
  n=$(basename "$f" .cnn)
  cnn "random/$n" "$f" "$d/random/$n/$n.safetensors" "$d/random/$n/in7.npy"
  ncnn=$((ncnn + 1))
done
printf '%s\0' "${jobs_list[@]}" | xargs -0 -P "$jobs" -n 1 bash "$0" --job "$cnnc" "$tool" "$work" >"$work/results"
fail=0
total=$(grep -c . "$work/results")
ok=$(grep -c '^ok ' "$work/results")
want=${#jobs_list[@]}
# The graphs of make_goldens.py: a glob that found none would check none.
((ncnn >= 7 + 36)) || { echo "FAIL: $((ncnn - 7)) random networks in $d/random, want 36"; fail=1; }
grep -v '^ok ' "$work/results"
if ((ok != want || total != want)); then
  echo "FAIL: $ok of $want models round-tripped"
  fail=1
fi

# The text and the tensors for two models, as tests/onnx/emit/ has them
# (written by hand from the ONNX graphs; its README says how).
for m in padnet matnet; do
  (cd "$src/tests/data/onnx/$m" && "$cnnc" --emit=cnn model.onnx -o "$work/$m.cnn") ||
    { echo "FAIL $m: --emit=cnn"; fail=1; continue; }
  if ! diff -u "$src/tests/onnx/emit/$m.cnn" "$work/$m.cnn"; then
    echo "FAIL $m: the text is not tests/onnx/emit/$m.cnn"
    fail=1
  fi
  # The header's tensors in file order, "name [shape]".
  python3 -c '
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n, = struct.unpack("<Q", b[:8])
for k, v in json.loads(b[8:8 + n]).items():
    if k != "__metadata__":
        print(k, v["shape"])' "$work/$m.safetensors" >"$work/$m.tensors"
  if ! diff -u "$src/tests/onnx/emit/$m.tensors" "$work/$m.tensors"; then
    echo "FAIL $m: the tensors are not tests/onnx/emit/$m.tensors"
    fail=1
  fi
done

# Refusals. check NAME WANT_EXIT MESSAGE_FRAGMENT COMMAND...: the exit
# status and a fragment of the message.
check() {
  local what=$1 want=$2 msg=$3
  shift 3
  "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  if ((rc != want)); then
    echo "FAIL $what: exit $rc, want $want: $(head -c 300 "$work/err")"
    fail=1
  elif ! grep -qF -- "$msg" "$work/err"; then
    echo "FAIL $what: no '$msg' in: $(head -c 300 "$work/err")"
    fail=1
  fi
}
# absent NAME FILE...: none of the files exists.
absent() {
  local what=$1
  shift
  for f in "$@"; do
    if [[ -e $f ]]; then
      echo "FAIL $what: $f was written"
      fail=1
    fi
  done
}
r=$work/refuse
mkdir -p "$r"
# A network called 'network' (after its file) cannot be written: it is the
# keyword. (What else .cnn cannot write, the IR cannot hold: unit.cnn.)
cp "$src/tests/data/onnx/viewnet/model.onnx" "$r/network.onnx"
check "network name" 1 "the network's name 'network' cannot follow 'network'" \
  "$cnnc" --emit=cnn "$r/network.onnx" -o "$r/network.cnn"
absent "network name" "$r/network.cnn" "$r/network.safetensors"
# Outputs over inputs, under their own names and others.
"$cnnc" --emit=cnn "$src/tests/data/onnx/viewnet/model.onnx" -o "$r/net.cnn" || { echo "FAIL: emitting viewnet"; fail=1; }
cp "$r/net.cnn" "$r/net.cnn.orig"
cp "$r/net.safetensors" "$r/net.safetensors.orig"
check "-o the source" 1 "cnnc will not write over an input" \
  "$cnnc" --emit=cnn "$r/net.cnn" --weights "$r/net.safetensors" -o "$r/net.cnn"
ln -s net.cnn "$r/link.cnn"
check "-o a link to the source" 1 "the same file by another name" \
  "$cnnc" --emit=cnn "$r/net.cnn" --weights "$r/net.safetensors" -o "$r/link.cnn"
cp "$r/net.safetensors" "$r/other.safetensors"
check "weights over the --weights file" 1 "the weights output '$r/other.safetensors' is the weights file" \
  "$cnnc" --emit=cnn "$r/net.cnn" --weights "$r/other.safetensors" -o "$r/other.cnn"
absent "weights over the --weights file" "$r/other.cnn"
cmp -s "$r/net.cnn" "$r/net.cnn.orig" && cmp -s "$r/net.safetensors" "$r/net.safetensors.orig" &&
  cmp -s "$r/other.safetensors" "$r/net.safetensors.orig" || { echo "FAIL: a refused emit changed an input"; fail=1; }
check "-o -" 2 "not .cnn source and its weights" "$cnnc" --emit=cnn "$r/net.cnn" --weights "$r/net.safetensors" -o -
check "no weights" 1 "this output needs every parameter" "$cnnc" --emit=cnn "$r/net.cnn" -o "$r/bare.cnn"
absent "no weights" "$r/bare.cnn" "$r/bare.safetensors"
# The .cnn cannot be put in place (a directory has its name) after the
# weights were: they are taken away again, not left as half a pair.
mkdir "$r/dir.cnn"
check "the .cnn after the weights" 1 "cannot write '$r/dir.cnn'" \
  "$cnnc" --emit=cnn "$src/tests/data/onnx/viewnet/model.onnx" -o "$r/dir.cnn"
absent "the .cnn after the weights" "$r/dir.safetensors"
# No temporary file is left beside the outputs.
left=$(find "$r" -name '*.tmp.*')
[[ -z $left ]] || { echo "FAIL: temporary files left: $left"; fail=1; }

echo "emit=cnn: $ok of $want networks round-tripped ($((want - ncnn)) ONNX, $ncnn .cnn) in $((SECONDS - start)) s"
((fail == 0)) && echo PASS
exit "$fail"
