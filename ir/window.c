/* W2 = (W1 - F + 2P) / S + 1, SPEC section 2, with F the dilated window's
 * span R*(F-1)+1 (section 9). Returning the numerator and the
 * remainder, not just W2, lets the caller print the arithmetic and look for a
 * fix when the division is not exact. */
#include "window.h"

IrWindowStatus ir_window_solve(IrWindow *w)
{
    int64_t twice_pad, padded;
    if (__builtin_mul_overflow(w->pad, 2, &twice_pad) ||
        __builtin_add_overflow(w->in, twice_pad, &padded))
        return IR_WINDOW_OVERFLOW;
    if (__builtin_mul_overflow(w->dilation, w->size - 1, &w->span) || __builtin_add_overflow(w->span, 1, &w->span))
        return IR_WINDOW_OVERFLOW;
    if (w->span > padded)
        return IR_WINDOW_TOO_BIG;
    w->num = padded - w->span;
    w->rem = w->num % w->stride;
    switch (w->round) {
    case IR_ROUND_EXACT:
        if (w->rem != 0)
            return IR_WINDOW_NOT_WHOLE;
        w->out = w->num / w->stride + 1;
        break;
    case IR_ROUND_FLOOR:
        w->out = w->num / w->stride + 1;
        break;
    case IR_ROUND_CEIL:
        /* PyTorch's ceil_mode: round up, but the last window must start inside
         * the input or its left padding, i.e. before W1 + P. Only the window
         * rounding added is dropped: on an exact division ceil changes nothing
         * (SPEC section 8), even where conv's pad >= F puts whole windows in
         * the right padding (pooling's pad <= F/2 never does). */
        w->out = w->num / w->stride + 1;
        if (w->rem != 0) {
            int64_t start;
            if (!__builtin_mul_overflow(w->out, w->stride, &start) && start < w->in + w->pad)
                w->out++;
        }
        break;
    }
    return IR_WINDOW_OK;
}
