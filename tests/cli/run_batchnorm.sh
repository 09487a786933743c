#!/bin/bash
# Batch norms end to end (SPEC section 9) on tests/cli/bn.cnn, against
# PyTorch's output (tests/data/bn/, written by bn_weights.py):
# - embedded weights (folded by the compiler), --no-fuse (every batchnorm on
#   its own) and weights read at run time (folded by the runtime) all match
#   the golden, and the run-time build's output is the embedded one's, bit
#   for bit: one fold (cnnrt_fold), the same kernels;
# - num_batches_tracked is ignored without a warning;
# - running statistics of a batchnorm the network lacks are an error (exit 1)
#   for cnnc, which leaves no output, and for the program's --weights;
# - the report counts the running statistics in weights_bytes and lists the
#   folded batchnorm in its conv's group.
# usage: run_batchnorm.sh CNNC SOURCE_DIR
set -u
cnnc=$1 src=$2
case $cnnc in /*) ;; *) cnnc=$PWD/$cnnc ;; esac
case $src in /*) ;; *) src=$PWD/$src ;; esac
py=/usr/bin/python3; [ -x $py ] || py=python3
work=$(mktemp -d "${TMPDIR:-/tmp}/cnnc-bn.XXXXXX")
trap 'rm -rf "$work"' EXIT
net=$src/tests/cli/bn.cnn
check=$src/tests/e2e/check_output.py
# The weights, input and PyTorch's output: tests/cli/bn_weights.py wrote them.
data=$src/tests/data/bn
for f in bn.safetensors orphan.safetensors aux.safetensors conv1.safetensors x.npy want.npy; do
  [ -f "$data/$f" ] || { echo "FAIL: no $data/$f (tests/cli/bn_weights.py writes it)"; exit 1; }
  cp "$data/$f" "$work/"
done
cd "$work" || exit 1
fail=0
ok() { echo "ok $1"; }
bad() { echo "FAIL $1"; [ -s stderr ] && cat stderr; fail=1; }

# Programs: embedded (fused and not), and without weights.
"$cnnc" -o emb --weights bn.safetensors "$net" 2>stderr && [ ! -s stderr ] && ok "compile embedded, no warning" ||
  bad "compile embedded (num_batches_tracked must not warn)"
"$cnnc" -o nofuse --no-fuse --weights bn.safetensors "$net" 2>stderr && ok "compile --no-fuse" || bad "compile --no-fuse"
"$cnnc" -o runtime "$net" 2>stderr && ok "compile without weights" || bad "compile without weights"

for p in emb nofuse; do
  ./$p --output $p.npy x.npy 2>stderr && "$py" "$check" close $p.npy want.npy && ok "$p vs PyTorch" || bad "$p vs PyTorch"
done
./runtime x.npy >/dev/null 2>stderr; rc=$?
[ $rc = 2 ] && ok "no --weights: exit 2" || bad "no --weights: exit $rc, expected 2"
./runtime --weights bn.safetensors --output runtime.npy x.npy 2>stderr && [ ! -s stderr ] &&
  "$py" "$check" close runtime.npy want.npy && ok "run-time weights vs PyTorch" || bad "run-time weights vs PyTorch"
cmp -s runtime.npy emb.npy && ok "run-time fold equals the compiler's" || bad "run-time output differs from embedded"
./emb --weights bn.safetensors --output again.npy x.npy 2>stderr && cmp -s again.npy emb.npy &&
  ok "embedded program given --weights" || bad "embedded program given --weights"

# Running statistics of a batchnorm the network lacks.
piece="orphan.safetensors: tensors 'bn9.running_mean' and 'bn9.running_var' are a batch norm's running statistics, but the network has no batchnorm 'bn9'"
mkdir out
"$cnnc" -o out/p --weights orphan.safetensors "$net" 2>stderr; rc=$?
[ $rc = 1 ] && grep -qF "cnnc: error: $piece" stderr && [ -z "$(ls -A out)" ] && ok "cnnc: orphan running stats" ||
  bad "cnnc: orphan running stats: exit $rc, expected 1 and 'cnnc: error: $piece', nothing in out/"
for p in runtime emb; do
  ./$p --weights orphan.safetensors --output out/o.npy x.npy 2>stderr; rc=$?
  [ $rc = 1 ] && grep -qF "$p: error: $piece" stderr && [ -z "$(ls -A out)" ] && ok "$p: orphan running stats" ||
    bad "$p: orphan running stats: exit $rc, expected 1 and '$p: error: $piece'"
done

# bn9 is no part of the model the network lacks whole: no word of training.
grep -q "runs only in training" stderr && bad "bn9 called a training-only part" || ok "bn9: no training-only hint"
# A part of the model the network has no layer of (GoogLeNet's aux1): the
# error also says it may run only in training.
"$cnnc" -o out/p --weights aux.safetensors "$net" 2>stderr; rc=$?
[ $rc = 1 ] && grep -qF "add 'aux1.bn: batchnorm' after the layer whose 16 channels it normalises; or, if 'aux1' runs only in training (as GoogLeNet's auxiliary classifiers do), save the state dict without its tensors" stderr &&
  [ -z "$(ls -A out)" ] && ok "cnnc: a training-only part" || bad "cnnc: a training-only part: exit $rc"

# The batchnorm left out of the source: the error says where it goes.
sed -e '/bn1: batchnorm/d' -e 's/c1: conv/conv1: conv/' "$net" >nobn1.cnn
"$cnnc" -o out/p --weights conv1.safetensors nobn1.cnn 2>stderr; rc=$?
[ $rc = 1 ] && grep -qF "no batchnorm 'bn1' to read them (ignoring them would give wrong answers); add 'bn1: batchnorm' after layer 'conv1'" stderr &&
  ok "cnnc: missing batchnorm suggested" || bad "cnnc: missing batchnorm suggested: exit $rc"

# weights_bytes = 4 x (3,573 params + 3 x 2 x 16 running statistics).
"$cnnc" --report=json "$net" >report.json 2>stderr
"$py" - <<'PY' && ok "report" || bad "report"
import json
r = json.load(open('report.json'))
assert r['total_params'] == 3573 and r['weights_bytes'] == 4 * (3573 + 96), (r['total_params'], r['weights_bytes'])
assert ['c1', 'bn1', 'relu1', 'pool1'] in r['fused_groups'] and ['c2', 'bn2', 'relu2'] in r['fused_groups'], r['fused_groups']
assert [l['eps'] for l in r['layers'] if l['op'] == 'batchnorm'] == [1e-5, 1e-3, 1e-5]
PY
exit $fail
