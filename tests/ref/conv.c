/* conv by definition: y[k][oy][ox] = b[k] + sum over c, fy, fx of
 * w[k][c][fy][fx] * x[c][oy*S - P + fy][ox*S - P + fx], zero outside the input. */
#include "ref.h"

void ref_conv(const IrGraph *g, size_t node, const float *const *xs, float *y, const float *const *p)
{
    const float *x = xs[0], *w = p[IR_ROLE_WEIGHT], *b = p[IR_ROLE_BIAS];
    const IrNode *n = &g->nodes[node];
    const IrConvAttr *a = &n->attr.conv;
    IrShape in = g->nodes[n->inputs[0]].out, out = n->out;
    int64_t F = a->size;
    for (int64_t k = 0; k < out.d; k++)
        for (int64_t oy = 0; oy < out.h; oy++)
            for (int64_t ox = 0; ox < out.w; ox++) {
                double acc = b ? b[k] : 0.0;
                for (int64_t c = 0; c < in.d; c++)
                    for (int64_t fy = 0; fy < F; fy++)
                        for (int64_t fx = 0; fx < F; fx++) {
                            int64_t iy = oy * a->stride - a->pad + fy, ix = ox * a->stride - a->pad + fx;
                            if (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w)
                                continue;
                            acc += (double)w[((k * in.d + c) * F + fy) * F + fx] *
                                   x[(c * in.h + iy) * in.w + ix];
                        }
                y[(k * out.h + oy) * out.w + ox] = (float)acc;
            }
}
