/* concat A B ...: earlier layers' outputs stacked along depth in the order
 * written, D2 = D_A + D_B + ..., all of the same W x H (SPEC section 9). */
#include <inttypes.h>

#include "ops.h"

static bool infer(IrInfer *cx, IrNode *n, const IrShape *in)
{
    int64_t d = 0;
    for (uint32_t k = 0; k < n->ninputs; k++) {
        if (in[k].w != in[0].w || in[k].h != in[0].h) {
            const IrNode *a = &cx->g->nodes[n->inputs[0]], *b = &cx->g->nodes[n->inputs[k]];
            ir_diag_error(cx->diag, n->span,
                          "concat needs inputs of the same width and height: '%s' is %" PRId64 "x%" PRId64
                          "x%" PRId64 " but '%s' is %" PRId64 "x%" PRId64 "x%" PRId64,
                          a->name, in[0].w, in[0].h, in[0].d, b->name, in[k].w, in[k].h, in[k].d);
            return false;
        }
        if (!ir_add_checked(cx, n, &d, in[k].d, "the concatenated depth"))
            return false;
    }
    n->out = (IrShape){in[0].w, in[0].h, d};
    return true;
}

const IrOpDef ir_op_def_concat = {.min_inputs = 2, .max_inputs = -1, .infer = infer};
