/* Operator fusion (issue: speed). A conv's bias and relu are applied as each
 * output value is made, and a following max pool takes the maximum of those
 * values as they come, so the unpooled map is never written: for VGG-16 that
 * is most of the activation traffic. fc + relu likewise. Softmax, relu on its
 * own, dropout and flatten run in place (ir/plan.c), not here.
 *
 * Only pools whose windows tile the conv's output without overlap (stride >=
 * size, no padding) are fused: an overlapping pool would make the fused
 * kernel compute shared conv values more than once. The pool must be square
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
           p->stride >= p->size && p->pad == 0;
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
        if (sole_consumer(g, readers, tail, tail + 1) && g->nodes[tail + 1].op == IR_OP_RELU)
            tail++;
        if (op == IR_OP_CONV && sole_consumer(g, readers, tail, tail + 1) && fusable_pool(&g->nodes[i], &g->nodes[tail + 1]))
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
