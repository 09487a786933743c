/* add A B ...: the element-wise sum of two or more earlier layers' outputs,
 * all of the same W x H x D (SPEC section 9). No params, 0 MACs. */
#include <inttypes.h>

#include "ops.h"

static bool infer(IrInfer *cx, IrNode *n, const IrShape *in)
{
    for (uint32_t k = 1; k < n->ninputs; k++) {
        if (in[k].w == in[0].w && in[k].h == in[0].h && in[k].d == in[0].d)
            continue;
        const IrNode *a = &cx->g->nodes[n->inputs[0]], *b = &cx->g->nodes[n->inputs[k]];
        ir_diag_error(cx->diag, n->span,
                      "add needs inputs of the same shape: '%s' is %" PRId64 "x%" PRId64 "x%" PRId64
                      " but '%s' is %" PRId64 "x%" PRId64 "x%" PRId64,
                      a->name, in[0].w, in[0].h, in[0].d, b->name, in[k].w, in[k].h, in[k].d);
        return false;
    }
    n->out = in[0];
    return true;
}

const IrOpDef ir_op_def_add = {.min_inputs = 2, .max_inputs = -1, .infer = infer};
