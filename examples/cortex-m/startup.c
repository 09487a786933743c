/* startup.c: what runs before main on a Cortex-M4: the vector table the core
 * reads at reset (initial stack pointer, then handlers), and the reset
 * handler, which turns the FPU on, copies .data from flash to RAM, clears
 * .bss and calls main. Any other exception is a fault here: it prints the
 * fault registers and the faulting pc, then exits with status 1, so a test
 * fails at once instead of hanging until its timeout. The stack is filled
 * with a pattern at reset, so stack_used() can tell how deep it went. The
 * symbols _sstack, _estack, _sidata, _sdata, _edata, _sbss and _ebss come
 * from cortex-m4.ld. */
#include "startup.h"

#include <stdint.h>
#include <string.h>

#include "semihost.h"

int main(void);
void Reset_Handler(void);
void Fault_Handler(void);
void fault_report(const uint32_t *frame, uint32_t exc_return);

extern uint32_t _sstack[], _estack[], _sidata[], _sdata[], _edata[], _sbss[], _ebss[];

/* System control block registers (ARMv7-M Architecture Reference Manual B3.2). */
#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04u)
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define SCB_HFSR (*(volatile uint32_t *)0xE000ED2Cu)
#define SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)
#define SCB_MMFAR (*(volatile uint32_t *)0xE000ED34u)
#define SCB_BFAR (*(volatile uint32_t *)0xE000ED38u)

#define STACK_PAINT 0xdeadbeefu

/* The table: initial SP, reset, then NMI .. SysTick (exceptions 2 to 15). No
 * device interrupt is enabled, so the table stops there. */
__attribute__((section(".vectors"), used)) static const uintptr_t vectors[16] = {
    (uintptr_t)_estack,
    (uintptr_t)Reset_Handler,
    (uintptr_t)Fault_Handler, /* 2 NMI */
    (uintptr_t)Fault_Handler, /* 3 HardFault */
    (uintptr_t)Fault_Handler, /* 4 MemManage */
    (uintptr_t)Fault_Handler, /* 5 BusFault */
    (uintptr_t)Fault_Handler, /* 6 UsageFault */
    0, 0, 0, 0,               /* 7-10 reserved */
    (uintptr_t)Fault_Handler, /* 11 SVCall */
    (uintptr_t)Fault_Handler, /* 12 DebugMonitor */
    0,                        /* 13 reserved */
    (uintptr_t)Fault_Handler, /* 14 PendSV */
    (uintptr_t)Fault_Handler, /* 15 SysTick */
};

void Reset_Handler(void)
{
    /* CP10 and CP11 (the single-precision FPU) to full access, before any
     * floating-point instruction: the hard-float code in main and in the
     * network would fault with NOCP otherwise. The barriers make the new
     * setting hold for the very next instruction. */
    SCB_CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    /* Paint the stack below this function's frame. A volatile store per
     * word: a call to memset would put its own frame inside the range. */
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (volatile uint32_t *w = _sstack; w < sp; w++)
        *w = STACK_PAINT;

    memcpy(_sdata, _sidata, (size_t)((char *)_edata - (char *)_sdata));
    memset(_sbss, 0, (size_t)((char *)_ebss - (char *)_sbss));

    semihost_exit(main());
}

size_t stack_used(void)
{
    const uint32_t *w = _sstack;
    while (w < _estack && *w == STACK_PAINT)
        w++;
    return (size_t)((const char *)_estack - (const char *)w);
}

size_t stack_size(void)
{
    return (size_t)((const char *)_estack - (const char *)_sstack);
}

/* Hands the stacked exception frame (r0-r3, r12, lr, pc, xpsr) of whichever
 * stack was in use to fault_report: bit 2 of EXC_RETURN says which. */
__attribute__((naked)) void Fault_Handler(void)
{
    __asm__ volatile("tst lr, #4\n\t"
                     "ite eq\n\t"
                     "mrseq r0, msp\n\t"
                     "mrsne r0, psp\n\t"
                     "mov r1, lr\n\t"
                     "b fault_report\n");
}

/* Appends the 8 hex digits of v to p. */
static char *hex32(char *p, uint32_t v)
{
    for (int shift = 28; shift >= 0; shift -= 4)
        *p++ = "0123456789abcdef"[v >> shift & 0xf];
    return p;
}

static char *text(char *p, const char *s)
{
    while (*s)
        *p++ = *s++;
    return p;
}

void fault_report(const uint32_t *frame, uint32_t exc_return)
{
    char line[160], *p = line;
    p = text(p, "fault: exception ");
    uint32_t number = SCB_ICSR & 0x1ff;
    *p++ = (char)('0' + number / 10 % 10);
    *p++ = (char)('0' + number % 10);
    p = text(p, " at pc 0x");
    p = hex32(p, frame[6]);
    p = text(p, ", lr 0x");
    p = hex32(p, frame[5]);
    p = text(p, "; CFSR 0x");
    p = hex32(p, SCB_CFSR);
    p = text(p, " HFSR 0x");
    p = hex32(p, SCB_HFSR);
    p = text(p, " MMFAR 0x");
    p = hex32(p, SCB_MMFAR);
    p = text(p, " BFAR 0x");
    p = hex32(p, SCB_BFAR);
    p = text(p, " EXC_RETURN 0x");
    p = hex32(p, exc_return);
    *p++ = '\n';
    *p = '\0';
    semihost_write(line);
    semihost_exit(1);
}
