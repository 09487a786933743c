/* Runs a whole graph image by image, each layer into a fresh buffer. */
#include <stdlib.h>
#include <string.h>

#include "ref.h"

typedef void (*RefFn)(const IrGraph *, size_t, const float *, float *, const float *, const float *);
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
            const float *w = NULL, *bias = NULL;
            for (size_t p = 0; p < nparams; p++) {
                if ((size_t)params[p].node != i)
                    continue;
                if (params[p].is_bias)
                    bias = weights[p];
                else
                    w = weights[p];
            }
            ref_fns[n->op](g, i, act[n->inputs[0]], act[i], w, bias);
        }
        memcpy(output + b * (size_t)out_elems, act[g->count - 1], (size_t)out_elems * sizeof(float));
        for (size_t i = 0; i < g->count; i++)
            free(act[i]);
    }
    free(act);
}
