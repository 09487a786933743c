#!/bin/bash
# Limits instead of crashes (issue 5): each row runs one hostile input and
# asserts its exit status, a piece of its message, nothing left behind, and a
# bound on wall time and peak memory, which it prints. Inputs are made by
# make_limits.py. usage: run_limits.sh CNNC SOURCE_DIR [SCALE]
# SCALE multiplies the time and memory bounds (the sanitized build is slower
# and bigger).
set -u
cnnc=$1 src=$2 scale=${3:-1}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/cnnc-limits.XXXXXX")
trap 'umount "$work/full" 2>/dev/null; rm -rf "$work"' EXIT
python3 "$here/make_limits.py" "$work" || { echo "FAIL: make_limits.py"; exit 1; }
cd "$work" || exit 1
lenet=$src/examples/lenet.cnn
# Programs to feed bad inputs to, and a good output to protect.
"$cnnc" "$lenet" --weights "$src/tests/data/lenet/lenet.safetensors" -o lenet || exit 1
"$cnnc" "$src/examples/edge.cnn" -o edge || exit 1
mkfifo fifo.safetensors
mkdir out
fail=0

# name | command (in the work dir; @ is the source dir) | exit | message piece | max s | max MB
table=$(cat <<'TABLE'
input_2e40_check   | $cnnc --report input_2e40.cnn                          | 0 | 1048576x1048576x1               | 5  | 200
input_2e40_compile | $cnnc input_2e40.cnn -o out/big                        | 1 | needs 8,796,093,022,208 bytes   | 5  | 200
input_overflow     | $cnnc --check input_overflow.cnn                       | 1 | overflows 64 bits               | 5  | 200
fc_overflow        | $cnnc --report fc_overflow.cnn                         | 1 | weight count of layer 'fc1' overflows 64 bits | 5 | 200
conv_overflow      | $cnnc --check conv_overflow.cnn                        | 1 | weight count of layer 'conv1' overflows 64 bits | 5 | 200
line_10mb          | $cnnc --report line_10mb.cnn                           | 0 | network l: 8x8x1 -> 8x8x1       | 10 | 300
line_10mb_error    | $cnnc --check line_10mb_error.cnn                      | 1 | line_10mb_error.cnn:3:10000006: error: relu takes no keys | 10 | 300
layers_1m_check    | $cnnc --check layers_1m.cnn                            | 0 |                                 | 30 | 1500
layers_1m_report   | $cnnc --report=json -o out/r.json layers_1m.cnn        | 0 |                                 | 60 | 1500
names_repeated     | $cnnc --check names_repeated.cnn                       | 1 | stopping after 20 errors        | 10 | 300
names_deep         | $cnnc --report names_deep.cnn                          | 0 | layer.layer.layer               | 10 | 500
st_header_2e62     | $cnnc -c --weights st_header_2e62.safetensors @/examples/lenet.cnn -o out/l.o | 1 | header length 4611686018427387904 is over 100 MB | 5 | 300
st_offsets_past    | $cnnc -c --weights st_offsets_past_end.safetensors @/examples/lenet.cnn -o out/l.o | 1 | run past the end of the data | 5 | 300
st_shape_overflow  | $cnnc -c --weights st_shape_overflow.safetensors @/examples/lenet.cnn -o out/l.o | 1 | element count overflows 64 bits | 5 | 300
st_offsets_wrap    | $cnnc -c --weights st_offsets_wrap.safetensors @/examples/lenet.cnn -o out/l.o | 1 | data_offsets | 5 | 300
st_directory       | $cnnc -c --weights out @/examples/lenet.cnn -o out/l.o  | 1 | is a directory                  | 5  | 300
st_fifo            | $cnnc -c --weights fifo.safetensors @/examples/lenet.cnn -o out/l.o | 1 | not a regular file | 5 | 300
prog_st_fifo       | ./lenet --weights fifo.safetensors @/tests/data/lenet/in1.npy | 1 | not a regular file          | 5  | 300
prog_npy_overflow  | ./lenet npy_overflow.npy                               | 1 | element count overflows 64 bits | 5  | 300
TABLE
)

# run NAME EXIT PIECE MAXS MAXMB CMD...: one row.
run() {
  local name=$1 want=$2 piece=$3 maxs=$4 maxmb=$5
  shift 5
  /usr/bin/time -f "%e %M" -o time.txt timeout 300 "$@" >stdout 2>stderr
  local got=$? secs kb
  read -r secs kb < <(tail -1 time.txt)
  local mb=$((kb / 1024))
  if [ "$got" != "$want" ]; then
    echo "FAIL $name: exit $got, expected $want"; head -c 600 stderr; fail=1
  elif [ -n "$piece" ] && ! grep -qF -- "$piece" stdout stderr; then
    echo "FAIL $name: no '$piece' in the output:"; head -c 600 stderr; fail=1
  elif awk -v s="$secs" -v m="$maxs" -v k="$scale" 'BEGIN { exit !(s > m * k) }'; then
    echo "FAIL $name: $secs s, bound $maxs s"; fail=1
  elif [ "$mb" -gt $((maxmb * scale)) ]; then
    echo "FAIL $name: $mb MB, bound $maxmb MB"; fail=1
  elif grep -qE 'Sanitizer|runtime error:' stderr; then
    echo "FAIL $name: sanitizer report"; head -c 2000 stderr; fail=1
  else
    printf 'ok   %-20s exit %s  %6s s  %5s MB\n' "$name" "$got" "$secs" "$mb"
  fi
}

while IFS='|' read -r name cmd want piece maxs maxmb; do
  name=$(echo $name); want=$(echo $want); maxs=$(echo $maxs); maxmb=$(echo $maxmb)
  piece=$(echo "$piece" | sed -e 's/^ *//' -e 's/ *$//')
  cmd=${cmd//\$cnnc/$cnnc}
  cmd=${cmd//@/$src}
  # shellcheck disable=SC2086
  run "$name" "$want" "$piece" "$maxs" "$maxmb" $cmd
  # Only the successful report may have written a file.
  left=$(ls out | grep -v '^r.json$' || true)
  [ -n "$left" ] && { echo "FAIL $name: left behind: $left"; fail=1; rm -f out/*; }
done <<<"$table"

# A full disk. A file-size limit with SIGXFSZ ignored makes writes fail with
# EFBIG: a clear error, nothing left, the older file kept.
echo old >out/keep.npy
echo old >out/keep.o
full=(bash -c 'trap "" XFSZ; ulimit -f 64; exec "$@"' full)
run full_disk_program 1 "cannot write" 5 300 "${full[@]}" ./edge --output out/keep.npy "$src/examples/images/ascent.pgm"
run full_disk_cnnc 1 "File too large" 10 500 "${full[@]}" "$cnnc" -c --weights "$src/tests/data/cifar10/cifar10.safetensors" "$src/examples/cifar10.cnn" -o out/keep.o
# The same limit with SIGXFSZ left alone kills the writer: its handler must
# remove the temporary file on the way out (exit 128 + SIGXFSZ = 153).
killed=(bash -c 'ulimit -f 64; exec "$@"' killed)
run signal_program 153 "" 5 300 "${killed[@]}" ./edge --output out/keep.npy "$src/examples/images/ascent.pgm"
run signal_cnnc 153 "" 10 500 "${killed[@]}" "$cnnc" -c --weights "$src/tests/data/cifar10/cifar10.safetensors" "$src/examples/cifar10.cnn" -o out/keep.o
# A real full file system, where this machine lets us mount one.
mkdir full
if mount -t tmpfs -o size=256k tmpfs full 2>/dev/null; then
  echo old >full/keep.npy
  run tmpfs_program 1 "No space left on device" 5 300 ./edge --output full/keep.npy "$src/examples/images/ascent.pgm"
  run tmpfs_cnnc 1 "No space left on device" 10 500 "$cnnc" -S --weights "$src/tests/data/cifar10/cifar10.safetensors" "$src/examples/cifar10.cnn" -o full/keep.npy
  [ "$(cat full/keep.npy)" = old ] && [ "$(ls full)" = keep.npy ] || { echo "FAIL tmpfs: $(ls full)"; fail=1; }
else
  echo "skip tmpfs: cannot mount here (the file-size limit rows stand in)"
fi
[ "$(cat out/keep.npy)" = old ] && [ "$(cat out/keep.o)" = old ] || { echo "FAIL: an older output was clobbered"; fail=1; }
left=$(ls out | grep -vE '^(keep\.npy|keep\.o|r\.json)$' || true)
[ -n "$left" ] && { echo "FAIL: left behind: $left"; fail=1; }
exit $fail
