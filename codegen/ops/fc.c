/* fc lowering (SPEC section 1): y[k] = b[k] + sum_n W[k][n] x[n], with x read
 * in its C, H, W order -- the same flatten order as PyTorch's; and the relu
 * fused after it, if any (ir/fuse.c).
 *
 * The naive path (-O0, scalar targets) is the formula. The fast path streams
 * W once: kb rows at a time, in vector accumulators of the target's width, x
 * loaded once per step for all kb rows; the accumulators are summed at the
 * end and the last products added one by one. A batch (module.c runs images
 * in groups when cg_fc_batch says so) shares each weight load among the
 * group's images, so W is read once per group, not once per image. */
#include <stdio.h>

#include "../ctx.h"

static void lower_naive(CgCtx *c, size_t node, LLVMValueRef x, LLVMValueRef y, LLVMValueRef w, LLVMValueRef bias,
                        int64_t inputs, int64_t outputs, bool relu)
{
    LLVMValueRef acc = cg_var(c, "acc");
    CgLoop lk, ln;
    (void)node;
    LLVMValueRef k = cg_loop_begin(c, &lk, cg_i64(c, 0), cg_i64(c, outputs), "k");
    LLVMBuildStore(c->b, bias ? cg_load(c, bias, k) : cg_f32(c, 0), acc);
    LLVMValueRef row = cg_mul(c, k, cg_i64(c, inputs));
    LLVMValueRef i = cg_loop_begin(c, &ln, cg_i64(c, 0), cg_i64(c, inputs), "n");
    LLVMValueRef prod = LLVMBuildFMul(c->b, cg_load(c, w, cg_add(c, row, i)), cg_load(c, x, i), "");
    LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->f32, acc, ""), prod, ""), acc);
    cg_loop_end(c, &ln);
    LLVMValueRef v = LLVMBuildLoad2(c->b, c->f32, acc, "");
    cg_store(c, relu ? cg_relu(c, v) : v, y, k);
    cg_loop_end(c, &lk);
}

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
                      LLVMValueRef x, LLVMValueRef y, LLVMValueRef w, LLVMValueRef bias, int64_t inputs, bool relu,
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
    LLVMValueRef wrow[16];
    for (int kk = 0; kk < kb; kk++)
        for (int u = 0; u < U; u++)
            wrow[kk * U + u] = cg_vload(c, v, w, cg_add(c, cg_add(c, row0, cg_i64(c, kk * inputs + u * v)), n0));
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
            cg_store(c, relu ? cg_relu(c, r) : r, y, cg_add(c, k, cg_i64(c, m * im.ys)));
        }
    }
    cg_loop_end(c, &lk);
}

typedef struct FcTask {
    int v, kb;
    int64_t inputs;
    bool relu;
    Imgs im;
} FcTask;

/* ptrs: input, output, weights, bias. */
static void fc_task(CgCtx *c, void *user, LLVMValueRef *ptrs, LLVMValueRef begin, LLVMValueRef end)
{
    const FcTask *t = user;
    fast_rows(c, t->v, t->kb, 0, begin, end, ptrs[0], ptrs[1], ptrs[2], ptrs[3], t->inputs, t->relu, t->im);
}

/* The vector width for an fc of this many inputs; below 4, the naive path. */
static int fc_width(const CgCtx *c, int64_t inputs)
{
    int v = c->vec_width;
    while (v >= 4 && v * 2 > inputs)
        v /= 2;
    return c->opt_level < 1 ? 1 : v;
}

int cg_fc_batch(const CgCtx *c, size_t node)
{
    const IrNode *n = &c->g->nodes[node];
    int64_t inputs = ir_shape_elems(c->g->nodes[n->inputs[0]].out);
    /* Eight images with 32 registers (3 rows x 8 accumulators, 3 weight
     * vectors and an input: AlexNet at batch 8 streams its 234 MB of fc
     * weights once, not twice), four with 16 (2 rows). Small layers gain
     * too, since a weight load then feeds 8 multiply-adds, not 1: LeNet-5's
     * fc1 (188 KiB, in L2) at batch 8 went from 0.0108 to 0.0055 ms. */
    if (n->op != IR_OP_FC || fc_width(c, inputs) < 4)
        return 1;
    return c->vec_regs >= 32 ? 8 : 4;
}

static void lower(CgCtx *c, size_t node, LLVMValueRef x, LLVMValueRef y, LLVMValueRef table, Imgs im)
{
    const IrNode *n = &c->g->nodes[node];
    const IrFcAttr *a = &n->attr.fc;
    int64_t inputs = ir_shape_elems(c->g->nodes[n->inputs[0]].out);
    LLVMValueRef w = cg_param(c, table, cg_param_index(c, node, false));
    LLVMValueRef bias = a->bias ? cg_param(c, table, cg_param_index(c, node, true)) : NULL;
    bool relu = ir_group_tail(c->g, node) != node;
    int v = fc_width(c, inputs);
    if (v < 4) {
        IR_ASSERT(im.nimg == 1);
        lower_naive(c, node, x, y, w, bias, inputs, a->outputs, relu);
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
        FcTask t = {v, kb, inputs, relu, im};
        LLVMValueRef ptrs[4] = {x, y, w, bias};
        cg_parallel_for(c, name, ptrs, 4, cg_i64(c, blocks), fc_task, &t);
    } else {
        fast_rows(c, v, kb, 0, cg_i64(c, 0), cg_i64(c, blocks), x, y, w, bias, inputs, relu, im);
    }
    if (a->outputs > main_k)
        fast_rows(c, v, 1, main_k, cg_i64(c, 0), cg_i64(c, a->outputs - main_k), x, y, w, bias, inputs, relu, im);
}

void cg_lower_fc(CgCtx *c, size_t node, LLVMValueRef x, LLVMValueRef y, LLVMValueRef table)
{
    lower(c, node, x, y, table, (Imgs){1, 0, 0});
}

void cg_lower_fc_batch(CgCtx *c, size_t node, LLVMValueRef x, LLVMValueRef y, LLVMValueRef table, int nimg,
                       int64_t xs, int64_t ys)
{
    lower(c, node, x, y, table, (Imgs){nimg, xs, ys});
}
