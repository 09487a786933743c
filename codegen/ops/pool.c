/* pool lowering (SPEC sections 1, 9): max over the window's cells inside the
 * input (padding never wins), or avg dividing by the window's cells inside
 * the padded input -- Fw*Fh except where round=ceil lets a window hang past
 * the padded edge, as PyTorch's count_include_pad does. Windows may be
 * non-square; a global pool's is the whole map (ir/ops/pool.c), which gets
 * a reduction of its own. */
#include <math.h>
#include <stdio.h>

#include "../ctx.h"

/* The most window rows a max pool takes two output rows at a time with
 * (pair_cells). */
#define POOL_PAIR_ROWS 8

typedef struct Window {
    LLVMValueRef lo, hi; /* cells [lo, hi) inside the input */
    LLVMValueRef span;   /* cells inside the padded input, for avg */
} Window;

/* The window of output o in one dimension: F, S, P of that dimension. */
static Window window(CgCtx *c, LLVMValueRef o, int64_t size, int64_t stride, int64_t pad, int64_t in)
{
    Window w;
    LLVMValueRef start = cg_sub(c, cg_mul(c, o, cg_i64(c, stride)), cg_i64(c, pad));
    LLVMValueRef end = cg_add(c, start, cg_i64(c, size));
    LLVMValueRef padded_end = cg_smin(c, end, cg_i64(c, in + pad));
    w.span = cg_sub(c, padded_end, start);
    w.lo = cg_smax(c, start, cg_i64(c, 0));
    w.hi = cg_smin(c, end, cg_i64(c, in));
    return w;
}

/* One cell into a window's running value (scalar or vector): both paths
 * take the cells in the same order through this, so they give the same
 * floats. */
static LLVMValueRef take(CgCtx *c, const IrPoolAttr *a, LLVMValueRef cur, LLVMValueRef v)
{
    return a->mode == IR_POOL_MAX ? cg_max_nan(c, cur, v) : LLVMBuildFAdd(c->b, cur, v, "");
}

/* What a window starts from, and a cell past the input's sides counts as. */
static double identity(const IrPoolAttr *a)
{
    return a->mode == IR_POOL_MAX ? -INFINITY : 0.0;
}

/* Where output cell (ch, oy, ox) goes: out is the output's shape with the
 * frame the conv that reads it wants (ir/plan.h), P wide. */
static LLVMValueRef out_at(CgCtx *c, IrShape out, int64_t P, LLVMValueRef ch, LLVMValueRef oy, LLVMValueRef ox)
{
    LLVMValueRef plane = cg_mul(c, ch, cg_i64(c, out.h));
    LLVMValueRef row = cg_mul(c, cg_add(c, plane, cg_add(c, oy, cg_i64(c, P))), cg_i64(c, out.w));
    return cg_add(c, row, cg_add(c, ox, cg_i64(c, P)));
}

/* Scalar cells: columns [lo, hi) of row oy of channel ch, each window's
 * cells inside the input in turn, into out framed by P (out_at). */
static void scalar_cells(CgCtx *c, const IrPoolAttr *a, IrShape in, IrShape out, int64_t P, LLVMValueRef x, LLVMValueRef y,
                         LLVMValueRef ch, LLVMValueRef oy, Window wy, int64_t lo, int64_t hi)
{
    if (lo >= hi)
        return;
    bool is_max = a->mode == IR_POOL_MAX;
    LLVMValueRef acc = cg_var(c, "acc");
    CgLoop lx, lwy, lwx;
    LLVMValueRef ox = cg_loop_begin(c, &lx, cg_i64(c, lo), cg_i64(c, hi), "ox");
    Window wx = window(c, ox, a->size, a->stride, a->pad, in.w);
    LLVMBuildStore(c->b, cg_f32(c, identity(a)), acc);
    LLVMValueRef iy = cg_loop_begin(c, &lwy, wy.lo, wy.hi, "iy");
    LLVMValueRef row = cg_mul(c, cg_add(c, cg_mul(c, ch, cg_i64(c, in.h)), iy), cg_i64(c, in.w));
    LLVMValueRef ix = cg_loop_begin(c, &lwx, wx.lo, wx.hi, "ix");
    LLVMValueRef v = cg_load(c, x, cg_add(c, row, ix));
    LLVMValueRef cur = LLVMBuildLoad2(c->b, c->f32, acc, "");
    LLVMBuildStore(c->b, take(c, a, cur, v), acc);
    cg_loop_end(c, &lwx);
    cg_loop_end(c, &lwy);
    LLVMValueRef result = LLVMBuildLoad2(c->b, c->f32, acc, "");
    if (!is_max) {
        LLVMValueRef cells = LLVMBuildSIToFP(c->b, cg_mul(c, wy.span, wx.span), c->f32, "");
        result = LLVMBuildFDiv(c->b, result, cells, "");
    }
    cg_store(c, result, y, out_at(c, out, P, ch, oy, ox));
    cg_loop_end(c, &lx);
}

/* The cells of vp windows side by side from output column edge (as in
 * vector_cells) that lie inside the input across, as offsets [*lo, *hi)
 * from the first window's first cell: all of them for edge < 0. */
static void across(const IrPoolAttr *a, IrShape in, int64_t edge, int64_t *lo, int64_t *hi)
{
    *lo = INT64_MIN / 2;
    *hi = INT64_MAX / 2;
    if (edge >= 0) {
        int64_t first = edge * a->stride - a->pad; /* lane 0's input column */
        *lo = -first;
        *hi = in.w - first;
    }
}

/* vp windows side by side from column ox0, each window column one strided
 * load per input row, in the scalar path's order. edge < 0: all inside the
 * input across. Else ox0 is the constant edge, and cells past the input's
 * sides are not read but taken as the identity (-inf, or 0 for avg, whose
 * divisor is then each lane's own span): a masked load. */
static void vector_cells(CgCtx *c, const IrPoolAttr *a, IrShape in, IrShape out, int64_t P, int vp, LLVMValueRef x,
                         LLVMValueRef y, LLVMValueRef ch, LLVMValueRef oy, Window wy, LLVMValueRef ox0, int64_t edge)
{
    bool is_max = a->mode == IR_POOL_MAX;
    LLVMValueRef acc = cg_vvar(c, vp, "acc");
    LLVMBuildStore(c->b, cg_splat(c, vp, cg_f32(c, identity(a))), acc);
    LLVMValueRef col = cg_sub(c, cg_mul(c, ox0, cg_i64(c, a->stride)), cg_i64(c, a->pad));
    CgLoop lwy;
    LLVMValueRef iy = cg_loop_begin(c, &lwy, wy.lo, wy.hi, "iy");
    LLVMValueRef row = cg_add(c, cg_mul(c, cg_add(c, cg_mul(c, ch, cg_i64(c, in.h)), iy), cg_i64(c, in.w)), col);
    int64_t lo, hi;
    across(a, in, edge, &lo, &hi);
    if (is_max) {
        /* The row's maximum first, then folded in: the rows' maxima do not
         * wait for each other, where one running value through every cell
         * made each load wait for the maximum before it. The order, and so
         * which of equal cells is kept, is the same. */
        LLVMValueRef m = cg_window_max(c, vp, a->stride, a->size, x, row, lo, hi);
        LLVMValueRef cur = LLVMBuildLoad2(c->b, cg_vec_t(c, vp), acc, "");
        LLVMBuildStore(c->b, cg_max_nan(c, cur, m), acc);
    }
    for (int64_t kx = 0; kx < a->size && !is_max; kx++) {
        LLVMValueRef at = cg_add(c, row, cg_i64(c, kx));
        LLVMValueRef v = cg_strided_load_within(c, vp, a->stride, x, at, lo - kx, hi - kx, 0.0);
        LLVMValueRef cur = LLVMBuildLoad2(c->b, cg_vec_t(c, vp), acc, "");
        LLVMBuildStore(c->b, take(c, a, cur, v), acc);
    }
    cg_loop_end(c, &lwy);
    LLVMValueRef result = LLVMBuildLoad2(c->b, cg_vec_t(c, vp), acc, "");
    if (!is_max) {
        LLVMValueRef across = cg_splat(c, vp, cg_f32(c, (double)a->size));
        if (edge >= 0) {
            LLVMValueRef lanes[16];
            for (int j = 0; j < vp; j++) {
                int64_t start = (edge + j) * a->stride - a->pad, end = start + a->size;
                end = end < in.w + a->pad ? end : in.w + a->pad;
                lanes[j] = cg_f32(c, (double)(end - start));
            }
            across = LLVMConstVector(lanes, (unsigned)vp);
        }
        LLVMValueRef down = cg_splat(c, vp, LLVMBuildSIToFP(c->b, wy.span, c->f32, ""));
        result = LLVMBuildFDiv(c->b, result, LLVMBuildFMul(c->b, down, across, ""), "");
    }
    cg_vstore(c, result, y, out_at(c, out, P, ch, oy, ox0));
}

/* Output rows oy and oy + 1 of a max pool of stride 1 down whose windows
 * lie inside the input down, vp windows across from ox0 (edge as in
 * vector_cells): each of their Fh + 1 input rows' maximum across is taken
 * once, the Fh - 1 rows they share folded once, so a 3x3 pool takes 12
 * loads for two rows, not 18. */
static void pair_cells(CgCtx *c, const IrPoolAttr *a, IrShape in, IrShape out, int64_t P, int vp, LLVMValueRef x,
                       LLVMValueRef y, LLVMValueRef ch, LLVMValueRef oy, LLVMValueRef ox0, int64_t edge)
{
    const int64_t Fh = a->size_h;
    IR_ASSERT(Fh >= 2 && Fh <= POOL_PAIR_ROWS);
    LLVMValueRef col = cg_sub(c, cg_mul(c, ox0, cg_i64(c, a->stride)), cg_i64(c, a->pad));
    LLVMValueRef plane = cg_mul(c, ch, cg_i64(c, in.h));
    LLVMValueRef iy = cg_add(c, plane, cg_sub(c, oy, cg_i64(c, a->pad_h)));
    LLVMValueRef top = cg_add(c, cg_mul(c, iy, cg_i64(c, in.w)), col);
    int64_t lo, hi;
    across(a, in, edge, &lo, &hi);
    LLVMValueRef h[POOL_PAIR_ROWS + 1] = {NULL};
    for (int64_t r = 0; r <= Fh; r++)
        h[r] = cg_window_max(c, vp, a->stride, a->size, x, cg_add(c, top, cg_i64(c, r * in.w)), lo, hi);
    LLVMValueRef shared = h[1];
    for (int64_t r = 2; r < Fh; r++)
        shared = cg_max_nan(c, shared, h[r]);
    LLVMValueRef first = cg_max_nan(c, h[0], shared);
    LLVMValueRef second = cg_max_nan(c, shared, h[Fh]);
    cg_vstore(c, first, y, out_at(c, out, P, ch, oy, ox0));
    LLVMValueRef next = cg_add(c, oy, cg_i64(c, 1));
    cg_vstore(c, second, y, out_at(c, out, P, ch, next, ox0));
}

/* A global pool over channels [0, D): each channel's W*H floats are one
 * run, taken v at a time into a vector of running values, whose lanes are
 * then folded, and the last W*H % v one by one; avg divides by W*H. The
 * order of the sums differs from the window loops', within the tolerance
 * of any summation order. */
static void global_cells(CgCtx *c, const IrPoolAttr *a, IrShape in, IrShape out, int64_t P, int v, LLVMValueRef x,
                         LLVMValueRef y)
{
    bool is_max = a->mode == IR_POOL_MAX;
    const int64_t plane = in.w * in.h, blocks = plane / v;
    LLVMValueRef vacc = cg_vvar(c, v, "vacc"), acc = cg_var(c, "acc");
    CgLoop lc, lb, lt;
    LLVMValueRef ch = cg_loop_begin(c, &lc, cg_i64(c, 0), cg_i64(c, out.d), "c");
    LLVMValueRef base = cg_mul(c, ch, cg_i64(c, plane));
    LLVMBuildStore(c->b, cg_vload(c, v, x, base), vacc);
    LLVMValueRef blk = cg_loop_begin(c, &lb, cg_i64(c, 1), cg_i64(c, blocks), "blk");
    LLVMValueRef cur = LLVMBuildLoad2(c->b, cg_vec_t(c, v), vacc, "");
    LLVMValueRef at = cg_add(c, base, cg_mul(c, blk, cg_i64(c, v)));
    LLVMBuildStore(c->b, take(c, a, cur, cg_vload(c, v, x, at)), vacc);
    cg_loop_end(c, &lb);
    LLVMValueRef lanes = LLVMBuildLoad2(c->b, cg_vec_t(c, v), vacc, "");
    LLVMValueRef folded;
    if (is_max) {
        folded = LLVMBuildExtractElement(c->b, lanes, LLVMConstInt(c->i32, 0, 0), "");
        for (int k = 1; k < v; k++)
            folded = cg_max_nan(c, folded, LLVMBuildExtractElement(c->b, lanes, LLVMConstInt(c->i32, (unsigned)k, 0), ""));
    } else {
        folded = cg_hsum(c, lanes);
    }
    LLVMBuildStore(c->b, folded, acc);
    if (plane % v) {
        LLVMValueRef i = cg_loop_begin(c, &lt, cg_i64(c, blocks * v), cg_i64(c, plane), "i");
        LLVMValueRef sofar = LLVMBuildLoad2(c->b, c->f32, acc, "");
        LLVMBuildStore(c->b, take(c, a, sofar, cg_load(c, x, cg_add(c, base, i))), acc);
        cg_loop_end(c, &lt);
    }
    LLVMValueRef result = LLVMBuildLoad2(c->b, c->f32, acc, "");
    if (!is_max)
        result = LLVMBuildFDiv(c->b, result, cg_f32(c, (double)plane), "");
    cg_store(c, result, y, out_at(c, out, P, ch, cg_i64(c, 0), cg_i64(c, 0)));
    cg_loop_end(c, &lc);
}

/* A windowed pool's plan: each row vp windows at a time (0: all scalar),
 * into the output framed by P. Blocks start every vp columns, the last
 * shifted back to end the row; those with every window inside the input
 * across, [xa, xb), run as one loop, the others (a few at each side) each
 * with masks of their own. */
typedef struct Windows {
    const IrPoolAttr *a;
    IrShape in, fr;
    int64_t P, xa, xb;
    int vp;
    int64_t rows;
} Windows;

/* Row oy's columns (and row oy + 1's, pair: pair_cells), in the blocks
 * Windows lays out. */
static void row_blocks(CgCtx *c, const Windows *w, LLVMValueRef x, LLVMValueRef y, LLVMValueRef ch, LLVMValueRef oy,
                       Window wy, bool pair)
{
    const IrPoolAttr *a = w->a;
    const int vp = w->vp;
    const int64_t width = w->fr.w - 2 * w->P;
    /* Whole blocks [b_lo, b_hi) are inside; the rest are edges. */
    const int64_t blocks = (width + vp - 1) / vp, whole = width / vp;
    int64_t b_lo = 0, b_hi;
    while (b_lo < whole && b_lo * vp < w->xa)
        b_lo++;
    for (b_hi = b_lo; b_hi < whole && (b_hi + 1) * vp <= w->xb;)
        b_hi++;
    CgLoop lb;
    for (int64_t b = 0; b < blocks; b++) {
        LLVMValueRef ox0;
        int64_t edge;
        bool loop = b == b_lo && b_hi > b_lo;
        if (loop) {
            ox0 = cg_mul(c, cg_loop_begin(c, &lb, cg_i64(c, b_lo), cg_i64(c, b_hi), "blk"), cg_i64(c, vp));
            edge = -1;
        } else {
            edge = b < whole ? b * vp : width - vp;
            ox0 = cg_i64(c, edge);
        }
        if (pair)
            pair_cells(c, a, w->in, w->fr, w->P, vp, x, y, ch, oy, ox0, edge);
        else
            vector_cells(c, a, w->in, w->fr, w->P, vp, x, y, ch, oy, wy, ox0, edge);
        if (loop) {
            cg_loop_end(c, &lb);
            b = b_hi - 1;
        }
    }
}

/* Rows [lo, hi) of channel ch one at a time. */
static void single_rows(CgCtx *c, const Windows *w, LLVMValueRef x, LLVMValueRef y, LLVMValueRef ch, int64_t lo,
                        int64_t hi)
{
    if (lo >= hi)
        return;
    const IrPoolAttr *a = w->a;
    CgLoop ly;
    LLVMValueRef oy = cg_loop_begin(c, &ly, cg_i64(c, lo), cg_i64(c, hi), "oy");
    Window wy = window(c, oy, a->size_h, a->stride_h, a->pad_h, w->in.h);
    if (!w->vp)
        scalar_cells(c, a, w->in, w->fr, w->P, x, y, ch, oy, wy, 0, w->fr.w - 2 * w->P);
    else
        row_blocks(c, w, x, y, ch, oy, wy, false);
    cg_loop_end(c, &ly);
}

/* Every row of channels [ch_lo, ch_hi): for a vector max pool of stride 1
 * down, the rows whose windows lie inside the input down two at a time. */
static void windows_rows(CgCtx *c, const Windows *w, LLVMValueRef x, LLVMValueRef y, LLVMValueRef ch_lo,
                         LLVMValueRef ch_hi)
{
    const IrPoolAttr *a = w->a;
    CgLoop lc, lp;
    LLVMValueRef ch = cg_loop_begin(c, &lc, ch_lo, ch_hi, "c");
    int64_t ya = a->pad_h, yb = w->in.h + a->pad_h - a->size_h + 1, pairs = 0;
    if (yb > w->rows)
        yb = w->rows;
    if (w->vp && a->mode == IR_POOL_MAX && a->stride_h == 1 && a->size_h >= 2 && a->size_h <= POOL_PAIR_ROWS &&
        yb - ya >= 2)
        pairs = (yb - ya) / 2;
    if (!pairs) {
        single_rows(c, w, x, y, ch, 0, w->rows);
    } else {
        single_rows(c, w, x, y, ch, 0, ya);
        LLVMValueRef p = cg_loop_begin(c, &lp, cg_i64(c, 0), cg_i64(c, pairs), "pair");
        LLVMValueRef oy = cg_add(c, cg_i64(c, ya), cg_mul(c, p, cg_i64(c, 2)));
        Window none = {NULL, NULL, NULL};
        row_blocks(c, w, x, y, ch, oy, none, true);
        cg_loop_end(c, &lp);
        single_rows(c, w, x, y, ch, ya + 2 * pairs, w->rows);
    }
    cg_loop_end(c, &lc);
}

/* ptrs: input, output; [begin, end) are channels. */
static void windows_task(CgCtx *c, void *user, LLVMValueRef *ptrs, LLVMValueRef begin, LLVMValueRef end)
{
    windows_rows(c, user, ptrs[0], ptrs[1], begin, end);
}

void cg_lower_pool(CgCtx *c, size_t node, const LLVMValueRef *xs, LLVMValueRef y, LLVMValueRef table)
{
    LLVMValueRef x = xs[0];
    (void)table;
    const IrNode *n = &c->g->nodes[node];
    const IrPoolAttr *a = &n->attr.pool;
    const IrShape in = c->g->nodes[n->inputs[0]].out, out = n->out;
    /* Columns [xa, xb) have their whole window inside the input across
     * (ox*S - P >= 0 and ox*S - P + F <= W). Rows go vp windows at a time,
     * vp the widest vector the row holds; the window's columns are
     * unrolled, so a wide window (a global pool without vectors) and a
     * stride past 4, whose strided loads would mostly be wasted, stay
     * scalar, and so does -O0, the reference path. */
    int64_t xa = (a->pad + a->stride - 1) / a->stride;
    int64_t xb = in.w + a->pad >= a->size ? (in.w + a->pad - a->size) / a->stride + 1 : 0;
    xb = xb < out.w ? xb : out.w;
    int vp = c->vec_width;
    while (vp > 1 && vp > out.w)
        vp /= 2;
    if (c->opt_level < 1 || vp < 4 || a->size > 8 || a->stride > 4)
        vp = 0;

    /* The output's frame, when a conv reads it as its padding (ir/plan.h). */
    const int64_t P = n->out_pad;
    const IrShape fr = {out.w + 2 * P, out.h + 2 * P, out.d};
    /* A global pool, when its map holds a vector: a reduction over each
     * contiguous plane rather than one scalar window a channel. */
    if (a->global && c->opt_level >= 1 && c->vec_width >= 4 && in.w * in.h >= c->vec_width) {
        global_cells(c, a, in, fr, P, c->vec_width, x, y);
        if (P > 0)
            cg_zero_frame(c, y, P, out, 0);
        return;
    }
    Windows w = {a, in, fr, P, xa, xb, vp, out.h};
    if (c->executable && out.d >= 2 && ir_shape_elems(out) * a->size * a->size_h >= CG_PARALLEL_MIN_POOL_CELLS) {
        char name[64];
        snprintf(name, sizeof name, "layer%zu.pool", node);
        LLVMValueRef ptrs[2] = {x, y};
        cg_parallel_for(c, name, ptrs, 2, cg_i64(c, out.d), windows_task, &w);
    } else {
        windows_rows(c, &w, x, y, cg_i64(c, 0), cg_i64(c, out.d));
    }
    if (P > 0)
        cg_zero_frame(c, y, P, out, 0);
}
