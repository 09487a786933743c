/* Builder helpers: loops, index arithmetic, loads and stores of floats. */
#include "ctx.h"

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

LLVMValueRef cg_var(CgCtx *c, const char *name)
{
    /* Allocas belong at the top of the entry block, where mem2reg finds them. */
    LLVMBuilderRef eb = LLVMCreateBuilderInContext(c->ctx);
    LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(c->fn);
    LLVMValueRef first = LLVMGetFirstInstruction(entry);
    if (first)
        LLVMPositionBuilderBefore(eb, first);
    else
        LLVMPositionBuilderAtEnd(eb, entry);
    LLVMValueRef v = LLVMBuildAlloca(eb, c->f32, name);
    LLVMDisposeBuilder(eb);
    return v;
}

LLVMValueRef cg_param(CgCtx *c, LLVMValueRef table, size_t index)
{
    LLVMValueRef i = cg_i64(c, (int64_t)index);
    LLVMValueRef slot = LLVMBuildInBoundsGEP2(c->b, c->ptr, table, &i, 1, "");
    return LLVMBuildLoad2(c->b, c->ptr, slot, "param");
}

size_t cg_param_index(const CgCtx *c, size_t node, bool bias)
{
    for (size_t i = 0; i < c->nparams; i++)
        if ((size_t)c->params[i].node == node && c->params[i].is_bias == bias)
            return i;
    IR_DIE("layer %zu has no %s parameter", node, bias ? "bias" : "weight");
}

LLVMValueRef cg_relu(CgCtx *c, LLVMValueRef v)
{
    LLVMValueRef neg = LLVMBuildFCmp(c->b, LLVMRealOLT, v, cg_f32(c, 0), "");
    return LLVMBuildSelect(c->b, neg, cg_f32(c, 0), v, "");
}

LLVMValueRef cg_max_nan(CgCtx *c, LLVMValueRef cur, LLVMValueRef v)
{
    LLVMValueRef keep = LLVMBuildFCmp(c->b, LLVMRealOGE, cur, v, "");
    return LLVMBuildSelect(c->b, keep, cur, v, "");
}
