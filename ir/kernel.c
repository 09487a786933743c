/* Kernel choices (see kernel.h). The rules are the kernels' own limits and
 * the measured reasons for preferring one kernel to another; codegen then
 * only asserts that what it was given fits. Convs are decided from the
 * last to the first, since whether a conv's output can stay in channel
 * blocks depends on the kernel of the conv that reads it. */
#include "kernel.h"

#include "fuse.h"
#include "plan.h"

const char *ir_kernel_word(IrKernel k)
{
    static const char *const words[IR_KERNEL_COUNT] = {
        [IR_KERNEL_NAIVE] = "naive",       [IR_KERNEL_COLUMNS] = "columns", [IR_KERNEL_FILTERS] = "filters",
        [IR_KERNEL_WINOGRAD] = "winograd", [IR_KERNEL_GROUPED] = "grouped", [IR_KERNEL_DEPTHWISE] = "depthwise",
    };
    return k > IR_KERNEL_NONE && k < IR_KERNEL_COUNT ? words[k] : NULL;
}

/* Convs the micro-kernels take: plain ones (ir_conv_plain) with up to 11x11
 * windows (AlexNet's first), up to stride 4, with SIMD, at -O1 and up.
 * Every fast path (packing, Winograd, padded copies) asks this first. */
static bool fast_shape(const IrMachine *m, const IrConvAttr *a)
{
    return ir_conv_plain(a) && m->opt_level >= 1 && m->vec_width >= 4 && a->stride <= 4 && a->size <= 11;
}

/* The block of filters the filter-vector kernel would pack the conv's
 * weights in, or 0 when it does not suit the conv. It wants a vector of
 * filters, and enough taps per output to pay for its transposing stores:
 * VGG-16's first conv (3 x 3 x 3 = 27 taps) ran slower on it than on the
 * column-vector kernel. A conv read by a depthwise conv on channel blocks
 * stores its accumulators as they are, and 16 taps are enough: MobileNetV2's
 * first conv (27) and its expand convs of 16 and 24 channels ran faster so,
 * in blocks, than on columns. Two vectors of filters (one for a conv of at
 * most one vector), as codegen blocks them. */
static int32_t pack_of(const IrGraph *g, size_t i, const int32_t *conv_reader)
{
    const IrMachine *m = &g->machine;
    const IrNode *n = &g->nodes[i];
    const IrConvAttr *a = &n->attr.conv;
    const int32_t r = conv_reader[ir_group_tail(g, i)];
    const int64_t least = r >= 0 && g->nodes[r].kernel == IR_KERNEL_DEPTHWISE ? 16 : 32;
    if (!fast_shape(m, a) || n->out.d < m->vec_width || g->nodes[n->inputs[0]].out.d * a->size * a->size < least)
        return 0;
    return (n->out.d > m->vec_width ? 2 : 1) * m->vec_width;
}

int64_t ir_wino_channels(const IrGraph *g, size_t i)
{
    const int64_t C = g->nodes[g->nodes[i].inputs[0]].out.d;
    return C % 16 ? (C + 7) / 8 * 8 : C;
}

/* Tile rows a block for tile m: blocks whose transformed input is at most 4
 * MiB, so that VGG-16's 14x14x512 and 28x28x512 convs take their whole map
 * at once and their transformed weights (37.7 MB) stream from memory once
 * an image. 0 when the sizes overflow. */
static int64_t rows_for(const IrGraph *g, size_t i, int m)
{
    const IrNode *n = &g->nodes[i];
    const int64_t C = ir_wino_channels(g, i);
    const int64_t ty = (n->out.h + m - 1) / m, tx = (n->out.w + m - 1) / m;
    int64_t row_bytes;
    if (__builtin_mul_overflow(tx, IR_WINO_ALPHA * IR_WINO_ALPHA * 4, &row_bytes) ||
        __builtin_mul_overflow(row_bytes, C, &row_bytes) || row_bytes > INT64_MAX / 2)
        return 0;
    int64_t rows = (4 << 20) / row_bytes;
    if (rows < 1)
        rows = 1;
    if (rows > ty)
        rows = ty;
    int64_t blocks = (ty + rows - 1) / rows;
    return (ty + blocks - 1) / blocks; /* blocks of even size */
}

int64_t ir_wino_rows(const IrGraph *g, size_t i)
{
    const int m = g->nodes[i].wino_m;
    return m ? rows_for(g, i, m) : 0;
}

int64_t ir_wino_stage_bytes(const IrGraph *g, size_t i)
{
    const IrNode *n = &g->nodes[i];
    const int64_t m = n->wino_m, w = g->nodes[n->inputs[0]].out.w + 2 * n->attr.conv.pad;
    return m ? ir_round64((ir_wino_rows(g, i) * m + IR_WINO_ALPHA - m) * w * ir_wino_channels(g, i) * 4) : 0;
}

int64_t ir_wino_copy_offset(const IrGraph *g, size_t i)
{
    return ir_wino_tile_bytes(g, i) + ir_wino_stage_bytes(g, i);
}

int64_t ir_wino_tile_bytes(const IrGraph *g, size_t i)
{
    const IrNode *n = &g->nodes[i];
    if (!n->wino_m)
        return 0;
    const int64_t tx = (n->out.w + n->wino_m - 1) / n->wino_m;
    return ir_round64(IR_WINO_ALPHA * IR_WINO_ALPHA * ir_wino_rows(g, i) * tx * ir_wino_channels(g, i) * 4);
}

/* Winograd's m for the conv at i (kernel.h says which convs qualify), or
 * 0. out_blk is the channel block its output would be stored in. */
static int wino_of(const IrGraph *g, size_t i, const int64_t *frame, int32_t pack, int32_t out_blk)
{
    const IrNode *n = &g->nodes[i];
    const IrConvAttr *a = &n->attr.conv;
    const size_t in = (size_t)n->inputs[0], t = ir_group_tail(g, i);
    const IrNode *tail = &g->nodes[t];
    const int64_t C = g->nodes[in].out.d, K = n->out.d;
    /* The filter blocks are whole vectors of 8 or 16; an input in channel
     * blocks has them of the vector width, and a plain one is staged so. */
    if (!pack || g->machine.vec_width < 8 || (a->size != 3 && a->size != 5) || a->stride != 1 ||
        a->pad * 2 + 1 > a->size || (C % 16 && C > 16) || K % 16 || C * a->size * a->size < 32)
        return 0;
    /* An input without its frame is copied with its padding first, as for
     * the direct kernels: ResNet's first conv of a block, whose input the
     * shortcut reads too. */
    if (frame[in] != a->pad && ir_framed_bytes(g->nodes[in].out, a->pad) < 0)
        return 0;
    const int m = IR_WINO_ALPHA + 1 - (int)a->size; /* 4 for 3x3, 2 for 5x5 */
    if (n->out.w < m || n->out.h < m || rows_for(g, i, m) <= 0)
        return 0;
    /* Its transformed weights are 36 / F^2 times the direct kernel's and
     * stream from memory when they do not stay in cache: on a map of few
     * tiles each is used too few times to pay for its load. */
    const int64_t tiles = ((n->out.h + m - 1) / m) * ((n->out.w + m - 1) / m);
    if (tiles < 16 && IR_WINO_ALPHA * IR_WINO_ALPHA * C * K * 4 > (4 << 20))
        return 0;
    if (tail->op == IR_OP_POOL) {
        const IrPoolAttr *p = &tail->attr.pool;
        if (!ir_pool_square(p) || p->size != 2 || p->stride != 2 || p->pad || tail->out.w * 2 > n->out.w ||
            tail->out.h * 2 > n->out.h)
            return 0;
    }
    /* Plain output goes a lane at a time (winograd.c, store_cell): a cell's
     * v filters to v planes. Planes a multiple of 2 KiB apart put those
     * stores in the same few L1 sets, more lines than the sets have ways: a
     * 16-channel 3x3 conv to a 32x32 map (4 KiB planes) ran slower so than
     * directly, where on a 30x30 map Winograd won. */
    const int64_t P = frame[t], plane = (tail->out.w + 2 * P) * (tail->out.h + 2 * P);
    if (!out_blk && plane * 4 % 2048 == 0)
        return 0;
    return m;
}

/* Output columns, first and past the last, whose every tap is inside an
 * input w columns wide still to be padded by P, for a window spanning span
 * columns at stride S; the cells outside them are computed one by one. */
static int64_t interior(int64_t w, int64_t P, int64_t span, int64_t S, int64_t out_w)
{
    int64_t lo = (P + S - 1) / S, hi = w + P - span < 0 ? 0 : (w + P - span) / S + 1;
    if (hi > out_w)
        hi = out_w; /* round=ceil may add columns past the interior */
    return hi - lo;
}

/* Whether vectors of at least 4 of width columns fit. */
static bool columns_fit(int v, int64_t width)
{
    while (v >= 4 && v > width)
        v /= 2;
    return v >= 4;
}

int64_t ir_pool_rows_bytes(const IrNode *pool, int64_t kb, int64_t conv_w)
{
    return kb * pool->attr.pool.size * (conv_w + pool->out.w) * 4;
}

/* The kernel of a plain conv that does not run as Winograd, given its
 * filter block pack (0: none). */
static IrKernel direct_of(const IrGraph *g, size_t i, const int64_t *frame, int32_t pack)
{
    const IrNode *n = &g->nodes[i];
    const IrConvAttr *a = &n->attr.conv;
    if (!fast_shape(&g->machine, a))
        return IR_KERNEL_NAIVE;
    /* Its input is padded: planned with a frame, or copied into the
     * scratch (unless that copy's size overflows). */
    const IrShape in = g->nodes[n->inputs[0]].out;
    int64_t P = a->pad - frame[n->inputs[0]], w = in.w + 2 * frame[n->inputs[0]];
    if (P > 0 && ir_framed_bytes(in, a->pad) >= 0) {
        w += 2 * P;
        P = 0;
    }
    const int64_t width = interior(w, P, a->size, a->stride, n->out.w);
    /* A fused pool's rows for a block of filters (at most 8 on the column
     * kernel, pack on the filter one) live on the stack. */
    const IrNode *tail = &g->nodes[ir_group_tail(g, i)];
    int64_t kb = pack ? pack : 8;
    if (kb > n->out.d)
        kb = n->out.d;
    if (tail->op == IR_OP_POOL && ir_pool_rows_bytes(tail, kb, n->out.w) > IR_POOL_ROWS_MAX)
        return IR_KERNEL_NAIVE;
    if (pack)
        return width > 0 ? IR_KERNEL_FILTERS : IR_KERNEL_NAIVE;
    return columns_fit(g->machine.vec_width, width) ? IR_KERNEL_COLUMNS : IR_KERNEL_NAIVE;
}

/* The column kernel for convs that are not plain, where its rows are wide
 * enough for a vector of 4 and its strided loads and unrolled taps are not
 * mostly waste (stride across up to 4, windows up to 16 wide). */
static IrKernel grouped_of(const IrGraph *g, size_t i, const int64_t *frame)
{
    const IrNode *n = &g->nodes[i];
    const IrConvAttr *a = &n->attr.conv;
    const IrMachine *m = &g->machine;
    if (m->opt_level < 1 || m->vec_width < 4 || a->stride > 4 || a->size > 16)
        return IR_KERNEL_NAIVE;
    /* An input planned with the conv's padding as its frame (ir/plan.c) is
     * all interior. */
    const int64_t span = a->dilation * (a->size - 1) + 1, f = frame[n->inputs[0]];
    const int64_t width = interior(g->nodes[n->inputs[0]].out.w + 2 * f, a->pad - f, span, a->stride, n->out.w);
    return columns_fit(m->vec_width, width) ? IR_KERNEL_GROUPED : IR_KERNEL_NAIVE;
}

/* The channel block of conv head i's output buffer (its group's tail t):
 * the vector width when the conv that reads it (already decided) runs on
 * packed filters too, or is a depthwise conv on blocks, and the channels
 * fill whole blocks. In [D/v][H][W][v] a cell's v channels are one of the
 * writer's accumulators, stored as they are rather than transposed into
 * rows, and the reader's broadcasts walk channels a float apart (or its
 * vectors are a cell's channels). */
static int32_t blk_of(const IrGraph *g, size_t t, int32_t pack, const int32_t *conv_reader)
{
    const int32_t r = conv_reader[t];
    if (!pack || r < 0 || g->nodes[t].out.d % g->machine.vec_width)
        return 0;
    IrKernel k = g->nodes[r].kernel;
    return k == IR_KERNEL_FILTERS || k == IR_KERNEL_WINOGRAD || k == IR_KERNEL_DEPTHWISE ? g->machine.vec_width : 0;
}

/* Whether depthwise conv i can run on channel blocks (IR_KERNEL_DEPTHWISE,
 * codegen/ops/conv.c): a square window up to 3x3, of stride 1 or 2, with
 * one filter a channel, on whole vectors of 8 or more channels, every
 * window inside its input and its frame; and its output, alone in its
 * group but for a batchnorm and an activation, read by a conv on packed
 * filters or Winograd (already decided), which takes it in blocks. Its
 * input must come in blocks too: ir_kernels_choose falls back to
 * IR_KERNEL_GROUPED when the writer cannot store them. */
static bool depthwise_blocked(const IrGraph *g, size_t i, const int32_t *conv_reader, const int64_t *frame)
{
    const IrNode *n = &g->nodes[i];
    const IrConvAttr *a = &n->attr.conv;
    const IrShape in = g->nodes[n->inputs[0]].out;
    const int v = g->machine.vec_width;
    const size_t t = ir_group_tail(g, i);
    if (g->machine.opt_level < 1 || v < 8 || a->groups != in.d || n->out.d != in.d || in.d % v ||
        a->size != a->size_h || a->stride != a->stride_h || a->pad != a->pad_h || a->dilation != 1 ||
        a->dilation_h != 1 || a->size > 3 || a->stride > 2 || frame[n->inputs[0]] != a->pad ||
        ir_group_find(g, i, IR_OP_ADD) >= 0 || ir_group_find(g, i, IR_OP_POOL) >= 0)
        return false;
    if ((n->out.w - 1) * a->stride + a->size > in.w + 2 * a->pad ||
        (n->out.h - 1) * a->stride + a->size > in.h + 2 * a->pad)
        return false; /* round=ceil's overhang */
    const int32_t r = conv_reader[t];
    return r >= 0 && (g->nodes[r].kernel == IR_KERNEL_FILTERS || g->nodes[r].kernel == IR_KERNEL_WINOGRAD);
}

void ir_kernels_choose(IrGraph *g, const int32_t *conv_reader, const int64_t *frame)
{
    for (size_t i = 0; i < g->count; i++) {
        IrNode *n = &g->nodes[i];
        n->kernel = IR_KERNEL_NONE;
        n->pack = n->wino_m = n->blk = 0;
    }
    for (size_t i = g->count; i-- > 1;) {
        IrNode *n = &g->nodes[i];
        if (n->op != IR_OP_CONV)
            continue;
        if (!ir_conv_plain(&n->attr.conv)) {
            n->kernel = grouped_of(g, i, frame);
            if (depthwise_blocked(g, i, conv_reader, frame)) {
                n->kernel = IR_KERNEL_DEPTHWISE;
                g->nodes[ir_group_tail(g, i)].blk = g->machine.vec_width;
            }
            continue;
        }
        const size_t t = ir_group_tail(g, i);
        const int32_t pack = pack_of(g, i, conv_reader), blk = blk_of(g, t, pack, conv_reader);
        n->wino_m = wino_of(g, i, frame, pack, blk);
        n->kernel = n->wino_m ? IR_KERNEL_WINOGRAD : direct_of(g, i, frame, pack);
        if (n->kernel == IR_KERNEL_FILTERS || n->kernel == IR_KERNEL_WINOGRAD) {
            n->pack = pack;
            g->nodes[t].blk = blk;
        }
    }
    /* A depthwise conv whose writer could not store channel blocks (a
     * column-vector conv, a pool, the input) runs on plain maps after all.
     * The writer is found through the dropouts that run in place on its
     * buffer, whose layout the loop below gives them. */
    for (size_t i = 1; i < g->count; i++) {
        IrNode *n = &g->nodes[i];
        size_t w = (size_t)n->inputs[0];
        while (g->nodes[w].op == IR_OP_DROPOUT && conv_reader[w] >= 0)
            w = (size_t)g->nodes[w].inputs[0];
        if (n->kernel == IR_KERNEL_DEPTHWISE && g->nodes[w].blk != g->machine.vec_width) {
            n->kernel = grouped_of(g, i, frame);
            g->nodes[ir_group_tail(g, i)].blk = 0;
        }
    }
    /* Dropouts that run in place after a conv keep its buffer's layout. */
    for (size_t i = 1; i < g->count; i++) {
        IrNode *n = &g->nodes[i];
        if (n->op == IR_OP_DROPOUT && conv_reader[i] >= 0)
            n->blk = g->nodes[n->inputs[0]].blk;
    }
}
