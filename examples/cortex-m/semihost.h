/* semihost.h: the firmware's only output, ARM semihosting (a `bkpt 0xab` the
 * debugger or QEMU answers; `-semihosting-config enable=on,target=native`).
 * On a board without a debugger attached, the bkpt faults: replace these two
 * functions with a UART driver there (README.md). */
#ifndef SEMIHOST_H
#define SEMIHOST_H

/* Writes a NUL-terminated string to the host's console (SYS_WRITE0). */
void semihost_write(const char *s);

/* Ends the program (SYS_EXIT): status 0 as ADP_Stopped_ApplicationExit, which
 * QEMU turns into its own exit status 0; anything else as a run-time error,
 * exit status 1. */
_Noreturn void semihost_exit(int status);

#endif
