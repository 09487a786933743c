#!/usr/bin/env bash
# The programs' command line (SPEC sections 6-8) on two hand-written models
# linked with libcnnrt: fixclass (fixture_model.c, 4x4x1 -> 3 classes, no
# embedded weights) and fixmap (fixture_map.c, 4x4x1 -> 4x4x1 map, embedded
# and inline weights). Bad runs come from a table: exit status, a piece of the
# message, and no output file left behind. Good runs are checked against
# numbers fixtures.py computes on its own.
# usage: run_cli.sh FIXCLASS FIXMAP SOURCE_DIR
set -uo pipefail
fixclass=$1
fixmap=$2
here=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$here/fixtures.py" make "$work" || { echo "FAIL: fixtures"; exit 1; }
fail=0
W="--weights $work/w_f32.safetensors"
# Photos (scripts/make_photo_goldens.py) and a file that is none of the formats.
cp "$here/photos/gray8.png" "$here/photos/gray.jpg" "$here/photos/gray8_4x4.pgm" "$work/" || { echo "FAIL: photos"; exit 1; }
printf 'GIF89a\001\000\001\000' >"$work/x.gif"

# name | program | arguments (@ is the fixture directory) | exit | message piece
table=$(cat <<'TABLE'
w_missing    | fixclass | --weights @/w_missing.safetensors @/x.npy   | 1 | w_missing.safetensors: missing tensor 'fc.bias': expected shape [3], found no tensor
w_shape      | fixclass | --weights @/w_shape.safetensors @/x.npy     | 1 | w_shape.safetensors: tensor 'fc.weight': expected shape [3, 16], found [3, 4, 4]
w_dtype      | fixclass | --weights @/w_dtype.safetensors @/x.npy     | 1 | w_dtype.safetensors: tensor 'fc.weight': expected dtype F32 (or F16, BF16, F64), found I32
w_truncated  | fixclass | --weights @/w_truncated.safetensors @/x.npy | 1 | run past the end of the data
w_hlen       | fixclass | --weights @/w_hlen.safetensors @/x.npy      | 1 | w_hlen.safetensors: header length 1048576 runs past the end of the file
w_json       | fixclass | --weights @/w_json.safetensors @/x.npy      | 1 | w_json.safetensors: corrupt JSON header
w_empty      | fixclass | --weights @/w_empty.safetensors @/x.npy     | 1 | w_empty.safetensors: the file is empty
w_dir        | fixclass | --weights @ @/x.npy                         | 1 | is a directory
w_nofile     | fixclass | --weights @/nope.safetensors @/x.npy        | 1 | cannot open weights
w_absent     | fixclass | @/x.npy                                     | 2 | built without weights: give them with --weights
in_shape     | fixclass | $W @/bad_shape.npy                          | 1 | bad_shape.npy: shape (3, 4, 4) does not fit the network's input 4x4x1
in_depth     | fixclass | $W @/bad_depth.ppm                          | 1 | bad_depth.ppm: a colour (PPM) image (3 channels) for a network whose input is 1 deep
in_trunc     | fixclass | $W @/bad_trunc.npy                          | 1 | bad_trunc.npy: truncated .npy data
in_magic     | fixclass | $W @/bad_magic.npy                          | 1 | bad_magic.npy: not a .npy file (bad magic
in_overflow  | fixclass | $W @/bad_overflow.npy                       | 1 | bad_overflow.npy: .npy shape's element count overflows
in_size      | fixclass | $W @/bad_size.pgm                           | 1 | bad_size.pgm: image is 5x4, the network's input is 4x4
in_header    | fixclass | $W @/bad_header.pgm                         | 1 | bad_header.pgm: bad PGM/PPM header: no height
in_pgmtrunc  | fixclass | $W @/bad_trunc.pgm                          | 1 | bad_trunc.pgm: truncated image data
in_empty     | fixclass | $W @/bad_empty.npy                          | 1 | bad_empty.npy: the file is empty
in_missing   | fixclass | $W @/nope.npy                               | 1 | cannot open '@/nope.npy': No such file or directory
in_second    | fixclass | $W @/x.npy @/bad_magic.npy                  | 1 | bad_magic.npy: not a .npy file
no_input     | fixclass | $W                                          | 2 | no input files
bad_option   | fixclass | $W --frobnicate @/x.npy                     | 2 | unknown option '--frobnicate'
threads_0    | fixclass | $W --threads 0 @/x.npy                      | 2 | --threads needs a whole number from 1 up, not '0'
top_word     | fixclass | $W --top many @/x.npy                       | 2 | --top needs a whole number from 1 up, not 'many'
threads_big  | fixclass | $W --threads 99999999999999999999 @/x.npy   | 2 | --threads 99999999999999999999 is too large
in_dir       | fixclass | $W @                                        | 1 | is a directory, not a file
in_hugepgm   | fixclass | $W @/bad_huge.pgm                           | 1 | bad_huge.pgm: truncated image data: 1 bytes for 1000000000000 samples
out_no_dir   | fixclass | $W --output @/no/dir/o.npy @/x.npy          | 1 | cannot write '@/no/dir/o.npy': No such file or directory
top_novalue  | fixclass | $W @/x.npy --top                            | 2 | option '--top' needs a value
bench_0      | fixclass | $W --bench 0                                | 2 | --bench needs a whole number
out_suffix   | fixclass | $W --output @/out.txt @/x.npy               | 2 | unknown file type; use .npy, .pgm or .ppm
out_pgm_vec  | fixclass | $W --output @/out.pgm @/x.npy               | 2 | a .pgm needs a 1-deep output
out_ppm_map  | fixmap   | --output @/out.ppm @/x.npy                  | 2 | a .ppm needs a 3-deep output
out_two_imgs | fixmap   | --output @/out.pgm @/x.npy @/x.npy          | 2 | writes one image, but the inputs hold 2
labels_none  | fixclass | $W --labels @/nope.txt @/x.npy              | 1 | cannot open '@/nope.txt'
photo_size   | fixclass | $W @/gray8.png                              | 1 | gray8.png: image is 37x29, the network's input is 4x4 (width x height); give --resize=5
photo_small  | fixclass | $W --resize=3 @/gray.jpg                    | 1 | gray.jpg: --resize=3 scales the 30x40 image to 3x4, smaller than the network's input 4x4: give --resize=4 or more
photo_gif    | fixclass | $W @/x.gif                                  | 1 | x.gif: not a PNG, JPEG, PGM or PPM image: it looks like a GIF image
resize_0     | fixclass | $W --resize 0 @/gray8.png                   | 2 | --resize needs a whole number from 1 up, not '0'
TABLE
)

while IFS='|' read -r name program args status piece; do
  name=$(echo $name); program=$(echo $program); status=$(echo $status)
  piece=$(echo "$piece" | sed -e 's/^ *//' -e 's/ *$//' -e "s#@#$work#g")
  args=${args//\$W/$W}
  args=${args//@/$work}
  bin=$fixclass; [ "$program" = fixmap ] && bin=$fixmap
  # Every bad run also asks for an output, which must not appear.
  outarg="--output $work/result.npy"
  case "$args" in *--output*) outarg="" ;; esac
  # shellcheck disable=SC2086
  "$bin" $outarg $args >"$work/stdout" 2>"$work/stderr"
  got=$?
  if [ "$got" != "$status" ]; then
    echo "FAIL $name: exit $got, expected $status"; cat "$work/stderr"; fail=1
  elif ! grep -qF -- "$piece" "$work/stderr"; then
    echo "FAIL $name: stderr lacks '$piece':"; cat "$work/stderr"; fail=1
  elif ! grep -q "error:" "$work/stderr"; then
    echo "FAIL $name: no 'error:' in stderr"; fail=1
  fi
  if grep -qE 'Sanitizer|runtime error:' "$work/stderr"; then
    echo "FAIL $name: sanitizer report"; cat "$work/stderr"; fail=1
  fi
  leftover=$(cd "$work" && ls | grep -E '^(result\.npy|out\.)' || true)
  if [ -n "$leftover" ]; then
    echo "FAIL $name: left behind: $leftover"; fail=1
    (cd "$work" && rm -f $leftover)
  fi
done <<<"$table"

# Good runs. check NAME CMD...: the command must succeed; its stdout is kept.
ok() {
  local name=$1; shift
  if ! "$@" >"$work/stdout" 2>"$work/stderr"; then
    echo "FAIL $name: exit $?"; cat "$work/stderr"; fail=1; return 1
  fi
  if grep -qE 'Sanitizer|runtime error:' "$work/stderr"; then
    echo "FAIL $name: sanitizer report"; cat "$work/stderr"; fail=1; return 1
  fi
}
fx() { python3 "$here/fixtures.py" "$@"; }

ok top_default "$fixclass" $W "$work/x.npy" && { fx top "$work" x.npy <"$work/stdout" || fail=1; }
ok top_1 "$fixclass" $W --top 1 "$work/x.npy" "$work/img8.pgm" &&
  { fx top "$work" x.npy img8.pgm <"$work/stdout" || fail=1; }
grep -q "top 1 of 3 classes" "$work/stdout" || { echo "FAIL top_1: not one class"; fail=1; }
# More than the class count, even past what a long holds, prints them all.
ok top_all "$fixclass" $W --top 99999999999999999999 "$work/x.npy" &&
  { fx top "$work" x.npy <"$work/stdout" || fail=1; }
grep -q "top 3 of 3 classes" "$work/stdout" || { echo "FAIL top_all: not every class"; fail=1; }
ok top_labels "$fixclass" $W --labels "$work/labels.txt" "$work/x2.npy" "$work/img16.pgm" &&
  { fx top "$work" --labels x2.npy[0] x2.npy[1] img16.pgm <"$work/stdout" || fail=1; }
ok npy_variants "$fixclass" $W "$work/x_hw_f8.npy" "$work/x_be.npy" "$work/x_fortran.npy" "$work/x_u8.npy" &&
  { fx top "$work" x_hw_f8.npy x_be.npy x_fortran.npy x_u8.npy <"$work/stdout" || fail=1; }
ok json "$fixclass" $W --json --top 2 --labels "$work/labels.txt" "$work/x.npy" "$work/img8.pgm" &&
  { fx json "$work" 2 x.npy img8.pgm <"$work/stdout" || fail=1; }
ok json_nolabels "$fixclass" $W --json "$work/x2.npy" &&
  { fx json "$work" 5 --nolabels "x2.npy[0]" "x2.npy[1]" <"$work/stdout" || fail=1; }
ok output_npy "$fixclass" $W --output "$work/o.npy" "$work/x2.npy" "$work/img8.pgm" &&
  { fx npy "$work" "$work/o.npy" x2.npy[0] x2.npy[1] img8.pgm || fail=1; }
[ -s "$work/stdout" ] && { echo "FAIL output_npy: printed with --output"; fail=1; }
for dt in f16 bf16 f64; do
  DT=$(echo $dt | tr a-z A-Z)
  ok "weights_$dt" "$fixclass" --weights "$work/w_$dt.safetensors" --output "$work/o_$dt.npy" "$work/x.npy" &&
    { fx npy "$work" "$work/o_$dt.npy" "x.npy@$DT" || fail=1; }
done
ok unused_tensor "$fixclass" --weights "$work/w_extra.safetensors" "$work/x.npy" &&
  { grep -qF "warning: $work/w_extra.safetensors: tensor 'fc.extra' is not used by the network" "$work/stderr" ||
    { echo "FAIL unused_tensor: no warning"; cat "$work/stderr"; fail=1; }; }
ok bench_zeros "$fixclass" $W --bench 5 --threads 2 &&
  { grep -qE '^bench: 5 runs, batch 1: min [0-9.e+-]+ ms, median [0-9.e+-]+ ms, mean [0-9.e+-]+ ms, [0-9.e+-]+ images/s$' "$work/stdout" ||
    { echo "FAIL bench_zeros:"; cat "$work/stdout"; fail=1; }; }
ok help "$fixclass" --help && { grep -q "^usage: " "$work/stdout" || { echo "FAIL help"; fail=1; }; }
ok version "$fixclass" --version && { grep -q "network fixclass" "$work/stdout" || { echo "FAIL version"; fail=1; }; }

# A photo through --resize is what torchvision's Resize + CenterCrop make of
# it: the same outputs as the PGM PIL wrote of that.
ok photo_resize "$fixclass" $W --resize=4 --output "$work/o_png.npy" "$work/gray8.png" &&
  ok photo_pgm "$fixclass" $W --output "$work/o_pgm.npy" "$work/gray8_4x4.pgm" &&
  { cmp -s "$work/o_png.npy" "$work/o_pgm.npy" || { echo "FAIL photo_resize: outputs differ from the PGM's"; fail=1; }; }
ok photo_jpeg "$fixclass" $W --resize 4 --top 1 "$work/gray.jpg" &&
  { grep -q "gray.jpg: top 1 of 3 classes" "$work/stdout" || { echo "FAIL photo_jpeg:"; cat "$work/stdout"; fail=1; }; }

# One bad input among good ones: a result for each good one, an error for
# the bad one, exit 1. bad() is ok() for a run that must exit 1.
bad() {
  local name=$1; shift
  "$@" >"$work/stdout" 2>"$work/stderr"
  local got=$?
  if [ $got != 1 ]; then
    echo "FAIL $name: exit $got, expected 1"; cat "$work/stderr"; fail=1; return 1
  fi
  if grep -qE 'Sanitizer|runtime error:' "$work/stderr"; then
    echo "FAIL $name: sanitizer report"; cat "$work/stderr"; fail=1; return 1
  fi
}
bad batch_one_bad "$fixclass" $W --top 1 "$work/x.npy" "$work/bad_magic.npy" "$work/img8.pgm" "$work/nope.pgm" &&
  { fx top "$work" x.npy img8.pgm <"$work/stdout" || fail=1; }
for piece in "bad_magic.npy: not a .npy file" "cannot open '$work/nope.pgm'" \
             "2 of 4 inputs could not be read (above); the results printed are the others'"; do
  grep -qF -- "$piece" "$work/stderr" || { echo "FAIL batch_one_bad: stderr lacks '$piece'"; cat "$work/stderr"; fail=1; }
done
bad batch_one_bad_json "$fixclass" $W --json --top 2 --labels "$work/labels.txt" "$work/bad_size.pgm" "$work/x.npy" \
  "$work/bad_magic.npy" "$work/img8.pgm" &&
  { fx json "$work" 2 '!bad_size.pgm' x.npy '!bad_magic.npy' img8.pgm <"$work/stdout" || fail=1; }
# With --output the file would not hold every input: nothing is written.
"$fixclass" $W --output "$work/result.npy" "$work/x.npy" "$work/bad_magic.npy" >"$work/stdout" 2>"$work/stderr"
got=$?
if [ $got != 1 ] || [ -e "$work/result.npy" ] || ! grep -qF "1 of 2 inputs could not be read; nothing written" "$work/stderr"; then
  echo "FAIL batch_one_bad_output: exit $got"; cat "$work/stderr"; ls "$work" | grep result; fail=1
fi

# fixmap: embedded weights, replaced by a file (w = 2), the inline bias kept
# at 0.25 with a warning for the file's conv.bias.
ok map_print "$fixmap" "$work/x.npy" &&
  { grep -qF "x.npy: output 4x4x1 (W x H x D), min 0, max 0.5" "$work/stdout" || { echo "FAIL map_print:"; cat "$work/stdout"; fail=1; }; }
ok map_pgm "$fixmap" --output "$work/m.pgm" "$work/img8.pgm" && { fx pgm "$work" "$work/m.pgm" 0.5 0.25 map8 || fail=1; }
ok map_file "$fixmap" --weights "$work/wmap.safetensors" --output "$work/m.npy" "$work/img8.pgm" &&
  { fx mapnpy "$work" "$work/m.npy" 2 0.25 map8 || fail=1; }
grep -qF "tensor 'conv.bias' is not used: the network gives it inline" "$work/stderr" ||
  { echo "FAIL map_file: no warning for the inline bias"; cat "$work/stderr"; fail=1; }
# Every proper prefix of a good weights file, .npy and binary PGM is a clean
# error (exit 1, a message), never a crash or a sanitizer report. (A plain
# P2 file cut inside its last number is still a valid image, so not P2.)
for f in w_f32.safetensors x.npy img8.pgm; do
  size=$(wc -c <"$work/$f")
  for ((n = 0; n < size; n++)); do
    head -c $n "$work/$f" >"$work/cut_$f"
    if [ $f = w_f32.safetensors ]; then
      "$fixclass" --weights "$work/cut_$f" "$work/x.npy" >/dev/null 2>"$work/stderr"
    else
      "$fixclass" $W "$work/cut_$f" >/dev/null 2>"$work/stderr"
    fi
    got=$?
    if [ $got != 1 ] || ! grep -q "error: " "$work/stderr" || grep -qE 'Sanitizer|runtime error:' "$work/stderr"; then
      echo "FAIL truncated $f at $n bytes: exit $got"; cat "$work/stderr"; fail=1; break
    fi
  done
  rm -f "$work/cut_$f"
done

leftover=$(cd "$work" && ls | grep -F .tmp. || true)
[ -z "$leftover" ] || { echo "FAIL: temporary files left: $leftover"; fail=1; }

[ $fail = 0 ] && echo "run_cli.sh: all passed"
exit $fail
