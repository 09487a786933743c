/* conv lowering (SPEC sections 1, 9): a naive path, two register-blocked
 * micro-kernels for plain convs, and a column-vector kernel for the others.
 *
 * Which one runs each conv, how its weights are packed and how the buffers
 * between convs are laid out was chosen by the plan (ir/kernel.h: the
 * node's kernel, pack, wino_m and blk); this file lowers that choice.
 *
 * The naive path (-O0, and any conv the fast paths do not take): for every
 * output cell, the bias plus the dot product of the Fw x Fh x D1/G window
 * (its taps R apart) with one filter. The window's rows and columns are
 * clipped to the input instead of testing every tap, so zero padding (and
 * round=ceil's overhang) costs nothing.
 *
 * Only plain convs (ir_conv_plain: square, dilation 1, groups 1) reach the
 * micro-kernels, Winograd, packed weights and padded copies; grouped,
 * depthwise, dilated and non-square ones take the grouped kernel, whose
 * filters each read the D1/G channels of their group.
 *
 * The fast paths (-O1 and up, F <= 11, stride <= 4, a SIMD target) read a
 * zero-padded input, so windows never meet an edge: the producing conv's
 * output planned with a frame of zeros (ir/plan.h), or else a padded copy
 * in the scratch the plan gives. What is still outside (round=ceil) is
 * naive. A conv whose output has a frame stores inside it and zeroes it.
 *
 * The filter-vector kernel (IR_KERNEL_FILTERS: at least a vector of filters
 * and 32 taps per output; for a 1x1 conv, a packed matrix product) reads weights that were packed at compile time, or by
 * the runtime for a weights file, in blocks of the filters it keeps in
 * registers (runtime/cnnrt.h, cnnrt_pack): one tap of the block is kv
 * adjacent vectors, and a block's weights one stream in channel order. For
 * one output row it keeps n columns x kv vectors of filters in registers
 * (10 x 2 with AVX-512), and for every input channel and tap loads kv weight
 * vectors, broadcasts n input values and issues n x kv fused multiply-adds:
 * no lane idles whatever the row's width. Deep inputs are summed in passes
 * over chunks of channels whose weights stay in L1, each pass prefetching
 * the next one's (prefetch_next_pass). Lanes hold filters, the
 * output rows hold columns: blocks are transposed in registers on the way out.
 *
 * The column-vector kernel (the rest: few filters, or few taps, like
 * VGG-16's first conv) keeps kb filters x xb vectors of consecutive output
 * columns, loads xb input vectors and broadcasts kb weights; a row's last
 * block is shifted left to end at the row's end, recomputing a few columns.
 *
 * Both take row tiles outside the filter blocks, so a tile's input stays in
 * L2 for every block, and threads share (tile, block) items.
 *
 * Between two filter-vector convs the buffer is in channel blocks of the
 * vector width, [D/v][H][W][v] (the node's blk), so the writer stores each
 * accumulator as it is, without the transposes; the reader's broadcasts
 * then step through a cell's channels. Elsewhere buffers are [D][H][W], as
 * the other ops and the caller read them.
 *
 * A 3x3 or 5x5 conv of stride 1 whose input has its frame can go to
 * Winograd F(4x4, 3x3) or F(2x2, 5x5) instead (winograd.c): 36 multiply-adds a channel and filter for 16 or 4 outputs
 * where these kernels spend 144 or 100.
 *
 * A fused group (ir/fuse.c) continues here: the activation (relu, relu6 or
 * leakyrelu) is applied to each value as it is made, and a max pool whose
 * windows tile the conv's output takes the maximum of those values (in that
 * order, as leakyrelu with a negative slope does not commute with max): the fast paths make the pool's rows for a block
 * of filters in a small stack buffer, so the unpooled map is never stored. */
#include <math.h>
#include <stdio.h>

#include "../ctx.h"
#include "ir/kernel.h"
#include "ir/plan.h"

/* Taps [lo, hi) of a window starting at o*S - P, R apart, that fall inside
 * [0, in): start + f*R in [0, in) for ceil(-start/R) <= f < ceil((in -
 * start)/R). Where in - start <= 0, hi <= 0 <= lo and the range is empty. */
static void tap_range(CgCtx *c, LLVMValueRef o, int64_t stride, int64_t pad, int64_t size, int64_t dilation,
                      int64_t in, LLVMValueRef *lo, LLVMValueRef *hi, LLVMValueRef *start)
{
    *start = cg_sub(c, cg_mul(c, o, cg_i64(c, stride)), cg_i64(c, pad));
    if (dilation == 1) {
        *lo = cg_smax(c, cg_i64(c, 0), cg_sub(c, cg_i64(c, 0), *start));
        *hi = cg_smin(c, cg_i64(c, size), cg_sub(c, cg_i64(c, in), *start));
        return;
    }
    LLVMValueRef R = cg_i64(c, dilation), up = cg_i64(c, dilation - 1);
    *lo = cg_smax(c, cg_i64(c, 0), LLVMBuildSDiv(c->b, cg_sub(c, up, *start), R, ""));
    *hi = cg_smin(c, cg_i64(c, size), LLVMBuildSDiv(c->b, cg_add(c, cg_sub(c, cg_i64(c, in), *start), up), R, ""));
}

/* v*R, or v itself for R = 1 (no multiply in a plain conv's loops). */
static LLVMValueRef times(CgCtx *c, LLVMValueRef v, int64_t r)
{
    return r == 1 ? v : cg_mul(c, v, cg_i64(c, r));
}

typedef struct Conv {
    const IrConvAttr *a;
    int64_t pad, pad_h; /* a->pad and a->pad_h, or 0 when x is a zero-padded copy */
    IrShape in;
    LLVMValueRef x, w, bias, acc;
    const IrNode *act; /* a fused activation (relu, relu6, leakyrelu), or NULL */
    int64_t pack; /* 0: w is [K][D1][F][F]; else packed in blocks of pack filters (cnnrt_pack) */
    int xblk;     /* 0: x is [D1][H][W]; else in channel blocks, [D1/xblk][H][W][xblk] (its blk) */
} Conv;

/* Where a channel-blocked cell (k, cell) is: (k / blk) * plane * blk +
 * cell * blk + k % blk, for cell the row-major cell index in a plane. */
static LLVMValueRef blk_index(CgCtx *c, int blk, int64_t plane, LLVMValueRef k, LLVMValueRef cell)
{
    LLVMValueRef b = LLVMBuildUDiv(c->b, k, cg_i64(c, blk), ""), lane = LLVMBuildURem(c->b, k, cg_i64(c, blk), "");
    return cg_add(c, cg_mul(c, cg_add(c, cg_mul(c, b, cg_i64(c, plane)), cell), cg_i64(c, blk)), lane);
}

/* Where x[ch][0][0] is: channel ch's plane, or its block's plane and its
 * lane there. */
static LLVMValueRef x_channel(CgCtx *c, const Conv *cv, LLVMValueRef ch)
{
    const int64_t plane = cv->in.h * cv->in.w;
    return cv->xblk ? blk_index(c, cv->xblk, plane, ch, cg_i64(c, 0)) : cg_mul(c, ch, cg_i64(c, plane));
}

/* Where w[k][ch][fy][fx] is, in either layout (runtime/cnnrt.h, cnnrt_pack);
 * ch counts the D1/G channels of k's group, and the plain layout is
 * [K][D1/G][Fh][Fw]. */
static LLVMValueRef w_index(CgCtx *c, const Conv *cv, LLVMValueRef k, LLVMValueRef ch, LLVMValueRef fy)
{
    const int64_t F = cv->a->size, C = cv->in.d / cv->a->groups;
    if (!cv->pack)
        return cg_mul(c, cg_add(c, cg_mul(c, cg_add(c, cg_mul(c, k, cg_i64(c, C)), ch), cg_i64(c, cv->a->size_h)), fy),
                      cg_i64(c, F));
    LLVMValueRef blk = LLVMBuildUDiv(c->b, k, cg_i64(c, cv->pack), "");
    LLVMValueRef lane = LLVMBuildURem(c->b, k, cg_i64(c, cv->pack), "");
    LLVMValueRef tap = cg_mul(c, cg_add(c, cg_mul(c, cg_add(c, cg_mul(c, blk, cg_i64(c, C)), ch), cg_i64(c, F)), fy),
                              cg_i64(c, F));
    return cg_add(c, cg_mul(c, tap, cg_i64(c, cv->pack)), lane);
}

/* The first input channel of filter k's group: (k / (K/G)) * D1/G. */
static LLVMValueRef group_channel(CgCtx *c, const Conv *cv, LLVMValueRef k)
{
    const IrConvAttr *a = cv->a;
    if (a->groups == 1)
        return cg_i64(c, 0);
    return cg_mul(c, LLVMBuildUDiv(c->b, k, cg_i64(c, a->filters / a->groups), ""), cg_i64(c, cv->in.d / a->groups));
}

/* The conv's output at filter k, cell (oy, ox), with its fused activation:
 * the taps of the D1/G channels of k's group, R apart. */
static LLVMValueRef conv_value(CgCtx *c, const Conv *cv, LLVMValueRef k, LLVMValueRef oy, LLVMValueRef ox)
{
    const IrConvAttr *a = cv->a;
    LLVMValueRef fy_lo, fy_hi, iy0, fx_lo, fx_hi, ix0;
    tap_range(c, oy, a->stride_h, cv->pad_h, a->size_h, a->dilation_h, cv->in.h, &fy_lo, &fy_hi, &iy0);
    tap_range(c, ox, a->stride, cv->pad, a->size, a->dilation, cv->in.w, &fx_lo, &fx_hi, &ix0);
    LLVMBuildStore(c->b, cv->bias ? cg_load(c, cv->bias, k) : cg_f32(c, 0), cv->acc);

    CgLoop lc, lfy, lfx;
    LLVMValueRef c0 = group_channel(c, cv, k);
    LLVMValueRef ch = cg_loop_begin(c, &lc, cg_i64(c, 0), cg_i64(c, cv->in.d / a->groups), "c");
    LLVMValueRef fy = cg_loop_begin(c, &lfy, fy_lo, fy_hi, "fy");
    /* x[c0 + c][iy0 + fy*R][.], w[k][c][fy][.] */
    const int64_t xs = cv->xblk ? cv->xblk : 1; /* floats a column */
    LLVMValueRef xch = x_channel(c, cv, a->groups == 1 ? ch : cg_add(c, c0, ch));
    LLVMValueRef xrow = cg_add(c, xch, cg_mul(c, cg_add(c, iy0, times(c, fy, a->dilation_h)), cg_i64(c, cv->in.w * xs)));
    LLVMValueRef wrow = w_index(c, cv, k, ch, fy);
    LLVMValueRef fx = cg_loop_begin(c, &lfx, fx_lo, fx_hi, "fx");
    LLVMValueRef xv =
        cg_load(c, cv->x, cg_add(c, xrow, cg_mul(c, cg_add(c, ix0, times(c, fx, a->dilation)), cg_i64(c, xs))));
    LLVMValueRef wv = cg_load(c, cv->w, cg_add(c, wrow, cv->pack ? cg_mul(c, fx, cg_i64(c, cv->pack)) : fx));
    LLVMValueRef acc = LLVMBuildLoad2(c->b, c->f32, cv->acc, "");
    LLVMValueRef sum = LLVMBuildFAdd(c->b, acc, LLVMBuildFMul(c->b, xv, wv, ""), "");
    LLVMBuildStore(c->b, sum, cv->acc);
    cg_loop_end(c, &lfx);
    cg_loop_end(c, &lfy);
    cg_loop_end(c, &lc);
    LLVMValueRef v = LLVMBuildLoad2(c->b, c->f32, cv->acc, "");
    return cg_activation(c, cv->act, v);
}

static CgConvOut out_layout(const CgCtx *c, size_t tail)
{
    const IrNode *n = &c->g->nodes[tail];
    const int64_t P = n->out_pad, row = n->out.w + 2 * P;
    return (CgConvOut){row * (n->out.h + 2 * P), row, P * row + P, n->blk};
}

LLVMValueRef cg_conv_out_index(CgCtx *c, const CgConvOut *o, LLVMValueRef k, LLVMValueRef oy, LLVMValueRef ox)
{
    LLVMValueRef row = cg_mul(c, oy, cg_i64(c, o->row));
    LLVMValueRef cell = cg_add(c, row, cg_add(c, ox, cg_i64(c, o->origin)));
    if (o->blk)
        return blk_index(c, o->blk, o->plane, k, cell);
    return cg_add(c, cg_mul(c, k, cg_i64(c, o->plane)), cell);
}

LLVMValueRef cg_conv_bias(CgCtx *c, size_t node, LLVMValueRef table)
{
    int64_t bn = ir_group_find(c->g, node, IR_OP_BATCHNORM);
    if (bn >= 0) /* folded: its bias slot holds the conv's bias after the fold (cnnrt_fold) */
        return cg_param(c, table, cg_param_index(c, (size_t)bn, IR_ROLE_BIAS));
    return c->g->nodes[node].attr.conv.bias ? cg_param(c, table, cg_param_index(c, node, IR_ROLE_BIAS)) : NULL;
}

/* The conv of node, reading x, with the parameters from table. */
static Conv conv_of(CgCtx *c, size_t node, LLVMValueRef x, LLVMValueRef table)
{
    const IrGraph *g = c->g;
    const IrNode *n = &g->nodes[node];
    /* An input planned with this conv's padding as its frame (ir/plan.h) is
     * read as the padded input it is. */
    const IrNode *in = &g->nodes[n->inputs[0]];
    IR_ASSERT(in->out_pad == 0 || in->out_pad == n->attr.conv.pad);
    IrShape framed = {in->out.w + 2 * in->out_pad, in->out.h + 2 * in->out_pad, in->out.d};
    /* Built here, not in the initialiser, whose order C leaves open. */
    LLVMValueRef w = cg_param(c, table, cg_param_index(c, node, IR_ROLE_WEIGHT));
    LLVMValueRef bias = cg_conv_bias(c, node, table);
    LLVMValueRef acc = cg_var(c, "acc");
    return (Conv){
        .a = &n->attr.conv,
        .pad = n->attr.conv.pad - in->out_pad,
        .pad_h = n->attr.conv.pad_h - in->out_pad,
        .in = framed,
        .x = x,
        .w = w,
        .bias = bias,
        .acc = acc,
        .act = cg_fused_act(c, node),
        .pack = n->pack,
        .xblk = in->blk,
    };
}

/* The conv cells [*lo, *hi) of a fused max pool's window o along an axis
 * of the conv's n cells: [o*S - P, o*S - P + F) clipped to the map, as the
 * padding (and round=ceil's overhang) adds only -inf. */
static void pool_span(CgCtx *c, LLVMValueRef o, const IrPoolAttr *p, int64_t n, LLVMValueRef *lo, LLVMValueRef *hi)
{
    LLVMValueRef start = cg_sub(c, cg_mul(c, o, cg_i64(c, p->stride)), cg_i64(c, p->pad));
    *lo = cg_smax(c, start, cg_i64(c, 0));
    *hi = cg_smin(c, cg_add(c, start, cg_i64(c, p->size)), cg_i64(c, n));
}

static void lower_naive(CgCtx *c, size_t node, const Conv *cvp, LLVMValueRef y)
{
    const IrGraph *g = c->g;
    const IrNode *n = &g->nodes[node];
    size_t tail = ir_group_tail(g, node);
    const IrNode *pool = g->nodes[tail].op == IR_OP_POOL ? &g->nodes[tail] : NULL;
    Conv cv = *cvp;
    IrShape out = g->nodes[tail].out; /* what this kernel stores */

    CgLoop lk, ly, lx;
    LLVMValueRef k = cg_loop_begin(c, &lk, cg_i64(c, 0), cg_i64(c, out.d), "k");
    LLVMValueRef oy = cg_loop_begin(c, &ly, cg_i64(c, 0), cg_i64(c, out.h), "oy");
    LLVMValueRef ox = cg_loop_begin(c, &lx, cg_i64(c, 0), cg_i64(c, out.w), "ox");
    LLVMValueRef v;
    if (!pool) {
        v = conv_value(c, &cv, k, oy, ox);
    } else {
        const IrPoolAttr *p = &pool->attr.pool;
        LLVMValueRef best = cg_var(c, "best");
        LLVMBuildStore(c->b, cg_f32(c, -INFINITY), best);
        LLVMValueRef y0, y1, x0, x1;
        pool_span(c, oy, p, n->out.h, &y0, &y1);
        pool_span(c, ox, p, n->out.w, &x0, &x1);
        CgLoop lwy, lwx;
        LLVMValueRef cy = cg_loop_begin(c, &lwy, y0, y1, "cy");
        LLVMValueRef cx = cg_loop_begin(c, &lwx, x0, x1, "cx");
        LLVMValueRef cval = conv_value(c, &cv, k, cy, cx);
        LLVMBuildStore(c->b, cg_max_nan(c, LLVMBuildLoad2(c->b, c->f32, best, ""), cval), best);
        cg_loop_end(c, &lwx);
        cg_loop_end(c, &lwy);
        v = LLVMBuildLoad2(c->b, c->f32, best, "");
    }
    CgConvOut lay = out_layout(c, tail);
    cg_store(c, v, y, cg_conv_out_index(c, &lay, k, oy, ox));
    cg_loop_end(c, &lx);
    cg_loop_end(c, &ly);
    cg_loop_end(c, &lk);
}

/* ---- the fast path -------------------------------------------------------- */

typedef struct Fast {
    Conv cv;
    IrShape out;      /* the conv's own output */
    int64_t xl, xr;   /* interior columns: every tap inside the input */
    int64_t yl, yr;   /* interior rows */
    int v, xb, kb;    /* vector width, vectors per block, filters per block */
    int64_t tile;     /* rows (pooled rows with a fused pool) per row tile */
    /* The filter-vector kernel (cv.pack != 0): n columns a block, their
     * count in the row's interior, and the shorter block that ends it. */
    int n, n_last;
    int64_t blocks;
    int64_t cb; /* input channels a pass, when weights would not stay in L1 (else 0) */
    CgConvOut y; /* where the kernel's values go (the pooled ones with a pool) */
    /* A residual add taken as the values are stored (residual_in_store):
     * its other input, plain, and the activation after it; else NULL. */
    LLVMValueRef other;
    const IrNode *add_act;
} Fast;

/* One pass of the filter-vector kernel over input channels [c_lo, c_hi):
 * the first starts from the bias, the others from the sums kept in partial
 * ([conv row - row_base][column][filter]); only the last finishes the
 * values (activation, transposed store, pool, and the naive border cells). */
typedef struct Chunk {
    LLVMValueRef c_lo, c_hi, first, last;
    LLVMValueRef partial, row_base;
    int64_t rows; /* conv rows a row tile's pass makes */
} Chunk;

/* Where a conv value for filter k0 + kk, row oy, column ox goes. */
typedef struct Dst {
    LLVMValueRef base;
    int64_t k_stride;      /* cells between filters */
    int64_t row_stride;    /* row r at r * row_stride */
    int64_t ring;          /* a pool's row buffer: row oy is r = oy mod ring; else r = oy */
    int blk;               /* 0, or filters in blocks of blk (CgConvOut) */
    LLVMValueRef other;    /* Fast's other at filter k0, or NULL */
} Dst;

static LLVMValueRef dst_index(CgCtx *c, const Dst *d, LLVMValueRef kk, LLVMValueRef oy, LLVMValueRef ox)
{
    LLVMValueRef r = d->ring ? LLVMBuildURem(c->b, oy, cg_i64(c, d->ring), "") : oy;
    LLVMValueRef cell = cg_add(c, cg_mul(c, r, cg_i64(c, d->row_stride)), ox);
    if (d->blk)
        return blk_index(c, d->blk, d->k_stride, kk, cell);
    return cg_add(c, cg_mul(c, kk, cg_i64(c, d->k_stride)), cell);
}

/* Where the window of output (oy, ox0) starts in channel 0 of x:
 * x[0][oy*S - P][ox0*S - P]. */
static LLVMValueRef window_origin(CgCtx *c, const Conv *cv, LLVMValueRef oy, LLVMValueRef ox0)
{
    const int64_t P = cv->pad, W = cv->in.w, S = cv->a->stride;
    LLVMValueRef row = cg_mul(c, cg_sub(c, cg_mul(c, oy, cg_i64(c, S)), cg_i64(c, P)), cg_i64(c, W));
    return cg_sub(c, cg_add(c, row, cg_mul(c, ox0, cg_i64(c, S))), cg_i64(c, P));
}

/* One block: kb filters from k0, row oy, columns [ox0, ox0 + xb*v), stored
 * through d, or with out, left there (kb x xb vectors, activation applied). */
static void micro_kernel(CgCtx *c, const Fast *f, int kb, LLVMValueRef k0, LLVMValueRef oy, LLVMValueRef ox0,
                         const Dst *d, LLVMValueRef *acc, LLVMValueRef *out)
{
    const Conv *cv = &f->cv;
    const int64_t F = cv->a->size, C = cv->in.d, H = cv->in.h, W = cv->in.w, S = cv->a->stride;
    IR_ASSERT(!cv->xblk && !d->blk); /* blk: only for the filter-vector kernel */
    for (int kk = 0; kk < kb; kk++) {
        LLVMValueRef b = cv->bias ? cg_load(c, cv->bias, cg_add(c, k0, cg_i64(c, kk))) : cg_f32(c, 0);
        LLVMValueRef bv = cg_splat(c, f->v, b);
        for (int j = 0; j < f->xb; j++)
            LLVMBuildStore(c->b, bv, acc[kk * f->xb + j]);
    }
    /* w[k][ch][fy][fx] = w[(k*C + ch)*F*F + fy*F + fx] */
    LLVMValueRef wk0 = cg_mul(c, k0, cg_i64(c, C * F * F));
    LLVMValueRef xrow0 = window_origin(c, cv, oy, ox0);
    CgLoop lc;
    LLVMValueRef ch = cg_loop_begin(c, &lc, cg_i64(c, 0), cg_i64(c, C), "c");
    LLVMValueRef xc = cg_add(c, xrow0, cg_mul(c, ch, cg_i64(c, H * W)));
    LLVMValueRef wc = cg_add(c, wk0, cg_mul(c, ch, cg_i64(c, F * F)));
    /* Windows wider than 3 loop over their rows. With all 25 taps of a 5 x
     * 5 window unrolled, LLVM spilled accumulators to the stack, and the
     * spills' addresses made the speed depend on where the stack fell: the
     * slides' conv at batch 8 took 0.131 or 0.162 ms from one run to the
     * next, 0.112 with the loop; LeNet-5's conv1 0.029 -> 0.023 ms (Zen 4).
     * 3 x 3 windows stay unrolled: the loop cost VGG-16's first conv 2%. */
    const bool row_loop = F > 3;
    CgLoop lfy;
    if (row_loop) {
        LLVMValueRef fy_at = cg_loop_begin(c, &lfy, cg_i64(c, 0), cg_i64(c, F), "fy");
        xc = cg_add(c, xc, cg_mul(c, fy_at, cg_i64(c, W)));
        wc = cg_add(c, wc, cg_mul(c, fy_at, cg_i64(c, F)));
    }
    LLVMValueRef cur[64];
    for (int q = 0; q < kb * f->xb; q++)
        cur[q] = LLVMBuildLoad2(c->b, cg_vec_t(c, f->v), acc[q], "");
    for (int64_t fy = 0; fy < (row_loop ? 1 : F); fy++) {
        for (int64_t fx = 0; fx < F; fx++) {
            LLVMValueRef xv[8];
            for (int j = 0; j < f->xb; j++)
                xv[j] = cg_strided_load(c, f->v, S, cv->x, cg_add(c, xc, cg_i64(c, fy * W + fx + j * f->v * S)));
            for (int kk = 0; kk < kb; kk++) {
                LLVMValueRef w = cg_load(c, cv->w, cg_add(c, wc, cg_i64(c, kk * C * F * F + fy * F + fx)));
                LLVMValueRef wv = cg_splat(c, f->v, w);
                for (int j = 0; j < f->xb; j++)
                    cur[kk * f->xb + j] = cg_fma(c, wv, xv[j], cur[kk * f->xb + j]);
            }
        }
    }
    for (int q = 0; q < kb * f->xb; q++)
        LLVMBuildStore(c->b, cur[q], acc[q]);
    if (row_loop)
        cg_loop_end(c, &lfy);
    cg_loop_end(c, &lc);
    for (int kk = 0; kk < kb; kk++) {
        for (int j = 0; j < f->xb; j++) {
            LLVMValueRef val = LLVMBuildLoad2(c->b, cg_vec_t(c, f->v), acc[kk * f->xb + j], "");
            val = cg_activation(c, cv->act, val);
            if (out) {
                out[kk * f->xb + j] = val;
                continue;
            }
            LLVMValueRef ox = cg_add(c, ox0, cg_i64(c, j * f->v));
            cg_vstore(c, val, d->base, dst_index(c, d, cg_i64(c, kk), oy, ox));
        }
    }
}

/* With channel passes, a pass's first column block would wait for the
 * block's weights for the pass (17 KiB on VGG-16's 512-channel convs) to
 * come from L3 or memory, since a row tile streams all of a layer's weights
 * through L2. Instead, each channel of each block of a pass prefetches a
 * share of the lines of the next pass's weights, which follow this pass's
 * in the packed layout (and after the last pass come the next filter
 * block's, which the next item reads). VGG-16's convs at batch 1 took 159
 * ms instead of 167, its seven 28- and 14-wide ones 79.7 instead of 88.9
 * (medians of five alternating runs, --profile). */
static void prefetch_next_pass(CgCtx *c, const Fast *f, LLVMValueRef oy, LLVMValueRef ox0, LLVMValueRef ch,
                               const Chunk *ck, LLVMValueRef wk0)
{
    const Conv *cv = &f->cv;
    const int64_t F = cv->a->size, B = cv->pack, C = cv->in.d, line = 16; /* floats in a 64-byte line */
    const int64_t blocks = f->blocks + (f->n_last > 0), lines_ch = (F * F * B + line - 1) / line;
    const int64_t per = (lines_ch + ck->rows * blocks - 1) / (ck->rows * blocks); /* lines each channel of a block */
    const int64_t last = (f->out.d + B - 1) / B * B * C * F * F - 1; /* the weights' last float */
    LLVMValueRef block = LLVMBuildUDiv(c->b, cg_sub(c, ox0, cg_i64(c, f->xl)), cg_i64(c, f->n), "");
    LLVMValueRef nth = cg_add(c, cg_mul(c, cg_sub(c, oy, ck->row_base), cg_i64(c, blocks)), block);
    LLVMValueRef cbn = cg_sub(c, ck->c_hi, ck->c_lo);
    LLVMValueRef before = cg_mul(c, nth, cbn); /* channels of the blocks before this one */
    LLVMValueRef share = cg_mul(c, cg_add(c, before, cg_sub(c, ch, ck->c_lo)), cg_i64(c, per));
    LLVMValueRef next = cg_add(c, wk0, cg_mul(c, ck->c_hi, cg_i64(c, F * F * B)));
    for (int64_t j = 0; j < per; j++) {
        LLVMValueRef at = cg_add(c, next, cg_mul(c, cg_add(c, share, cg_i64(c, j)), cg_i64(c, line)));
        cg_prefetch(c, cv->w, cg_smin(c, at, cg_i64(c, last)));
    }
}

/* The filter-vector micro-kernel, for packed weights: kb filters from k0 (a
 * multiple of the vector width) in ceil(kb/v) vectors, at n consecutive
 * columns from ox0 of row oy. For every input channel and tap it loads the
 * vectors of weights once and broadcasts each of the n input values, so no
 * lane is idle whatever the row's width. The accumulators hold filters in
 * their lanes, and the output is rows of columns: they are transposed in
 * registers on the way out. */
static void wide_kernel(CgCtx *c, const Fast *f, int kb, LLVMValueRef k0, LLVMValueRef oy, LLVMValueRef ox0, int n,
                        const Dst *d, LLVMValueRef *acc, const Chunk *ck)
{
    const Conv *cv = &f->cv;
    const int v = f->v, kv = (kb + v - 1) / v;
    const int64_t F = cv->a->size, C = cv->in.d, W = cv->in.w, S = cv->a->stride;
    /* partial[(row * out.w + column) * kv * v + filter] */
    LLVMValueRef part = NULL;
    if (ck)
        part = cg_mul(c, cg_add(c, cg_mul(c, cg_sub(c, oy, ck->row_base), cg_i64(c, f->out.w)), ox0), cg_i64(c, kv * v));
    CgIf first;
    cg_if_begin(c, &first, ck ? ck->first : NULL);
    for (int q = 0; q < kv; q++) {
        LLVMValueRef b = cv->bias ? cg_vload(c, v, cv->bias, cg_add(c, k0, cg_i64(c, q * v))) : LLVMConstNull(cg_vec_t(c, v));
        for (int p = 0; p < n; p++)
            LLVMBuildStore(c->b, b, acc[p * kv + q]);
    }
    if (ck) { /* a later pass resumes from the partial sums */
        cg_if_else(c, &first);
        for (int q = 0; q < n * kv; q++)
            LLVMBuildStore(c->b, cg_vload(c, v, ck->partial, cg_add(c, part, cg_i64(c, (int64_t)q * v))), acc[q]);
    }
    cg_if_end(c, &first);
    /* packed w: [k0/B][ch][fy][fx][q*v + lane], B = cv->pack filters */
    const int64_t B = cv->pack;
    LLVMValueRef wk0 = cg_mul(c, LLVMBuildUDiv(c->b, k0, cg_i64(c, B), ""), cg_i64(c, C * F * F * B));
    const int64_t xs = cv->xblk ? cv->xblk : 1; /* floats a column of x */
    LLVMValueRef xrow0 = cg_mul(c, window_origin(c, cv, oy, ox0), cg_i64(c, xs));
    CgLoop lc;
    LLVMValueRef ch = cg_loop_begin(c, &lc, ck ? ck->c_lo : cg_i64(c, 0), ck ? ck->c_hi : cg_i64(c, C), "c");
    LLVMValueRef xc = cg_add(c, xrow0, x_channel(c, cv, ch));
    LLVMValueRef wc = cg_add(c, wk0, cg_mul(c, ch, cg_i64(c, F * F * B)));
    /* Taps unrolled up to 5 x 5; wider windows loop over their rows and
     * taps, one tap an iteration. Unrolled, AlexNet's 11 x 11 conv1 was 121
     * x 32 instructions a channel; with the taps of a row unrolled, LLVM
     * kept the input values that taps four apart share (stride 4) in
     * registers and spilled the accumulators: 18.4 ms for a batch of 8 on
     * one thread (Zen 4), 15.6 with the tap loop. */
    const bool tap_loop = F > 5;
    if (ck)
        prefetch_next_pass(c, f, oy, ox0, ch, ck, wk0);
    CgLoop lfy, lfx;
    LLVMValueRef fy_at = NULL, fx_at = NULL;
    if (tap_loop) {
        fy_at = cg_loop_begin(c, &lfy, cg_i64(c, 0), cg_i64(c, F), "fy");
        fx_at = cg_loop_begin(c, &lfx, cg_i64(c, 0), cg_i64(c, F), "fx");
    }
    LLVMValueRef cur[64];
    for (int q = 0; q < n * kv; q++)
        cur[q] = LLVMBuildLoad2(c->b, cg_vec_t(c, v), acc[q], "");
    for (int64_t t = 0; t < (tap_loop ? 1 : F * F); t++) {
        /* the tap (fy, fx): x[ch][.. + fy][.. + fx], w[..][ch][fy][fx][..] */
        LLVMValueRef xt, wt;
        if (tap_loop) {
            xt = cg_add(c, xc, cg_mul(c, cg_add(c, cg_mul(c, fy_at, cg_i64(c, W)), fx_at), cg_i64(c, xs)));
            wt = cg_add(c, wc, cg_mul(c, cg_add(c, cg_mul(c, fy_at, cg_i64(c, F)), fx_at), cg_i64(c, B)));
        } else {
            xt = cg_add(c, xc, cg_i64(c, (t / F * W + t % F) * xs));
            wt = cg_add(c, wc, cg_i64(c, t * B));
        }
        LLVMValueRef wv[8];
        for (int q = 0; q < kv; q++)
            wv[q] = cg_vload(c, v, cv->w, cg_add(c, wt, cg_i64(c, q * v)));
        for (int p = 0; p < n; p++) {
            LLVMValueRef xp = cg_splat(c, v, cg_load(c, cv->x, cg_add(c, xt, cg_i64(c, p * S * xs))));
            for (int q = 0; q < kv; q++)
                cur[p * kv + q] = cg_fma(c, xp, wv[q], cur[p * kv + q]);
        }
    }
    for (int q = 0; q < n * kv; q++)
        LLVMBuildStore(c->b, cur[q], acc[q]);
    if (tap_loop) {
        cg_loop_end(c, &lfx);
        cg_loop_end(c, &lfy);
    }
    cg_loop_end(c, &lc);
    CgIf last;
    cg_if_begin(c, &last, ck ? ck->last : NULL);
    /* In channel blocks of v, each accumulator is a cell's filters. */
    for (int q = 0; q < kv && d->blk; q++) {
        IR_ASSERT(d->blk == v && kb % v == 0);
        for (int p = 0; p < n; p++) {
            LLVMValueRef val = LLVMBuildLoad2(c->b, cg_vec_t(c, v), acc[p * kv + q], "");
            LLVMValueRef ox = cg_add(c, ox0, cg_i64(c, p));
            LLVMValueRef out = cg_activation(c, cv->act, val);
            cg_vstore(c, out, d->base, dst_index(c, d, cg_i64(c, q * v), oy, ox));
        }
    }
    /* Else lanes are filters here and columns in the output: transpose
     * blocks of v columns in registers, then store each filter's columns
     * as a row. */
    for (int q = 0; q < kv && !d->blk; q++) {
        int filters = kb - q * v < v ? kb - q * v : v;
        for (int p0 = 0; p0 < n; p0 += v) {
            int cols = n - p0 < v ? n - p0 : v;
            LLVMValueRef r[16];
            for (int t = 0; t < v; t++) {
                r[t] = LLVMGetPoison(cg_vec_t(c, v));
                if (t < cols) {
                    r[t] = LLVMBuildLoad2(c->b, cg_vec_t(c, v), acc[(p0 + t) * kv + q], "");
                    r[t] = cg_activation(c, cv->act, r[t]);
                }
            }
            cg_transpose(c, v, r);
            LLVMValueRef ox = cg_add(c, ox0, cg_i64(c, p0));
            for (int j = 0; j < filters; j++) {
                LLVMValueRef row = cg_prefix(c, r[j], cols);
                if (d->other) { /* in PyTorch's order, the conv's value first */
                    const IrShape o = f->out;
                    LLVMValueRef cell = cg_add(c, cg_mul(c, oy, cg_i64(c, o.w)), ox);
                    LLVMValueRef at = cg_add(c, cg_i64(c, (q * v + j) * o.w * o.h), cell);
                    row = LLVMBuildFAdd(c->b, row, cg_vload(c, cols, d->other, at), "");
                    row = cg_activation(c, f->add_act, row);
                }
                cg_vstore(c, row, d->base, dst_index(c, d, cg_i64(c, q * v + j), oy, ox));
            }
        }
    }
    if (ck) { /* not the last pass: keep the sums */
        cg_if_else(c, &last);
        for (int q = 0; q < n * kv; q++) {
            LLVMValueRef sum = LLVMBuildLoad2(c->b, cg_vec_t(c, v), acc[q], "");
            cg_vstore(c, sum, ck->partial, cg_add(c, part, cg_i64(c, (int64_t)q * v)));
        }
    }
    cg_if_end(c, &last);
}

/* Naive values for kb filters from k0 at row oy, columns [lo, hi): whole
 * sums, so with channel passes only in the last. */
static void naive_cells(CgCtx *c, const Fast *f, int kb, LLVMValueRef k0, LLVMValueRef oy, int64_t lo, int64_t hi,
                        const Dst *d, const Chunk *ck)
{
    if (lo >= hi)
        return;
    CgIf last;
    cg_if_begin(c, &last, ck ? ck->last : NULL);
    CgLoop lk, lx;
    LLVMValueRef kk = cg_loop_begin(c, &lk, cg_i64(c, 0), cg_i64(c, kb), "kk");
    LLVMValueRef ox = cg_loop_begin(c, &lx, cg_i64(c, lo), cg_i64(c, hi), "ox");
    LLVMValueRef v = conv_value(c, &f->cv, cg_add(c, k0, kk), oy, ox);
    cg_store(c, v, d->base, dst_index(c, d, kk, oy, ox));
    cg_loop_end(c, &lx);
    cg_loop_end(c, &lk);
    cg_if_end(c, &last);
}

/* One output row oy for kb filters from k0: a micro-kernel over the
 * interior columns of an interior row, the naive code elsewhere. */
static void conv_row(CgCtx *c, const Fast *f, int kb, LLVMValueRef k0, LLVMValueRef oy, const Dst *d,
                     LLVMValueRef *acc, const Chunk *ck)
{
    LLVMValueRef below = LLVMBuildICmp(c->b, LLVMIntSGE, oy, cg_i64(c, f->yl), "");
    LLVMValueRef above = LLVMBuildICmp(c->b, LLVMIntSLT, oy, cg_i64(c, f->yr), "");
    LLVMValueRef inside = LLVMBuildAnd(c->b, below, above, "");
    CgIf row;
    cg_if_begin(c, &row, inside);
    naive_cells(c, f, kb, k0, oy, 0, f->xl, d, ck);
    CgLoop lb;
    if (f->cv.pack) {
        if (f->blocks > 0) {
            LLVMValueRef bi = cg_loop_begin(c, &lb, cg_i64(c, 0), cg_i64(c, f->blocks), "block");
            wide_kernel(c, f, kb, k0, oy, cg_add(c, cg_i64(c, f->xl), cg_mul(c, bi, cg_i64(c, f->n))), f->n, d, acc,
                        ck);
            cg_loop_end(c, &lb);
        }
        if (f->n_last > 0)
            wide_kernel(c, f, kb, k0, oy, cg_i64(c, f->xr - f->n_last), f->n_last, d, acc, ck);
    } else {
        int64_t bw = (int64_t)f->v * f->xb, blocks = (f->xr - f->xl) / bw;
        if (blocks > 0) {
            LLVMValueRef bi = cg_loop_begin(c, &lb, cg_i64(c, 0), cg_i64(c, blocks), "block");
            micro_kernel(c, f, kb, k0, oy, cg_add(c, cg_i64(c, f->xl), cg_mul(c, bi, cg_i64(c, bw))), d, acc, NULL);
            cg_loop_end(c, &lb);
        }
        /* The rest in a last block shifted back to end the row, one vector
         * wide when the rest fits one: 111 columns are 3 x 32 + 16, not
         * 4 x 32 (SqueezeNet's and MobileNetV2's first convs). */
        int64_t rest = (f->xr - f->xl) % bw;
        if (rest > 0 && rest <= f->v && f->xb > 1 && blocks > 0) {
            Fast one = *f;
            one.xb = 1;
            micro_kernel(c, &one, kb, k0, oy, cg_i64(c, f->xr - f->v), d, acc, NULL);
        } else if (rest > 0) {
            micro_kernel(c, f, kb, k0, oy, cg_i64(c, f->xr - bw), d, acc, NULL);
        }
    }
    naive_cells(c, f, kb, k0, oy, f->xr, f->out.w, d, ck);
    cg_if_else(c, &row);
    naive_cells(c, f, kb, k0, oy, 0, f->out.w, d, ck);
    cg_if_end(c, &row);
}

/* The vector width for a fused max pool's rows, or 0 for the scalar loop:
 * windows without gaps between them (size >= stride), up to 4 wide, and a
 * row at least 4 windows wide. */
static int pool_vector(const CgCtx *c, const IrPoolAttr *p, IrShape pout)
{
    if (c->vec_width < 4 || p->size < p->stride || p->size > 4)
        return 0;
    int vp = c->vec_width;
    while (vp > pout.w)
        vp /= 2;
    return vp >= 4 ? vp : 0;
}

/* The fused pool's row py for kb filters from k0, from the rows [y0, y1)
 * that conv_blocks made into the row buffer d: the maximum of each
 * window's cells (pool_span), for w filters at once, w = 1 or, in channel
 * blocks, their width (a vector of a cell's filters). */
static void pool_windows(CgCtx *c, const Fast *f, const IrPoolAttr *p, const Dst *d, LLVMValueRef y,
                         LLVMValueRef k0, int kb, LLVMValueRef py, LLVMValueRef y0, LLVMValueRef y1, IrShape pout,
                         int w)
{
    CgLoop lq, lpx, lwy, lwx;
    LLVMValueRef best = w > 1 ? cg_vvar(c, w, "best") : cg_var(c, "best");
    LLVMTypeRef t = w > 1 ? cg_vec_t(c, w) : c->f32;
    LLVMValueRef kk = cg_mul(c, cg_loop_begin(c, &lq, cg_i64(c, 0), cg_i64(c, kb / w), "kq"), cg_i64(c, w));
    LLVMValueRef px = cg_loop_begin(c, &lpx, cg_i64(c, 0), cg_i64(c, pout.w), "px");
    LLVMValueRef x0, x1;
    pool_span(c, px, p, f->out.w, &x0, &x1);
    LLVMBuildStore(c->b, w > 1 ? cg_splat(c, w, cg_f32(c, -INFINITY)) : cg_f32(c, -INFINITY), best);
    LLVMValueRef cy = cg_loop_begin(c, &lwy, y0, y1, "cy");
    LLVMValueRef cx = cg_loop_begin(c, &lwx, x0, x1, "cx");
    LLVMValueRef at = dst_index(c, d, kk, cy, cx);
    LLVMValueRef val = w > 1 ? cg_vload(c, w, d->base, at) : cg_load(c, d->base, at);
    LLVMBuildStore(c->b, cg_max_nan(c, LLVMBuildLoad2(c->b, t, best, ""), val), best);
    cg_loop_end(c, &lwx);
    cg_loop_end(c, &lwy);
    LLVMValueRef out = LLVMBuildLoad2(c->b, t, best, ""), to = cg_conv_out_index(c, &f->y, cg_add(c, k0, kk), py, px);
    if (w > 1)
        cg_vstore(c, out, y, to);
    else
        cg_store(c, out, y, to);
    cg_loop_end(c, &lpx);
    cg_loop_end(c, &lq);
}

/* Where the block of vp pooled columns from b0 starts: at b0, or for a
 * last block past the row's end, shifted back to end it. */
static int64_t block_at(int64_t b0, int vp, int64_t w)
{
    return b0 + vp > w ? w - vp : b0;
}

/* For plain output (pool_vector), a fused pool goes in two steps. First
 * across: each conv row, as it is made, to the maxima of its windows'
 * columns, vp windows of a filter at once, each of the F columns one
 * strided load with the cells past the row's end (round=ceil) masked off;
 * the last block shifted back to end the row. These go to row cy mod F of
 * the ring `across`, [kb][F][pout.w], so that where windows overlap down a
 * row's maxima serve every pooled row that takes it. */
static void pool_across(CgCtx *c, const Fast *f, const IrPoolAttr *p, const Dst *d, LLVMValueRef across, int kb,
                        LLVMValueRef cy, IrShape pout, int vp)
{
    CgLoop lkk;
    LLVMValueRef kk = cg_loop_begin(c, &lkk, cg_i64(c, 0), cg_i64(c, kb), "kk");
    LLVMValueRef ring = LLVMBuildURem(c->b, cy, cg_i64(c, p->size), "");
    LLVMValueRef row = cg_mul(c, cg_add(c, cg_mul(c, kk, cg_i64(c, p->size)), ring), cg_i64(c, pout.w));
    for (int64_t b0 = 0; b0 < pout.w; b0 += vp) {
        const int64_t b = block_at(b0, vp, pout.w), col = b * p->stride - p->pad;
        LLVMValueRef at = dst_index(c, d, kk, cy, cg_i64(c, col));
        LLVMValueRef m = cg_window_max(c, vp, p->stride, p->size, d->base, at, -col, f->out.w - col);
        cg_vstore(c, m, across, cg_add(c, row, cg_i64(c, b)));
    }
    cg_loop_end(c, &lkk);
}

/* Then down: pooled row py, the maximum of the rows [y0, y1) of `across`.
 * Up to POOL_GROUP blocks of a row go together, each its own running
 * maximum, so that the loads do not wait on one chain of maxima. */
enum { POOL_GROUP = 4 };
static void pool_down(CgCtx *c, const Fast *f, const IrPoolAttr *p, LLVMValueRef across, LLVMValueRef y,
                      LLVMValueRef k0, int kb, LLVMValueRef py, LLVMValueRef y0, LLVMValueRef y1, IrShape pout, int vp)
{
    CgLoop lkk, lwy;
    LLVMTypeRef vt = cg_vec_t(c, vp);
    LLVMValueRef kk = cg_loop_begin(c, &lkk, cg_i64(c, 0), cg_i64(c, kb), "kk");
    LLVMValueRef yrow = cg_conv_out_index(c, &f->y, cg_add(c, k0, kk), py, cg_i64(c, 0));
    LLVMValueRef best[POOL_GROUP];
    for (int i = 0; i < POOL_GROUP; i++)
        best[i] = cg_vvar(c, vp, "best");
    const int64_t blocks = (pout.w + vp - 1) / vp;
    for (int64_t g0 = 0; g0 < blocks; g0 += POOL_GROUP) {
        const int64_t nb = blocks - g0 < POOL_GROUP ? blocks - g0 : POOL_GROUP;
        int64_t at_px[POOL_GROUP];
        for (int64_t i = 0; i < nb; i++) {
            at_px[i] = block_at((g0 + i) * vp, vp, pout.w);
            LLVMBuildStore(c->b, cg_splat(c, vp, cg_f32(c, -INFINITY)), best[i]);
        }
        LLVMValueRef cy = cg_loop_begin(c, &lwy, y0, y1, "cy");
        LLVMValueRef ring = LLVMBuildURem(c->b, cy, cg_i64(c, p->size), "");
        LLVMValueRef row = cg_mul(c, cg_add(c, cg_mul(c, kk, cg_i64(c, p->size)), ring), cg_i64(c, pout.w));
        for (int64_t i = 0; i < nb; i++) {
            LLVMValueRef v = cg_vload(c, vp, across, cg_add(c, row, cg_i64(c, at_px[i])));
            LLVMBuildStore(c->b, cg_max_nan(c, LLVMBuildLoad2(c->b, vt, best[i], ""), v), best[i]);
        }
        cg_loop_end(c, &lwy);
        for (int64_t i = 0; i < nb; i++) {
            LLVMValueRef max = LLVMBuildLoad2(c->b, vt, best[i], "");
            cg_vstore(c, max, y, cg_add(c, yrow, cg_i64(c, at_px[i])));
        }
    }
    cg_loop_end(c, &lkk);
}

/* Whether the column-vector kernel pools a fused 2x2 max pool of stride 2
 * in registers (pooled_row): one vector of columns a block, windows inside
 * the map, whose rows and columns are all interior. Through the row buffer
 * instead, a pooled row's loads span two blocks' stores (the last block is
 * shifted back), which stores cannot forward to loads; this machine has no
 * counters to say that was the cost, but LeNet-5's conv1 at batch 8 took
 * 0.0220 ms that way and 0.0203 in registers (min of 11 alternating
 * rounds, Zen 4). */
static bool pool_in_registers(const Fast *f, const IrPoolAttr *p, IrShape pout)
{
    return !f->cv.pack && f->xb == 1 && f->v >= 8 && !f->y.blk && p->size == 2 && p->stride == 2 && p->pad == 0 &&
           f->yl == 0 && f->yr >= 2 * pout.h && f->xl == 0 && f->xr >= 2 * pout.w && 2 * pout.w >= f->v;
}

/* Pooled row py for kb filters from k0 (pool_in_registers): each block of
 * v columns of the two conv rows, the maximum of the rows, then of each
 * pair of lanes, whose v/2 results are stored as they are. */
static void pooled_row(CgCtx *c, const Fast *f, int kb, LLVMValueRef k0, LLVMValueRef py, LLVMValueRef y,
                       IrShape pout, LLVMValueRef *acc)
{
    const int v = f->v;
    const int64_t width = 2 * pout.w, blocks = width / v;
    LLVMValueRef swap[16], even[8];
    for (int l = 0; l < v; l++)
        swap[l] = LLVMConstInt(c->i32, (unsigned)(l ^ 1), 0);
    for (int l = 0; l < v / 2; l++)
        even[l] = LLVMConstInt(c->i32, (unsigned)(2 * l), 0);
    LLVMValueRef swap_mask = LLVMConstVector(swap, (unsigned)v), even_mask = LLVMConstVector(even, (unsigned)v / 2);
    LLVMValueRef oy = cg_mul(c, py, cg_i64(c, 2));
    CgLoop lb;
    for (int last = 0; last < 2; last++) {
        LLVMValueRef ox0;
        if (!last) {
            ox0 = cg_mul(c, cg_loop_begin(c, &lb, cg_i64(c, 0), cg_i64(c, blocks), "block"), cg_i64(c, v));
        } else {
            if (width % v == 0)
                break;
            ox0 = cg_i64(c, width - v); /* shifted back to end the row; even, as v is */
        }
        LLVMValueRef top[64], bottom[64];
        const Dst none = {0}; /* the values stay in top and bottom */
        micro_kernel(c, f, kb, k0, oy, ox0, &none, acc, top);
        micro_kernel(c, f, kb, k0, cg_add(c, oy, cg_i64(c, 1)), ox0, &none, acc, bottom);
        LLVMValueRef px = LLVMBuildUDiv(c->b, ox0, cg_i64(c, 2), "");
        for (int kk = 0; kk < kb; kk++) {
            LLVMValueRef m = cg_max_nan(c, top[kk], bottom[kk]);
            m = cg_max_nan(c, m, LLVMBuildShuffleVector(c->b, m, LLVMGetPoison(LLVMTypeOf(m)), swap_mask, ""));
            LLVMValueRef pooled = LLVMBuildShuffleVector(c->b, m, LLVMGetPoison(LLVMTypeOf(m)), even_mask, "");
            cg_vstore(c, pooled, y, cg_conv_out_index(c, &f->y, cg_add(c, k0, cg_i64(c, kk)), py, px));
        }
        if (!last)
            cg_loop_end(c, &lb);
    }
}

/* Filter blocks [blk_lo, blk_hi) of kb filters from k_lo: every row, into
 * y, or through the pool's row buffer when a max pool is fused. */
static void conv_blocks(CgCtx *c, const Fast *f, int kb, int64_t k_lo, int64_t nblk, LLVMValueRef it_lo,
                        LLVMValueRef it_hi, const IrNode *pool, LLVMValueRef y, LLVMValueRef rowbuf, IrShape pout)
{
    LLVMValueRef acc[64];
    int nacc = f->cv.pack ? f->n * ((kb + f->v - 1) / f->v) : kb * f->xb;
    for (int q = 0; q < nacc; q++)
        acc[q] = cg_vvar(c, f->v, "acc");
    /* Items [it_lo, it_hi) of (row tile, filter block) pairs, the tile
     * outer: every block reads the tile's input rows while they are in the
     * cache (plan_fast sizes the tile), instead of each block streaming the
     * whole input again. Threads take ranges of items. */
    int64_t rows = pool ? pout.h : f->out.h;
    CgLoop lt, ly;
    LLVMValueRef item = cg_loop_begin(c, &lt, it_lo, it_hi, "item");
    LLVMValueRef tile = LLVMBuildUDiv(c->b, item, cg_i64(c, nblk), "rowtile");
    LLVMValueRef kblk = LLVMBuildURem(c->b, item, cg_i64(c, nblk), "kblock");
    LLVMValueRef r_lo = cg_mul(c, tile, cg_i64(c, f->tile));
    LLVMValueRef r_hi = cg_smin(c, cg_add(c, r_lo, cg_i64(c, f->tile)), cg_i64(c, rows));
    LLVMValueRef k0 = cg_add(c, cg_i64(c, k_lo), cg_mul(c, kblk, cg_i64(c, kb)));
    /* Passes over chunks of input channels (plan_fast), so that the
     * filter block's weights for a chunk stay in L1 for the whole tile. */
    Chunk chunk, *ck = NULL;
    CgLoop lch;
    if (f->cb > 0) {
        const int64_t C = f->cv.in.d, passes = (C + f->cb - 1) / f->cb;
        int64_t prow = pool ? f->tile * pool->attr.pool.stride : f->tile, kvv = (kb + f->v - 1) / f->v * f->v;
        LLVMValueRef partial = cg_entry_alloca(c, LLVMArrayType2(c->f32, (uint64_t)(prow * f->out.w * kvv)), "partial");
        LLVMSetAlignment(partial, 64);
        LLVMValueRef pass = cg_loop_begin(c, &lch, cg_i64(c, 0), cg_i64(c, passes), "pass");
        LLVMValueRef c_lo = cg_mul(c, pass, cg_i64(c, f->cb));
        /* Built before the initialiser, whose order C leaves open. */
        LLVMValueRef c_hi = cg_smin(c, cg_add(c, c_lo, cg_i64(c, f->cb)), cg_i64(c, C));
        LLVMValueRef first = LLVMBuildICmp(c->b, LLVMIntEQ, pass, cg_i64(c, 0), "");
        LLVMValueRef last = LLVMBuildICmp(c->b, LLVMIntEQ, pass, cg_i64(c, passes - 1), "");
        LLVMValueRef row_base = pool ? cg_mul(c, r_lo, cg_i64(c, pool->attr.pool.stride)) : r_lo;
        chunk = (Chunk){
            .c_lo = c_lo,
            .c_hi = c_hi,
            .first = first,
            .last = last,
            .partial = partial,
            .row_base = row_base,
            .rows = prow,
        };
        ck = &chunk;
    }
    if (!pool) {
        LLVMValueRef base = cg_at(c, y, cg_conv_out_index(c, &f->y, k0, cg_i64(c, 0), cg_i64(c, 0)));
        LLVMValueRef other = f->other ? cg_at(c, f->other, cg_mul(c, k0, cg_i64(c, f->out.w * f->out.h))) : NULL;
        Dst d = {base, f->y.plane, f->y.row, 0, f->y.blk, other};
        LLVMValueRef oy = cg_loop_begin(c, &ly, r_lo, r_hi, "oy");
        conv_row(c, f, kb, k0, oy, &d, acc, ck);
        cg_loop_end(c, &ly);
    } else if (pool_in_registers(f, &pool->attr.pool, pout)) {
        LLVMValueRef py = cg_loop_begin(c, &ly, r_lo, r_hi, "py");
        pooled_row(c, f, kb, k0, py, y, pout, acc);
        cg_loop_end(c, &ly);
    } else {
        const IrPoolAttr *p = &pool->attr.pool;
        LLVMValueRef py = cg_loop_begin(c, &ly, r_lo, r_hi, "py");
        LLVMValueRef y0, y1;
        pool_span(c, py, p, f->out.h, &y0, &y1);
        /* The buffer is a ring of F rows, which holds any F consecutive
         * ones: where windows overlap, the rows a pooled row shares with
         * the one before (those before its window's end, F - S rows past
         * this window's start) stay there, and only a tile's first row
         * makes all of its own. */
        Dst d = {rowbuf, p->size * f->out.w, f->out.w, p->size, f->y.blk, NULL};
        LLVMValueRef from = y0;
        if (p->size > p->stride) {
            LLVMValueRef first = LLVMBuildICmp(c->b, LLVMIntEQ, py, r_lo, "");
            LLVMValueRef start = cg_sub(c, cg_mul(c, py, cg_i64(c, p->stride)), cg_i64(c, p->pad));
            LLVMValueRef made = cg_smin(c, cg_add(c, start, cg_i64(c, p->size - p->stride)), y1);
            from = LLVMBuildSelect(c->b, first, y0, made, ""); /* made >= y0: F >= S */
        }
        const int vp = f->y.blk ? 0 : pool_vector(c, p, pout);
        LLVMValueRef across = vp ? cg_at(c, rowbuf, cg_i64(c, (int64_t)f->kb * p->size * f->out.w)) : NULL;
        CgLoop lr;
        LLVMValueRef oy = cg_loop_begin(c, &lr, from, y1, "cy");
        conv_row(c, f, kb, k0, oy, &d, acc, ck);
        if (vp) {
            CgIf made;
            cg_if_begin(c, &made, ck ? ck->last : NULL);
            pool_across(c, f, p, &d, across, kb, oy, pout, vp);
            cg_if_end(c, &made);
        }
        cg_loop_end(c, &lr);
        CgIf finished;
        cg_if_begin(c, &finished, ck ? ck->last : NULL);
        if (vp)
            pool_down(c, f, p, across, y, k0, kb, py, y0, y1, pout, vp);
        else
            pool_windows(c, f, p, &d, y, k0, kb, py, y0, y1, pout, f->y.blk ? f->y.blk : 1);
        cg_if_end(c, &finished);
        cg_loop_end(c, &ly);
    }
    if (ck)
        cg_loop_end(c, &lch);
    cg_loop_end(c, &lt);
}

/* Planes of H rows of W floats, framed by P rows above and below and Px
 * floats left and right: P = Px for channels, Px = P x v for blocks of v
 * channels, whose cells are v floats. */
typedef struct PadCopy {
    int64_t P, Px, H, W;
} PadCopy;

/* Planes [c_lo, c_hi) of the padded copy: x to dst; with x NULL, only
 * zeroes dst's frame (a buffer planned with one, cg_zero_frame). Only the
 * frame is zeroed (zeroing the whole copy first wrote it twice): the top P rows and the
 * first Px of the next, then each row's W values, its right Px and the next
 * row's left Px as one span, and the rest of the bottom P rows. */
static void pad_channels(CgCtx *c, const PadCopy *pc, LLVMValueRef x, LLVMValueRef dst, LLVMValueRef c_lo,
                         LLVMValueRef c_hi)
{
    const int64_t P = pc->P, Px = pc->Px, H = pc->H, W = pc->W, Wp = W + 2 * Px, Hp = H + 2 * P;
    LLVMValueRef zero = LLVMConstInt(c->i8, 0, 0);
    CgLoop lc, ly;
    LLVMValueRef ch = cg_loop_begin(c, &lc, c_lo, c_hi, "c");
    LLVMValueRef plane = cg_mul(c, ch, cg_i64(c, Hp * Wp));
    LLVMBuildMemSet(c->b, cg_at(c, dst, plane), zero, cg_i64(c, (P * Wp + Px) * 4), 4);
    LLVMValueRef iy = cg_loop_begin(c, &ly, cg_i64(c, 0), cg_i64(c, H), "iy");
    LLVMValueRef from = cg_mul(c, cg_add(c, cg_mul(c, ch, cg_i64(c, H)), iy), cg_i64(c, W));
    LLVMValueRef to = cg_add(c, cg_add(c, plane, cg_mul(c, cg_add(c, iy, cg_i64(c, P)), cg_i64(c, Wp))), cg_i64(c, Px));
    if (x) {
        LLVMValueRef into = cg_at(c, dst, to);
        LLVMBuildMemCpy(c->b, into, 4, cg_at(c, x, from), 4, cg_i64(c, W * 4));
    }
    LLVMBuildMemSet(c->b, cg_at(c, dst, cg_add(c, to, cg_i64(c, W))), zero, cg_i64(c, 2 * Px * 4), 4);
    cg_loop_end(c, &ly);
    LLVMValueRef bottom = cg_add(c, plane, cg_i64(c, (P + H) * Wp + Px));
    LLVMBuildMemSet(c->b, cg_at(c, dst, bottom), zero, cg_i64(c, (P * Wp - Px) * 4), 4);
    cg_loop_end(c, &lc);
}

void cg_zero_frame(CgCtx *c, LLVMValueRef y, int64_t P, IrShape s, int blk)
{
    const int64_t v = blk ? blk : 1;
    PadCopy pc = {P, P * v, s.h, s.w * v};
    pad_channels(c, &pc, NULL, y, cg_i64(c, 0), cg_i64(c, s.d / v));
}

/* ptrs: input, copy. */
static void pad_task(CgCtx *c, void *user, LLVMValueRef *ptrs, LLVMValueRef begin, LLVMValueRef end)
{
    pad_channels(c, user, ptrs[0], ptrs[1], begin, end);
}

/* Copies the input into the scratch the plan gave this conv, with P zeros
 * around every channel, and points the conv at the copy: the kernel then
 * never meets an edge. Only inputs without a frame need it (the network's
 * own, or a pool's or relu's output): on VGG-16 only the first conv's. A
 * conv split over threads splits its copy too, rather than keep the other
 * threads waiting: on c224_64_64 as a network of its own the copy's memmove
 * took 8.5% of the layer on one thread (perf). */
static void pad_input(CgCtx *c, size_t node, Conv *cv, LLVMValueRef dst, bool split)
{
    IR_ASSERT(!cv->xblk); /* a blocked input has its frame (ir/plan.c) */
    PadCopy pc = {cv->pad, cv->pad, cv->in.h, cv->in.w};
    if (split && cv->in.d >= 2) {
        char name[64];
        snprintf(name, sizeof name, "layer%zu.conv.pad", node);
        LLVMValueRef ptrs[2] = {cv->x, dst};
        cg_parallel_for(c, name, ptrs, 2, cg_i64(c, cv->in.d), pad_task, &pc);
    } else {
        pad_channels(c, &pc, cv->x, dst, cg_i64(c, 0), cg_i64(c, cv->in.d));
    }
    cv->x = dst;
    cv->in.w += 2 * cv->pad;
    cv->in.h += 2 * cv->pad;
    cv->pad = cv->pad_h = 0;
}

/* Chooses the blocking for the kernel the plan chose, IR_KERNEL_FILTERS
 * or IR_KERNEL_COLUMNS; false where ir/kernel.c's rules were broken. */
static bool plan_fast(CgCtx *c, const IrNode *n, const IrNode *pool, Fast *f)
{
    const IrConvAttr *a = &n->attr.conv;
    f->out = n->out;
    /* Interior: o*S - P >= 0 and o*S - P + F <= in (all of it with a padded
     * copy, but for round=ceil's overhang). */
    const int64_t S = a->stride, P = f->cv.pad;
    f->xl = (P + S - 1) / S;
    f->xr = f->cv.in.w + P - a->size < 0 ? 0 : (f->cv.in.w + P - a->size) / S + 1;
    f->yl = (P + S - 1) / S;
    f->yr = f->cv.in.h + P - a->size < 0 ? 0 : (f->cv.in.h + P - a->size) / S + 1;
    if (f->xr > f->out.w)
        f->xr = f->out.w; /* round=ceil may add columns past the interior */
    if (f->yr > f->out.h)
        f->yr = f->out.h;
    int64_t width = f->xr - f->xl;
    /* Row tiles whose input rows (all channels) fit half a typical L2:
     * 512 KiB of the 1-2 MiB that AVX-512 parts have, else 256 KiB. */
    const int64_t budget = (c->vec_width >= 16 ? 512 : 256) * 1024;
    int64_t row_bytes = f->cv.in.d * f->cv.in.w * 4, fit = budget / (row_bytes ? row_bytes : 1);
    int64_t unit = pool ? pool->attr.pool.stride : 1; /* output rows per tile row */
    f->tile = fit > a->size ? (fit - a->size) / (S * unit) + 1 : 1;
    if (f->cv.pack) {
        /* Two vectors of filters and as many columns as leave a register
         * for the broadcast and each weight vector, 6 x 2 with AVX's 16
         * registers, but at most 10: with AVX-512's 32, LLVM spilled at
         * 14 x 2 (50% of peak), and 13 x 2 ran at 73%, 10 x 2 at 85%. The
         * block narrows when that evens the row out (14 columns: 7 + 7; 55:
         * five of 10 and one of 5).
         * Blocks of 10 and 9 that fill a row exactly (224 = 8 x 10 + 16 x 9)
         * measured no faster than 22 x 10 and a block of 4. 12 x 2 spills
         * too (LLVM 19 keeps broadcasts across taps). Three or four vectors
         * of filters (7 x 3, 5 x 4: no spills) were no faster, up to 20%
         * slower alone on VGG-16's shapes; 8 x 3 and 6 x 4 spill. */
        f->v = c->vec_width;
        int kv = (int)f->cv.pack / f->v;
        int nmax = (c->vec_regs - kv - 2) / kv;
        if (nmax > 10)
            nmax = 10;
        if (width <= 0)
            return false;
        int64_t nb = (width + nmax - 1) / nmax;
        f->n = (int)((width + nb - 1) / nb);
        f->blocks = width / f->n;
        f->n_last = (int)(width - f->blocks * f->n);
        f->kb = kv * f->v;
        if (f->kb > n->out.d)
            f->kb = (int)n->out.d;
        /* Passes over channels, each pass's weights for the block in a third
         * of a 48 KiB L1 (the rest for the input rows and the sums), the
         * channels shared evenly: CIFAR-10's 32-channel convs (36 KiB of
         * weights a block) in 3 passes of 11 ran its batch of 8 in 2.44 ms,
         * against 2.63 ms in one pass and 2.7 ms in passes of 14, 14 and 4.
         * A pass needs 36 taps or more (4 channels of 3 x 3) to pay for
         * reloading its sums: AlexNet's conv1 (3 channels of 11 x 11, 46 KiB
         * of weights a block) runs a channel a pass. Pools must neither
         * overlap nor pad (each conv row made once a pass), and the partial sums of a tile at
         * most 128 KiB (they are on the stack). */
        const int64_t pass_bytes = 16 * 1024, channel_bytes = (int64_t)kv * f->v * a->size * a->size * 4;
        int64_t passes = (channel_bytes * f->cv.in.d + pass_bytes - 1) / pass_bytes;
        int64_t cb = (f->cv.in.d + passes - 1) / passes;
        f->cb = 0;
        const bool tiling = !pool || (pool->attr.pool.size == pool->attr.pool.stride && pool->attr.pool.pad == 0);
        if (passes >= 2 && cb * a->size * a->size >= 36 && tiling) {
            int64_t prow_floats = (pool ? pool->attr.pool.stride : 1) * f->out.w * kv * f->v;
            int64_t most = (128 * 1024 / 4) / prow_floats;
            if (most >= 1) {
                f->cb = cb;
                if (f->tile > most)
                    f->tile = most;
            }
        }
    } else {
        f->v = c->vec_width;
        while (f->v >= 4 && f->v > width)
            f->v /= 2;
        if (f->v < 4)
            return false;
        /* Accumulators kb x xb in about two thirds of the registers, the rest
         * for the input vectors and the broadcast weight. */
        f->xb = width >= 2 * f->v ? 2 : 1;
        f->kb = (c->vec_regs * 2 / 3) / f->xb;
        if (f->kb > 8)
            f->kb = 8;
        if (f->kb > n->out.d)
            f->kb = (int)n->out.d;
    }
    /* The fused pool's rows for kb filters live on the stack: keep it small. */
    return !(pool && ir_pool_rows_bytes(pool, f->kb, f->out.w) > IR_POOL_ROWS_MAX);
}

/* The fused pool's rows for one block of filters, on the current function's
 * stack; NULL without a pool. */
static LLVMValueRef pool_rows(CgCtx *c, const Fast *f, const IrNode *pool)
{
    if (!pool)
        return NULL;
    /* F conv rows, then F rows of their maxima across (pool_across) */
    int64_t floats = ir_pool_rows_bytes(pool, f->kb, f->out.w) / 4;
    LLVMValueRef rowbuf = cg_entry_alloca(c, LLVMArrayType2(c->f32, (uint64_t)floats), "pool_rows");
    LLVMSetAlignment(rowbuf, 64);
    return rowbuf;
}

/* What a conv task needs besides the pointers it is given. */
typedef struct ConvTask {
    const Fast *f;
    const IrNode *pool;
    IrShape pout;
    int64_t nblk;
} ConvTask;

/* ptrs: input, output, weights, bias. */
static void conv_task(CgCtx *c, void *user, LLVMValueRef *ptrs, LLVMValueRef begin, LLVMValueRef end)
{
    const ConvTask *t = user;
    Fast f = *t->f;
    f.cv.x = ptrs[0];
    f.cv.w = ptrs[2];
    f.cv.bias = ptrs[3];
    f.other = ptrs[4];
    f.cv.acc = cg_var(c, "acc");
    conv_blocks(c, &f, f.kb, 0, t->nblk, begin, end, t->pool, ptrs[1], pool_rows(c, &f, t->pool), t->pout);
}

/* The micro-kernels' blocks, as plan_fast chose them, over threads when the
 * conv is split. */
static void lower_fast(CgCtx *c, size_t node, Fast *fp, const IrNode *pool, LLVMValueRef y, bool split)
{
    const IrGraph *g = c->g;
    Fast f = *fp;
    IrShape pout = g->nodes[ir_group_tail(g, node)].out;
    int64_t K = f.out.d, main_k = K / f.kb * f.kb, nblk = main_k / f.kb, rows = pool ? pout.h : f.out.h;
    if (split && nblk > 0) {
        /* At least 8 items, cutting the rows finer where there are few
         * filter blocks (CIFAR-10's 32-filter convs are one block), so that
         * threads share a layer evenly. */
        int64_t tiles = (8 + nblk - 1) / nblk, t = (rows + tiles - 1) / tiles;
        if (t < f.tile)
            f.tile = t;
    }
    /* Tiles of even size: VGG-16's first conv had one of 191 rows and one
     * of 33, and two threads took one each. */
    int64_t ntiles = (rows + f.tile - 1) / f.tile;
    f.tile = (rows + ntiles - 1) / ntiles;
    int64_t items = nblk * ntiles;
    LLVMValueRef rowbuf = pool_rows(c, &f, pool);
    if (split && items >= 2) {
        char name[64];
        snprintf(name, sizeof name, "layer%zu.conv.task", node);
        ConvTask t = {&f, pool, pout, nblk};
        LLVMValueRef ptrs[5] = {f.cv.x, y, f.cv.w, f.cv.bias, f.other};
        cg_parallel_for(c, name, ptrs, 5, cg_i64(c, items), conv_task, &t);
    } else if (items > 0) {
        conv_blocks(c, &f, f.kb, 0, nblk, cg_i64(c, 0), cg_i64(c, items), pool, y, rowbuf, pout);
    }
    if (K > main_k) /* the last filters, fewer than a block */
        conv_blocks(c, &f, (int)(K - main_k), main_k, 1, cg_i64(c, 0), cg_i64(c, ntiles), pool, y, rowbuf, pout);
}

/* The activation after residual add `add` in its group, or NULL. */
static const IrNode *add_activation(const CgCtx *c, size_t add)
{
    const IrGraph *g = c->g;
    return add < ir_group_tail(g, add) && ir_fusable_act(&g->nodes[add + 1]) ? &g->nodes[add + 1] : NULL;
}

/* A residual add fused after the conv (ir/fuse.c) that the kernel did not
 * take as it stored (residual_in_store): y = act(y + other) over the conv's
 * output as the kernel laid it out, other plain, with the activation that
 * follows the add in the group, if any. A second pass over the output in
 * the same kernel, while it is still in the caches; the values are summed
 * in PyTorch's order, conv first. */
static void residual(CgCtx *c, size_t add, LLVMValueRef other, LLVMValueRef y, const CgConvOut *o)
{
    const IrGraph *g = c->g;
    const IrNode *act = add_activation(c, add);
    const IrShape s = g->nodes[add].out;
    const int v = o->blk ? 1 : c->vec_width; /* columns a vector; cells of a block are scalars */
    const int64_t body = v > 1 ? s.w / v * v : 0;
    CgLoop lk, ly, lx;
    LLVMValueRef k = cg_loop_begin(c, &lk, cg_i64(c, 0), cg_i64(c, s.d), "k");
    LLVMValueRef oy = cg_loop_begin(c, &ly, cg_i64(c, 0), cg_i64(c, s.h), "oy");
    LLVMValueRef row = cg_mul(c, cg_add(c, cg_mul(c, k, cg_i64(c, s.h)), oy), cg_i64(c, s.w));
    if (body > 0) {
        LLVMValueRef b = cg_loop_begin(c, &lx, cg_i64(c, 0), cg_i64(c, body / v), "vx");
        LLVMValueRef ox = cg_mul(c, b, cg_i64(c, v));
        LLVMValueRef at = cg_conv_out_index(c, o, k, oy, ox);
        LLVMValueRef yv = cg_vload(c, v, y, at);
        LLVMValueRef ov = cg_vload(c, v, other, cg_add(c, row, ox));
        LLVMValueRef sum = LLVMBuildFAdd(c->b, yv, ov, "");
        cg_vstore(c, act ? cg_activation(c, act, sum) : sum, y, at);
        cg_loop_end(c, &lx);
    }
    if (body < s.w) {
        LLVMValueRef ox = cg_loop_begin(c, &lx, cg_i64(c, body), cg_i64(c, s.w), "ox");
        LLVMValueRef at = cg_conv_out_index(c, o, k, oy, ox);
        LLVMValueRef yv = cg_load(c, y, at);
        LLVMValueRef ov = cg_load(c, other, cg_add(c, row, ox));
        LLVMValueRef sum = LLVMBuildFAdd(c->b, yv, ov, "");
        cg_store(c, act ? cg_activation(c, act, sum) : sum, y, at);
        cg_loop_end(c, &lx);
    }
    cg_loop_end(c, &ly);
    cg_loop_end(c, &lk);
}

/* ---- grouped, depthwise, dilated and non-square convs ------------------- */

/* The column-vector kernel for the convs that are not plain
 * (ir_conv_plain): for one filter k and output row, nb vectors of v
 * consecutive output columns start from the bias, and for each of the D1/G
 * channels of k's group and each tap row in the input take Fw taps, each a
 * (strided) load of input columns times the tap's weight broadcast; the
 * relu fused after it is applied in registers. A depthwise conv (G = D1) so
 * reads one channel a filter, never the others' zeros. Columns whose
 * window would leave the input across (the padding, round=ceil's overhang)
 * are the naive cells of conv_value; rows are clipped per row. A row's
 * last block is shifted left to end the interior, recomputing a few
 * columns, as the plain column-vector kernel does. */
typedef struct Grouped {
    Conv cv;
    CgConvOut y;
    IrShape out;
    int64_t xa, xb; /* interior columns: every tap inside the input across */
    int v, nb;      /* vector width, vectors a block */
    int lanes;      /* v, or the interior's width when one vector spans it */
    bool blocks;    /* IR_KERNEL_DEPTHWISE: in and out in channel blocks (dwb_blocks) */
} Grouped;

/* A depthwise filter's taps held in registers (depthwise_filters) and the
 * output rows made at a time, each input row's loads shared by those that
 * read it. */
#define DW_TAPS 25
#define DW_ROWS 2

/* Fills gr for a conv the plan gave this kernel (IR_KERNEL_GROUPED); false
 * where ir/kernel.c's rules were broken. */
static bool plan_grouped(const CgCtx *c, const IrNode *n, const Conv *cv, Grouped *gr)
{
    const IrConvAttr *a = cv->a;
    const int64_t S = a->stride, P = cv->pad, span = a->dilation * (a->size - 1) + 1;
    gr->out = n->out;
    gr->xa = (P + S - 1) / S;
    gr->xb = cv->in.w + P - span < 0 ? 0 : (cv->in.w + P - span) / S + 1;
    if (gr->xb > gr->out.w)
        gr->xb = gr->out.w;
    const int64_t width = gr->xb - gr->xa;
    /* A row narrower than the target's vector is one vector, the lanes
     * past it masked off (a 14-wide row: one vector of 16, not two of 8). */
    gr->v = c->vec_width;
    while (gr->v >= 8 && gr->v / 2 >= width)
        gr->v /= 2;
    if (gr->v < 4 || width < 4)
        return false;
    gr->lanes = width < gr->v ? (int)width : gr->v;
    /* Two accumulators where the row has room, so that two chains of
     * multiply-adds overlap. */
    gr->nb = width >= 2 * gr->v ? 2 : 1;
    return true;
}

/* A vector of a row's outputs at y[at]: the lanes past the row's width
 * (gr->lanes) masked off. */
static void store_lanes(CgCtx *c, const Grouped *gr, LLVMValueRef r, LLVMValueRef y, LLVMValueRef at)
{
    if (gr->lanes == gr->v) {
        cg_vstore(c, r, y, at);
        return;
    }
    cg_vstore_masked(c, r, y, at, cg_lane_mask(c, gr->v, 0, gr->lanes));
}

/* nb vectors of output columns from ox0 for filter k, row oy, whose tap
 * rows [fy_lo, fy_hi) start at input row iy0. */
static void grouped_block(CgCtx *c, const Grouped *gr, LLVMValueRef y, LLVMValueRef k, LLVMValueRef c0,
                          LLVMValueRef oy, LLVMValueRef iy0, LLVMValueRef fy_lo, LLVMValueRef fy_hi, LLVMValueRef ox0)
{
    const Conv *cv = &gr->cv;
    const IrConvAttr *a = cv->a;
    const int v = gr->v, nb = gr->nb;
    const int64_t C = cv->in.d / a->groups, plane = cv->in.h * cv->in.w;
    LLVMValueRef acc[2];
    LLVMValueRef b0 = cv->bias ? cg_load(c, cv->bias, k) : cg_f32(c, 0);
    for (int j = 0; j < nb; j++) {
        acc[j] = cg_vvar(c, v, "gacc");
        LLVMBuildStore(c->b, cg_splat(c, v, b0), acc[j]);
    }
    /* Input column of tap 0 for the block's first output: ox0*S - P. */
    LLVMValueRef col = cg_sub(c, cg_mul(c, ox0, cg_i64(c, a->stride)), cg_i64(c, cv->pad));
    CgLoop lc, lfy;
    LLVMValueRef ch = cg_loop_begin(c, &lc, cg_i64(c, 0), cg_i64(c, C), "c");
    LLVMValueRef fy = cg_loop_begin(c, &lfy, fy_lo, fy_hi, "fy");
    LLVMValueRef iy = cg_add(c, iy0, times(c, fy, a->dilation_h));
    LLVMValueRef xch = cg_mul(c, cg_add(c, c0, ch), cg_i64(c, plane));
    LLVMValueRef xrow = cg_add(c, xch, cg_add(c, cg_mul(c, iy, cg_i64(c, cv->in.w)), col));
    LLVMValueRef wrow = w_index(c, cv, k, ch, fy);
    LLVMValueRef sums[2];
    for (int j = 0; j < nb; j++)
        sums[j] = LLVMBuildLoad2(c->b, cg_vec_t(c, v), acc[j], "");
    for (int64_t fx = 0; fx < a->size; fx++) {
        LLVMValueRef wv = cg_splat(c, v, cg_load(c, cv->w, cg_add(c, wrow, cg_i64(c, fx))));
        for (int j = 0; j < nb; j++) {
            LLVMValueRef at = cg_add(c, xrow, cg_i64(c, fx * a->dilation + (int64_t)j * v * a->stride));
            /* Past the row's last lane nothing is read (it may end the
             * input), and nothing stored. */
            LLVMValueRef xv = cg_strided_load_within(c, v, a->stride, cv->x, at, 0, (gr->lanes - 1) * a->stride + 1, 0.0);
            sums[j] = cg_fma(c, xv, wv, sums[j]);
        }
    }
    for (int j = 0; j < nb; j++)
        LLVMBuildStore(c->b, sums[j], acc[j]);
    cg_loop_end(c, &lfy);
    cg_loop_end(c, &lc);
    for (int j = 0; j < nb; j++) {
        LLVMValueRef r = LLVMBuildLoad2(c->b, cg_vec_t(c, v), acc[j], "");
        if (cv->act)
            r = cg_activation(c, cv->act, r);
        store_lanes(c, gr, r, y, cg_conv_out_index(c, &gr->y, k, oy, cg_add(c, ox0, cg_i64(c, (int64_t)j * v))));
    }
}

/* Naive cells [lo, hi) of row oy of filter k. */
static void grouped_cells(CgCtx *c, const Grouped *gr, LLVMValueRef y, LLVMValueRef k, LLVMValueRef oy, int64_t lo,
                          int64_t hi)
{
    if (lo >= hi)
        return;
    CgLoop lx;
    LLVMValueRef ox = cg_loop_begin(c, &lx, cg_i64(c, lo), cg_i64(c, hi), "ox");
    LLVMValueRef val = conv_value(c, &gr->cv, k, oy, ox);
    cg_store(c, val, y, cg_conv_out_index(c, &gr->y, k, oy, ox));
    cg_loop_end(c, &lx);
}

/* Whether filter k's taps can live in registers across its rows: one
 * channel a filter (depthwise), no tap row ever outside the input (its
 * frame holds the padding, or there is none down), and few enough taps. */
static bool depthwise_in_registers(const Grouped *gr)
{
    const Conv *cv = &gr->cv;
    const IrConvAttr *a = cv->a;
    return cv->in.d == a->groups && cv->pad_h == 0 && !cv->pack && a->size * a->size_h <= DW_TAPS &&
           (gr->out.h - 1) * a->stride_h + a->dilation_h * (a->size_h - 1) + 1 <= cv->in.h;
}

/* R output rows from oy of depthwise filter k (depthwise_in_registers), nb
 * vectors of columns from ox0; wv are its taps, broadcast. Each input row
 * the R rows read is loaded once, its vectors taken by every output row
 * whose taps reach it, each in the order of grouped_block. */
static void depthwise_block(CgCtx *c, const Grouped *gr, LLVMValueRef y, LLVMValueRef k, LLVMValueRef c0,
                            LLVMValueRef oy, int R, const LLVMValueRef *wv, LLVMValueRef ox0)
{
    const Conv *cv = &gr->cv;
    const IrConvAttr *a = cv->a;
    const int v = gr->v, nb = gr->nb;
    const int64_t S = a->stride, Sh = a->stride_h, rows = (R - 1) * Sh + a->dilation_h * (a->size_h - 1) + 1;
    LLVMValueRef b0 = cv->bias ? cg_load(c, cv->bias, k) : cg_f32(c, 0);
    LLVMValueRef acc[DW_ROWS][2];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < nb; j++)
            acc[i][j] = cg_splat(c, v, b0);
    LLVMValueRef col = cg_sub(c, cg_mul(c, ox0, cg_i64(c, S)), cg_i64(c, cv->pad));
    LLVMValueRef plane_row = cg_mul(c, c0, cg_i64(c, cv->in.h));
    LLVMValueRef top = cg_mul(c, cg_add(c, plane_row, cg_mul(c, oy, cg_i64(c, Sh))), cg_i64(c, cv->in.w));
    LLVMValueRef base = cg_add(c, top, col);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t fx = 0; fx < a->size; fx++) {
            LLVMValueRef xv[2] = {NULL, NULL};
            for (int i = 0; i < R; i++) {
                int64_t fy = r - i * Sh;
                if (fy < 0 || fy % a->dilation_h || fy / a->dilation_h >= a->size_h)
                    continue;
                fy /= a->dilation_h;
                for (int j = 0; j < nb; j++) {
                    if (!xv[j]) {
                        int64_t off = r * cv->in.w + fx * a->dilation + (int64_t)j * v * S;
                        xv[j] = cg_strided_load_within(c, v, S, cv->x, cg_add(c, base, cg_i64(c, off)), 0,
                                                       (gr->lanes - 1) * S + 1, 0.0);
                    }
                    acc[i][j] = cg_fma(c, xv[j], wv[fy * a->size + fx], acc[i][j]);
                }
            }
        }
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < nb; j++) {
            LLVMValueRef out = cv->act ? cg_activation(c, cv->act, acc[i][j]) : acc[i][j];
            LLVMValueRef row = cg_add(c, oy, cg_i64(c, i));
            store_lanes(c, gr, out, y, cg_conv_out_index(c, &gr->y, k, row, cg_add(c, ox0, cg_i64(c, (int64_t)j * v))));
        }
}

/* Rows [oy, oy + R) of depthwise filter k: blocks as grouped_filters lays
 * them out. */
static void depthwise_rows(CgCtx *c, const Grouped *gr, LLVMValueRef y, LLVMValueRef k, LLVMValueRef c0,
                           LLVMValueRef oy, int R, const LLVMValueRef *wv)
{
    const int64_t block = (int64_t)gr->lanes * gr->nb, width = gr->xb - gr->xa, blocks = width / block;
    for (int i = 0; i < R; i++)
        grouped_cells(c, gr, y, k, cg_add(c, oy, cg_i64(c, i)), 0, gr->xa);
    CgLoop lb;
    LLVMValueRef blk = cg_loop_begin(c, &lb, cg_i64(c, 0), cg_i64(c, blocks), "blk");
    depthwise_block(c, gr, y, k, c0, oy, R, wv, cg_add(c, cg_i64(c, gr->xa), cg_mul(c, blk, cg_i64(c, block))));
    cg_loop_end(c, &lb);
    if (width % block)
        depthwise_block(c, gr, y, k, c0, oy, R, wv, cg_i64(c, gr->xb - block));
    for (int i = 0; i < R; i++)
        grouped_cells(c, gr, y, k, cg_add(c, oy, cg_i64(c, i)), gr->xb, gr->out.w);
}

/* Depthwise filters [k_lo, k_hi) with their taps in registers, DW_ROWS rows
 * at a time. */
static void depthwise_filters(CgCtx *c, const Grouped *gr, LLVMValueRef y, LLVMValueRef k_lo, LLVMValueRef k_hi)
{
    const IrConvAttr *a = gr->cv.a;
    const int64_t taps = a->size * a->size_h, pairs = gr->out.h / DW_ROWS;
    CgLoop lk, ly;
    LLVMValueRef k = cg_loop_begin(c, &lk, k_lo, k_hi, "k");
    LLVMValueRef c0 = group_channel(c, &gr->cv, k);
    LLVMValueRef w0 = w_index(c, &gr->cv, k, cg_i64(c, 0), cg_i64(c, 0));
    LLVMValueRef wv[DW_TAPS];
    for (int64_t t = 0; t < taps; t++)
        wv[t] = cg_splat(c, gr->v, cg_load(c, gr->cv.w, cg_add(c, w0, cg_i64(c, t))));
    LLVMValueRef p = cg_loop_begin(c, &ly, cg_i64(c, 0), cg_i64(c, pairs), "oy");
    depthwise_rows(c, gr, y, k, c0, cg_mul(c, p, cg_i64(c, DW_ROWS)), DW_ROWS, wv);
    cg_loop_end(c, &ly);
    for (int64_t oy = pairs * DW_ROWS; oy < gr->out.h; oy++)
        depthwise_rows(c, gr, y, k, c0, cg_i64(c, oy), 1, wv);
    cg_loop_end(c, &lk);
}

/* A depthwise conv between two maps in channel blocks of the vector width v
 * (IR_KERNEL_DEPTHWISE, ir/kernel.c): a vector is one cell's v channels,
 * each tap of a block of channels a vector of their weights, loaded once a
 * block, so a tap is one multiply-add a cell for v channels, with no
 * strided input and no lane idle at a row's ends. The input has its frame:
 * every window is inside it. A row goes in blocks of cells (8 at stride 1,
 * 4 at stride 2: accumulators, taps and input columns in 32 registers),
 * each input column of a tap row loaded once for the taps that read it. */
enum { DWB_COLS = 8 };

/* n cells of row oy from column ox0, channel block cb, taps w[F*F]. */
static void dwb_block(CgCtx *c, const Grouped *d, LLVMValueRef y, LLVMValueRef cb, const LLVMValueRef *w,
                      LLVMValueRef bias, LLVMValueRef oy, LLVMValueRef ox0, int n)
{
    const Conv *cv = &d->cv;
    const int v = cv->xblk;
    const int64_t F = cv->a->size, S = cv->a->stride, W = cv->in.w, plane = cv->in.h * W;
    LLVMValueRef acc[DWB_COLS], xv[2 * DWB_COLS + 1];
    for (int j = 0; j < n; j++)
        acc[j] = bias;
    LLVMValueRef col0 = cg_mul(c, ox0, cg_i64(c, S));
    LLVMValueRef cell0 = cg_add(c, cg_mul(c, cb, cg_i64(c, plane)), col0);
    for (int64_t fy = 0; fy < F; fy++) {
        LLVMValueRef iy = cg_add(c, cg_mul(c, oy, cg_i64(c, S)), cg_i64(c, fy));
        LLVMValueRef row = cg_add(c, cell0, cg_mul(c, iy, cg_i64(c, W)));
        const int64_t cols = (n - 1) * S + F;
        for (int64_t q = 0; q < cols; q++)
            xv[q] = cg_vload(c, v, cv->x, cg_mul(c, cg_add(c, row, cg_i64(c, q)), cg_i64(c, v)));
        for (int64_t fx = 0; fx < F; fx++)
            for (int j = 0; j < n; j++)
                acc[j] = cg_fma(c, xv[j * S + fx], w[fy * F + fx], acc[j]);
    }
    LLVMValueRef k = cg_mul(c, cb, cg_i64(c, v));
    for (int j = 0; j < n; j++) {
        LLVMValueRef r = cv->act ? cg_activation(c, cv->act, acc[j]) : acc[j];
        cg_vstore(c, r, y, cg_conv_out_index(c, &d->y, k, oy, cg_add(c, ox0, cg_i64(c, j))));
    }
}

/* Channel blocks [cb_lo, cb_hi), every row. */
static void dwb_blocks(CgCtx *c, const Grouped *d, LLVMValueRef y, LLVMValueRef cb_lo, LLVMValueRef cb_hi)
{
    const Conv *cv = &d->cv;
    const int v = cv->xblk, n = cv->a->stride == 1 ? DWB_COLS : DWB_COLS / 2;
    IR_ASSERT(v && d->y.blk == v && cv->pad == 0 && cv->pad_h == 0 && cv->a->size <= 3);
    const int64_t F = cv->a->size, full = d->out.w / n, rest = d->out.w % n;
    CgLoop lcb, ly, lb;
    LLVMValueRef cb = cg_loop_begin(c, &lcb, cb_lo, cb_hi, "cb");
    /* w is PyTorch's [C][1][F][F]: a tap's vector takes every F*F-th float. */
    LLVMValueRef w[9];
    LLVMValueRef w0 = cg_mul(c, cb, cg_i64(c, v * F * F));
    for (int64_t t = 0; t < F * F; t++)
        w[t] = cg_strided_load(c, v, F * F, cv->w, cg_add(c, w0, cg_i64(c, t)));
    LLVMValueRef bias = cv->bias ? cg_vload(c, v, cv->bias, cg_mul(c, cb, cg_i64(c, v))) : LLVMConstNull(cg_vec_t(c, v));
    LLVMValueRef oy = cg_loop_begin(c, &ly, cg_i64(c, 0), cg_i64(c, d->out.h), "oy");
    if (full > 0) {
        LLVMValueRef b = cg_loop_begin(c, &lb, cg_i64(c, 0), cg_i64(c, full), "blk");
        dwb_block(c, d, y, cb, w, bias, oy, cg_mul(c, b, cg_i64(c, n)), n);
        cg_loop_end(c, &lb);
    }
    if (rest > 0)
        dwb_block(c, d, y, cb, w, bias, oy, cg_i64(c, full * n), (int)rest);
    cg_loop_end(c, &ly);
    cg_loop_end(c, &lcb);
}

/* Filters [k_lo, k_hi), every row; on channel blocks, blocks [k_lo, k_hi). */
static void grouped_filters(CgCtx *c, const Grouped *gr, LLVMValueRef y, LLVMValueRef k_lo, LLVMValueRef k_hi)
{
    if (gr->blocks) {
        dwb_blocks(c, gr, y, k_lo, k_hi);
        return;
    }
    if (depthwise_in_registers(gr)) {
        depthwise_filters(c, gr, y, k_lo, k_hi);
        return;
    }
    const IrConvAttr *a = gr->cv.a;
    const int64_t block = (int64_t)gr->lanes * gr->nb, width = gr->xb - gr->xa, blocks = width / block;
    CgLoop lk, ly, lb;
    LLVMValueRef k = cg_loop_begin(c, &lk, k_lo, k_hi, "k");
    LLVMValueRef c0 = group_channel(c, &gr->cv, k);
    LLVMValueRef oy = cg_loop_begin(c, &ly, cg_i64(c, 0), cg_i64(c, gr->out.h), "oy");
    LLVMValueRef fy_lo, fy_hi, iy0;
    tap_range(c, oy, a->stride_h, gr->cv.pad_h, a->size_h, a->dilation_h, gr->cv.in.h, &fy_lo, &fy_hi, &iy0);
    grouped_cells(c, gr, y, k, oy, 0, gr->xa);
    LLVMValueRef blk = cg_loop_begin(c, &lb, cg_i64(c, 0), cg_i64(c, blocks), "blk");
    grouped_block(c, gr, y, k, c0, oy, iy0, fy_lo, fy_hi, cg_add(c, cg_i64(c, gr->xa), cg_mul(c, blk, cg_i64(c, block))));
    cg_loop_end(c, &lb);
    if (width % block)
        grouped_block(c, gr, y, k, c0, oy, iy0, fy_lo, fy_hi, cg_i64(c, gr->xb - block));
    grouped_cells(c, gr, y, k, oy, gr->xb, gr->out.w);
    cg_loop_end(c, &ly);
    cg_loop_end(c, &lk);
}

/* ptrs: input, output, weights, bias. */
static void grouped_task(CgCtx *c, void *user, LLVMValueRef *ptrs, LLVMValueRef begin, LLVMValueRef end)
{
    Grouped gr = *(const Grouped *)user;
    gr.cv.x = ptrs[0];
    gr.cv.w = ptrs[2];
    gr.cv.bias = ptrs[3];
    gr.cv.acc = cg_var(c, "acc");
    grouped_filters(c, &gr, ptrs[1], begin, end);
}

static void lower_grouped(CgCtx *c, size_t node, const Grouped *gr, LLVMValueRef y, bool split)
{
    const int64_t K = gr->blocks ? gr->out.d / gr->cv.xblk : gr->out.d;
    if (split && K >= 2) {
        char name[64];
        snprintf(name, sizeof name, "layer%zu.conv.grouped", node);
        LLVMValueRef ptrs[4] = {gr->cv.x, y, gr->cv.w, gr->cv.bias};
        cg_parallel_for(c, name, ptrs, 4, cg_i64(c, K), grouped_task, (void *)gr);
    } else {
        grouped_filters(c, gr, y, cg_i64(c, 0), cg_i64(c, K));
    }
}

/* Whether a residual add fused after the conv is taken as the
 * filter-vector kernel stores its rows, rather than in a pass after it: the
 * output plain and unpooled, and every cell made by that kernel (no naive
 * border cells, which store one by one). */
static bool residual_in_store(const Fast *f, const IrNode *pool)
{
    return f->cv.pack && !f->y.blk && !pool && f->xl == 0 && f->xr == f->out.w && f->yl == 0 && f->yr == f->out.h;
}

void cg_lower_conv(CgCtx *c, size_t node, const LLVMValueRef *xs, LLVMValueRef y, LLVMValueRef table)
{
    LLVMValueRef x = xs[0];
    const IrGraph *g = c->g;
    const IrNode *n = &g->nodes[node], *tail = &g->nodes[ir_group_tail(g, node)];
    const IrNode *pool = tail->op == IR_OP_POOL ? tail : NULL;
    const int64_t add = ir_group_find(g, node, IR_OP_ADD);
    Conv direct = conv_of(c, node, x, table);
    Fast f = {.cv = direct, .y = out_layout(c, ir_group_tail(g, node))};
    const bool grouped = n->kernel == IR_KERNEL_GROUPED || n->kernel == IR_KERNEL_DEPTHWISE;
    bool split = c->executable && n->macs >= (grouped ? CG_PARALLEL_MIN_GROUPED_MACS : CG_PARALLEL_MIN_MACS);
    Grouped gr = {.cv = direct, .y = f.y};
    bool ok;
    /* Never fused with a pool (ir/fuse.c), blocked only on the depthwise
     * kernel (ir/kernel.c): its input plain or framed, its output as
     * out_layout says. */
    IR_ASSERT(ir_conv_plain(&n->attr.conv) || (!pool && (n->kernel == IR_KERNEL_DEPTHWISE || (!direct.xblk && !f.y.blk))));
    switch (n->kernel) {
    case IR_KERNEL_DEPTHWISE:
        gr.blocks = true;
        gr.out = n->out;
        lower_grouped(c, node, &gr, y, split);
        break;
    case IR_KERNEL_GROUPED:
        ok = plan_grouped(c, n, &direct, &gr);
        IR_ASSERT(ok);
        lower_grouped(c, node, &gr, y, split);
        break;
    case IR_KERNEL_WINOGRAD:
        /* An input without its frame is copied with its padding first,
         * after the tiles and staged rows (ir_wino_copy_offset). */
        if (f.cv.pad > 0)
            pad_input(c, node, &f.cv, cg_at(c, c->scratch, cg_i64(c, ir_wino_copy_offset(g, node) / 4)), split);
        cg_lower_winograd(c, node, f.cv.x, y, table, &f.y, !f.cv.xblk, split);
        break;
    case IR_KERNEL_FILTERS:
    case IR_KERNEL_COLUMNS:
        /* A padded copy for an input without its frame, where the plan
         * gave the scratch for it. */
        if (c->scratch && f.cv.pad > 0)
            pad_input(c, node, &f.cv, c->scratch, split);
        ok = plan_fast(c, n, pool, &f);
        IR_ASSERT(ok);
        if (add >= 0 && residual_in_store(&f, pool)) {
            f.other = xs[1];
            f.add_act = add_activation(c, (size_t)add);
        }
        lower_fast(c, node, &f, pool, y, split);
        break;
    default:
        IR_ASSERT(n->kernel == IR_KERNEL_NAIVE);
        lower_naive(c, node, &direct, y);
    }
    if (add >= 0 && !f.other)
        residual(c, (size_t)add, xs[1], y, &f.y);
    /* The frame that the next conv reads as its padding (ir/plan.h): after
     * the values, and every run, since other buffers share the arena. */
    if (tail->out_pad > 0)
        cg_zero_frame(c, y, tail->out_pad, tail->out, f.y.blk);
}
