/* conv lowering, the naive path (SPEC section 1): for every output cell, the
 * bias plus the dot product of the F x F x D1 window with one filter. The
 * window's rows and columns are clipped to the input instead of testing every
 * tap, so zero padding (and round=ceil's overhang) costs nothing.
 *
 * A fused group (ir/fuse.c) continues here: relu is applied to each value as
 * it is made, and a max pool whose windows tile the conv's output takes the
 * maximum of those values, so the unpooled map is never stored. */
#include <math.h>

#include "../ctx.h"

/* Taps [lo, hi) of a window starting at o*S - P that fall inside [0, in). */
static void tap_range(CgCtx *c, LLVMValueRef o, int64_t stride, int64_t pad, int64_t size,
                      int64_t in, LLVMValueRef *lo, LLVMValueRef *hi, LLVMValueRef *start)
{
    *start = cg_sub(c, cg_mul(c, o, cg_i64(c, stride)), cg_i64(c, pad));
    *lo = cg_smax(c, cg_i64(c, 0), cg_sub(c, cg_i64(c, 0), *start));
    *hi = cg_smin(c, cg_i64(c, size), cg_sub(c, cg_i64(c, in), *start));
}

typedef struct Conv {
    const IrConvAttr *a;
    IrShape in;
    LLVMValueRef x, w, bias, acc;
    bool relu; /* a fused relu follows */
} Conv;

/* The conv's output at filter k, cell (oy, ox), with its fused relu. */
static LLVMValueRef conv_value(CgCtx *c, const Conv *cv, LLVMValueRef k, LLVMValueRef oy, LLVMValueRef ox)
{
    const IrConvAttr *a = cv->a;
    LLVMValueRef fy_lo, fy_hi, iy0, fx_lo, fx_hi, ix0;
    tap_range(c, oy, a->stride, a->pad, a->size, cv->in.h, &fy_lo, &fy_hi, &iy0);
    tap_range(c, ox, a->stride, a->pad, a->size, cv->in.w, &fx_lo, &fx_hi, &ix0);
    LLVMBuildStore(c->b, cv->bias ? cg_load(c, cv->bias, k) : cg_f32(c, 0), cv->acc);

    CgLoop lc, lfy, lfx;
    LLVMValueRef ch = cg_loop_begin(c, &lc, cg_i64(c, 0), cg_i64(c, cv->in.d), "c");
    LLVMValueRef fy = cg_loop_begin(c, &lfy, fy_lo, fy_hi, "fy");
    /* x[c][iy0 + fy][.], w[k][c][fy][.] */
    LLVMValueRef xrow = cg_mul(c, cg_add(c, cg_mul(c, ch, cg_i64(c, cv->in.h)), cg_add(c, iy0, fy)),
                               cg_i64(c, cv->in.w));
    LLVMValueRef wrow = cg_mul(c, cg_add(c, cg_mul(c, cg_add(c, cg_mul(c, k, cg_i64(c, cv->in.d)), ch),
                                                   cg_i64(c, a->size)),
                                         fy),
                               cg_i64(c, a->size));
    LLVMValueRef fx = cg_loop_begin(c, &lfx, fx_lo, fx_hi, "fx");
    LLVMValueRef xv = cg_load(c, cv->x, cg_add(c, xrow, cg_add(c, ix0, fx)));
    LLVMValueRef wv = cg_load(c, cv->w, cg_add(c, wrow, fx));
    LLVMValueRef sum = LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->f32, cv->acc, ""),
                                     LLVMBuildFMul(c->b, xv, wv, ""), "");
    LLVMBuildStore(c->b, sum, cv->acc);
    cg_loop_end(c, &lfx);
    cg_loop_end(c, &lfy);
    cg_loop_end(c, &lc);
    LLVMValueRef v = LLVMBuildLoad2(c->b, c->f32, cv->acc, "");
    return cv->relu ? cg_relu(c, v) : v;
}

void cg_lower_conv(CgCtx *c, size_t node, LLVMValueRef x, LLVMValueRef y, LLVMValueRef table)
{
    const IrGraph *g = c->g;
    const IrNode *n = &g->nodes[node];
    size_t tail = ir_group_tail(g, node);
    const IrNode *pool = g->nodes[tail].op == IR_OP_POOL ? &g->nodes[tail] : NULL;
    Conv cv = {
        .a = &n->attr.conv,
        .in = g->nodes[n->inputs[0]].out,
        .x = x,
        .w = cg_param(c, table, cg_param_index(c, node, false)),
        .bias = n->attr.conv.bias ? cg_param(c, table, cg_param_index(c, node, true)) : NULL,
        .acc = cg_var(c, "acc"),
        .relu = tail > node && g->nodes[node + 1].op == IR_OP_RELU,
    };
    IrShape out = g->nodes[tail].out; /* what this kernel stores */

    CgLoop lk, ly, lx;
    LLVMValueRef k = cg_loop_begin(c, &lk, cg_i64(c, 0), cg_i64(c, out.d), "k");
    LLVMValueRef oy = cg_loop_begin(c, &ly, cg_i64(c, 0), cg_i64(c, out.h), "oy");
    LLVMValueRef ox = cg_loop_begin(c, &lx, cg_i64(c, 0), cg_i64(c, out.w), "ox");
    LLVMValueRef v;
    if (!pool) {
        v = conv_value(c, &cv, k, oy, ox);
    } else {
        /* The pool window over conv cells [o*S, min(o*S + F, conv size)):
         * no padding, and round=ceil's last window clipped to the map. */
        const IrPoolAttr *p = &pool->attr.pool;
        IrShape conv_out = n->out;
        LLVMValueRef best = cg_var(c, "best");
        LLVMBuildStore(c->b, cg_f32(c, -INFINITY), best);
        LLVMValueRef y0 = cg_mul(c, oy, cg_i64(c, p->stride)), x0 = cg_mul(c, ox, cg_i64(c, p->stride));
        LLVMValueRef y1 = cg_smin(c, cg_add(c, y0, cg_i64(c, p->size)), cg_i64(c, conv_out.h));
        LLVMValueRef x1 = cg_smin(c, cg_add(c, x0, cg_i64(c, p->size)), cg_i64(c, conv_out.w));
        CgLoop lwy, lwx;
        LLVMValueRef cy = cg_loop_begin(c, &lwy, y0, y1, "cy");
        LLVMValueRef cx = cg_loop_begin(c, &lwx, x0, x1, "cx");
        LLVMValueRef cval = conv_value(c, &cv, k, cy, cx);
        LLVMBuildStore(c->b, cg_max_nan(c, LLVMBuildLoad2(c->b, c->f32, best, ""), cval), best);
        cg_loop_end(c, &lwx);
        cg_loop_end(c, &lwy);
        v = LLVMBuildLoad2(c->b, c->f32, best, "");
    }
    LLVMValueRef at = cg_add(c, cg_mul(c, cg_add(c, cg_mul(c, k, cg_i64(c, out.h)), oy), cg_i64(c, out.w)), ox);
    cg_store(c, v, y, at);
    cg_loop_end(c, &lx);
    cg_loop_end(c, &ly);
    cg_loop_end(c, &lk);
}
