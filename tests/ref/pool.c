/* pool by definition (SPEC sections 1, 9; Fw x Fh windows, a global pool's
 * the whole map): max over the window's cells inside the
 * input, NaN if any is (PyTorch's max_pool2d); avg = the sum of those cells over the window's cell count inside the
 * padded input (PyTorch's count_include_pad, clipped where round=ceil lets the
 * window hang past the padded edge). */
#include <math.h>

#include "ref.h"

void ref_pool(const IrGraph *g, size_t node, const float *const *xs, float *y, const float *const *p)
{
    const float *x = xs[0];
    (void)p;
    const IrNode *n = &g->nodes[node];
    const IrPoolAttr *a = &n->attr.pool;
    IrShape in = g->nodes[n->inputs[0]].out, out = n->out;
    for (int64_t c = 0; c < out.d; c++)
        for (int64_t oy = 0; oy < out.h; oy++)
            for (int64_t ox = 0; ox < out.w; ox++) {
                int64_t y0 = oy * a->stride_h - a->pad_h, x0 = ox * a->stride - a->pad;
                int64_t y1 = y0 + a->size_h, x1 = x0 + a->size;
                int64_t py1 = y1 < in.h + a->pad_h ? y1 : in.h + a->pad_h;
                int64_t px1 = x1 < in.w + a->pad ? x1 : in.w + a->pad;
                double acc = a->mode == IR_POOL_MAX ? -INFINITY : 0.0;
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++) {
                        if (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w)
                            continue;
                        double v = x[(c * in.h + iy) * in.w + ix];
                        if (a->mode == IR_POOL_MAX)
                            acc = v > acc || isnan(v) ? v : acc; /* NaN wins and stays */
                        else
                            acc += v;
                    }
                if (a->mode == IR_POOL_AVG)
                    acc /= (double)((py1 - y0) * (px1 - x0));
                y[(c * out.h + oy) * out.w + ox] = (float)acc;
            }
}
