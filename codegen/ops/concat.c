/* concat lowering: each input's D_k x H x W floats copied after the ones
 * before, which in D x H x W order is stacking along depth -- except the
 * inputs the plan placed in their slice of the output already (ir/plan.h,
 * ir_concat_offset), which cost nothing. */
#include "../ctx.h"

void cg_lower_concat(CgCtx *c, size_t node, const LLVMValueRef *xs, LLVMValueRef y, LLVMValueRef table)
{
    (void)table;
    const IrGraph *g = c->g;
    const IrNode *n = &g->nodes[node];
    int64_t at = 0;
    for (uint32_t k = 0; k < n->ninputs; k++) {
        const IrNode *in = &g->nodes[n->inputs[k]];
        int64_t elems = ir_shape_elems(in->out);
        bool placed = n->buffer >= 0 && in->buffer == n->buffer + ir_concat_offset(g, node, (size_t)n->inputs[k]);
        if (!placed)
            LLVMBuildMemCpy(c->b, cg_at(c, y, cg_i64(c, at)), 4, xs[k], 4, cg_i64(c, elems * 4));
        at += elems;
    }
}
