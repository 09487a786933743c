/* add lowering: y = x0 + x1 + ..., element by element, in the order the
 * inputs were written (float addition is not associative; PyTorch's a + b
 * sums in that order too). */
#include "../ctx.h"

void cg_lower_add(CgCtx *c, size_t node, const LLVMValueRef *xs, LLVMValueRef y, LLVMValueRef table)
{
    (void)table;
    const IrNode *n = &c->g->nodes[node];
    CgLoop l;
    LLVMValueRef i = cg_loop_begin(c, &l, cg_i64(c, 0), cg_i64(c, ir_shape_elems(n->out)), "i");
    LLVMValueRef sum = cg_load(c, xs[0], i);
    for (uint32_t k = 1; k < n->ninputs; k++)
        sum = LLVMBuildFAdd(c->b, sum, cg_load(c, xs[k], i), "");
    cg_store(c, sum, y, i);
    cg_loop_end(c, &l);
}
