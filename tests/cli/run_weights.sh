#!/bin/bash
# cnnc --weights: the compiler reads safetensors with the runtime's reader, so
# each bad file of tests/runtime/fixtures.py must give the same clear error
# (exit 1) when compiling an executable and an AOT object, and leave no output
# (program, object or header) behind; good files in every float dtype must
# give a program whose scores fixtures.py computes on its own.
# usage: run_weights.sh CNNC SOURCE_DIR
set -u
cnnc=$1 src=$2 here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/cnnc-weights.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 "$src/tests/runtime/fixtures.py" make "$work" || { echo "FAIL: fixtures"; exit 1; }
net=$here/fixclass.cnn
mkfifo "$work/fifo.safetensors"
# Wrong files people give as weights (first bytes of each kind), and an fc
# whose weights were made for 9 inputs where the network gives 16.
python3 - "$work" <<'PY' || { echo "FAIL: wrong-file fixtures"; exit 1; }
import json, struct, sys
d = sys.argv[1]
open(d + "/w_ckpt.pt", "wb").write(b"PK\x03\x04\x14\x00\x00\x00archive/data.pkl" + bytes(64))
open(d + "/w_ckpt_legacy.pth", "wb").write(b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19." + bytes(64))
open(d + "/w_model.onnx", "wb").write(b"\x08\x07\x12\x07pytorch\x1a\x061.13.1" + bytes(64))
head = {"fc.weight": {"dtype": "F32", "shape": [3, 9], "data_offsets": [0, 108]},
        "fc.bias": {"dtype": "F32", "shape": [3], "data_offsets": [108, 120]}}
h = json.dumps(head).encode()
h += b" " * (-len(h) % 8)
open(d + "/w_inputs.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + bytes(120))
PY
fail=0

# name | weights file (@ is the fixture directory) | message piece
table=$(cat <<'TABLE'
missing   | @/w_missing.safetensors   | fixclass.cnn:5:7: error: fc 'fc' has a bias, but @/w_missing.safetensors has 'fc.weight' and no 'fc.bias': if PyTorch made the layer with bias=False, write bias=false on it
inputs    | @/w_inputs.safetensors    | fixclass.cnn:5:7: error: fc 'fc' gets 16 inputs, 4x4x1 from 'input' on line 4, but @/w_inputs.safetensors has 'fc.weight' of shape [3, 9], made for 9 inputs
ckpt      | @/w_ckpt.pt               | w_ckpt.pt: this is a PyTorch checkpoint (a zip of pickles, as torch.save writes), not safetensors; save the state dict as safetensors instead, or export the model with torch.onnx.export and compile the .onnx itself (the README's 'From PyTorch' shows both, with PyTorch alone)
pickle    | @/w_ckpt_legacy.pth       | w_ckpt_legacy.pth: this is a PyTorch checkpoint (a pickle, as torch.save writes), not safetensors
onnx      | @/w_model.onnx            | w_model.onnx: this looks like an ONNX model, not safetensors; compile the model itself (cnnc MODEL.onnx
shape     | @/w_shape.safetensors     | w_shape.safetensors: tensor 'fc.weight': expected shape [3, 16], found [3, 4, 4]
dtype     | @/w_dtype.safetensors     | tensor 'fc.weight': expected dtype F32 (or F16, BF16, F64), found I32
truncated | @/w_truncated.safetensors | run past the end of the data
hlen      | @/w_hlen.safetensors      | w_hlen.safetensors: header length 1048576 runs past the end of the file
json      | @/w_json.safetensors      | w_json.safetensors: corrupt JSON header
empty     | @/w_empty.safetensors     | w_empty.safetensors: the file is empty
directory | @                         | is a directory, not a safetensors file
fifo      | @/fifo.safetensors        | not a regular file
nofile    | @/nope.safetensors        | cannot open weights
TABLE
)

while IFS='|' read -r name file piece; do
  name=$(echo $name); file=$(echo $file); file=${file//@/$work}
  piece=$(echo "$piece" | sed -e 's/^ *//' -e 's/ *$//'); piece=${piece//@/$work}
  for mode in exe obj; do
    out=$work/out/prog; args=(-o "$out")
    [ $mode = obj ] && { out=$work/out/fixclass.o; args=(-c -o "$out"); }
    rm -rf "$work/out"; mkdir "$work/out"
    timeout 60 "$cnnc" "${args[@]}" --weights "$file" "$net" >"$work/stdout" 2>"$work/stderr"
    got=$?
    if [ $got != 1 ]; then
      echo "FAIL $name ($mode): exit $got, expected 1"; cat "$work/stderr"; fail=1
    elif ! grep -qF -- "$piece" "$work/stderr" || ! grep -qE "^(cnnc: error: |$net:[0-9]+:[0-9]+: error: )" "$work/stderr"; then
      echo "FAIL $name ($mode): stderr lacks 'cnnc: error: ...$piece':"; cat "$work/stderr"; fail=1
    fi
    if grep -qE 'Sanitizer|runtime error:' "$work/stderr"; then
      echo "FAIL $name ($mode): sanitizer report"; cat "$work/stderr"; fail=1
    fi
    left=$(ls -A "$work/out")
    [ -n "$left" ] && { echo "FAIL $name ($mode): left behind: $left"; fail=1; }
  done
  echo "ok $name"
done <<<"$table"

# Good weights in each dtype, embedded: the program needs no --weights.
for dt in f32 f16 bf16 f64; do
  DT=$(echo $dt | tr a-z A-Z)
  if ! "$cnnc" -o "$work/p_$dt" --weights "$work/w_$dt.safetensors" "$net" 2>"$work/stderr"; then
    echo "FAIL good $dt: cnnc failed"; cat "$work/stderr"; fail=1; continue
  fi
  key="x.npy@$DT"; [ $dt = f32 ] && key=x.npy
  if "$work/p_$dt" --output "$work/o_$dt.npy" "$work/x.npy" 2>"$work/stderr" &&
     python3 "$src/tests/runtime/fixtures.py" npy "$work" "$work/o_$dt.npy" "$key"; then
    echo "ok good $dt"
  else
    echo "FAIL good $dt"; cat "$work/stderr"; fail=1
  fi
done

# A program that reads its weights at run time says what a missing bias
# may mean too (the runtime's reader, without the source to point at).
if "$cnnc" -o "$work/p_runtime" "$net" 2>"$work/stderr" &&
   ! "$work/p_runtime" --weights "$work/w_missing.safetensors" "$work/x.npy" >/dev/null 2>"$work/stderr" &&
   grep -qF "missing tensor 'fc.bias': expected shape [3], found no tensor of that name; the file has 'fc.weight' but no bias: if PyTorch made the layer with bias=False, write bias=false on it" "$work/stderr"; then
  echo "ok missing bias at run time"
else
  echo "FAIL missing bias at run time"; cat "$work/stderr"; fail=1
fi

# A tensor the network does not use is a warning, and the build succeeds.
if "$cnnc" -o "$work/p_extra" --weights "$work/w_extra.safetensors" "$net" 2>"$work/stderr" &&
   grep -qF "cnnc: warning: $work/w_extra.safetensors: tensor 'fc.extra' is not used by the network" "$work/stderr"; then
  echo "ok unused tensor"
else
  echo "FAIL unused tensor"; cat "$work/stderr"; fail=1
fi

# An executable is made with the permissions a new file gets (umask).
mode=$(umask 027 && "$cnnc" -o "$work/p_mode" --weights "$work/w_f32.safetensors" "$net" && stat -c %a "$work/p_mode")
if [ "$mode" = 750 ]; then echo "ok mode"; else echo "FAIL mode: $mode, expected 750 under umask 027"; fail=1; fi

exit $fail
