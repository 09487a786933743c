/* fc by definition: y[k] = b[k] + sum_n W[k][n] x[n], x flattened C, H, W. */
#include "ref.h"

void ref_fc(const IrGraph *g, size_t node, const float *const *xs, float *y, const float *const *p)
{
    const float *x = xs[0], *w = p[IR_ROLE_WEIGHT], *b = p[IR_ROLE_BIAS];
    const IrNode *n = &g->nodes[node];
    int64_t inputs = ir_shape_elems(g->nodes[n->inputs[0]].out);
    for (int64_t k = 0; k < n->attr.fc.outputs; k++) {
        double acc = b ? b[k] : 0.0;
        for (int64_t i = 0; i < inputs; i++)
            acc += (double)w[k * inputs + i] * x[i];
        y[k] = (float)acc;
    }
}
