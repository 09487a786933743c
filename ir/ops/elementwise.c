/* Ops that keep the shape and have no parameters: relu (max(x, 0)), softmax
 * (over D at every x, y) and dropout (identity at inference). */
#include "ops.h"

static bool same_shape(IrInfer *cx, IrNode *n, const IrShape *in)
{
    (void)cx;
    n->out = in[0];
    return true;
}

static void dropout_hyper(const IrNode *n, char *buf, size_t size)
{
    snprintf(buf, size, "p=%g", n->attr.dropout.p);
}

static void dropout_json(const IrNode *n, FILE *out)
{
    fprintf(out, ", \"p\": %.9g", n->attr.dropout.p);
}

const IrOpDef ir_op_def_relu = {.min_inputs = 1, .max_inputs = 1, .in_place = true, .infer = same_shape};
const IrOpDef ir_op_def_softmax = {.min_inputs = 1, .max_inputs = 1, .in_place = true, .infer = same_shape};
const IrOpDef ir_op_def_dropout = {
    .min_inputs = 1, .max_inputs = 1, .in_place = true, .infer = same_shape, .hyper = dropout_hyper, .json = dropout_json};
