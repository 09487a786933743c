/* Listing parameter tensors in PyTorch's layout, one place for the names and
 * shapes that weights files, embedding and run-time loading all agree on. */
#include "params.h"

static IrParam *push(IrArena *a, IrParam **v, size_t *n, size_t *cap)
{
    *v = ir_arena_grow(a, *v, *n, cap, *n + 1, sizeof **v);
    return &(*v)[(*n)++];
}

static void add_pair(const IrGraph *g, IrArena *a, size_t i, IrParam **v, size_t *n, size_t *cap,
                     const int64_t *shape, int32_t rank, bool bias, const IrParamList *w,
                     const IrParamList *b)
{
    const IrNode *node = &g->nodes[i];
    IrParam *p = push(a, v, n, cap);
    p->name = ir_arena_printf(a, "%s.weight", node->name);
    p->node = (int32_t)i;
    p->rank = rank;
    p->count = 1;
    for (int32_t k = 0; k < rank; k++) {
        p->shape[k] = shape[k];
        p->count *= shape[k]; /* bounded by the shape check's overflow tests */
    }
    p->inline_data = w->given ? w->data : NULL;
    if (!bias)
        return;
    IrParam *q = push(a, v, n, cap);
    q->name = ir_arena_printf(a, "%s.bias", node->name);
    q->node = (int32_t)i;
    q->is_bias = true;
    q->rank = 1;
    q->shape[0] = shape[0];
    q->count = shape[0];
    q->inline_data = b->given ? b->data : NULL;
}

IrParam *ir_graph_params(const IrGraph *g, IrArena *a, size_t *count)
{
    IR_ASSERT(g->shaped);
    IrParam *v = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < g->count; i++) {
        const IrNode *node = &g->nodes[i];
        if (node->op == IR_OP_CONV) {
            const IrConvAttr *c = &node->attr.conv;
            const IrShape *in = &g->nodes[node->inputs[0]].out;
            int64_t shape[4] = {c->filters, in->d, c->size, c->size};
            add_pair(g, a, i, &v, &n, &cap, shape, 4, c->bias, &c->weights, &c->biases);
        } else if (node->op == IR_OP_FC) {
            const IrFcAttr *f = &node->attr.fc;
            int64_t shape[4] = {f->outputs, ir_shape_elems(g->nodes[node->inputs[0]].out), 0, 0};
            add_pair(g, a, i, &v, &n, &cap, shape, 2, f->bias, &f->weights, &f->biases);
        }
    }
    *count = n;
    return v;
}
