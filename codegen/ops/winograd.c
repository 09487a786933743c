/* Winograd F(4x4, 3x3) and F(2x2, 5x5) for 3x3 and 5x5 convs of stride 1
 * (ir/kernel.h; Lavin and Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016): each m x m tile of the output is
 * A^T [sum_c (G g_kc G^T) .* (B^T d_c B)] A, for d_c the 6x6 input tile of
 * channel c. The filters' G g G^T were made when the weights were packed
 * (runtime/cnnrt.h, cnnrt_pack), so a tile costs 36 multiply-adds a
 * channel and filter where the direct kernel spends 144 (3x3) or 100
 * (5x5). conv.c sends here the convs whose input has its frame of
 * zeros (IR_KERNEL_WINOGRAD), in channel blocks of the vector width (from a
 * filter-vector conv) or plain (from the column-vector kernel, a pool or
 * the network's input), whose block of rows is first staged in channel
 * blocks: a vector load is one cell's v channels (8, zeros filling the
 * last block, for fewer than 16 channels), and tiles never test an edge
 * but at the map's end.
 *
 * The map goes in blocks of tile rows whose transformed input fits the
 * conv's scratch (36 x tiles x D1' floats, ir_wino_channels):
 *  1. every tile of the block, channel block by channel block, is loaded as
 *     36 vectors and transformed, B^T d B, into the scratch, [36][tile][D1];
 *  2. for each of the 36 points, a matrix product: n tiles x kv vectors of
 *     filters kept in registers, for every channel one broadcast of the
 *     tile's value and kv weight loads, as the direct filter-vector kernel
 *     does for output columns; the 36 sums of n tiles go to a stack buffer;
 *  3. each tile's sums are transformed back, A^T m A, and get their bias,
 *     activation and max pool (a 2x2 pool of stride 2 takes each 2x2 corner of
 *     a tile) on the way to the output.
 * Threads split step 1 over channel blocks and steps 2-3 over (filter
 * block, n tiles) items. */
#include <math.h>
#include <stdio.h>

#include "../ctx.h"
#include "ir/kernel.h"

enum { A = IR_WINO_ALPHA, PTS = A * A, MMAX = 4 };

/* B^T and A^T for the points 0, 1, -1, 2, -2 and infinity (G is
 * cnnrt_wino_filter's): B^T's rows are the coefficients of prod_l (x - p_l)
 * without one factor each, and the product itself; A^T[i][j] = p_j^i, its
 * last column picking the last output. Both F(4x4, 3x3) and F(2x2, 5x5)
 * have the same B^T; F(2x2, 5x5)'s A^T is F(4x4, 3x3)'s first row and a
 * second with the last column's 1:
 *
 *   B^T = | 4  0 -5  0  1  0 |   A^T (m = 4) = | 1  1  1  1  1  0 |
 *         | 0 -4 -4  1  1  0 |                 | 0  1 -1  2 -2  0 |
 *         | 0  4 -4 -1  1  0 |                 | 0  1  1  4  4  0 |
 *         | 0 -2 -1  2  1  0 |                 | 0  1 -1  8 -8  1 |
 *         | 0  2 -1 -2  1  0 |
 *         | 0  4  0 -5  0  1 |   A^T (m = 2) = | 1  1  1  1  1  0 |
 *                                              | 0  1 -1  2 -2  1 |
 *
 * Their rows share sums and differences of the same pairs of inputs, so
 * each 1-D transform below forms those first: B^T in 14 operations where
 * its rows one by one take 22, A^T (m = 4) in 10 where they take 14. */
typedef struct Wino {
    int m;               /* output tile, m x m (the node's wino_m) */
    int v, kv, B, n;     /* vector width; filter vectors a block, B = kv x v filters; tiles a product */
    int cw;              /* channels a vector of the input transform: v, or 8 for fewer than 16 channels */
    int64_t C, K, H, W;  /* channels, filters, output map */
    int64_t Cp;          /* channels a tile keeps in the scratch, C rounded up to cw (ir_wino_channels) */
    int64_t Hp, Wp;      /* the framed input */
    int64_t ty, tx;      /* tile rows and columns */
    int64_t rows;        /* tile rows a block (ir_wino_rows) */
    bool plain;          /* the input is [C][Hp][Wp], staged in channel blocks a block at a time */
    const IrNode *act;   /* a fused relu, relu6 or leakyrelu, or NULL */
    const IrNode *pool;  /* a fused 2x2 max pool of stride 2, or NULL */
    CgConvOut out;
    size_t node;
} Wino;

/* One block of tile rows, whose shape is known when the code is made: its
 * last block may be shorter and overhang the map. */
typedef struct Block {
    const Wino *w;
    int64_t rows, tiles; /* tile rows, and tiles, in the block */
    int64_t vr;          /* input rows inside the frame in its last tile row (A unless at the map's end) */
    int64_t hlim, plim;  /* output rows and pooled rows of the map from the block's first */
    int64_t in_rows;     /* input rows from its first inside the frame, at most rows x m + F - 1 */
} Block;

/* a + b, a - b and k a + b, a NULL operand being zeros (tiles past the
 * map's edge); NULL when both are. */
static LLVMValueRef add0(CgCtx *c, LLVMValueRef a, LLVMValueRef b)
{
    return !a ? b : !b ? a : LLVMBuildFAdd(c->b, a, b, "");
}

static LLVMValueRef sub0(CgCtx *c, LLVMValueRef a, LLVMValueRef b)
{
    return !b ? a : !a ? LLVMBuildFNeg(c->b, b, "") : LLVMBuildFSub(c->b, a, b, "");
}

static LLVMValueRef fma0(CgCtx *c, int v, double k, LLVMValueRef a, LLVMValueRef b)
{
    if (!a)
        return b;
    LLVMValueRef kv = cg_splat(c, v, cg_f32(c, k));
    return !b ? LLVMBuildFMul(c->b, kv, a, "") : cg_fma(c, kv, a, b);
}

/* y = T x for T = B^T (m = 0) or A^T (m = 4 or 2), x[j] at x[j * stride]. */
static void transform_1d(CgCtx *c, int v, int m, const LLVMValueRef *x, int stride, LLVMValueRef *y)
{
    LLVMValueRef x0 = x[0], x1 = x[stride], x2 = x[2 * stride], x3 = x[3 * stride], x4 = x[4 * stride],
                 x5 = x[5 * stride];
    if (m == 0) {
        LLVMValueRef s12 = add0(c, x1, x2), s34 = add0(c, x3, x4), d12 = sub0(c, x1, x2), d43 = sub0(c, x4, x3);
        LLVMValueRef d42 = sub0(c, x4, x2), d31 = sub0(c, x3, x1);
        y[0] = fma0(c, v, 4, x0, fma0(c, v, -5, x2, x4));
        y[1] = fma0(c, v, -4, s12, s34);
        y[2] = fma0(c, v, 4, d12, d43);
        y[3] = fma0(c, v, 2, d31, d42);
        y[4] = fma0(c, v, -2, d31, d42);
        y[5] = fma0(c, v, 4, x1, fma0(c, v, -5, x3, x5));
        return;
    }
    LLVMValueRef s12 = add0(c, x1, x2), s34 = add0(c, x3, x4), d12 = sub0(c, x1, x2), d34 = sub0(c, x3, x4);
    y[0] = add0(c, x0, add0(c, s12, s34));
    if (m == 2) {
        y[1] = add0(c, fma0(c, v, 2, d34, d12), x5);
        return;
    }
    y[1] = fma0(c, v, 2, d34, d12);
    y[2] = fma0(c, v, 4, s34, s12);
    y[3] = add0(c, fma0(c, v, 8, d34, d12), x5);
}

/* out = T in T^T (transform_1d's T, rows x 6) for in 6 x 6 (row-major,
 * NULL for zeros): rows x rows vectors, none NULL. */
static void transform(CgCtx *c, int v, int m, const LLVMValueRef *in, LLVMValueRef *out)
{
    const int rows = m ? m : A;
    LLVMValueRef tmp[A * A], col[A], row[A];
    for (int l = 0; l < A; l++) {
        transform_1d(c, v, m, in + l, A, col);
        for (int i = 0; i < rows; i++)
            tmp[i * A + l] = col[i];
    }
    for (int i = 0; i < rows; i++) {
        transform_1d(c, v, m, tmp + i * A, 1, row);
        for (int j = 0; j < rows; j++)
            out[i * rows + j] = row[j] ? row[j] : cg_splat(c, v, cg_f32(c, 0));
    }
}

/* Rows a channel block's plane has in x as input_tile reads it: the
 * input's, or the block's staged ones. */
static int64_t plane_rows(const Block *bk)
{
    return bk->w->plain ? bk->rows * bk->w->m + A - bk->w->m : bk->w->Hp;
}

/* Step 1 for one tile: (tyl, tx) of the block, channel block cb, from x
 * (channel blocks from the block's first input row) into V; vr x vc of its
 * 6 x 6 cells are inside the framed input, the rest zeros. */
static void input_tile(CgCtx *c, const Block *bk, LLVMValueRef x, LLVMValueRef V, LLVMValueRef cb, LLVMValueRef tyl,
                       LLVMValueRef tx, int64_t vr, int64_t vc)
{
    const Wino *w = bk->w;
    LLVMValueRef d[PTS], u[PTS];
    LLVMValueRef plane = cg_mul(c, cb, cg_i64(c, plane_rows(bk)));
    LLVMValueRef row0 = cg_add(c, plane, cg_mul(c, tyl, cg_i64(c, w->m)));
    LLVMValueRef col0 = cg_mul(c, tx, cg_i64(c, w->m));
    for (int i = 0; i < A; i++)
        for (int j = 0; j < A; j++) {
            d[i * A + j] = NULL;
            if (i < vr && j < vc) {
                LLVMValueRef row = cg_mul(c, cg_add(c, row0, cg_i64(c, i)), cg_i64(c, w->Wp));
                LLVMValueRef cell = cg_add(c, row, cg_add(c, col0, cg_i64(c, j)));
                d[i * A + j] = cg_vload(c, w->cw, x, cg_mul(c, cell, cg_i64(c, w->cw)));
            }
        }
    transform(c, w->cw, 0, d, u);
    /* V[p][tile][cb * v ..] */
    LLVMValueRef tile = cg_add(c, cg_mul(c, tyl, cg_i64(c, w->tx)), tx);
    LLVMValueRef tiles = cg_mul(c, tile, cg_i64(c, w->Cp));
    LLVMValueRef at = cg_add(c, tiles, cg_mul(c, cb, cg_i64(c, w->cw)));
    for (int p = 0; p < PTS; p++)
        cg_vstore(c, u[p], V, cg_add(c, at, cg_i64(c, (int64_t)p * bk->tiles * w->Cp)));
}

/* Step 1 for tile row tyl of the block, vr of its input rows inside. */
static void input_row(CgCtx *c, const Block *bk, LLVMValueRef x, LLVMValueRef V, LLVMValueRef cb, LLVMValueRef tyl,
                      int64_t vr)
{
    const Wino *w = bk->w;
    int64_t vc = w->Wp - (w->tx - 1) * w->m; /* input columns inside, in the last tile column */
    int64_t full = vc >= A ? w->tx : w->tx - 1;
    CgLoop lx;
    LLVMValueRef tx = cg_loop_begin(c, &lx, cg_i64(c, 0), cg_i64(c, full), "tx");
    input_tile(c, bk, x, V, cb, tyl, tx, vr, A);
    cg_loop_end(c, &lx);
    if (full < w->tx)
        input_tile(c, bk, x, V, cb, tyl, cg_i64(c, w->tx - 1), vr, vc);
}

/* Columns [x0, x0 + cols) of one staged row, cols <= cw: a vector of each
 * of the block's chans channels' columns (loaded whole, or a float at a
 * time when the row is narrower than a vector; zeros past the input's
 * channels), transposed into a vector of channels a column. */
static void stage_columns(CgCtx *c, const Wino *w, LLVMValueRef x, LLVMValueRef stage, LLVMValueRef from,
                          LLVMValueRef to, LLVMValueRef x0, int cols, int chans)
{
    const int v = w->cw;
    LLVMValueRef t[16];
    for (int l = 0; l < v; l++) {
        LLVMValueRef at = cg_add(c, cg_add(c, from, x0), cg_i64(c, (int64_t)l * w->Hp * w->Wp));
        if (l >= chans) {
            t[l] = cg_splat(c, v, cg_f32(c, 0));
            continue;
        }
        if (cols == v) {
            t[l] = cg_vload(c, v, x, at);
            continue;
        }
        t[l] = cg_splat(c, v, cg_f32(c, 0));
        for (int j = 0; j < cols; j++)
            t[l] = LLVMBuildInsertElement(c->b, t[l], cg_load(c, x, cg_add(c, at, cg_i64(c, j))),
                                          LLVMConstInt(c->i32, (unsigned)j, 0), "");
    }
    cg_transpose(c, v, t);
    for (int l = 0; l < cols; l++)
        cg_vstore(c, t[l], stage, cg_mul(c, cg_add(c, cg_add(c, to, x0), cg_i64(c, l)), cg_i64(c, v)));
}

/* Stages the block's input rows of channel block cb, chans of whose cw
 * channels the input has, from the plain x (its first row) into stage,
 * [cb][row][Wp][cw], cw columns at a time; a row's last cw columns shifted
 * back to end it. */
static void stage_rows(CgCtx *c, const Block *bk, LLVMValueRef x, LLVMValueRef stage, LLVMValueRef cb, int chans)
{
    const Wino *w = bk->w;
    const int v = w->cw;
    CgLoop lr, lx;
    LLVMValueRef r = cg_loop_begin(c, &lr, cg_i64(c, 0), cg_i64(c, bk->in_rows), "srow");
    LLVMValueRef planes = cg_mul(c, cg_mul(c, cb, cg_i64(c, v)), cg_i64(c, w->Hp * w->Wp));
    LLVMValueRef from = cg_add(c, planes, cg_mul(c, r, cg_i64(c, w->Wp)));
    LLVMValueRef to = cg_mul(c, cg_add(c, cg_mul(c, cb, cg_i64(c, plane_rows(bk))), r), cg_i64(c, w->Wp));
    if (w->Wp < v) {
        stage_columns(c, w, x, stage, from, to, cg_i64(c, 0), (int)w->Wp, chans);
    } else {
        LLVMValueRef sx = cg_loop_begin(c, &lx, cg_i64(c, 0), cg_i64(c, w->Wp / v), "sx");
        stage_columns(c, w, x, stage, from, to, cg_mul(c, sx, cg_i64(c, v)), v, chans);
        cg_loop_end(c, &lx);
        if (w->Wp % v)
            stage_columns(c, w, x, stage, from, to, cg_i64(c, w->Wp - v), v, chans);
    }
    cg_loop_end(c, &lr);
}

/* Step 1 for channel blocks [lo, hi); stage is where a plain input's rows
 * go. */
static void input_blocks(CgCtx *c, const Block *bk, LLVMValueRef x, LLVMValueRef V, LLVMValueRef stage,
                         LLVMValueRef lo, LLVMValueRef hi)
{
    CgLoop lc, ly;
    LLVMValueRef cb = cg_loop_begin(c, &lc, lo, hi, "cb");
    if (bk->w->plain) {
        /* The last block may have fewer channels than cw (ir_wino_channels). */
        const int last = (int)(bk->w->C % bk->w->cw);
        CgIf part;
        cg_if_begin(c, &part, last ? LLVMBuildICmp(c->b, LLVMIntEQ, cb, cg_i64(c, bk->w->Cp / bk->w->cw - 1), "") : NULL);
        if (last) {
            stage_rows(c, bk, x, stage, cb, last);
            cg_if_else(c, &part);
        }
        stage_rows(c, bk, x, stage, cb, bk->w->cw);
        cg_if_end(c, &part);
        x = stage;
    }
    int64_t full = bk->vr >= A ? bk->rows : bk->rows - 1;
    LLVMValueRef tyl = cg_loop_begin(c, &ly, cg_i64(c, 0), cg_i64(c, full), "ty");
    input_row(c, bk, x, V, cb, tyl, A);
    cg_loop_end(c, &ly);
    if (full < bk->rows)
        input_row(c, bk, x, V, cb, cg_i64(c, bk->rows - 1), bk->vr);
    cg_loop_end(c, &lc);
}

/* ptrs: the block's input, the scratch's tiles, its staged rows. */
static void input_task(CgCtx *c, void *user, LLVMValueRef *ptrs, LLVMValueRef begin, LLVMValueRef end)
{
    input_blocks(c, user, ptrs[0], ptrs[1], ptrs[2], begin, end);
}

/* Stores val, the vector of filters k.. (k a multiple of v) at (oy, ox)
 * from the block's first row of y: as it is in channel blocks, else lane by
 * lane into planes. */
static void store_cell(CgCtx *c, const Wino *w, LLVMValueRef val, LLVMValueRef y, LLVMValueRef k, LLVMValueRef oy,
                       LLVMValueRef ox)
{
    LLVMValueRef at = cg_conv_out_index(c, &w->out, k, oy, ox);
    if (w->out.blk) {
        cg_vstore(c, val, y, at);
        return;
    }
    for (int l = 0; l < w->v; l++) {
        LLVMValueRef lane = LLVMBuildExtractElement(c->b, val, LLVMConstInt(c->i32, (unsigned)l, 0), "");
        cg_store(c, lane, y, cg_add(c, at, cg_i64(c, (int64_t)l * w->out.plane)));
    }
}

/* A condition for a cell of the block's map, or NULL when every tile has it. */
static LLVMValueRef below(CgCtx *c, LLVMValueRef v, int64_t lim, bool always)
{
    return always ? NULL : LLVMBuildICmp(c->b, LLVMIntSLT, v, cg_i64(c, lim), "");
}

/* Step 3 for tile `tile` of the block and filters k.. (a vector): its sums
 * m[36] transformed back, with bias, activation and pool, into y. */
static void output_tile(CgCtx *c, const Block *bk, LLVMValueRef *m, LLVMValueRef bias, LLVMValueRef y, LLVMValueRef k,
                        LLVMValueRef tile)
{
    const Wino *w = bk->w;
    const int M = w->m;
    LLVMValueRef r[MMAX * MMAX];
    transform(c, w->v, M, m, r);
    LLVMValueRef bv = bias ? cg_vload(c, w->v, bias, k) : NULL;
    for (int q = 0; q < M * M; q++) {
        if (bv)
            r[q] = LLVMBuildFAdd(c->b, r[q], bv, "");
        r[q] = cg_activation(c, w->act, r[q]);
    }
    LLVMValueRef tyl = LLVMBuildUDiv(c->b, tile, cg_i64(c, w->tx), "");
    LLVMValueRef tx = LLVMBuildURem(c->b, tile, cg_i64(c, w->tx), "");
    const int s = w->pool ? 2 : 1; /* output cells a stored cell */
    const int64_t rows = w->pool ? bk->plim : bk->hlim, cols = w->pool ? w->pool->out.w : w->W;
    const bool rows_all = rows >= bk->rows * (M / s), cols_all = cols >= w->tx * (M / s);
    for (int i = 0; i < M / s; i++) {
        LLVMValueRef oy = cg_add(c, cg_mul(c, tyl, cg_i64(c, M / s)), cg_i64(c, i));
        CgIf in_y;
        cg_if_begin(c, &in_y, below(c, oy, rows, rows_all));
        for (int j = 0; j < M / s; j++) {
            LLVMValueRef ox = cg_add(c, cg_mul(c, tx, cg_i64(c, M / s)), cg_i64(c, j));
            LLVMValueRef val = r[i * M + j];
            if (w->pool) {
                val = cg_splat(c, w->v, cg_f32(c, -INFINITY));
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++)
                        val = cg_max_nan(c, val, r[(2 * i + a) * M + 2 * j + b]);
            }
            CgIf in_x;
            cg_if_begin(c, &in_x, below(c, ox, cols, cols_all));
            store_cell(c, w, val, y, k, oy, ox);
            cg_if_end(c, &in_x);
        }
        cg_if_end(c, &in_y);
    }
}

/* Steps 2 and 3 for nt tiles from t0 of the block and filter block kblk. */
static void product_tiles(CgCtx *c, const Block *bk, int nt, LLVMValueRef V, LLVMValueRef U, LLVMValueRef bias,
                          LLVMValueRef y, LLVMValueRef kblk, LLVMValueRef t0, LLVMValueRef sums)
{
    const Wino *w = bk->w;
    LLVMValueRef acc[64];
    for (int q = 0; q < nt * w->kv; q++)
        acc[q] = cg_vvar(c, w->v, "acc");
    LLVMTypeRef vt = cg_vec_t(c, w->v);
    CgLoop lp, lc, lt, lk;
    LLVMValueRef p = cg_loop_begin(c, &lp, cg_i64(c, 0), cg_i64(c, PTS), "pt");
    for (int q = 0; q < nt * w->kv; q++)
        LLVMBuildStore(c->b, cg_splat(c, w->v, cg_f32(c, 0)), acc[q]);
    /* U[kblk][p][ch][B], V[p][t0 + t][ch] */
    LLVMValueRef ubase = cg_mul(c, cg_add(c, cg_mul(c, kblk, cg_i64(c, PTS)), p), cg_i64(c, w->C * w->B));
    LLVMValueRef vbase = cg_mul(c, cg_add(c, cg_mul(c, p, cg_i64(c, bk->tiles)), t0), cg_i64(c, w->Cp));
    LLVMValueRef ch = cg_loop_begin(c, &lc, cg_i64(c, 0), cg_i64(c, w->C), "ch");
    LLVMValueRef wv[4];
    for (int j = 0; j < w->kv; j++)
        wv[j] = cg_vload(c, w->v, U, cg_add(c, ubase, cg_add(c, cg_mul(c, ch, cg_i64(c, w->B)), cg_i64(c, j * w->v))));
    for (int t = 0; t < nt; t++) {
        LLVMValueRef xv = cg_splat(c, w->v, cg_load(c, V, cg_add(c, vbase, cg_add(c, ch, cg_i64(c, t * w->Cp)))));
        for (int j = 0; j < w->kv; j++) {
            LLVMValueRef a = acc[t * w->kv + j];
            LLVMBuildStore(c->b, cg_fma(c, xv, wv[j], LLVMBuildLoad2(c->b, vt, a, "")), a);
        }
    }
    cg_loop_end(c, &lc);
    /* sums[t][p][B] */
    for (int t = 0; t < nt; t++)
        for (int j = 0; j < w->kv; j++) {
            LLVMValueRef at = cg_add(c, cg_mul(c, cg_add(c, cg_i64(c, (int64_t)t * PTS), p), cg_i64(c, w->B)),
                                     cg_i64(c, j * w->v));
            cg_vstore(c, LLVMBuildLoad2(c->b, vt, acc[t * w->kv + j], ""), sums, at);
        }
    cg_loop_end(c, &lp);

    LLVMValueRef t = cg_loop_begin(c, &lt, cg_i64(c, 0), cg_i64(c, nt), "t");
    LLVMValueRef jv = cg_loop_begin(c, &lk, cg_i64(c, 0), cg_i64(c, w->kv), "kv");
    LLVMValueRef k0 = cg_mul(c, kblk, cg_i64(c, w->B));
    LLVMValueRef k = cg_add(c, k0, cg_mul(c, jv, cg_i64(c, w->v)));
    CgIf real; /* the last block's vectors past K are the packing's zeros */
    cg_if_begin(c, &real, w->K % w->B ? LLVMBuildICmp(c->b, LLVMIntSLT, k, cg_i64(c, w->K), "") : NULL);
    LLVMValueRef m[PTS];
    LLVMValueRef tile = cg_mul(c, cg_mul(c, t, cg_i64(c, PTS)), cg_i64(c, w->B));
    LLVMValueRef at = cg_add(c, tile, cg_mul(c, jv, cg_i64(c, w->v)));
    for (int q = 0; q < PTS; q++)
        m[q] = cg_vload(c, w->v, sums, cg_add(c, at, cg_i64(c, (int64_t)q * w->B)));
    output_tile(c, bk, m, bias, y, k, cg_add(c, t0, t));
    cg_if_end(c, &real);
    cg_loop_end(c, &lk);
    cg_loop_end(c, &lt);
}

/* Groups of at most n tiles the block's products take, evened out. */
static int64_t tile_groups(const Block *bk)
{
    return (bk->tiles + bk->w->n - 1) / bk->w->n;
}

/* Steps 2 and 3 for items [lo, hi) of (filter block, tile group), the
 * filter block outer so that its transformed weights stay in the cache. */
static void product_items(CgCtx *c, const Block *bk, LLVMValueRef V, LLVMValueRef U, LLVMValueRef bias, LLVMValueRef y,
                          LLVMValueRef lo, LLVMValueRef hi)
{
    const Wino *w = bk->w;
    const int64_t nsub = tile_groups(bk);
    const int n = (int)((bk->tiles + nsub - 1) / nsub), n_last = (int)(bk->tiles - (nsub - 1) * n);
    LLVMValueRef sums = cg_entry_alloca(c, LLVMArrayType2(c->f32, (uint64_t)n * PTS * w->B), "sums");
    LLVMSetAlignment(sums, 64);
    CgLoop li;
    LLVMValueRef item = cg_loop_begin(c, &li, lo, hi, "item");
    LLVMValueRef kblk = LLVMBuildUDiv(c->b, item, cg_i64(c, nsub), "");
    LLVMValueRef sub = LLVMBuildURem(c->b, item, cg_i64(c, nsub), "");
    LLVMValueRef t0 = cg_mul(c, sub, cg_i64(c, n));
    CgIf last;
    cg_if_begin(c, &last, n_last != n ? LLVMBuildICmp(c->b, LLVMIntEQ, sub, cg_i64(c, nsub - 1), "") : NULL);
    product_tiles(c, bk, n_last, V, U, bias, y, kblk, t0, sums);
    if (n_last != n) {
        cg_if_else(c, &last);
        product_tiles(c, bk, n, V, U, bias, y, kblk, t0, sums);
    }
    cg_if_end(c, &last);
    cg_loop_end(c, &li);
}

/* ptrs: the scratch, weights, bias, the block's output. */
static void product_task(CgCtx *c, void *user, LLVMValueRef *ptrs, LLVMValueRef begin, LLVMValueRef end)
{
    product_items(c, user, ptrs[0], ptrs[1], ptrs[2], ptrs[3], begin, end);
}

static int64_t product_count(const Block *bk)
{
    return (bk->w->K + bk->w->B - 1) / bk->w->B * tile_groups(bk);
}

/* One block whose first tile row is r0: x and y moved to its first rows. */
static void lower_block(CgCtx *c, const Block *bk, LLVMValueRef x, LLVMValueRef y, LLVMValueRef U, LLVMValueRef bias,
                        LLVMValueRef r0, bool split, const char *tag)
{
    const Wino *w = bk->w;
    const int64_t ycell = w->out.blk ? w->out.blk : 1, yrows = w->pool ? w->m / 2 : w->m;
    LLVMValueRef xb = cg_at(c, x, cg_mul(c, r0, cg_i64(c, w->m * w->Wp * (w->plain ? 1 : w->v))));
    LLVMValueRef yb = cg_at(c, y, cg_mul(c, r0, cg_i64(c, yrows * w->out.row * ycell)));
    LLVMValueRef V = c->scratch, stage = cg_at(c, c->scratch, cg_i64(c, ir_wino_tile_bytes(c->g, w->node) / 4));
    int64_t cblocks = w->Cp / w->cw, items = product_count(bk);
    if (split) {
        char name[80];
        snprintf(name, sizeof name, "layer%zu.wino.%s.in", w->node, tag);
        LLVMValueRef in_ptrs[3] = {xb, V, stage};
        cg_parallel_for(c, name, in_ptrs, 3, cg_i64(c, cblocks), input_task, (void *)bk);
        snprintf(name, sizeof name, "layer%zu.wino.%s.product", w->node, tag);
        LLVMValueRef ptrs[4] = {V, U, bias, yb};
        cg_parallel_for(c, name, ptrs, 4, cg_i64(c, items), product_task, (void *)bk);
    } else {
        input_blocks(c, bk, xb, V, stage, cg_i64(c, 0), cg_i64(c, cblocks));
        product_items(c, bk, V, U, bias, yb, cg_i64(c, 0), cg_i64(c, items));
    }
}

void cg_lower_winograd(CgCtx *c, size_t node, LLVMValueRef x, LLVMValueRef y, LLVMValueRef table,
                       const CgConvOut *out, bool plain_in, bool split)
{
    const IrGraph *g = c->g;
    const IrNode *n = &g->nodes[node], *tail = &g->nodes[ir_group_tail(g, node)];
    const IrNode *in = &g->nodes[n->inputs[0]];
    const int M = n->wino_m, P = (int)n->attr.conv.pad;
    Wino w = {
        .m = M,
        .v = c->vec_width,
        .kv = n->pack / c->vec_width,
        .C = in->out.d,
        .K = n->out.d,
        .H = n->out.h,
        .W = n->out.w,
        .Hp = in->out.h + 2 * P,
        .Wp = in->out.w + 2 * P,
        .ty = (n->out.h + M - 1) / M,
        .tx = (n->out.w + M - 1) / M,
        .rows = ir_wino_rows(g, node),
        .plain = plain_in,
        .act = cg_fused_act(c, node),
        .pool = tail->op == IR_OP_POOL ? tail : NULL,
        .out = *out,
        .node = node,
    };
    w.B = w.kv * w.v;
    /* Fewer than 16 channels (LeNet-5's conv2 has 6) are staged and
     * transformed 8 at a time, zeros filling the block, where a vector of
     * 16 would be mostly zeros. */
    w.cw = w.C % w.v == 0 ? w.v : 8;
    w.Cp = ir_wino_channels(g, node);
    IR_ASSERT(w.Cp % w.cw == 0 && (w.plain || w.cw == w.v));
    /* n tiles x kv vectors of sums and kv weight vectors in registers (the
     * broadcasts fold into the multiply-adds), at most 12 tiles. */
    w.n = (c->vec_regs - w.kv) / w.kv;
    if (w.n > 12)
        w.n = 12;
    /* A filter block's transformed weights small enough to stay in L1 (32
     * KiB) stay there with a group's tiles and sums if the group is small:
     * LeNet-5's conv2 (6 channels, 16 filters: 13.5 KiB) took 0.0207 ms
     * for a batch of 8 in groups of 5 tiles (its 25 in 5), 0.0220 in
     * groups of 9 (min of 15 alternating rounds, Zen 4). */
    const int64_t u_bytes = PTS * w.C * w.B * 4, tile_bytes = PTS * (w.B + w.Cp) * 4;
    if (u_bytes <= 16 * 1024) {
        const int64_t fit = (32 * 1024 - u_bytes) / tile_bytes;
        if (fit < w.n)
            w.n = fit < 4 ? 4 : (int)fit;
    }
    LLVMValueRef U = cg_param(c, table, cg_param_index(c, node, IR_ROLE_WEIGHT));
    LLVMValueRef bias = cg_conv_bias(c, node, table);

    const int64_t nblocks = (w.ty + w.rows - 1) / w.rows, last_rows = w.ty - (nblocks - 1) * w.rows;
    const int64_t vr_end = w.Hp - (w.ty - 1) * M; /* input rows inside, in the map's last tile row */
    const int64_t pout_h = w.pool ? w.pool->out.h : 0;
    const int64_t r0_end = (nblocks - 1) * w.rows; /* the last block's first tile row */
    const int64_t end_in = w.Hp - r0_end * M;
    Block full = {&w, w.rows, w.rows * w.tx, A, w.rows * M, w.rows * M / 2, w.rows * M + A - M};
    Block end = {&w,
                 last_rows,
                 last_rows * w.tx,
                 vr_end < A ? vr_end : A,
                 w.H - r0_end * M,
                 pout_h - r0_end * M / 2,
                 end_in < last_rows * M + A - M ? end_in : last_rows * M + A - M};
    /* Blocks before the last, then the last with its overhang. */
    if (nblocks > 1) {
        CgLoop lb;
        LLVMValueRef b = cg_loop_begin(c, &lb, cg_i64(c, 0), cg_i64(c, nblocks - 1), "wblock");
        lower_block(c, &full, x, y, U, bias, cg_mul(c, b, cg_i64(c, w.rows)), split, "full");
        cg_loop_end(c, &lb);
    }
    lower_block(c, &end, x, y, U, bias, cg_i64(c, (nblocks - 1) * w.rows), split, "end");
}
