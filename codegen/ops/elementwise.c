/* Lowerings of the shape-keeping ops and flatten. relu, dropout and flatten are
 * the identity or nearly so and run in place when the buffers allow; softmax
 * normalises over D at every (x, y), subtracting the maximum first so exp never
 * overflows. */
#include "../ctx.h"

void cg_lower_input(CgCtx *c, size_t node, const LLVMValueRef *xs, LLVMValueRef y, LLVMValueRef table)
{
    (void)c, (void)node, (void)xs, (void)y, (void)table;
    IR_DIE("the input layer is the network's argument, not code");
}

/* y = x, when they are different buffers. */
static void copy(CgCtx *c, size_t node, LLVMValueRef x, LLVMValueRef y)
{
    if (x == y)
        return;
    int64_t bytes = ir_shape_elems(c->g->nodes[node].out) * 4;
    LLVMBuildMemMove(c->b, y, 4, x, 4, cg_i64(c, bytes));
}

void cg_lower_relu(CgCtx *c, size_t node, const LLVMValueRef *xs, LLVMValueRef y, LLVMValueRef table)
{
    LLVMValueRef x = xs[0];
    (void)table;
    CgLoop l;
    LLVMValueRef i = cg_loop_begin(c, &l, cg_i64(c, 0), cg_i64(c, ir_shape_elems(c->g->nodes[node].out)), "i");
    cg_store(c, cg_relu(c, cg_load(c, x, i)), y, i);
    cg_loop_end(c, &l);
}

void cg_lower_dropout(CgCtx *c, size_t node, const LLVMValueRef *xs, LLVMValueRef y, LLVMValueRef table)
{
    LLVMValueRef x = xs[0];
    (void)table;
    copy(c, node, x, y);
}

void cg_lower_flatten(CgCtx *c, size_t node, const LLVMValueRef *xs, LLVMValueRef y, LLVMValueRef table)
{
    LLVMValueRef x = xs[0];
    (void)table;
    copy(c, node, x, y); /* D x H x W in C order is already the flatten order */
}

void cg_lower_softmax(CgCtx *c, size_t node, const LLVMValueRef *xs, LLVMValueRef y, LLVMValueRef table)
{
    LLVMValueRef x = xs[0];
    (void)table;
    IrShape s = c->g->nodes[node].out;
    int64_t plane = s.w * s.h;
    LLVMValueRef maxv = cg_var(c, "max"), sum = cg_var(c, "sum");

    CgLoop lp, l1, l2, l3;
    LLVMValueRef p = cg_loop_begin(c, &lp, cg_i64(c, 0), cg_i64(c, plane), "p");
    LLVMBuildStore(c->b, cg_load(c, x, p), maxv);
    LLVMValueRef ch = cg_loop_begin(c, &l1, cg_i64(c, 1), cg_i64(c, s.d), "c");
    LLVMValueRef v = cg_load(c, x, cg_add(c, cg_mul(c, ch, cg_i64(c, plane)), p));
    LLVMValueRef m = LLVMBuildLoad2(c->b, c->f32, maxv, "");
    LLVMBuildStore(c->b, LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOGT, v, m, ""), v, m, ""), maxv);
    cg_loop_end(c, &l1);

    LLVMBuildStore(c->b, cg_f32(c, 0), sum);
    ch = cg_loop_begin(c, &l2, cg_i64(c, 0), cg_i64(c, s.d), "c");
    LLVMValueRef at = cg_add(c, cg_mul(c, ch, cg_i64(c, plane)), p);
    LLVMValueRef xv = cg_load(c, x, at);
    LLVMValueRef d = LLVMBuildFSub(c->b, xv, LLVMBuildLoad2(c->b, c->f32, maxv, ""), "");
    LLVMValueRef e = cg_exp(c, d);
    cg_store(c, e, y, at);
    LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->f32, sum, ""), e, ""), sum);
    cg_loop_end(c, &l2);

    LLVMValueRef inv = LLVMBuildFDiv(c->b, cg_f32(c, 1), LLVMBuildLoad2(c->b, c->f32, sum, ""), "");
    ch = cg_loop_begin(c, &l3, cg_i64(c, 0), cg_i64(c, s.d), "c");
    at = cg_add(c, cg_mul(c, ch, cg_i64(c, plane)), p);
    cg_store(c, LLVMBuildFMul(c->b, cg_load(c, y, at), inv, ""), y, at);
    cg_loop_end(c, &l3);
    cg_loop_end(c, &lp);
}
