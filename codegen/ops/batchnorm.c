/* batchnorm lowering, for a batch norm that stands alone (ir/fuse.c folds
 * the others into the conv before them, codegen/ops/conv.c): per channel d,
 * s = weight / sqrt(running_var + eps), then y = (x - running_mean) * s +
 * bias over the channel's W x H values, in vectors of the target's width
 * and the rest one by one. The scale is made from the table at run time,
 * so weights read by a program with --weights need no preparation. It may
 * run in place (x == y): each value is read before it is written. */
#include "../ctx.h"

/* sqrt in float: llvm.sqrt.f32 is one instruction wherever floats have
 * hardware; f64 would call libm on single-precision FPUs (Cortex-M4). */
static LLVMValueRef sqrt_f32(CgCtx *c, LLVMValueRef x)
{
    unsigned id = LLVMLookupIntrinsicID("llvm.sqrt", 9);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(c->mod, id, &c->f32, 1);
    LLVMTypeRef ft = LLVMIntrinsicGetType(c->ctx, id, &c->f32, 1);
    return LLVMBuildCall2(c->b, ft, fn, &x, 1, "");
}

void cg_lower_batchnorm(CgCtx *c, size_t node, const LLVMValueRef *xs, LLVMValueRef y, LLVMValueRef table)
{
    const IrNode *n = &c->g->nodes[node];
    const int64_t plane = n->out.w * n->out.h; /* W x H */
    LLVMValueRef gamma = cg_param(c, table, cg_param_index(c, node, IR_ROLE_WEIGHT));
    LLVMValueRef beta = cg_param(c, table, cg_param_index(c, node, IR_ROLE_BIAS));
    LLVMValueRef mean = cg_param(c, table, cg_param_index(c, node, IR_ROLE_RUNNING_MEAN));
    LLVMValueRef var = cg_param(c, table, cg_param_index(c, node, IR_ROLE_RUNNING_VAR));
    const int v = c->opt_level > 0 && c->vec_width > 1 ? c->vec_width : 1;
    const int64_t whole = v > 1 ? plane / v * v : 0; /* values done in vectors */

    CgLoop ld, lv, ls;
    LLVMValueRef d = cg_loop_begin(c, &ld, cg_i64(c, 0), cg_i64(c, n->out.d), "d");
    LLVMValueRef root = sqrt_f32(c, LLVMBuildFAdd(c->b, cg_load(c, var, d), cg_f32(c, n->attr.batchnorm.eps), ""));
    LLVMValueRef s = LLVMBuildFDiv(c->b, cg_load(c, gamma, d), root, "scale");
    LLVMValueRef m = cg_load(c, mean, d), b = cg_load(c, beta, d);
    LLVMValueRef base = cg_mul(c, d, cg_i64(c, plane));
    if (whole > 0) {
        LLVMValueRef sv = cg_splat(c, v, s), mv = cg_splat(c, v, m), bv = cg_splat(c, v, b);
        LLVMValueRef q = cg_loop_begin(c, &lv, cg_i64(c, 0), cg_i64(c, whole / v), "q");
        LLVMValueRef at = cg_add(c, base, cg_mul(c, q, cg_i64(c, v)));
        LLVMValueRef x = LLVMBuildFSub(c->b, cg_vload(c, v, xs[0], at), mv, "");
        cg_vstore(c, cg_fma(c, x, sv, bv), y, at);
        cg_loop_end(c, &lv);
    }
    if (whole < plane) {
        LLVMValueRef i = cg_loop_begin(c, &ls, cg_i64(c, whole), cg_i64(c, plane), "i");
        LLVMValueRef at = cg_add(c, base, i);
        cg_store(c, cg_fma(c, LLVMBuildFSub(c->b, cg_load(c, xs[0], at), m, ""), s, b), y, at);
        cg_loop_end(c, &ls);
    }
    cg_loop_end(c, &ld);
}
