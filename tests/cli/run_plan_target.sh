#!/bin/bash
# The memory plan follows the machine the code is for (ir/kernel.h): the
# scratch a conv's kernel needs, only for the kernel chosen for that target,
# CPU and -O level.
#
#   tests/cli/run_plan_target.sh CNNC ROOT
#
# LeNet-5's workspace, worked by hand. With SIMD of 4 floats (SSE, NEON,
# SIMD128) at -O1 and up: conv1's padded copy of its input for the
# micro-kernels (32x32 = 4,096 bytes) and beside it pool1's 14x14x6 output
# (4,704 -> 4,736), conv2's pooled 5x5x16 output (1,600) going to 0 where
# the copy was: 8,832. With vectors of 8 or 16 (AVX2, AVX-512), conv2 (6
# channels, 5x5) runs as Winograd F(2x2, 5x5) and first gets its scratch,
# 25 tiles x 36 points x 8 channels (6 rounded up) = 28,800 bytes and 14
# staged rows of 14 x 8 = 6,272, placed past pool1's output at 8,832:
# 8,832 + 35,072 = 43,904 (the output still at 0). Without SIMD or at -O0
# every conv is naive and reads its input's edges itself: no copy, pool1's
# output at 0 and conv2's beside it, 4,736 + 1,600 = 6,336.
set -u
cnnc=$1 root=$2
net=$root/examples/lenet.cnn
fails=0
check() { # ARGS... EXPECTED
    local want=${*: -1} got
    got=$("$cnnc" --report=json "${@:1:$#-1}" "$net" | sed -n 's/^ *"workspace_bytes": *\([0-9]*\).*/\1/p')
    if [ "$got" = "$want" ]; then
        echo "PASS ${*:1:$#-1}: workspace $got"
    else
        echo "FAIL ${*:1:$#-1}: workspace ${got:-none}, expected $want"
        fails=$((fails + 1))
    fi
}
check --target=x86_64-linux-gnu --cpu=x86-64-v3 43904
check --target=x86_64-linux-gnu --cpu=skylake-avx512 -O1 43904
check --target=x86_64-linux-gnu 8832
check --target=x86_64-linux-gnu --cpu=x86-64-v3 -O0 6336
check --target=thumbv7em-none-eabihf 6336
check --target=aarch64-linux-gnu 8832
check --target=wasm32-wasi 8832
check --target=wasm32-wasi --features=-simd128 6336
[ "$fails" -eq 0 ]
