/* startup.h: what startup.c tells the program about its stack (the rest of
 * startup.c is the vector table and the reset handler, which nothing calls). */
#ifndef STARTUP_H
#define STARTUP_H

#include <stddef.h>

/* Bytes of stack the program has used so far, at most: the highest point
 * below which the pattern painted at reset is intact. */
size_t stack_used(void);

/* Bytes of stack there are (cortex-m4.ld's STACK_SIZE). */
size_t stack_size(void);

#endif
