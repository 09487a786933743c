/* Runs a whole graph image by image, each layer into a fresh buffer. */
#include <stdlib.h>
#include <string.h>

#include "ref.h"

typedef void (*RefFn)(const IrGraph *, size_t, const float *const *, float *, const float *const *);
static const RefFn ref_fns[IR_OP_COUNT] = {
#define IR_OP(id, word) [IR_OP_##id] = ref_##word,
#include "ir/ops.def"
#undef IR_OP
};

void ref_run(const IrGraph *g, const IrParam *params, size_t nparams, const float *const *weights,
             const float *input, float *output, size_t batch)
{
    int64_t in_elems = ir_shape_elems(g->nodes[0].out);
    int64_t out_elems = ir_shape_elems(g->nodes[g->count - 1].out);
    float **act = calloc(g->count, sizeof *act);
    IR_ASSERT(act);
    for (size_t b = 0; b < batch; b++) {
        for (size_t i = 0; i < g->count; i++) {
            const IrNode *n = &g->nodes[i];
            act[i] = malloc((size_t)ir_shape_elems(n->out) * sizeof(float));
            IR_ASSERT(act[i]);
            if (i == 0) {
                memcpy(act[0], input + b * (size_t)in_elems, (size_t)in_elems * sizeof(float));
                continue;
            }
            const float *p[IR_ROLE_COUNT] = {0};
            for (size_t k = 0; k < nparams; k++)
                if ((size_t)params[k].node == i)
                    p[params[k].role] = weights[k];
            const float **xs = malloc(n->ninputs * sizeof *xs);
            IR_ASSERT(xs);
            for (uint32_t k = 0; k < n->ninputs; k++)
                xs[k] = act[n->inputs[k]];
            ref_fns[n->op](g, i, xs, act[i], p);
            free(xs);
        }
        memcpy(output + b * (size_t)out_elems, act[g->count - 1], (size_t)out_elems * sizeof(float));
        for (size_t i = 0; i < g->count; i++)
            free(act[i]);
    }
    free(act);
}
