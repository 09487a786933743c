/* fc K: every output sees the whole input, flattened as C, H, W (SPEC section 1).
 * Output 1x1xK; params N*K (+K), N = W1*H1*D1; MACs N*K. */
#include <inttypes.h>
#include <stdio.h>

#include "ops.h"

static bool infer(IrInfer *cx, IrNode *n, const IrShape *in)
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

static int params(const IrGraph *g, const IrNode *n, IrParamSpec *specs)
{
    const IrFcAttr *f = &n->attr.fc;
    specs[0] = (IrParamSpec){IR_ROLE_WEIGHT, 2, {f->outputs, ir_shape_elems(g->nodes[n->inputs[0]].out)}, &f->weights};
    specs[1] = (IrParamSpec){IR_ROLE_BIAS, 1, {f->outputs}, &f->biases};
    return f->bias ? 2 : 1;
}

static void hyper(const IrNode *n, char *buf, size_t size)
{
    const IrFcAttr *f = &n->attr.fc;
    snprintf(buf, size, "K=%" PRId64 "%s%s", f->outputs, f->bias ? "" : " no-bias", f->weights.given ? " inline" : "");
}

static void json(const IrNode *n, FILE *out)
{
    const IrFcAttr *f = &n->attr.fc;
    fprintf(out, ", \"outputs\": %" PRId64 ", \"bias\": %s, \"inline_weights\": %s", f->outputs,
            f->bias ? "true" : "false", f->weights.given ? "true" : "false");
}

const IrOpDef ir_op_def_fc = {
    .min_inputs = 1, .max_inputs = 1, .infer = infer, .params = params, .hyper = hyper, .json = json};
