/* fc K: every output sees the whole input, flattened as C, H, W (SPEC section 1).
 * Output 1x1xK; params N*K (+K), N = W1*H1*D1; MACs N*K. */
#include <inttypes.h>
#include <stdio.h>

#include "ops.h"

bool ir_infer_fc(IrInfer *cx, IrNode *n, const IrShape *in)
{
    const IrFcAttr *f = &n->attr.fc;
    int64_t inputs = ir_shape_elems(*in); /* N; the input's own check bounds it */
    int64_t weights = inputs;
    if (!ir_mul_checked(cx, n, &weights, f->outputs, "the weight count"))
        return false;
    char formula[128];
    snprintf(formula, sizeof formula, "K*N = %" PRId64 "*%" PRId64, f->outputs, inputs);
    if (!ir_check_inline(cx, n, &f->weights, weights, "weights", formula) ||
        !ir_check_inline(cx, n, &f->biases, f->outputs, "biases", "one per output"))
        return false;
    n->out = (IrShape){1, 1, f->outputs};
    n->macs = weights;
    n->params = weights;
    if (f->bias && !ir_add_checked(cx, n, &n->params, f->outputs, "the parameter count"))
        return false;
    return true;
}
