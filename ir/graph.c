/* Building and checking the graph container itself; per-op rules are in ops/. */
#include "ir.h"

#include <string.h>

#include "ops/ops.h"

const IrOpDef *const ir_op_defs[IR_OP_COUNT] = {
#define IR_OP(id, word) [IR_OP_##id] = &ir_op_def_##word,
#include "ops.def"
#undef IR_OP
};

const char *const ir_op_words[IR_OP_COUNT] = {
#define IR_OP(id, word) [IR_OP_##id] = #word,
#include "ops.def"
#undef IR_OP
};

const char *ir_op_word(IrOp op)
{
    IR_ASSERT(op < IR_OP_COUNT);
    return ir_op_words[op];
}

bool ir_op_from_word(const char *word, IrOp *op)
{
    for (int i = 0; i < IR_OP_COUNT; i++) {
        if (strcmp(word, ir_op_words[i]) == 0) {
            *op = (IrOp)i;
            return true;
        }
    }
    return false;
}

IrGraph *ir_graph_new(IrArena *a, const char *name)
{
    IrGraph *g = ir_arena_alloc(a, 1, sizeof *g);
    g->arena = a;
    g->name = name;
    return g;
}

IrNode *ir_graph_add(IrGraph *g, IrOp op)
{
    g->nodes = ir_arena_grow(g->arena, g->nodes, g->count, &g->cap, g->count + 1, sizeof *g->nodes);
    IrNode *n = &g->nodes[g->count++];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->group = -1;
    n->buffer = IR_BUF_FUSED;
    n->scratch = -1;
    return n;
}

void ir_node_set_inputs(IrGraph *g, IrNode *n, const int32_t *inputs, uint32_t count)
{
    n->inputs = count ? ir_arena_alloc(g->arena, count, sizeof *n->inputs) : NULL;
    if (count)
        memcpy(n->inputs, inputs, count * sizeof *inputs);
    n->ninputs = count;
}

int64_t ir_shape_elems(IrShape s)
{
    int64_t wh, whd;
    if (s.w < 0 || s.h < 0 || s.d < 0 || __builtin_mul_overflow(s.w, s.h, &wh) ||
        __builtin_mul_overflow(wh, s.d, &whd))
        return -1;
    return whd;
}

void ir_graph_verify(const IrGraph *g)
{
    IR_ASSERT(g->name != NULL);
    for (size_t i = 0; i < g->count; i++) {
        const IrNode *n = &g->nodes[i];
        IR_ASSERT(n->op < IR_OP_COUNT);
        IR_ASSERT(n->name != NULL);
        IR_ASSERT((n->op == IR_OP_INPUT) == (i == 0));
        const IrOpDef *def = ir_op_defs[n->op];
        IR_ASSERT(n->ninputs >= (uint32_t)def->min_inputs);
        IR_ASSERT(def->max_inputs < 0 || n->ninputs <= (uint32_t)def->max_inputs);
        for (uint32_t k = 0; k < n->ninputs; k++)
            IR_ASSERT(n->inputs[k] >= 0 && (size_t)n->inputs[k] < i); /* topological */
        if (g->shaped) {
            IR_ASSERT(n->out.w >= 1 && n->out.h >= 1 && n->out.d >= 1);
            IR_ASSERT(ir_shape_elems(n->out) > 0);
            IR_ASSERT(n->params >= 0 && n->macs >= 0);
        }
    }
}
