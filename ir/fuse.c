/* Operator fusion (issue: speed). A conv's bias and activation (relu,
 * relu6 or leakyrelu) are applied as each output value is made, and a
 * following max pool takes the maximum of those values as they come, so
 * the unpooled map is never written: for VGG-16 that is most of the
 * activation traffic. fc + activation likewise. Softmax, sigmoid and tanh
 * (not fused so far), activations after other ops, dropout and flatten run
 * in place (ir/plan.c), not here.
 *
 * A batchnorm right after a conv joins the conv's group and is folded into
 * its weight and bias (cnnrt_fold, runtime/cnnrt.h): conv + batchnorm +
 * relu + pool is one kernel, and the batchnorm costs nothing at run time
 * (SPEC section 9). Not when the conv's weights are inline: those are fixed,
 * while a program's --weights may replace the batchnorm's tensors, and the
 * embedded conv weight cannot be both the written one and the folded one.
 *
 * Pools whose windows neither overlap nor take padding are fused. So is
 * any pool after a conv of stride 2 to 4 (the stems of ResNet, SqueezeNet
 * and GoogLeNet): the kernel keeps the conv rows that pooled rows share in
 * a ring of rows (codegen/ops/conv.c), makes each row once a tile, and
 * clips windows to the map. After a stride-1 conv such a pool stands alone,
 * since the conv may run as Winograd, which pools only 2 x 2 windows
 * inside the map and is worth more than the pool's own pass (GoogLeNet's
 * conv3). The pool must be square
 * and the conv plain (ir_conv_plain): the kernels that make a pool's rows
 * as they go take one F and S; a grouped or dilated conv's kernel makes
 * vectors of output columns, and the pool after it is vectors of its own. */
#include "fuse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Node j consumes node i's output and nothing else does (readers[i] counts
 * the nodes that read i, computed once: a scan per pair would make a long
 * network quadratic). */
static bool sole_consumer(const IrGraph *g, const uint32_t *readers, size_t i, size_t j)
{
    return j < g->count && g->nodes[j].ninputs == 1 && g->nodes[j].inputs[0] == (int32_t)i && readers[i] == 1;
}

static bool fusable_pool(const IrNode *conv, const IrNode *n)
{
    const IrPoolAttr *p = &n->attr.pool;
    return n->op == IR_OP_POOL && ir_conv_plain(&conv->attr.conv) && ir_pool_square(p) && p->mode == IR_POOL_MAX &&
           ((p->stride >= p->size && p->pad == 0) || (conv->attr.conv.stride >= 2 && conv->attr.conv.stride <= 4));
}

/* Node j is an add of node i's output (its only reader) and one other
 * layer's: a residual connection the conv kernel can sum as it finishes. */
static bool residual_add(const IrGraph *g, const uint32_t *readers, size_t i, size_t j)
{
    if (j >= g->count || g->nodes[j].op != IR_OP_ADD || g->nodes[j].ninputs != 2 || readers[i] != 1)
        return false;
    const int32_t *in = g->nodes[j].inputs;
    return (in[0] == (int32_t)i) != (in[1] == (int32_t)i);
}

bool ir_fusable_act(const IrNode *n)
{
    return n->op == IR_OP_RELU || n->op == IR_OP_RELU6 || n->op == IR_OP_LEAKYRELU;
}

void ir_graph_fuse(IrGraph *g)
{
    IR_ASSERT(g->shaped);
    uint32_t *readers = calloc(g->count, sizeof *readers);
    IR_ASSERT(readers);
    for (size_t i = 0; i < g->count; i++) {
        g->nodes[i].group = -1;
        for (uint32_t t = 0; t < g->nodes[i].ninputs; t++)
            readers[g->nodes[i].inputs[t]]++;
    }
    for (size_t i = 0; i < g->count; i++) {
        IrOp op = g->nodes[i].op;
        if (op != IR_OP_CONV && op != IR_OP_FC)
            continue;
        size_t tail = i;
        if (ir_fold_batchnorm(g, i) && sole_consumer(g, readers, tail, tail + 1) &&
            g->nodes[tail + 1].op == IR_OP_BATCHNORM)
            tail++;
        /* conv + batchnorm + add + relu, ResNet's block end: the add and
         * the activation after it run in the conv's kernel; no pool then. */
        bool added = op == IR_OP_CONV && residual_add(g, readers, tail, tail + 1);
        if (added)
            tail++;
        if (sole_consumer(g, readers, tail, tail + 1) && ir_fusable_act(&g->nodes[tail + 1]))
            tail++;
        if (op == IR_OP_CONV && !added && sole_consumer(g, readers, tail, tail + 1) &&
            fusable_pool(&g->nodes[i], &g->nodes[tail + 1]))
            tail++;
        if (tail == i)
            continue;
        for (size_t k = i; k <= tail; k++)
            g->nodes[k].group = (int32_t)i;
        i = tail;
    }
    free(readers);
    g->planned = false;
}

bool ir_fold_batchnorm(const IrGraph *g, size_t i)
{
    const IrNode *n = &g->nodes[i];
    return n->op == IR_OP_CONV && !n->attr.conv.weights.given && !n->attr.conv.biases.given;
}

int64_t ir_group_find(const IrGraph *g, size_t i, IrOp op)
{
    for (size_t k = i, tail = ir_group_tail(g, i); k <= tail; k++)
        if (g->nodes[k].op == op)
            return (int64_t)k;
    return -1;
}

size_t ir_group_tail(const IrGraph *g, size_t i)
{
    int32_t grp = g->nodes[i].group;
    if (grp < 0)
        return i;
    while (i + 1 < g->count && g->nodes[i + 1].group == grp)
        i++;
    return i;
}

const char *ir_group_label(const IrGraph *g, size_t i)
{
    size_t tail = ir_group_tail(g, i), len = 1;
    for (size_t k = i; k <= tail; k++)
        len += strlen(g->nodes[k].name) + 3;
    char *label = ir_arena_alloc(g->arena, len, 1), *at = label;
    for (size_t k = i; k <= tail; k++)
        at += sprintf(at, "%s%s", k > i ? " + " : "", g->nodes[k].name);
    return label;
}

size_t ir_graph_group_count(const IrGraph *g)
{
    size_t n = 0;
    for (size_t i = 0; i < g->count; i++)
        n += g->nodes[i].group == (int32_t)i;
    return n;
}

uint32_t ir_group_inputs(const IrGraph *g, size_t i, int32_t *out, uint32_t max)
{
    uint32_t n = 0;
    size_t tail = ir_group_tail(g, i);
    for (size_t k = i; k <= tail; k++)
        for (uint32_t t = 0; t < g->nodes[k].ninputs; t++) {
            int32_t in = g->nodes[k].inputs[t];
            if (k > i && in >= (int32_t)i)
                continue; /* made inside the group */
            if (n < max)
                out[n] = in;
            n++;
        }
    return n;
}
