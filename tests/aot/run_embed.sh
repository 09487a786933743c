#!/usr/bin/env bash
# examples/embed: the digits and edge networks compiled with -c, linked into
# one plain C program with exactly the commands its header comment gives, must
# print what the executables cnnc builds print, and write the same image.
set -euo pipefail
cnnc=$1 root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
fail=0
ex=examples
"$cnnc" -c $ex/digits/digits.cnn --weights $ex/digits/digits.safetensors -o "$work/digits.o"
"$cnnc" -c $ex/edge.cnn -o "$work/edge.o"
cc -std=c11 -Wall -Wextra -Werror -pedantic -I"$work" $ex/embed/main.c "$work/digits.o" "$work/edge.o" -lm -o "$work/embed"

"$cnnc" $ex/digits/digits.cnn --weights $ex/digits/digits.safetensors -o "$work/digits"
"$cnnc" $ex/edge.cnn -o "$work/edge"

"$work/embed" $ex/digits/digit-*.pgm >"$work/embed.txt"
"$work/digits" --top 3 --labels $ex/digits/labels.txt $ex/digits/digit-*.pgm >"$work/exe.txt"
if diff "$work/exe.txt" "$work/embed.txt"; then
  echo "ok digits: same output ($(grep -c 'top 3' "$work/embed.txt") images)"
else
  echo "FAIL digits: embed and the executable differ"; fail=1
fi
# Each bundled digit is classified as the digit its name says, all ten.
right=0
while read -r name idx; do
  want=${name#*digit-}; want=${want%%-*}
  if [ "$idx" = "$want" ]; then right=$((right + 1)); else echo "FAIL: $name classified as $idx"; fail=1; fi
done < <(awk '/top 3/ {n=$1} $1 == "1" {print n, $2}' "$work/embed.txt")
[ "$right" = 10 ] || { echo "FAIL: $right of 10 digits classified right"; fail=1; }

"$work/embed" --edge $ex/images/ascent.pgm "$work/embed.pgm" >"$work/embed_edge.txt"
"$work/edge" $ex/images/ascent.pgm >"$work/exe_edge.txt"
"$work/edge" --output "$work/exe.pgm" $ex/images/ascent.pgm
if diff "$work/exe_edge.txt" "$work/embed_edge.txt" && cmp "$work/exe.pgm" "$work/embed.pgm"; then
  echo "ok edge: same statistics and the same PGM"
else
  echo "FAIL edge: embed and the executable differ"; fail=1
fi
exit $fail
