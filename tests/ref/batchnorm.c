/* batchnorm: the SPEC's formula as written, per channel, in double; never
 * folded, so the differential test checks folded and unfolded code alike. */
#include <math.h>

#include "ref.h"

void ref_batchnorm(const IrGraph *g, size_t node, const float *const *xs, float *y, const float *const *p)
{
    const IrNode *n = &g->nodes[node];
    const int64_t plane = n->out.w * n->out.h;
    const double eps = n->attr.batchnorm.eps;
    const float *gamma = p[IR_ROLE_WEIGHT], *beta = p[IR_ROLE_BIAS];
    const float *mean = p[IR_ROLE_RUNNING_MEAN], *var = p[IR_ROLE_RUNNING_VAR];
    for (int64_t d = 0; d < n->out.d; d++)
        for (int64_t i = 0; i < plane; i++) {
            double x = xs[0][d * plane + i];
            y[d * plane + i] = (float)((x - mean[d]) / sqrt((double)var[d] + eps) * gamma[d] + beta[d]);
        }
}
