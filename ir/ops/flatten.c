/* flatten: W x H x D -> 1 x 1 x (W*H*D), in fc's C, H, W order (SPEC section 1). */
#include "ops.h"

static bool infer(IrInfer *cx, IrNode *n, const IrShape *in)
{
    (void)cx;
    n->out = (IrShape){1, 1, ir_shape_elems(*in)};
    return true;
}

const IrOpDef ir_op_def_flatten = {.min_inputs = 1, .max_inputs = 1, .in_place = true, .infer = infer};
