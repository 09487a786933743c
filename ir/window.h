/* The W2 rule of SPEC section 2 for one dimension of a conv or pool window. */
#ifndef CNNC_IR_WINDOW_H
#define CNNC_IR_WINDOW_H

#include <stdint.h>

#include "ir.h"

typedef enum {
    IR_WINDOW_OK,
    IR_WINDOW_TOO_BIG,   /* R*(F-1)+1 > W1 + 2P */
    IR_WINDOW_NOT_WHOLE, /* exact rounding, (W1 - R*(F-1)-1 + 2P) % S != 0 */
    IR_WINDOW_OVERFLOW,  /* W1 + 2P or R*(F-1)+1 does not fit 64 bits */
} IrWindowStatus;

/* A dilated window (SPEC section 9) spans R*(F-1)+1 cells, and the rule
 * takes that span for F; R = 1 is the SPEC's section 2. */
typedef struct IrWindow {
    int64_t in, size, stride, pad, dilation; /* W1, F, S, P, R */
    IrRound round;
    /* Results: the span R*(F-1)+1, numerator W1 - span + 2P, its
     * remainder by S, and W2. */
    int64_t span, num, rem, out;
} IrWindow;

IrWindowStatus ir_window_solve(IrWindow *w);

#endif
