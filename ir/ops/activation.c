/* The activations of SPEC section 9 beside relu: relu6 (min(max(x, 0), 6)),
 * leakyrelu (x, or slope * x for x <= 0), sigmoid and tanh. Each keeps the
 * shape, has no params and 0 MACs, and may write over its input. */
#include "ops.h"

static bool same_shape(IrInfer *cx, IrNode *n, const IrShape *in)
{
    (void)cx;
    n->out = in[0];
    return true;
}

static void leakyrelu_hyper(const IrNode *n, char *buf, size_t size)
{
    snprintf(buf, size, "slope=%g", n->attr.leakyrelu.slope);
}

/* %.9g: enough digits to give back the float the code multiplies by. */
static void leakyrelu_json(const IrNode *n, FILE *out)
{
    fprintf(out, ", \"slope\": %.9g", n->attr.leakyrelu.slope);
}

const IrOpDef ir_op_def_relu6 = {.min_inputs = 1, .max_inputs = 1, .in_place = true, .infer = same_shape};
const IrOpDef ir_op_def_leakyrelu = {.min_inputs = 1,
                                     .max_inputs = 1,
                                     .in_place = true,
                                     .infer = same_shape,
                                     .hyper = leakyrelu_hyper,
                                     .json = leakyrelu_json};
const IrOpDef ir_op_def_sigmoid = {.min_inputs = 1, .max_inputs = 1, .in_place = true, .infer = same_shape};
const IrOpDef ir_op_def_tanh = {.min_inputs = 1, .max_inputs = 1, .in_place = true, .infer = same_shape};
