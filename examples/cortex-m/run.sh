#!/bin/bash
# Runs a firmware from build.sh on QEMU's mps2-an386 (a Cortex-M4 with FPU),
# its semihosting output on this terminal; QEMU exits with the firmware's
# status (0, or 1 after an error or a fault).
#
#   examples/cortex-m/run.sh OUTDIR/lenet-m4.elf
#
# Environment: TIMEOUT (seconds, default 60).

set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 FIRMWARE.elf" >&2
    exit 2
fi
if ! command -v qemu-system-arm >/dev/null 2>&1; then
    echo "$0: qemu-system-arm not found: install the Debian package qemu-system-arm" >&2
    exit 1
fi
# -nographic: no window, and the board's UART and QEMU's monitor on stdio
# (the firmware does not use them); semihosting's output goes to stderr.
# QEMU exits when the firmware calls SYS_EXIT; timeout ends a firmware that
# never does.
exec timeout "${TIMEOUT:-60}" qemu-system-arm -M mps2-an386 -nographic \
    -semihosting-config enable=on,target=native -kernel "$1"
