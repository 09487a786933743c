/* fc lowering (SPEC section 1): y[k] = b[k] + sum_n W[k][n] x[n], with x read
 * in its C, H, W order -- the same flatten order as PyTorch's; and the relu
 * fused after it, if any (ir/fuse.c).
 *
 * The naive path (-O0, scalar targets) is the formula. The fast path streams
 * W once: kb rows at a time, each with two vector accumulators of the
 * target's width (two, so consecutive multiply-adds do not wait on each
 * other), x loaded once per step for all kb rows; the accumulators are summed
 * at the end and the last n % (2v) products added one by one. */
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

/* Row blocks [blk_lo, blk_hi) of kb rows from k_lo. */
static void fast_rows(CgCtx *c, int v, int kb, int64_t k_lo, LLVMValueRef blk_lo, LLVMValueRef blk_hi,
                      LLVMValueRef x, LLVMValueRef y, LLVMValueRef w, LLVMValueRef bias, int64_t inputs, bool relu)
{
    enum { U = 2 };
    LLVMValueRef acc[8 * U], tail[8];
    for (int q = 0; q < kb * U; q++)
        acc[q] = cg_vvar(c, v, "acc");
    for (int kk = 0; kk < kb; kk++)
        tail[kk] = cg_var(c, "tail");
    LLVMTypeRef vt = cg_vec_t(c, v);
    unsigned rid = LLVMLookupIntrinsicID("llvm.vector.reduce.fadd", 23);
    LLVMValueRef reduce = LLVMGetIntrinsicDeclaration(c->mod, rid, &vt, 1);
    LLVMTypeRef reduce_t = LLVMIntrinsicGetType(c->ctx, rid, &vt, 1);
    int64_t steps = inputs / (v * U);

    CgLoop lk, ln, lt;
    LLVMValueRef kblk = cg_loop_begin(c, &lk, blk_lo, blk_hi, "kblock");
    LLVMValueRef k0 = cg_add(c, cg_i64(c, k_lo), cg_mul(c, kblk, cg_i64(c, kb)));
    LLVMValueRef row0 = cg_mul(c, k0, cg_i64(c, inputs));
    for (int q = 0; q < kb * U; q++)
        LLVMBuildStore(c->b, LLVMConstNull(vt), acc[q]);
    LLVMValueRef s = cg_loop_begin(c, &ln, cg_i64(c, 0), cg_i64(c, steps), "step");
    LLVMValueRef n0 = cg_mul(c, s, cg_i64(c, v * U));
    LLVMValueRef xv[U];
    for (int u = 0; u < U; u++)
        xv[u] = cg_vload(c, v, x, cg_add(c, n0, cg_i64(c, u * v)));
    for (int kk = 0; kk < kb; kk++) {
        LLVMValueRef at = cg_add(c, cg_add(c, row0, cg_i64(c, kk * inputs)), n0);
        for (int u = 0; u < U; u++) {
            LLVMValueRef wv = cg_vload(c, v, w, cg_add(c, at, cg_i64(c, u * v)));
            LLVMValueRef cur = LLVMBuildLoad2(c->b, vt, acc[kk * U + u], "");
            LLVMBuildStore(c->b, cg_fma(c, wv, xv[u], cur), acc[kk * U + u]);
        }
    }
    cg_loop_end(c, &ln);
    /* The products past the last full step, one by one. */
    for (int kk = 0; kk < kb; kk++)
        LLVMBuildStore(c->b, cg_f32(c, 0), tail[kk]);
    LLVMValueRef n = cg_loop_begin(c, &lt, cg_i64(c, steps * v * U), cg_i64(c, inputs), "n");
    LLVMValueRef xn = cg_load(c, x, n);
    for (int kk = 0; kk < kb; kk++) {
        LLVMValueRef wn = cg_load(c, w, cg_add(c, cg_add(c, row0, cg_i64(c, kk * inputs)), n));
        LLVMValueRef cur = LLVMBuildLoad2(c->b, c->f32, tail[kk], "");
        LLVMBuildStore(c->b, cg_fma(c, wn, xn, cur), tail[kk]);
    }
    cg_loop_end(c, &lt);
    for (int kk = 0; kk < kb; kk++) {
        LLVMValueRef k = cg_add(c, k0, cg_i64(c, kk));
        LLVMValueRef sum = LLVMBuildLoad2(c->b, vt, acc[kk * U], "");
        for (int u = 1; u < U; u++)
            sum = LLVMBuildFAdd(c->b, sum, LLVMBuildLoad2(c->b, vt, acc[kk * U + u], ""), "");
        LLVMValueRef start = bias ? cg_load(c, bias, k) : cg_f32(c, 0);
        LLVMValueRef args[2] = {start, sum};
        LLVMValueRef r = LLVMBuildCall2(c->b, reduce_t, reduce, args, 2, "");
        r = LLVMBuildFAdd(c->b, r, LLVMBuildLoad2(c->b, c->f32, tail[kk], ""), "");
        cg_store(c, relu ? cg_relu(c, r) : r, y, k);
    }
    cg_loop_end(c, &lk);
}

typedef struct FcTask {
    int v, kb;
    int64_t inputs;
    bool relu;
} FcTask;

/* ptrs: input, output, weights, bias. */
static void fc_task(CgCtx *c, void *user, LLVMValueRef *ptrs, LLVMValueRef begin, LLVMValueRef end)
{
    const FcTask *t = user;
    fast_rows(c, t->v, t->kb, 0, begin, end, ptrs[0], ptrs[1], ptrs[2], ptrs[3], t->inputs, t->relu);
}

void cg_lower_fc(CgCtx *c, size_t node, LLVMValueRef x, LLVMValueRef y, LLVMValueRef table)
{
    const IrNode *n = &c->g->nodes[node];
    const IrFcAttr *a = &n->attr.fc;
    int64_t inputs = ir_shape_elems(c->g->nodes[n->inputs[0]].out);
    LLVMValueRef w = cg_param(c, table, cg_param_index(c, node, false));
    LLVMValueRef bias = a->bias ? cg_param(c, table, cg_param_index(c, node, true)) : NULL;
    bool relu = ir_group_tail(c->g, node) != node;
    int v = c->vec_width;
    while (v >= 4 && v * 2 > inputs)
        v /= 2;
    if (c->opt_level < 1 || v < 4) {
        lower_naive(c, node, x, y, w, bias, inputs, a->outputs, relu);
        return;
    }
    int kb = a->outputs < 4 ? (int)a->outputs : 4;
    int64_t blocks = a->outputs / kb, main_k = blocks * kb;
    if (c->executable && blocks >= 2 && n->macs >= CG_PARALLEL_MIN_MACS) {
        /* Memory-bound: more threads, more of the machine's bandwidth. */
        char name[64];
        snprintf(name, sizeof name, "layer%zu.fc.task", node);
        FcTask t = {v, kb, inputs, relu};
        LLVMValueRef ptrs[4] = {x, y, w, bias};
        cg_parallel_for(c, name, ptrs, 4, blocks, fc_task, &t);
    } else {
        fast_rows(c, v, kb, 0, cg_i64(c, 0), cg_i64(c, blocks), x, y, w, bias, inputs, relu);
    }
    if (a->outputs > main_k)
        fast_rows(c, v, 1, main_k, cg_i64(c, 0), cg_i64(c, a->outputs - main_k), x, y, w, bias, inputs, relu);
}
