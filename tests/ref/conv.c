/* conv by definition (SPEC sections 1, 9): with G groups of D1/G channels
 * and dilation R, filter k of group g = k / (K/G) gives
 * y[k][oy][ox] = b[k] + sum over c < D1/G, fy < Fh, fx < Fw of
 * w[k][c][fy][fx] * x[g*D1/G + c][oy*Sh - Ph + fy*Rh][ox*Sw - Pw + fx*Rw],
 * zero outside the input, summed in double. */
#include "ref.h"

void ref_conv(const IrGraph *g, size_t node, const float *const *xs, float *y, const float *const *p)
{
    const float *x = xs[0], *w = p[IR_ROLE_WEIGHT], *b = p[IR_ROLE_BIAS];
    const IrNode *n = &g->nodes[node];
    const IrConvAttr *a = &n->attr.conv;
    IrShape in = g->nodes[n->inputs[0]].out, out = n->out;
    const int64_t Fw = a->size, Fh = a->size_h, C = in.d / a->groups, per = out.d / a->groups;
    for (int64_t k = 0; k < out.d; k++) {
        const int64_t c0 = k / per * C; /* the group's first channel */
        for (int64_t oy = 0; oy < out.h; oy++)
            for (int64_t ox = 0; ox < out.w; ox++) {
                double acc = b ? b[k] : 0.0;
                for (int64_t c = 0; c < C; c++)
                    for (int64_t fy = 0; fy < Fh; fy++)
                        for (int64_t fx = 0; fx < Fw; fx++) {
                            int64_t iy = oy * a->stride_h - a->pad_h + fy * a->dilation_h;
                            int64_t ix = ox * a->stride - a->pad + fx * a->dilation;
                            if (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w)
                                continue;
                            acc += (double)w[((k * C + c) * Fh + fy) * Fw + fx] *
                                   x[((c0 + c) * in.h + iy) * in.w + ix];
                        }
                y[(k * out.h + oy) * out.w + ox] = (float)acc;
            }
    }
}
