/* concat: the inputs' channels one after another. */
#include <string.h>

#include "ref.h"

void ref_concat(const IrGraph *g, size_t node, const float *const *xs, float *y, const float *const *p)
{
    (void)p;
    const IrNode *n = &g->nodes[node];
    for (uint32_t k = 0; k < n->ninputs; k++) {
        size_t elems = (size_t)ir_shape_elems(g->nodes[n->inputs[k]].out);
        memcpy(y, xs[k], elems * sizeof *y);
        y += elems;
    }
}
