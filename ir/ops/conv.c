/* conv: K filters of Fw x Fh x D1/G (SPEC sections 1, 2, 9). Shape by the W2
 * rule in each dimension over the dilated window, D2 = K; params
 * K*(D1/G)*Fw*Fh (+K); MACs W2*H2*K*(D1/G)*Fw*Fh. */
#include <inttypes.h>
#include <stdio.h>

#include "ops.h"

/* groups=G must divide D1 and K, or the groups would not split them evenly;
 * the error shows the division that fails. */
static bool check_groups(IrInfer *cx, const IrNode *n, int64_t depth)
{
    const IrConvAttr *c = &n->attr.conv;
    const char *what = NULL;
    int64_t v = 0;
    if (depth % c->groups) {
        what = "the input's depth D1";
        v = depth;
    } else if (c->filters % c->groups) {
        what = "filters=K";
        v = c->filters;
    }
    if (!what)
        return true;
    ir_diag_error(cx->diag, n->span,
                  "groups=%" PRId64 " does not divide %s = %" PRId64 " (%" PRId64 "/%" PRId64 " = %.4g); "
                  "groups must divide both D1 = %" PRId64 " and K = %" PRId64,
                  c->groups, what, v, v, c->groups, (double)v / (double)c->groups, depth, c->filters);
    return false;
}

static bool infer(IrInfer *cx, IrNode *n, const IrShape *in)
{
    const IrConvAttr *c = &n->attr.conv;
    IrWindow across = {.size = c->size, .stride = c->stride, .pad = c->pad, .dilation = c->dilation, .round = c->round};
    IrWindow down = {.size = c->size_h, .stride = c->stride_h, .pad = c->pad_h, .dilation = c->dilation_h,
                     .round = c->round};
    if (!ir_infer_window(cx, n, *in, across, down, &n->out) || !check_groups(cx, n, in->d))
        return false;
    n->out.d = c->filters;

    const int64_t per_group = in->d / c->groups; /* D1/G channels under each filter */
    int64_t weights = c->filters;
    if (!ir_mul_checked(cx, n, &weights, c->size, "the weight count") ||
        !ir_mul_checked(cx, n, &weights, c->size_h, "the weight count") ||
        !ir_mul_checked(cx, n, &weights, per_group, "the weight count"))
        return false;
    char formula[160];
    if (c->groups == 1 && c->size == c->size_h)
        snprintf(formula, sizeof formula, "K*D*F*F = %" PRId64 "*%" PRId64 "*%" PRId64 "*%" PRId64, c->filters,
                 in->d, c->size, c->size);
    else
        snprintf(formula, sizeof formula, "K*(D/G)*Fh*Fw = %" PRId64 "*(%" PRId64 "/%" PRId64 ")*%" PRId64 "*%" PRId64,
                 c->filters, in->d, c->groups, c->size_h, c->size);
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
    /* PyTorch's layout: [K, D1/G, Fh, Fw]. */
    specs[0] = (IrParamSpec){IR_ROLE_WEIGHT, 4, {c->filters, in->d / c->groups, c->size_h, c->size}, &c->weights};
    specs[1] = (IrParamSpec){IR_ROLE_BIAS, 1, {c->filters}, &c->biases};
    return c->bias ? 2 : 1;
}

static void hyper(const IrNode *n, char *buf, size_t size)
{
    const IrConvAttr *c = &n->attr.conv;
    char f[48], s[48], p[48], r[56] = "", g[40] = "";
    if (c->groups != 1)
        snprintf(g, sizeof g, " G=%" PRId64, c->groups);
    if (c->dilation != 1 || c->dilation_h != 1) {
        char d[48];
        snprintf(r, sizeof r, " R=%s", ir_pair_text(d, sizeof d, c->dilation, c->dilation_h));
    }
    snprintf(buf, size, "K=%" PRId64 " F=%s S=%s P=%s%s%s%s%s%s%s", c->filters,
             ir_pair_text(f, sizeof f, c->size, c->size_h), ir_pair_text(s, sizeof s, c->stride, c->stride_h),
             ir_pair_text(p, sizeof p, c->pad, c->pad_h), g, r, c->bias ? "" : " no-bias", c->round ? " " : "",
             c->round ? ir_round_word(c->round) : "", c->weights.given ? " inline" : "");
}

static void json(const IrNode *n, FILE *out)
{
    const IrConvAttr *c = &n->attr.conv;
    char f[48], s[48], p[48], d[48];
    fprintf(out,
            ", \"filters\": %" PRId64 ", \"size\": %s, \"stride\": %s, \"pad\": %s, \"groups\": %" PRId64
            ", \"dilation\": %s, \"bias\": %s, \"round\": \"%s\", \"inline_weights\": %s",
            c->filters, ir_pair_json(f, sizeof f, c->size, c->size_h), ir_pair_json(s, sizeof s, c->stride, c->stride_h),
            ir_pair_json(p, sizeof p, c->pad, c->pad_h), c->groups, ir_pair_json(d, sizeof d, c->dilation, c->dilation_h),
            c->bias ? "true" : "false", ir_round_word(c->round), c->weights.given ? "true" : "false");
}

const IrOpDef ir_op_def_conv = {
    .min_inputs = 1, .max_inputs = 1, .infer = infer, .params = params, .hyper = hyper, .json = json};
