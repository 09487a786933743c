#!/usr/bin/env bash
# AOT objects (SPEC section 5): NAME.o + NAME.h for two networks, each header
# compiling alone as C and C++, both objects linked into one plain C program
# with only libc and libm, and the program's checks passing.
set -euo pipefail
cnnc=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail=0

"$cnnc" -c "$here/blur.cnn"
"$cnnc" -c "$here/classify.cnn" -o classify.o
for f in blur.o blur.h classify.o classify.h; do
  [ -f "$f" ] || { echo "FAIL: $f not written"; fail=1; }
done
for h in blur.h classify.h; do
  echo "#include \"$h\"" > only.c
  cc -std=c11 -Wall -Wextra -Werror -c only.c -o /dev/null || { echo "FAIL: $h alone in C"; fail=1; }
  cp only.c only.cpp
  c++ -Wall -Wextra -Werror -c only.cpp -o /dev/null || { echo "FAIL: $h alone in C++"; fail=1; }
done
# Only libc/libm (and compiler helpers) may be undefined in the objects.
undefined=$(nm -u blur.o classify.o | awk 'NF == 2 {print $2}' | sort -u | grep -v -E '^(expf|memcpy|memmove|memset|__.*)$' || true)
if [ -n "$undefined" ]; then
  echo "FAIL: the objects need more than libc/libm: $undefined"
  fail=1
fi
cc -std=c11 -Wall -Werror -I. "$here/two.c" blur.o classify.o -lm -o two
./two || fail=1

# Objects for other machines (SPEC section 5's --target): the right ELF
# machine, or a WebAssembly module, for the vectorised kernels of each.
for spec in "aarch64-linux-gnu:AArch64" "riscv64-linux-gnu:RISC-V" "thumbv7em-none-eabihf:ARM"; do
  triple=${spec%%:*} machine=${spec#*:}
  mkdir -p "$triple"
  if ! "$cnnc" -c --target="$triple" "$here/blur.cnn" -o "$triple/blur.o"; then
    echo "FAIL: -c --target=$triple"; fail=1; continue
  fi
  readelf -h "$triple/blur.o" | grep -q "Machine: *$machine" ||
    { echo "FAIL: $triple object is not $machine: $(readelf -h "$triple/blur.o" | grep Machine)"; fail=1; }
  [ -f "$triple/blur.h" ] || { echo "FAIL: no header for $triple"; fail=1; }
done
"$cnnc" -c --target=wasm32-wasi "$here/blur.cnn" -o blur.wasm.o &&
  [ "$(head -c 4 blur.wasm.o | od -An -c | tr -d ' ')" = '\0asm' ] || { echo "FAIL: wasm32-wasi object"; fail=1; }
exit $fail
