/* conv: K filters of F x F x D1 (SPEC sections 1, 2). Shape by the W2 rule,
 * D2 = K; params K*F*F*D1 (+K); MACs W2*H2*K*F*F*D1. */
#include <inttypes.h>
#include <stdio.h>

#include "ops.h"

bool ir_infer_conv(IrInfer *cx, IrNode *n, const IrShape *in)
{
    const IrConvAttr *c = &n->attr.conv;
    if (!ir_infer_window(cx, n, *in, c->size, c->stride, c->pad, c->round, &n->out))
        return false;
    n->out.d = c->filters;

    int64_t weights = c->filters;
    if (!ir_mul_checked(cx, n, &weights, c->size, "the weight count") ||
        !ir_mul_checked(cx, n, &weights, c->size, "the weight count") ||
        !ir_mul_checked(cx, n, &weights, in->d, "the weight count"))
        return false;
    char formula[128];
    snprintf(formula, sizeof formula, "K*D*F*F = %" PRId64 "*%" PRId64 "*%" PRId64 "*%" PRId64,
             c->filters, in->d, c->size, c->size);
    if (!ir_check_inline(cx, n, &c->weights, weights, "weights", formula) ||
        !ir_check_inline(cx, n, &c->biases, c->filters, "biases", "one per filter"))
        return false;
    n->params = weights;
    if (c->bias && !ir_add_checked(cx, n, &n->params, c->filters, "the parameter count"))
        return false;

    n->macs = weights;
    return ir_mul_checked(cx, n, &n->macs, n->out.w, "the MAC count") &&
           ir_mul_checked(cx, n, &n->macs, n->out.h, "the MAC count");
}
