/* pool lowering (SPEC section 1): max over the window's cells inside the input
 * (padding never wins), or avg dividing by the window's cells inside the padded
 * input -- F*F except where round=ceil lets a window hang past the padded edge,
 * as PyTorch's count_include_pad does. */
#include <math.h>

#include "../ctx.h"

typedef struct Window {
    LLVMValueRef lo, hi; /* cells [lo, hi) inside the input */
    LLVMValueRef span;   /* cells inside the padded input, for avg */
} Window;

static Window window(CgCtx *c, LLVMValueRef o, const IrPoolAttr *a, int64_t in)
{
    Window w;
    LLVMValueRef start = cg_sub(c, cg_mul(c, o, cg_i64(c, a->stride)), cg_i64(c, a->pad));
    LLVMValueRef end = cg_add(c, start, cg_i64(c, a->size));
    LLVMValueRef padded_end = cg_smin(c, end, cg_i64(c, in + a->pad));
    w.span = cg_sub(c, padded_end, start);
    w.lo = cg_smax(c, start, cg_i64(c, 0));
    w.hi = cg_smin(c, end, cg_i64(c, in));
    return w;
}

void cg_lower_pool(CgCtx *c, size_t node, LLVMValueRef x, LLVMValueRef y, LLVMValueRef table)
{
    (void)table;
    const IrNode *n = &c->g->nodes[node];
    const IrPoolAttr *a = &n->attr.pool;
    const IrShape in = c->g->nodes[n->inputs[0]].out, out = n->out;
    bool is_max = a->mode == IR_POOL_MAX;
    LLVMValueRef acc = cg_var(c, "acc");

    CgLoop lc, ly, lx, lwy, lwx;
    LLVMValueRef ch = cg_loop_begin(c, &lc, cg_i64(c, 0), cg_i64(c, out.d), "c");
    LLVMValueRef oy = cg_loop_begin(c, &ly, cg_i64(c, 0), cg_i64(c, out.h), "oy");
    Window wy = window(c, oy, a, in.h);
    LLVMValueRef ox = cg_loop_begin(c, &lx, cg_i64(c, 0), cg_i64(c, out.w), "ox");
    Window wx = window(c, ox, a, in.w);
    LLVMBuildStore(c->b, cg_f32(c, is_max ? -INFINITY : 0.0), acc);

    LLVMValueRef iy = cg_loop_begin(c, &lwy, wy.lo, wy.hi, "iy");
    LLVMValueRef row = cg_mul(c, cg_add(c, cg_mul(c, ch, cg_i64(c, in.h)), iy), cg_i64(c, in.w));
    LLVMValueRef ix = cg_loop_begin(c, &lwx, wx.lo, wx.hi, "ix");
    LLVMValueRef v = cg_load(c, x, cg_add(c, row, ix));
    LLVMValueRef cur = LLVMBuildLoad2(c->b, c->f32, acc, "");
    LLVMValueRef next;
    if (is_max) {
        next = cg_max_nan(c, cur, v);
    } else {
        next = LLVMBuildFAdd(c->b, cur, v, "");
    }
    LLVMBuildStore(c->b, next, acc);
    cg_loop_end(c, &lwx);
    cg_loop_end(c, &lwy);

    LLVMValueRef result = LLVMBuildLoad2(c->b, c->f32, acc, "");
    if (!is_max) {
        LLVMValueRef cells = LLVMBuildSIToFP(c->b, cg_mul(c, wy.span, wx.span), c->f32, "");
        result = LLVMBuildFDiv(c->b, result, cells, "");
    }
    LLVMValueRef at = cg_add(c, cg_mul(c, cg_add(c, cg_mul(c, ch, cg_i64(c, out.h)), oy), cg_i64(c, out.w)), ox);
    cg_store(c, result, y, at);
    cg_loop_end(c, &lx);
    cg_loop_end(c, &ly);
    cg_loop_end(c, &lc);
}
