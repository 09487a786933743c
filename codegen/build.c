/* Builder helpers: loops, index arithmetic, loads and stores of floats. */
#include "ctx.h"

#include <math.h>
#include <string.h>

LLVMValueRef cg_loop_begin(CgCtx *c, CgLoop *l, LLVMValueRef lo, LLVMValueRef hi, const char *name)
{
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(c->b);
    l->head = LLVMAppendBasicBlockInContext(c->ctx, c->fn, name);
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "body");
    l->exit = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "done");
    LLVMBuildBr(c->b, l->head);
    LLVMPositionBuilderAtEnd(c->b, l->head);
    l->i = LLVMBuildPhi(c->b, c->i64, name);
    LLVMAddIncoming(l->i, &lo, &pre, 1);
    LLVMValueRef more = LLVMBuildICmp(c->b, LLVMIntSLT, l->i, hi, "more");
    LLVMBuildCondBr(c->b, more, body, l->exit);
    LLVMPositionBuilderAtEnd(c->b, body);
    return l->i;
}

void cg_loop_end(CgCtx *c, CgLoop *l)
{
    LLVMValueRef next = LLVMBuildNSWAdd(c->b, l->i, cg_i64(c, 1), "next");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(c->b);
    LLVMAddIncoming(l->i, &next, &latch, 1);
    LLVMBuildBr(c->b, l->head);
    LLVMPositionBuilderAtEnd(c->b, l->exit);
}

void cg_if_begin(CgCtx *c, CgIf *s, LLVMValueRef cond)
{
    *s = (CgIf){0};
    if (!cond)
        return;
    LLVMBasicBlockRef then = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "then");
    s->other = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "else");
    s->done = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "endif");
    LLVMBuildCondBr(c->b, cond, then, s->other);
    LLVMPositionBuilderAtEnd(c->b, then);
}

void cg_if_else(CgCtx *c, CgIf *s)
{
    IR_ASSERT(s->other);
    LLVMBuildBr(c->b, s->done);
    LLVMPositionBuilderAtEnd(c->b, s->other);
    s->other = NULL;
}

void cg_if_end(CgCtx *c, CgIf *s)
{
    if (!s->done)
        return;
    LLVMBuildBr(c->b, s->done);
    if (s->other) { /* no else-part: the false edge goes straight on */
        LLVMPositionBuilderAtEnd(c->b, s->other);
        LLVMBuildBr(c->b, s->done);
    }
    LLVMPositionBuilderAtEnd(c->b, s->done);
}

LLVMValueRef cg_i64(CgCtx *c, int64_t v)
{
    return LLVMConstInt(c->i64, (unsigned long long)v, 1);
}

LLVMValueRef cg_f32(CgCtx *c, double v)
{
    return LLVMConstReal(c->f32, v);
}

LLVMValueRef cg_add(CgCtx *c, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildNSWAdd(c->b, a, b, "");
}

LLVMValueRef cg_sub(CgCtx *c, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildNSWSub(c->b, a, b, "");
}

LLVMValueRef cg_mul(CgCtx *c, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildNSWMul(c->b, a, b, "");
}

LLVMValueRef cg_smax(CgCtx *c, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSGT, a, b, ""), a, b, "");
}

LLVMValueRef cg_smin(CgCtx *c, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, a, b, ""), a, b, "");
}

LLVMValueRef cg_at(CgCtx *c, LLVMValueRef base, LLVMValueRef index)
{
    return LLVMBuildInBoundsGEP2(c->b, c->f32, base, &index, 1, "");
}

LLVMValueRef cg_load(CgCtx *c, LLVMValueRef base, LLVMValueRef index)
{
    return LLVMBuildLoad2(c->b, c->f32, cg_at(c, base, index), "");
}

void cg_store(CgCtx *c, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index)
{
    LLVMBuildStore(c->b, v, cg_at(c, base, index));
}

LLVMValueRef cg_entry_alloca(CgCtx *c, LLVMTypeRef t, const char *name)
{
    /* Allocas belong at the top of the entry block, where mem2reg finds them. */
    LLVMBuilderRef eb = LLVMCreateBuilderInContext(c->ctx);
    LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(c->fn);
    LLVMValueRef first = LLVMGetFirstInstruction(entry);
    if (first)
        LLVMPositionBuilderBefore(eb, first);
    else
        LLVMPositionBuilderAtEnd(eb, entry);
    LLVMValueRef v = LLVMBuildAlloca(eb, t, name);
    LLVMDisposeBuilder(eb);
    return v;
}

LLVMValueRef cg_var(CgCtx *c, const char *name)
{
    return cg_entry_alloca(c, c->f32, name);
}

LLVMValueRef cg_vvar(CgCtx *c, int width, const char *name)
{
    return cg_entry_alloca(c, cg_vec_t(c, width), name);
}

LLVMTypeRef cg_vec_t(CgCtx *c, int width)
{
    return LLVMVectorType(c->f32, (unsigned)width);
}

LLVMValueRef cg_vload(CgCtx *c, int width, LLVMValueRef base, LLVMValueRef index)
{
    LLVMValueRef v = LLVMBuildLoad2(c->b, cg_vec_t(c, width), cg_at(c, base, index), "");
    LLVMSetAlignment(v, 4);
    return v;
}

void cg_vstore(CgCtx *c, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index)
{
    LLVMValueRef st = LLVMBuildStore(c->b, v, cg_at(c, base, index));
    LLVMSetAlignment(st, 4);
}

void cg_vstore_masked(CgCtx *c, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index, LLVMValueRef mask)
{
    /* llvm.masked.store(value, ptr, alignment, mask): lanes off in mask are
     * not written, so the store may end a buffer mid-vector. */
    LLVMTypeRef types[2] = {LLVMTypeOf(v), c->ptr};
    unsigned id = LLVMLookupIntrinsicID("llvm.masked.store", 17);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(c->mod, id, types, 2);
    LLVMTypeRef ft = LLVMIntrinsicGetType(c->ctx, id, types, 2);
    LLVMValueRef args[4] = {v, cg_at(c, base, index), LLVMConstInt(c->i32, 4, 0), mask};
    LLVMBuildCall2(c->b, ft, fn, args, 4, "");
}

LLVMValueRef cg_prefix(CgCtx *c, LLVMValueRef v, int lanes)
{
    unsigned width = LLVMGetVectorSize(LLVMTypeOf(v));
    if ((unsigned)lanes == width)
        return v;
    LLVMValueRef mask[16];
    for (int i = 0; i < lanes; i++)
        mask[i] = LLVMConstInt(c->i32, (unsigned long long)i, 0);
    return LLVMBuildShuffleVector(c->b, v, LLVMGetPoison(LLVMTypeOf(v)), LLVMConstVector(mask, (unsigned)lanes), "");
}

LLVMValueRef cg_hsum(CgCtx *c, LLVMValueRef v)
{
    /* Halving adds: log2(width) steps, not the width - 1 dependent adds of
     * an ordered llvm.vector.reduce.fadd (no fast-math flags before LLVM 18). */
    for (unsigned width = LLVMGetVectorSize(LLVMTypeOf(v)); width > 1; width /= 2) {
        LLVMValueRef hi[16];
        for (unsigned i = 0; i < width / 2; i++)
            hi[i] = LLVMConstInt(c->i32, width / 2 + i, 0);
        LLVMValueRef upper = LLVMBuildShuffleVector(c->b, v, LLVMGetPoison(LLVMTypeOf(v)), LLVMConstVector(hi, width / 2), "");
        v = LLVMBuildFAdd(c->b, cg_prefix(c, v, (int)(width / 2)), upper, "");
    }
    return LLVMBuildExtractElement(c->b, v, LLVMConstInt(c->i32, 0, 0), "");
}

LLVMValueRef cg_splat(CgCtx *c, int width, LLVMValueRef scalar)
{
    LLVMTypeRef vt = cg_vec_t(c, width);
    LLVMValueRef one = LLVMBuildInsertElement(c->b, LLVMGetPoison(vt), scalar, LLVMConstInt(c->i32, 0, 0), "");
    LLVMValueRef zeros = LLVMConstNull(LLVMVectorType(c->i32, (unsigned)width));
    return LLVMBuildShuffleVector(c->b, one, LLVMGetPoison(vt), zeros, "");
}

LLVMValueRef cg_fma(CgCtx *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef acc)
{
    /* llvm.fmuladd: one fused instruction where the target has one. */
    LLVMTypeRef t = LLVMTypeOf(a);
    unsigned id = LLVMLookupIntrinsicID("llvm.fmuladd", 12);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(c->mod, id, &t, 1);
    LLVMTypeRef ft = LLVMIntrinsicGetType(c->ctx, id, &t, 1);
    LLVMValueRef args[3] = {a, b, acc};
    return LLVMBuildCall2(c->b, ft, fn, args, 3, "");
}

void cg_prefetch(CgCtx *c, LLVMValueRef base, LLVMValueRef index)
{
    /* llvm.prefetch(address, read, keep in all levels, data). The address
     * may be past the end of base's array (a prefetch does not fault), so
     * its GEP is not inbounds, which would make it poison there. */
    LLVMTypeRef t = c->ptr;
    unsigned id = LLVMLookupIntrinsicID("llvm.prefetch", 13);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(c->mod, id, &t, 1);
    LLVMTypeRef ft = LLVMIntrinsicGetType(c->ctx, id, &t, 1);
    LLVMValueRef at = LLVMBuildGEP2(c->b, c->f32, base, &index, 1, "");
    LLVMValueRef args[4] = {at, LLVMConstInt(c->i32, 0, 0), LLVMConstInt(c->i32, 3, 0),
                            LLVMConstInt(c->i32, 1, 0)};
    LLVMBuildCall2(c->b, ft, fn, args, 4, "");
}

LLVMValueRef cg_param(CgCtx *c, LLVMValueRef table, size_t index)
{
    LLVMValueRef i = cg_i64(c, (int64_t)index);
    LLVMValueRef slot = LLVMBuildInBoundsGEP2(c->b, c->ptr, table, &i, 1, "");
    return LLVMBuildLoad2(c->b, c->ptr, slot, "param");
}

size_t cg_param_index(const CgCtx *c, size_t node, IrParamRole role)
{
    int64_t i = ir_param_find(c->params, c->nparams, node, role);
    if (i < 0)
        IR_DIE("layer %zu has no %s parameter", node, ir_role_words[role]);
    return (size_t)i;
}

LLVMValueRef cg_lane_mask(CgCtx *c, int v, int64_t lo, int64_t hi)
{
    LLVMValueRef bits[16];
    for (int j = 0; j < v; j++)
        bits[j] = LLVMConstInt(LLVMInt1TypeInContext(c->ctx), j >= lo && j < hi, 0);
    return LLVMConstVector(bits, (unsigned)v);
}

/* v floats from base[index], those at offsets outside [lo, hi) not read but
 * fill (a masked load; the address itself may lie outside base's array, so
 * its GEP is not inbounds). */
static LLVMValueRef load_within(CgCtx *c, int v, LLVMValueRef base, LLVMValueRef index, int64_t lo, int64_t hi,
                                double fill)
{
    if (lo <= 0 && hi >= v)
        return cg_vload(c, v, base, index);
    LLVMTypeRef vt = cg_vec_t(c, v);
    if (hi <= 0 || lo >= v)
        return cg_fconst(c, vt, fill);
    LLVMTypeRef types[2] = {vt, c->ptr};
    unsigned id = LLVMLookupIntrinsicID("llvm.masked.load", 16);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(c->mod, id, types, 2);
    LLVMTypeRef ft = LLVMIntrinsicGetType(c->ctx, id, types, 2);
    LLVMValueRef at = LLVMBuildGEP2(c->b, c->f32, base, &index, 1, "");
    LLVMValueRef args[4] = {at, LLVMConstInt(c->i32, 4, 0), cg_lane_mask(c, v, lo, hi), cg_fconst(c, vt, fill)};
    return LLVMBuildCall2(c->b, ft, fn, args, 4, "");
}

LLVMValueRef cg_strided_load(CgCtx *c, int v, int64_t S, LLVMValueRef base, LLVMValueRef index)
{
    return cg_strided_load_within(c, v, S, base, index, INT64_MIN / 2, INT64_MAX / 2, 0.0);
}

LLVMValueRef cg_strided_load_within(CgCtx *c, int v, int64_t S, LLVMValueRef base, LLVMValueRef index, int64_t lo,
                                    int64_t hi, double fill)
{
    if (S == 1)
        return load_within(c, v, base, index, lo, hi, fill);
    const int64_t span = (v - 1) * S + 1, parts = (span + v - 1) / v;
    LLVMValueRef out = LLVMGetPoison(cg_vec_t(c, v)), mask[16];
    int64_t found = 0; /* lanes [0, found) taken */
    for (int64_t i = 0; i < parts; i++) {
        int64_t at = i * v < span - v ? i * v : span - v;
        LLVMValueRef part = load_within(c, v, base, cg_add(c, index, cg_i64(c, at)), lo - at, hi - at, fill);
        /* Lanes from found on whose float lies in this part come from it
         * (the second operand, lanes v and up); the rest stay. */
        int64_t next = found;
        for (int j = 0; j < v; j++) {
            int64_t pos = (int64_t)j * S - at;
            bool here = j >= found && pos >= 0 && pos < v;
            mask[j] = LLVMConstInt(c->i32, (unsigned long long)(here ? v + pos : j), 0);
            if (here)
                next = j + 1;
        }
        found = next;
        out = LLVMBuildShuffleVector(c->b, out, part, LLVMConstVector(mask, (unsigned)v), "");
    }
    IR_ASSERT(found == v);
    return out;
}

LLVMValueRef cg_relu(CgCtx *c, LLVMValueRef v)
{
    LLVMValueRef zero = LLVMConstNull(LLVMTypeOf(v));
    LLVMValueRef neg = LLVMBuildFCmp(c->b, LLVMRealOLT, v, zero, "");
    return LLVMBuildSelect(c->b, neg, zero, v, "");
}

LLVMValueRef cg_max_nan(CgCtx *c, LLVMValueRef cur, LLVMValueRef v)
{
    /* v when it is NaN or the larger; else cur, NaN or not (the first of
     * equals, as PyTorch keeps). The first select is x86's max instruction
     * as it stands (the second operand when either is NaN), so this is three
     * instructions with AVX-512 where "cur >= v or cur is NaN" was four. */
    LLVMValueRef larger = LLVMBuildFCmp(c->b, LLVMRealOGT, v, cur, "");
    LLVMValueRef max = LLVMBuildSelect(c->b, larger, v, cur, "");
    LLVMValueRef nan = LLVMBuildFCmp(c->b, LLVMRealUNO, v, v, "");
    return LLVMBuildSelect(c->b, nan, v, max, "");
}

LLVMValueRef cg_window_max(CgCtx *c, int v, int64_t S, int64_t F, LLVMValueRef base, LLVMValueRef index, int64_t lo,
                           int64_t hi)
{
    LLVMValueRef m = NULL;
    for (int64_t t = 0; t < F; t++) {
        LLVMValueRef at = cg_add(c, index, cg_i64(c, t));
        LLVMValueRef col = cg_strided_load_within(c, v, S, base, at, lo - t, hi - t, -INFINITY);
        m = m ? cg_max_nan(c, m, col) : col;
    }
    return m;
}

LLVMValueRef cg_fconst(CgCtx *c, LLVMTypeRef t, double v)
{
    if (LLVMGetTypeKind(t) != LLVMVectorTypeKind)
        return cg_f32(c, v);
    LLVMValueRef lanes[16];
    unsigned n = LLVMGetVectorSize(t);
    IR_ASSERT(n <= 16);
    for (unsigned i = 0; i < n; i++)
        lanes[i] = cg_f32(c, v);
    return LLVMConstVector(lanes, n);
}

/* The i32 constant v in the shape of float type t (scalar or vector). */
static LLVMValueRef int_const(CgCtx *c, LLVMTypeRef t, int32_t v)
{
    LLVMValueRef one = LLVMConstInt(c->i32, (unsigned long long)(int64_t)v, 1);
    if (LLVMGetTypeKind(t) != LLVMVectorTypeKind)
        return one;
    LLVMValueRef lanes[16];
    unsigned n = LLVMGetVectorSize(t);
    IR_ASSERT(n <= 16);
    for (unsigned i = 0; i < n; i++)
        lanes[i] = one;
    return LLVMConstVector(lanes, n);
}

LLVMValueRef cg_exp(CgCtx *c, LLVMValueRef x)
{
    /* e^x = 2^n e^r with n = round(x log2 e) and |r| <= ln2/2, where the
     * Taylor series to r^6 is within 1.2e-7 relative. Done in registers, not
     * by calling expf: a bare-metal object needs no libm, and an FPU without
     * a rounding instruction (Cortex-M4) no rintf. Below ln(FLT_MIN) the
     * result is 0; above 88 it is clamped (softmax only passes x <= 0,
     * sigmoid and tanh only x <= 0 too). A vector x works lane by lane. */
    LLVMTypeRef t = LLVMTypeOf(x);
    LLVMTypeRef it = LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMVectorType(c->i32, LLVMGetVectorSize(t)) : c->i32;
    LLVMValueRef lo = cg_fconst(c, t, -87.33654), hi = cg_fconst(c, t, 88.0);
    LLVMValueRef under = LLVMBuildFCmp(c->b, LLVMRealOLT, x, lo, "");
    LLVMValueRef xc = LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOGT, x, hi, ""), hi, x, "");
    xc = LLVMBuildSelect(c->b, under, lo, xc, "");
    /* floor(t + 0.5) by truncating a positive number: t + 127.5 >= 1.5. */
    LLVMValueRef tl = LLVMBuildFMul(c->b, xc, cg_fconst(c, t, 1.4426950408889634), "");
    LLVMValueRef k = LLVMBuildFPToSI(c->b, LLVMBuildFAdd(c->b, tl, cg_fconst(c, t, 127.5), ""), it, "");
    LLVMValueRef n = LLVMBuildSub(c->b, k, int_const(c, t, 127), "");
    LLVMValueRef nf = LLVMBuildSIToFP(c->b, n, t, "");
    /* ln 2 in two parts, so n ln2 loses nothing for |n| <= 127. */
    LLVMValueRef r = cg_fma(c, nf, cg_fconst(c, t, -0.693359375), xc);
    r = cg_fma(c, nf, cg_fconst(c, t, 2.12194440e-4), r);
    static const double coef[] = {1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1.0, 1.0};
    LLVMValueRef p = cg_fconst(c, t, coef[0]);
    for (size_t i = 1; i < sizeof coef / sizeof *coef; i++)
        p = cg_fma(c, p, r, cg_fconst(c, t, coef[i]));
    LLVMValueRef bits = LLVMBuildShl(c->b, k, int_const(c, t, 23), "");
    LLVMValueRef e = LLVMBuildFMul(c->b, p, LLVMBuildBitCast(c->b, bits, t, ""), "");
    e = LLVMBuildSelect(c->b, under, cg_fconst(c, t, 0), e, "");
    /* NaN in, NaN out; the poison fptosi made of it is not selected. */
    return LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealUNO, x, x, ""), x, e, "");
}

LLVMValueRef cg_call_runtime(CgCtx *c, const char *name, LLVMTypeRef type, LLVMValueRef *args)
{
    LLVMValueRef fn = LLVMGetNamedFunction(c->mod, name);
    if (!fn)
        fn = LLVMAddFunction(c->mod, name, type);
    return LLVMBuildCall2(c->b, type, fn, args, LLVMCountParamTypes(type), "");
}

void cg_parallel_for(CgCtx *c, const char *name, const LLVMValueRef *ptrs, int nptrs, LLVMValueRef n, CgTaskBody body,
                     void *user)
{
    IR_ASSERT(nptrs > 0 && nptrs <= 8);
    LLVMTypeRef targs[3] = {c->ptr, c->i64, c->i64};
    LLVMValueRef task = LLVMAddFunction(c->mod, name, LLVMFunctionType(c->void_t, targs, 3, 0));
    LLVMSetLinkage(task, LLVMInternalLinkage);

    /* The context: the pointers, in the caller's frame. */
    LLVMValueRef ctx = cg_entry_alloca(c, LLVMArrayType2(c->ptr, (uint64_t)nptrs), "task_ctx");
    for (int i = 0; i < nptrs; i++) {
        LLVMValueRef idx = cg_i64(c, i);
        LLVMBuildStore(c->b, ptrs[i] ? ptrs[i] : LLVMConstPointerNull(c->ptr),
                       LLVMBuildInBoundsGEP2(c->b, c->ptr, ctx, &idx, 1, ""));
    }
    LLVMTypeRef pargs[3] = {c->ptr, c->ptr, c->i64};
    LLVMValueRef call[3] = {task, ctx, n};
    cg_call_runtime(c, "cnnrt_parallel_for", LLVMFunctionType(c->void_t, pargs, 3, 0), call);

    /* The task's body, built aside; then the builder goes back. */
    LLVMBasicBlockRef resume = LLVMGetInsertBlock(c->b);
    LLVMValueRef outer = c->fn;
    c->fn = task;
    LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, task, "entry"));
    LLVMValueRef p[8];
    for (int i = 0; i < nptrs; i++) {
        LLVMValueRef idx = cg_i64(c, i);
        LLVMValueRef slot = LLVMBuildInBoundsGEP2(c->b, c->ptr, LLVMGetParam(task, 0), &idx, 1, "");
        p[i] = ptrs[i] ? LLVMBuildLoad2(c->b, c->ptr, slot, "") : NULL;
    }
    body(c, user, p, LLVMGetParam(task, 1), LLVMGetParam(task, 2));
    LLVMBuildRetVoid(c->b);
    c->fn = outer;
    LLVMPositionBuilderAtEnd(c->b, resume);
}
