/* fc lowering (SPEC section 1): y[k] = b[k] + sum_n W[k][n] x[n], with x read
 * in its C, H, W order -- the same flatten order as PyTorch's; and the relu
 * fused after it, if any. */
#include "../ctx.h"

void cg_lower_fc(CgCtx *c, size_t node, LLVMValueRef x, LLVMValueRef y, LLVMValueRef table)
{
    const IrNode *n = &c->g->nodes[node];
    const IrFcAttr *a = &n->attr.fc;
    int64_t inputs = ir_shape_elems(c->g->nodes[n->inputs[0]].out);
    LLVMValueRef w = cg_param(c, table, cg_param_index(c, node, false));
    LLVMValueRef bias = a->bias ? cg_param(c, table, cg_param_index(c, node, true)) : NULL;
    LLVMValueRef acc = cg_var(c, "acc");

    CgLoop lk, ln;
    LLVMValueRef k = cg_loop_begin(c, &lk, cg_i64(c, 0), cg_i64(c, a->outputs), "k");
    LLVMBuildStore(c->b, bias ? cg_load(c, bias, k) : cg_f32(c, 0), acc);
    LLVMValueRef row = cg_mul(c, k, cg_i64(c, inputs));
    LLVMValueRef i = cg_loop_begin(c, &ln, cg_i64(c, 0), cg_i64(c, inputs), "n");
    LLVMValueRef prod = LLVMBuildFMul(c->b, cg_load(c, w, cg_add(c, row, i)), cg_load(c, x, i), "");
    LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->f32, acc, ""), prod, ""), acc);
    cg_loop_end(c, &ln);
    LLVMValueRef v = LLVMBuildLoad2(c->b, c->f32, acc, "");
    /* Fused (ir/fuse.c): a relu after the fc is applied before the store. */
    if (ir_group_tail(c->g, node) != node)
        v = cg_relu(c, v);
    cg_store(c, v, y, k);
    cg_loop_end(c, &lk);
}
