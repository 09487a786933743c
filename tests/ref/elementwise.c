/* relu, softmax over D at every (x, y), and the identities (dropout at
 * inference, flatten in C, H, W order). */
#include <math.h>
#include <string.h>

#include "ref.h"

void ref_input(const IrGraph *g, size_t node, const float *const *xs, float *y, const float *const *p)
{
    (void)p;
    memcpy(y, xs[0], (size_t)ir_shape_elems(g->nodes[node].out) * sizeof *y);
}

void ref_relu(const IrGraph *g, size_t node, const float *const *xs, float *y, const float *const *p)
{
    const float *x = xs[0];
    (void)p;
    int64_t n = ir_shape_elems(g->nodes[node].out);
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] < 0 ? 0.0f : x[i]; /* NaN stays NaN, as in PyTorch */
}

void ref_dropout(const IrGraph *g, size_t node, const float *const *xs, float *y, const float *const *p)
{
    ref_input(g, node, xs, y, p);
}

void ref_flatten(const IrGraph *g, size_t node, const float *const *xs, float *y, const float *const *p)
{
    ref_input(g, node, xs, y, p);
}

void ref_softmax(const IrGraph *g, size_t node, const float *const *xs, float *y, const float *const *params)
{
    const float *x = xs[0];
    (void)params;
    IrShape s = g->nodes[node].out;
    int64_t plane = s.w * s.h;
    for (int64_t p = 0; p < plane; p++) {
        double m = -INFINITY, sum = 0;
        for (int64_t c = 0; c < s.d; c++)
            m = fmax(m, x[c * plane + p]);
        for (int64_t c = 0; c < s.d; c++)
            sum += exp(x[c * plane + p] - m);
        for (int64_t c = 0; c < s.d; c++)
            y[c * plane + p] = (float)(exp(x[c * plane + p] - m) / sum);
    }
}
