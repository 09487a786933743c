/* fc lowering (SPEC section 1): y[k] = b[k] + sum_n W[k][n] x[n], with x read
 * in its C, H, W order -- the same flatten order as PyTorch's; and the
 * activation fused after it (relu, relu6 or leakyrelu), if any (ir/fuse.c).
 *
 * The naive path (-O0, scalar targets) is the formula. Two fast paths, both
 * sharing each weight load among a group of images when the batch allows
 * (module.c runs images in groups when cg_fc_batch says so), so W is read
 * once per group, not once per image:
 *
 * - Weights that stay in the caches (up to 1 MiB) are packed at compile
 *   time, or by the runtime for a weights file, in groups of rows
 *   (cg_fc_pack, cnnrt_pack), so that one load gives one input's weights
 *   for a vector of rows: lanes hold rows, each input is broadcast, and no
 *   sum crosses lanes. LeNet-5's fc1 at batch 8 went from 0.0055 to 0.0036
 *   ms, fc2 from 0.0026 to 0.0008.
 * - Larger weights come from memory, and are read as they are: kb rows at
 *   a time, lanes on inputs, each row its own stream, and the lanes summed
 *   at the end. The packed kernel lost to it there: VGG-16's fc6 in the
 *   network took 31-33 ms against 25.7 at batch 1 on one thread, 52-56
 *   against 48 at batch 8, even with 4 streams and prefetching. */
#include <stdio.h>

#include "../ctx.h"

static void lower_naive(CgCtx *c, size_t node, LLVMValueRef x, LLVMValueRef y, LLVMValueRef w, LLVMValueRef bias,
                        int64_t inputs, int64_t outputs, const IrNode *act)
{
    LLVMValueRef acc = cg_var(c, "acc");
    CgLoop lk, ln;
    (void)node;
    LLVMValueRef k = cg_loop_begin(c, &lk, cg_i64(c, 0), cg_i64(c, outputs), "k");
    LLVMBuildStore(c->b, bias ? cg_load(c, bias, k) : cg_f32(c, 0), acc);
    LLVMValueRef row = cg_mul(c, k, cg_i64(c, inputs));
    LLVMValueRef i = cg_loop_begin(c, &ln, cg_i64(c, 0), cg_i64(c, inputs), "n");
    LLVMValueRef wv = cg_load(c, w, cg_add(c, row, i));
    LLVMValueRef prod = LLVMBuildFMul(c->b, wv, cg_load(c, x, i), "");
    LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->f32, acc, ""), prod, ""), acc);
    cg_loop_end(c, &ln);
    LLVMValueRef v = LLVMBuildLoad2(c->b, c->f32, acc, "");
    cg_store(c, cg_activation(c, act, v), y, k);
    cg_loop_end(c, &lk);
}

/* How far ahead in a row of weights a batched fc prefetches, in floats. */
#define FC_PREFETCH 128

/* Where the images of a batched call are: nimg inputs xs floats apart,
 * outputs ys apart (one image: nimg 1). */
typedef struct Imgs {
    int nimg;
    int64_t xs, ys;
} Imgs;

/* Row blocks [blk_lo, blk_hi) of kb rows from k_lo, for every image: each
 * weight vector is loaded once and multiplied into every image's
 * accumulators, so a batch streams W once. One image keeps U = 2
 * accumulators a row, so consecutive multiply-adds do not wait on each
 * other; with several, the images are that independence. */
static void fast_rows(CgCtx *c, int v, int kb, int64_t k_lo, LLVMValueRef blk_lo, LLVMValueRef blk_hi,
                      LLVMValueRef x, LLVMValueRef y, LLVMValueRef w, LLVMValueRef bias, int64_t inputs, const IrNode *act,
                      Imgs im)
{
    const int U = im.nimg == 1 ? 2 : 1, M = im.nimg;
    LLVMValueRef acc[32], tail[32];
    IR_ASSERT(kb * M * U <= 32);
    for (int q = 0; q < kb * M * U; q++)
        acc[q] = cg_vvar(c, v, "acc");
    for (int q = 0; q < kb * M; q++)
        tail[q] = cg_var(c, "tail");
    LLVMTypeRef vt = cg_vec_t(c, v);
    int64_t steps = inputs / (v * U);

    CgLoop lk, ln, lt;
    LLVMValueRef kblk = cg_loop_begin(c, &lk, blk_lo, blk_hi, "kblock");
    LLVMValueRef k0 = cg_add(c, cg_i64(c, k_lo), cg_mul(c, kblk, cg_i64(c, kb)));
    LLVMValueRef row0 = cg_mul(c, k0, cg_i64(c, inputs));
    for (int q = 0; q < kb * M * U; q++)
        LLVMBuildStore(c->b, LLVMConstNull(vt), acc[q]);
    LLVMValueRef s = cg_loop_begin(c, &ln, cg_i64(c, 0), cg_i64(c, steps), "step");
    LLVMValueRef n0 = cg_mul(c, s, cg_i64(c, v * U));
    /* The kb x U weight vectors, then each image's input vector once for
     * all kb rows: x's loads are what a batch's rows share. */
    LLVMValueRef wrow[16], wat[16];
    for (int kk = 0; kk < kb; kk++)
        for (int u = 0; u < U; u++) {
            wat[kk * U + u] = cg_add(c, cg_add(c, row0, cg_i64(c, kk * inputs + u * v)), n0);
            wrow[kk * U + u] = cg_vload(c, v, w, wat[kk * U + u]);
        }
    /* With a batch, each step also loads M input vectors, mostly from L2,
     * and the rows' streams fell behind: a prefetch 128 floats ahead in
     * each row took VGG-16's fc6 at batch 8 from 32.6 to 26.4 ms on one
     * thread (AMD Zen 4; 256 ahead made fc7 slower, 4.6 -> 5.2 ms), and
     * AlexNet's fc6 and fc7 from 18.3 to 16.0, each classifier compiled as
     * a network of its own. One image streams faster without: VGG-16's fc6
     * 13.1 ms against 14.0. */
    for (int q = 0; q < kb * U && M > 1; q++)
        cg_prefetch(c, w, cg_add(c, wat[q], cg_i64(c, FC_PREFETCH)));
    for (int m = 0; m < M; m++) {
        for (int u = 0; u < U; u++) {
            LLVMValueRef xv = cg_vload(c, v, x, cg_add(c, n0, cg_i64(c, m * im.xs + u * v)));
            for (int kk = 0; kk < kb; kk++) {
                LLVMValueRef a = acc[(kk * M + m) * U + u];
                LLVMBuildStore(c->b, cg_fma(c, wrow[kk * U + u], xv, LLVMBuildLoad2(c->b, vt, a, "")), a);
            }
        }
    }
    cg_loop_end(c, &ln);
    /* The products past the last full step: whole vectors into the
     * accumulators, then halves and quarters, each summed into the row's
     * tail, and the last few (under 4) one by one. LeNet-5 (fc inputs 400
     * and 120, tails of 16 and 24 with AVX-512) went from 0.0115 to 0.0095
     * ms an image with this and halving sums. */
    for (int q = 0; q < kb * M; q++)
        LLVMBuildStore(c->b, cg_f32(c, 0), tail[q]);
    int64_t done = steps * v * U;
    for (int wd = v; wd >= 4; wd /= 2) {
        for (; inputs - done >= wd; done += wd) {
            for (int kk = 0; kk < kb; kk++) {
                LLVMValueRef wv = cg_vload(c, wd, w, cg_add(c, cg_add(c, row0, cg_i64(c, kk * inputs)), cg_i64(c, done)));
                for (int m = 0; m < M; m++) {
                    LLVMValueRef xw = cg_vload(c, wd, x, cg_i64(c, done + m * im.xs));
                    if (wd == v) {
                        LLVMValueRef a = acc[(kk * M + m) * U];
                        LLVMBuildStore(c->b, cg_fma(c, wv, xw, LLVMBuildLoad2(c->b, vt, a, "")), a);
                        continue;
                    }
                    LLVMValueRef sum = cg_hsum(c, LLVMBuildFMul(c->b, wv, xw, ""));
                    LLVMValueRef cur = LLVMBuildLoad2(c->b, c->f32, tail[kk * M + m], "");
                    LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, cur, sum, ""), tail[kk * M + m]);
                }
            }
        }
    }
    LLVMValueRef n = cg_loop_begin(c, &lt, cg_i64(c, done), cg_i64(c, inputs), "n");
    for (int kk = 0; kk < kb; kk++) {
        LLVMValueRef wn = cg_load(c, w, cg_add(c, cg_add(c, row0, cg_i64(c, kk * inputs)), n));
        for (int m = 0; m < M; m++) {
            LLVMValueRef xn = cg_load(c, x, cg_add(c, n, cg_i64(c, m * im.xs)));
            LLVMValueRef cur = LLVMBuildLoad2(c->b, c->f32, tail[kk * M + m], "");
            LLVMBuildStore(c->b, cg_fma(c, wn, xn, cur), tail[kk * M + m]);
        }
    }
    cg_loop_end(c, &lt);
    for (int kk = 0; kk < kb; kk++) {
        LLVMValueRef k = cg_add(c, k0, cg_i64(c, kk));
        LLVMValueRef start = bias ? cg_load(c, bias, k) : cg_f32(c, 0);
        for (int m = 0; m < M; m++) {
            LLVMValueRef sum = LLVMBuildLoad2(c->b, vt, acc[(kk * M + m) * U], "");
            for (int u = 1; u < U; u++)
                sum = LLVMBuildFAdd(c->b, sum, LLVMBuildLoad2(c->b, vt, acc[(kk * M + m) * U + u], ""), "");
            LLVMValueRef r = LLVMBuildFAdd(c->b, start, cg_hsum(c, sum), "");
            r = LLVMBuildFAdd(c->b, r, LLVMBuildLoad2(c->b, c->f32, tail[kk * M + m], ""), "");
            r = cg_activation(c, act, r);
            cg_store(c, r, y, cg_add(c, k, cg_i64(c, m * im.ys)));
        }
    }
    cg_loop_end(c, &lk);
}

typedef struct FcTask {
    int v, kb;
    int64_t inputs;
    const IrNode *act; /* a fused activation, or NULL */
    Imgs im;
} FcTask;

/* ptrs: input, output, weights, bias. */
static void fc_task(CgCtx *c, void *user, LLVMValueRef *ptrs, LLVMValueRef begin, LLVMValueRef end)
{
    const FcTask *t = user;
    fast_rows(c, t->v, t->kb, 0, begin, end, ptrs[0], ptrs[1], ptrs[2], ptrs[3], t->inputs, t->act, t->im);
}

/* The vector width for an fc of this many inputs; below 4, the naive path. */
static int fc_width(const CgCtx *c, int64_t inputs)
{
    int v = c->vec_width;
    while (v >= 4 && v * 2 > inputs)
        v /= 2;
    return c->opt_level < 1 ? 1 : v;
}

/* The packed kernel's shape: rb vectors of v rows a group, the weights
 * packed in groups of rb*v rows (cnnrt_pack), so one group's weights for an
 * input are rb*v consecutive floats. */
typedef struct Fc {
    int v, rb, U; /* U: accumulators per vector and image, one per segment of the inputs */
    int64_t inputs, outputs;
    const IrNode *act; /* a fused activation, or NULL */
    Imgs im;
} Fc;

static void fc_shape(const CgCtx *c, Fc *f)
{
    f->v = c->vec_width;
    while (f->v > 4 && f->v / 2 >= f->outputs)
        f->v /= 2;
    /* 8 images x 3 vectors of rows with 32 registers (24 accumulators, the
     * weight vectors and a broadcast), 4 x 2 with 16. */
    f->rb = c->vec_regs >= 32 ? 3 : 2;
    f->U = f->im.nimg == 1 ? 4 : 1;
}

/* Groups [g_lo, g_hi) of rb*v rows, for every image: each weight vector is
 * loaded once and multiplied by every image's input, broadcast, so a batch
 * streams W once and no sum crosses lanes. The last group's rows past the
 * layer's outputs are computed on the packing's zeros and not stored. */
static void fast_groups(CgCtx *c, const Fc *f, LLVMValueRef g_lo, LLVMValueRef g_hi, LLVMValueRef x, LLVMValueRef y,
                        LLVMValueRef w, LLVMValueRef bias)
{
    const int v = f->v, rb = f->rb, M = f->im.nimg, U = f->U;
    const int64_t N = f->inputs, P = (int64_t)rb * v;
    LLVMTypeRef vt = cg_vec_t(c, v);
    LLVMValueRef acc[32];
    IR_ASSERT(rb * M * U <= 32);
    for (int q = 0; q < rb * M * U; q++)
        acc[q] = cg_vvar(c, v, "acc");

    CgLoop lg, ln;
    LLVMValueRef grp = cg_loop_begin(c, &lg, g_lo, g_hi, "group");
    LLVMValueRef wg = cg_at(c, w, cg_mul(c, grp, cg_i64(c, N * P)));
    for (int q = 0; q < rb * M * U; q++)
        LLVMBuildStore(c->b, LLVMConstNull(vt), acc[q]);
    /* A lone image walks the inputs in U segments side by side, with an
     * accumulator for each, so that consecutive multiply-adds do not wait
     * on each other; a batch has its images for that, and one segment keeps
     * its copies of the loop small (they cost compile time). */
    const int64_t seg = N / U;
    LLVMValueRef step = cg_loop_begin(c, &ln, cg_i64(c, 0), cg_i64(c, seg), "step");
    for (int u = 0; u < U; u++) {
        LLVMValueRef n = cg_add(c, step, cg_i64(c, u * seg)), wv[8];
        for (int r = 0; r < rb; r++)
            wv[r] = cg_vload(c, v, wg, cg_add(c, cg_mul(c, n, cg_i64(c, P)), cg_i64(c, r * v)));
        for (int m = 0; m < M; m++) {
            LLVMValueRef xb = cg_splat(c, v, cg_load(c, x, cg_add(c, n, cg_i64(c, m * f->im.xs))));
            for (int r = 0; r < rb; r++) {
                LLVMValueRef a = acc[(r * M + m) * U + u];
                LLVMBuildStore(c->b, cg_fma(c, wv[r], xb, LLVMBuildLoad2(c->b, vt, a, "")), a);
            }
        }
    }
    cg_loop_end(c, &ln);
    /* The last N % U inputs. */
    for (int64_t n = seg * U; n < N; n++) {
        for (int r = 0; r < rb; r++) {
            LLVMValueRef wv = cg_vload(c, v, wg, cg_i64(c, n * P + r * v));
            for (int m = 0; m < M; m++) {
                LLVMValueRef xb = cg_splat(c, v, cg_load(c, x, cg_i64(c, n + m * f->im.xs)));
                LLVMValueRef a = acc[(r * M + m) * U];
                LLVMBuildStore(c->b, cg_fma(c, wv, xb, LLVMBuildLoad2(c->b, vt, a, "")), a);
            }
        }
    }
    /* Lanes past the layer's outputs (the last group's, zeros in the packed
     * weights) are not stored: a masked store, so that the last group is
     * not a second copy of the kernel. */
    LLVMValueRef k_grp = cg_mul(c, grp, cg_i64(c, P));
    LLVMValueRef left = NULL, lanes[16];
    if (f->outputs % P) {
        LLVMTypeRef it = LLVMVectorType(c->i32, (unsigned)v);
        LLVMValueRef n_left = LLVMBuildTrunc(c->b, cg_sub(c, cg_i64(c, f->outputs), k_grp), c->i32, "");
        left = LLVMBuildInsertElement(c->b, LLVMGetPoison(it), n_left, LLVMConstInt(c->i32, 0, 0), "");
        left = LLVMBuildShuffleVector(c->b, left, LLVMGetPoison(it), LLVMConstNull(it), "");
    }
    for (int r = 0; r < rb; r++) {
        LLVMValueRef k0 = cg_add(c, k_grp, cg_i64(c, r * v));
        LLVMValueRef start = bias ? cg_vload(c, v, bias, k0) : LLVMConstNull(vt);
        LLVMValueRef mask = NULL;
        if (left) {
            for (int j = 0; j < v; j++)
                lanes[j] = LLVMConstInt(c->i32, (unsigned long long)(r * v + j), 0);
            mask = LLVMBuildICmp(c->b, LLVMIntSLT, LLVMConstVector(lanes, (unsigned)v), left, "");
        }
        for (int m = 0; m < M; m++) {
            LLVMValueRef sum = LLVMBuildLoad2(c->b, vt, acc[(r * M + m) * U], "");
            for (int u = 1; u < U; u++)
                sum = LLVMBuildFAdd(c->b, sum, LLVMBuildLoad2(c->b, vt, acc[(r * M + m) * U + u], ""), "");
            sum = LLVMBuildFAdd(c->b, start, sum, "");
            sum = cg_activation(c, f->act, sum);
            LLVMValueRef at = cg_add(c, k0, cg_i64(c, m * f->im.ys));
            if (mask)
                cg_vstore_masked(c, sum, y, at, mask);
            else
                cg_vstore(c, sum, y, at);
        }
    }
    cg_loop_end(c, &lg);
}

/* ptrs: input, output, weights, bias. */
static void group_task(CgCtx *c, void *user, LLVMValueRef *ptrs, LLVMValueRef begin, LLVMValueRef end)
{
    const Fc *f = user;
    fast_groups(c, f, begin, end, ptrs[0], ptrs[1], ptrs[2], ptrs[3]);
}

int cg_fc_pack(const CgCtx *c, size_t node)
{
    const IrNode *n = &c->g->nodes[node];
    if (n->op != IR_OP_FC || c->opt_level < 1 || c->vec_width < 4 || n->params * 4 > (1 << 20))
        return 0;
    Fc f = {.outputs = n->attr.fc.outputs, .im = {1, 0, 0}};
    fc_shape(c, &f);
    return f.rb * f.v;
}

int cg_fc_batch(const CgCtx *c, size_t node)
{
    const IrNode *n = &c->g->nodes[node];
    int64_t inputs = ir_shape_elems(c->g->nodes[n->inputs[0]].out);
    /* Eight images with 32 registers (3 rows x 8 accumulators, 3 weight
     * vectors and an input: AlexNet at batch 8 streams its 234 MB of fc
     * weights once, not twice), four with 16 (2 rows). Small layers gain
     * too, since a weight load then feeds 8 multiply-adds, not 1: LeNet-5's
     * fc1 (188 KiB, in L2) at batch 8 went from 0.0108 to 0.0055 ms. Not
     * below 32 KiB, where the gain is lost in the noise and the batched
     * copies cost compile time (LeNet-5's fc3). */
    if (n->op != IR_OP_FC || (!cg_fc_pack(c, node) && fc_width(c, inputs) < 4) || n->params * 4 < (32 << 10))
        return 1;
    return c->vec_regs >= 32 ? 8 : 4;
}

static void lower_packed(CgCtx *c, size_t node, LLVMValueRef x, LLVMValueRef y, LLVMValueRef w, LLVMValueRef bias,
                         int64_t inputs, const IrNode *act, Imgs im)
{
    const IrNode *n = &c->g->nodes[node];
    const IrFcAttr *a = &n->attr.fc;
    Fc f = {.inputs = inputs, .outputs = a->outputs, .act = act, .im = im};
    fc_shape(c, &f);
    const int64_t P = (int64_t)f.rb * f.v, groups = (a->outputs + P - 1) / P;
    if (c->executable && groups >= 2 && n->macs >= CG_PARALLEL_MIN_FC_MACS) {
        char name[64];
        snprintf(name, sizeof name, "layer%zu.fc%s.task", node, im.nimg > 1 ? ".batch" : "");
        LLVMValueRef ptrs[4] = {x, y, w, bias};
        cg_parallel_for(c, name, ptrs, 4, cg_i64(c, groups), group_task, &f);
    } else {
        fast_groups(c, &f, cg_i64(c, 0), cg_i64(c, groups), x, y, w, bias);
    }
}

static void lower(CgCtx *c, size_t node, LLVMValueRef x, LLVMValueRef y, LLVMValueRef table, Imgs im)
{
    const IrNode *n = &c->g->nodes[node];
    const IrFcAttr *a = &n->attr.fc;
    int64_t inputs = ir_shape_elems(c->g->nodes[n->inputs[0]].out);
    LLVMValueRef w = cg_param(c, table, cg_param_index(c, node, IR_ROLE_WEIGHT));
    LLVMValueRef bias = a->bias ? cg_param(c, table, cg_param_index(c, node, IR_ROLE_BIAS)) : NULL;
    const IrNode *act = cg_fused_act(c, node);
    if (cg_fc_pack(c, node)) {
        lower_packed(c, node, x, y, w, bias, inputs, act, im);
        return;
    }
    int v = fc_width(c, inputs);
    if (v < 4) {
        IR_ASSERT(im.nimg == 1);
        lower_naive(c, node, x, y, w, bias, inputs, a->outputs, act);
        return;
    }
    /* Registers: kb x nimg accumulators, kb weight vectors and an input. */
    int kb = im.nimg == 1 ? 4 : (c->vec_regs - 2) / (im.nimg + 1);
    if (kb > 4)
        kb = 4;
    if (kb < 1)
        kb = 1;
    if (kb > a->outputs)
        kb = (int)a->outputs;
    int64_t blocks = a->outputs / kb, main_k = blocks * kb;
    if (c->executable && blocks >= 2 && n->macs >= CG_PARALLEL_MIN_FC_MACS) {
        /* Memory-bound: more threads, more of the machine's bandwidth. */
        char name[64];
        snprintf(name, sizeof name, "layer%zu.fc%s.task", node, im.nimg > 1 ? ".batch" : "");
        FcTask t = {v, kb, inputs, act, im};
        LLVMValueRef ptrs[4] = {x, y, w, bias};
        cg_parallel_for(c, name, ptrs, 4, cg_i64(c, blocks), fc_task, &t);
    } else {
        fast_rows(c, v, kb, 0, cg_i64(c, 0), cg_i64(c, blocks), x, y, w, bias, inputs, act, im);
    }
    if (a->outputs > main_k)
        fast_rows(c, v, 1, main_k, cg_i64(c, 0), cg_i64(c, a->outputs - main_k), x, y, w, bias, inputs, act, im);
}

void cg_lower_fc(CgCtx *c, size_t node, const LLVMValueRef *xs, LLVMValueRef y, LLVMValueRef table)
{
    LLVMValueRef x = xs[0];
    lower(c, node, x, y, table, (Imgs){1, 0, 0});
}

void cg_lower_fc_batch(CgCtx *c, size_t node, LLVMValueRef x, LLVMValueRef y, LLVMValueRef table, int nimg,
                       int64_t xs, int64_t ys)
{
    lower(c, node, x, y, table, (Imgs){nimg, xs, ys});
}
