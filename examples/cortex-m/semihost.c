/* semihost.c: ARM semihosting calls for a Cortex-M (see semihost.h). The
 * operation goes in r0, a pointer to its argument in r1; `bkpt 0xab` traps to
 * the host, which answers in r0. */
#include "semihost.h"

#include <stdint.h>

enum {
    SYS_WRITE0 = 0x04,
    SYS_EXIT = 0x18,
    /* SYS_EXIT's reasons: the A32/T32 form takes the reason itself in r1. */
    ADP_Stopped_ApplicationExit = 0x20026,
    ADP_Stopped_RunTimeErrorUnknown = 0x20023,
};

static uintptr_t semihost_call(uintptr_t op, uintptr_t arg)
{
    register uintptr_t r0 __asm__("r0") = op;
    register uintptr_t r1 __asm__("r1") = arg;
    /* "memory": the host reads what r1 points at. */
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void semihost_write(const char *s)
{
    semihost_call(SYS_WRITE0, (uintptr_t)s);
}

_Noreturn void semihost_exit(int status)
{
    semihost_call(SYS_EXIT, status == 0 ? ADP_Stopped_ApplicationExit : ADP_Stopped_RunTimeErrorUnknown);
    for (;;) /* a debugger that does not stop here: wait for it */
        __asm__ volatile("wfi");
}
