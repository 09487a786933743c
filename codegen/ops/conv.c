/* conv lowering, the naive path (SPEC section 1): for every output cell, the
 * bias plus the dot product of the F x F x D1 window with one filter. The
 * window's rows and columns are clipped to the input instead of testing every
 * tap, so zero padding (and round=ceil's overhang) costs nothing. */
#include "../ctx.h"

/* Taps [lo, hi) of a window starting at o*S - P that fall inside [0, in). */
static void tap_range(CgCtx *c, LLVMValueRef o, int64_t stride, int64_t pad, int64_t size,
                      int64_t in, LLVMValueRef *lo, LLVMValueRef *hi, LLVMValueRef *start)
{
    *start = cg_sub(c, cg_mul(c, o, cg_i64(c, stride)), cg_i64(c, pad));
    *lo = cg_smax(c, cg_i64(c, 0), cg_sub(c, cg_i64(c, 0), *start));
    *hi = cg_smin(c, cg_i64(c, size), cg_sub(c, cg_i64(c, in), *start));
}

void cg_lower_conv(CgCtx *c, size_t node, LLVMValueRef x, LLVMValueRef y, LLVMValueRef table)
{
    const IrNode *n = &c->g->nodes[node];
    const IrConvAttr *a = &n->attr.conv;
    const IrShape in = c->g->nodes[n->inputs[0]].out, out = n->out;
    LLVMValueRef w = cg_param(c, table, cg_param_index(c, node, false));
    LLVMValueRef bias = a->bias ? cg_param(c, table, cg_param_index(c, node, true)) : NULL;
    LLVMValueRef acc = cg_var(c, "acc");

    CgLoop lk, ly, lx, lc, lfy, lfx;
    LLVMValueRef k = cg_loop_begin(c, &lk, cg_i64(c, 0), cg_i64(c, out.d), "k");
    LLVMValueRef oy = cg_loop_begin(c, &ly, cg_i64(c, 0), cg_i64(c, out.h), "oy");
    LLVMValueRef fy_lo, fy_hi, iy0;
    tap_range(c, oy, a->stride, a->pad, a->size, in.h, &fy_lo, &fy_hi, &iy0);
    LLVMValueRef ox = cg_loop_begin(c, &lx, cg_i64(c, 0), cg_i64(c, out.w), "ox");
    LLVMValueRef fx_lo, fx_hi, ix0;
    tap_range(c, ox, a->stride, a->pad, a->size, in.w, &fx_lo, &fx_hi, &ix0);
    LLVMBuildStore(c->b, bias ? cg_load(c, bias, k) : cg_f32(c, 0), acc);

    LLVMValueRef ch = cg_loop_begin(c, &lc, cg_i64(c, 0), cg_i64(c, in.d), "c");
    LLVMValueRef fy = cg_loop_begin(c, &lfy, fy_lo, fy_hi, "fy");
    /* x[c][iy0 + fy][.], w[k][c][fy][.] */
    LLVMValueRef xrow = cg_mul(c, cg_add(c, cg_mul(c, ch, cg_i64(c, in.h)), cg_add(c, iy0, fy)),
                               cg_i64(c, in.w));
    LLVMValueRef wrow = cg_mul(c, cg_add(c, cg_mul(c, cg_add(c, cg_mul(c, k, cg_i64(c, in.d)), ch),
                                                   cg_i64(c, a->size)),
                                         fy),
                               cg_i64(c, a->size));
    LLVMValueRef fx = cg_loop_begin(c, &lfx, fx_lo, fx_hi, "fx");
    LLVMValueRef xv = cg_load(c, x, cg_add(c, xrow, cg_add(c, ix0, fx)));
    LLVMValueRef wv = cg_load(c, w, cg_add(c, wrow, fx));
    LLVMValueRef sum = LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->f32, acc, ""),
                                     LLVMBuildFMul(c->b, xv, wv, ""), "");
    LLVMBuildStore(c->b, sum, acc);
    cg_loop_end(c, &lfx);
    cg_loop_end(c, &lfy);
    cg_loop_end(c, &lc);

    LLVMValueRef at = cg_add(c, cg_mul(c, cg_add(c, cg_mul(c, k, cg_i64(c, out.h)), oy), cg_i64(c, out.w)), ox);
    cg_store(c, LLVMBuildLoad2(c->b, c->f32, acc, ""), y, at);
    cg_loop_end(c, &lx);
    cg_loop_end(c, &ly);
    cg_loop_end(c, &lk);
}
