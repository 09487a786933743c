/* batchnorm [eps=1e-5]: inference batch norm per channel (SPEC section 9),
 * y = (x - running_mean) / sqrt(running_var + eps) * weight + bias. Keeps the
 * shape; params 2 x D (weight and bias, as PyTorch counts them), MACs 0. It
 * reads four tensors of [D]: the two running statistics are not parameters
 * but still weigh in weights_bytes, which infer.c sums from the tensors
 * listed here. ir/fuse.c folds it into the conv before it when it can. */
#include <inttypes.h>
#include <stdio.h>

#include "ops.h"

static bool infer(IrInfer *cx, IrNode *n, const IrShape *in)
{
    n->out = in[0];
    n->params = in[0].d;
    return ir_mul_checked(cx, n, &n->params, 2, "the parameter count");
}

static int params(const IrGraph *g, const IrNode *n, IrParamSpec *specs)
{
    int64_t D = g->nodes[n->inputs[0]].out.d;
    static const IrParamRole roles[4] = {IR_ROLE_WEIGHT, IR_ROLE_BIAS, IR_ROLE_RUNNING_MEAN, IR_ROLE_RUNNING_VAR};
    for (int k = 0; k < 4; k++)
        specs[k] = (IrParamSpec){roles[k], 1, {D}, NULL};
    return 4;
}

static void hyper(const IrNode *n, char *buf, size_t size)
{
    snprintf(buf, size, "eps=%g", n->attr.batchnorm.eps);
}

static void json(const IrNode *n, FILE *out)
{
    fprintf(out, ", \"eps\": %.9g", n->attr.batchnorm.eps);
}

const IrOpDef ir_op_def_batchnorm = {.min_inputs = 1,
                                     .max_inputs = 1,
                                     .in_place = true,
                                     .infer = infer,
                                     .params = params,
                                     .hyper = hyper,
                                     .json = json};
