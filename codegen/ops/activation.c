/* Lowerings of relu6, leakyrelu, sigmoid and tanh (SPEC section 9), and
 * cg_activation, the one place that says what each activation (relu too)
 * computes, for their own loops and for the fused epilogues of conv and fc.
 * The loops take explicit vectors of the target's width and a scalar tail.
 * Everything is inline arithmetic: an AOT object calls no libm, since a
 * bare-metal target has none. NaN goes through every activation, as in
 * PyTorch: each select below keeps x when its comparison is false. */
#include <string.h>

#include "../ctx.h"

/* A one-type intrinsic (llvm.fabs, llvm.copysign) called on args. */
static LLVMValueRef intrinsic(CgCtx *c, const char *name, LLVMValueRef *args, unsigned nargs)
{
    LLVMTypeRef t = LLVMTypeOf(args[0]);
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(c->mod, id, &t, 1);
    return LLVMBuildCall2(c->b, LLVMIntrinsicGetType(c->ctx, id, &t, 1), fn, args, nargs, "");
}

static LLVMValueRef relu6(CgCtx *c, LLVMValueRef v)
{
    LLVMTypeRef t = LLVMTypeOf(v);
    LLVMValueRef zero = cg_fconst(c, t, 0), six = cg_fconst(c, t, 6);
    v = LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOLT, v, zero, ""), zero, v, "");
    return LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOGT, v, six, ""), six, v, "");
}

/* x * slope with the slope as a float, as PyTorch's kernel has it; for x <=
 * 0 only, so -0 stays -0 and -inf times a slope of 0 is NaN there too. */
static LLVMValueRef leakyrelu(CgCtx *c, const IrNode *n, LLVMValueRef v)
{
    LLVMTypeRef t = LLVMTypeOf(v);
    LLVMValueRef scaled = LLVMBuildFMul(c->b, v, cg_fconst(c, t, (float)n->attr.leakyrelu.slope), "");
    LLVMValueRef pos = LLVMBuildFCmp(c->b, LLVMRealOGT, v, cg_fconst(c, t, 0), "");
    return LLVMBuildSelect(c->b, pos, v, scaled, "");
}

/* With e = exp(-|x|) in (0, 1], never overflowing: 1 / (1 + e) for x >= 0
 * and e / (1 + e) below, which keeps its relative accuracy as sigmoid
 * falls towards 0 (1 - 1/(1 + e^x) would cancel). Below x = -87.34, where
 * sigmoid is under FLT_MIN, cg_exp gives 0 rather than a subnormal. */
static LLVMValueRef sigmoid(CgCtx *c, LLVMValueRef v)
{
    LLVMTypeRef t = LLVMTypeOf(v);
    LLVMValueRef a = intrinsic(c, "llvm.fabs", &v, 1);
    LLVMValueRef e = cg_exp(c, LLVMBuildFNeg(c->b, a, ""));
    LLVMValueRef s = LLVMBuildFDiv(c->b, cg_fconst(c, t, 1), LLVMBuildFAdd(c->b, cg_fconst(c, t, 1), e, ""), "");
    LLVMValueRef neg = LLVMBuildFCmp(c->b, LLVMRealOLT, v, cg_fconst(c, t, 0), "");
    return LLVMBuildSelect(c->b, neg, LLVMBuildFMul(c->b, e, s, ""), s, "");
}

/* tanh|x| = (1 - e) / (1 + e) with e = exp(-2|x|) from |x| = 0.5, where
 * 1 - e keeps its relative error within 1e-7 and e goes to 0 without
 * overflow as |x| grows. Below, 1 - e would cancel (tanh x ~ x for tiny
 * x), so |x| + |x|^3 p(x^2), p fitted to (tanh(x)/x - 1)/x^2 on [0, 0.25]
 * in x^2 (Chebyshev, mpmath's chebyfit: 1.3e-9 relative to tanh). The sign
 * is x's, so tanh(-0) is -0. */
static LLVMValueRef tanh_(CgCtx *c, LLVMValueRef v)
{
    static const double p[] = {-0.00694294175042, 0.0214706830253, -0.053933469146, 0.133332257755,
                               -0.333333327966};
    LLVMTypeRef t = LLVMTypeOf(v);
    LLVMValueRef a = intrinsic(c, "llvm.fabs", &v, 1);
    LLVMValueRef u = LLVMBuildFMul(c->b, a, a, "");
    LLVMValueRef poly = cg_fconst(c, t, p[0]);
    for (size_t i = 1; i < sizeof p / sizeof *p; i++)
        poly = cg_fma(c, poly, u, cg_fconst(c, t, p[i]));
    LLVMValueRef small = cg_fma(c, LLVMBuildFMul(c->b, a, u, ""), poly, a);
    LLVMValueRef e = cg_exp(c, LLVMBuildFMul(c->b, a, cg_fconst(c, t, -2), ""));
    LLVMValueRef one = cg_fconst(c, t, 1);
    LLVMValueRef num = LLVMBuildFSub(c->b, one, e, "");
    LLVMValueRef den = LLVMBuildFAdd(c->b, one, e, "");
    LLVMValueRef large = LLVMBuildFDiv(c->b, num, den, "");
    LLVMValueRef near0 = LLVMBuildFCmp(c->b, LLVMRealOLT, a, cg_fconst(c, t, 0.5), "");
    LLVMValueRef args[2] = {LLVMBuildSelect(c->b, near0, small, large, ""), v};
    return intrinsic(c, "llvm.copysign", args, 2);
}

LLVMValueRef cg_activation(CgCtx *c, const IrNode *act, LLVMValueRef v)
{
    if (!act)
        return v;
    switch (act->op) {
    case IR_OP_RELU:
        return cg_relu(c, v);
    case IR_OP_RELU6:
        return relu6(c, v);
    case IR_OP_LEAKYRELU:
        return leakyrelu(c, act, v);
    case IR_OP_SIGMOID:
        return sigmoid(c, v);
    case IR_OP_TANH:
        return tanh_(c, v);
    default:
        IR_DIE("%s is not an activation", ir_op_word(act->op));
    }
}

const IrNode *cg_fused_act(const CgCtx *c, size_t node)
{
    const IrGraph *g = c->g;
    /* After the kernel's op, and a batchnorm folded into it, if any; one
     * after a residual add is the add's, applied with it (ops/conv.c). */
    for (size_t k = node + 1; k <= ir_group_tail(g, node) && g->nodes[k].op != IR_OP_ADD; k++)
        if (ir_fusable_act(&g->nodes[k]))
            return &g->nodes[k];
    return NULL;
}

/* y[i] = act(x[i]) over the node's elements: vectors of the target's width,
 * then the tail one float at a time. x and y may be the same buffer. */
static void lower_map(CgCtx *c, size_t node, LLVMValueRef x, LLVMValueRef y)
{
    const IrNode *n = &c->g->nodes[node];
    const int64_t elems = ir_shape_elems(n->out), v = c->vec_width;
    const int64_t body = v > 1 ? elems / v * v : 0;
    CgLoop l;
    if (body > 0) {
        LLVMValueRef b = cg_loop_begin(c, &l, cg_i64(c, 0), cg_i64(c, body / v), "v");
        LLVMValueRef at = cg_mul(c, b, cg_i64(c, v));
        cg_vstore(c, cg_activation(c, n, cg_vload(c, (int)v, x, at)), y, at);
        cg_loop_end(c, &l);
    }
    if (body < elems) {
        LLVMValueRef i = cg_loop_begin(c, &l, cg_i64(c, body), cg_i64(c, elems), "i");
        cg_store(c, cg_activation(c, n, cg_load(c, x, i)), y, i);
        cg_loop_end(c, &l);
    }
}

void cg_lower_relu6(CgCtx *c, size_t node, const LLVMValueRef *xs, LLVMValueRef y, LLVMValueRef table)
{
    (void)table;
    lower_map(c, node, xs[0], y);
}

void cg_lower_leakyrelu(CgCtx *c, size_t node, const LLVMValueRef *xs, LLVMValueRef y, LLVMValueRef table)
{
    (void)table;
    lower_map(c, node, xs[0], y);
}

void cg_lower_sigmoid(CgCtx *c, size_t node, const LLVMValueRef *xs, LLVMValueRef y, LLVMValueRef table)
{
    (void)table;
    lower_map(c, node, xs[0], y);
}

void cg_lower_tanh(CgCtx *c, size_t node, const LLVMValueRef *xs, LLVMValueRef y, LLVMValueRef table)
{
    (void)table;
    lower_map(c, node, xs[0], y);
}
