/* Listing parameter tensors in PyTorch's layout, one place for the names and
 * shapes that weights files, embedding and run-time loading all agree on. */
#include "params.h"

const char *const ir_role_words[IR_ROLE_COUNT] = {
    [IR_ROLE_WEIGHT] = "weight",
    [IR_ROLE_BIAS] = "bias",
    [IR_ROLE_RUNNING_MEAN] = "running_mean",
    [IR_ROLE_RUNNING_VAR] = "running_var",
};

IrParam *ir_graph_params(const IrGraph *g, IrArena *a, size_t *count)
{
    IR_ASSERT(g->shaped);
    IrParam *v = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < g->count; i++) {
        const IrNode *node = &g->nodes[i];
        const IrOpDef *def = ir_op_defs[node->op];
        if (!def->params)
            continue;
        IrParamSpec specs[IR_ROLE_COUNT];
        int ns = def->params(g, node, specs);
        IR_ASSERT(ns >= 0 && ns <= IR_ROLE_COUNT);
        for (int s = 0; s < ns; s++) {
            v = ir_arena_grow(a, v, n, &cap, n + 1, sizeof *v);
            IrParam *p = &v[n++];
            *p = (IrParam){.node = (int32_t)i, .role = specs[s].role, .rank = specs[s].rank, .count = 1};
            p->name = ir_arena_printf(a, "%s.%s", node->name, ir_role_words[specs[s].role]);
            for (int32_t k = 0; k < p->rank; k++) {
                p->shape[k] = specs[s].shape[k];
                p->count *= specs[s].shape[k]; /* bounded by the shape check's overflow tests */
            }
            p->inline_data = specs[s].given && specs[s].given->given ? specs[s].given->data : NULL;
        }
    }
    *count = n;
    return v;
}

int64_t ir_param_find(const IrParam *params, size_t nparams, size_t node, IrParamRole role)
{
    for (size_t i = 0; i < nparams; i++)
        if ((size_t)params[i].node == node && params[i].role == role)
            return (int64_t)i;
    return -1;
}
