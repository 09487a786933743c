/* relu6, leakyrelu, sigmoid and tanh in double with libm, from their
 * definitions (SPEC section 9). NaN goes through each of them, as in
 * PyTorch: every comparison below is false for NaN and keeps x. */
#include <math.h>

#include "ref.h"

static int64_t elems(const IrGraph *g, size_t node)
{
    return ir_shape_elems(g->nodes[node].out);
}

void ref_relu6(const IrGraph *g, size_t node, const float *const *xs, float *y, const float *const *p)
{
    (void)p;
    for (int64_t i = 0; i < elems(g, node); i++) {
        double x = xs[0][i];
        y[i] = (float)(x < 0 ? 0 : x > 6 ? 6 : x);
    }
}

void ref_leakyrelu(const IrGraph *g, size_t node, const float *const *xs, float *y, const float *const *p)
{
    (void)p;
    /* PyTorch multiplies by the slope as a float. */
    double slope = (float)g->nodes[node].attr.leakyrelu.slope;
    for (int64_t i = 0; i < elems(g, node); i++) {
        double x = xs[0][i];
        y[i] = (float)(x > 0 ? x : slope * x);
    }
}

void ref_sigmoid(const IrGraph *g, size_t node, const float *const *xs, float *y, const float *const *p)
{
    (void)p;
    for (int64_t i = 0; i < elems(g, node); i++)
        y[i] = (float)(1 / (1 + exp(-(double)xs[0][i])));
}

void ref_tanh(const IrGraph *g, size_t node, const float *const *xs, float *y, const float *const *p)
{
    (void)p;
    for (int64_t i = 0; i < elems(g, node); i++)
        y[i] = (float)tanh((double)xs[0][i]);
}
