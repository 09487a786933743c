/* conv: K filters of F x F x D1 (SPEC sections 1, 2). Shape by the W2 rule,
 * D2 = K; params K*F*F*D1 (+K); MACs W2*H2*K*F*F*D1. */
#include <inttypes.h>
#include <stdio.h>

#include "ops.h"

static bool infer(IrInfer *cx, IrNode *n, const IrShape *in)
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

static int params(const IrGraph *g, const IrNode *n, IrParamSpec *specs)
{
    const IrConvAttr *c = &n->attr.conv;
    const IrShape *in = &g->nodes[n->inputs[0]].out;
    specs[0] = (IrParamSpec){IR_ROLE_WEIGHT, 4, {c->filters, in->d, c->size, c->size}, &c->weights};
    specs[1] = (IrParamSpec){IR_ROLE_BIAS, 1, {c->filters}, &c->biases};
    return c->bias ? 2 : 1;
}

static void hyper(const IrNode *n, char *buf, size_t size)
{
    const IrConvAttr *c = &n->attr.conv;
    snprintf(buf, size, "K=%" PRId64 " F=%" PRId64 " S=%" PRId64 " P=%" PRId64 "%s%s%s%s", c->filters, c->size,
             c->stride, c->pad, c->bias ? "" : " no-bias", c->round ? " " : "", c->round ? ir_round_word(c->round) : "",
             c->weights.given ? " inline" : "");
}

static void json(const IrNode *n, FILE *out)
{
    const IrConvAttr *c = &n->attr.conv;
    fprintf(out,
            ", \"filters\": %" PRId64 ", \"size\": %" PRId64 ", \"stride\": %" PRId64 ", \"pad\": %" PRId64
            ", \"bias\": %s, \"round\": \"%s\", \"inline_weights\": %s",
            c->filters, c->size, c->stride, c->pad, c->bias ? "true" : "false", ir_round_word(c->round),
            c->weights.given ? "true" : "false");
}

const IrOpDef ir_op_def_conv = {
    .min_inputs = 1, .max_inputs = 1, .infer = infer, .params = params, .hyper = hyper, .json = json};
