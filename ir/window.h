/* The W2 rule of SPEC section 2 for one dimension of a conv or pool window. */
#ifndef CNNC_IR_WINDOW_H
#define CNNC_IR_WINDOW_H

#include <stdint.h>

#include "ir.h"

typedef enum {
    IR_WINDOW_OK,
    IR_WINDOW_TOO_BIG,   /* F > W1 + 2P */
    IR_WINDOW_NOT_WHOLE, /* exact rounding, (W1 - F + 2P) % S != 0 */
    IR_WINDOW_OVERFLOW,  /* W1 + 2P does not fit 64 bits */
} IrWindowStatus;

typedef struct IrWindow {
    int64_t in, size, stride, pad; /* W1, F, S, P */
    IrRound round;
    /* Results: numerator W1 - F + 2P, its remainder by S, and W2. */
    int64_t num, rem, out;
} IrWindow;

IrWindowStatus ir_window_solve(IrWindow *w);

#endif
