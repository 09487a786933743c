/* The module of one network: a function per layer, NAME_run that calls them in
 * order for every image of the batch (fc layers once for a group of images;
 * in a small network's executable, images on threads of their own), the
 * weights as aligned constant blobs (batch norms folded into their convs,
 * conv and small fc weights packed for their kernels), and the entry points -- NAME_infer and NAME_workspace_size
 * for AOT users, and the cnnrt_model descriptor for an executable's runtime
 * (runtime/cnnrt.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "runtime/cnnrt.h"

typedef void (*LowerFn)(CgCtx *, size_t, const LLVMValueRef *, LLVMValueRef, LLVMValueRef);
static const LowerFn lowerings[IR_OP_COUNT] = {
#define IR_OP(id, word) [IR_OP_##id] = cg_lower_##word,
#include "ir/ops.def"
#undef IR_OP
};

/* One function per kernel: a node on its own, or a fused group, named after
 * its first node and lowered by that node's op. Its arguments: the first
 * input, the output, the parameter table, the scratch, then the kernel's
 * other inputs in order (ir_group_inputs: an add's or a concat's, or a
 * residual add's fused into a conv). */
static LLVMValueRef layer_function(CgCtx *c, size_t node, bool same)
{
    const IrNode *n = &c->g->nodes[node];
    size_t tail = ir_group_tail(c->g, node);
    const char *op = ir_op_word(n->op);
    const char *name = tail > node ? ir_arena_printf(c->g->arena, "layer%zu-%zu.%s.fused", node, tail, op)
                                   : ir_arena_printf(c->g->arena, "layer%zu.%s", node, op);
    uint32_t nin = ir_group_inputs(c->g, node, NULL, 0);
    unsigned nargs = 3 + (nin ? nin : 1);
    LLVMTypeRef *args = ir_arena_alloc(c->g->arena, nargs, sizeof *args);
    for (unsigned k = 0; k < nargs; k++)
        args[k] = c->ptr;
    LLVMValueRef fn = LLVMAddFunction(c->mod, name, LLVMFunctionType(c->void_t, args, nargs, 0));
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
    if (!same) {
        /* Distinct buffers: tell LLVM, so it may keep values in registers.
         * Inputs may share a buffer with each other (add x x), never with
         * the output of a kernel that does not run in place. */
        LLVMAddAttributeAtIndex(fn, 2, LLVMCreateEnumAttribute(c->ctx, noalias, 0));
        if (nin <= 1)
            LLVMAddAttributeAtIndex(fn, 1, LLVMCreateEnumAttribute(c->ctx, noalias, 0));
    }
    LLVMAddAttributeAtIndex(fn, 4, LLVMCreateEnumAttribute(c->ctx, noalias, 0)); /* scratch */
    c->fn = fn;
    LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, fn, "entry"));
    LLVMValueRef *xs = ir_arena_alloc(c->g->arena, nin ? nin : 1, sizeof *xs);
    xs[0] = LLVMGetParam(fn, 0);
    for (uint32_t k = 1; k < nin; k++)
        xs[k] = LLVMGetParam(fn, 3 + k);
    LLVMValueRef y = same ? xs[0] : LLVMGetParam(fn, 1);
    c->scratch = n->scratch >= 0 ? LLVMGetParam(fn, 3) : NULL;
    lowerings[n->op](c, node, xs, y, LLVMGetParam(fn, 2));
    c->scratch = NULL;
    LLVMBuildRetVoid(c->b);
    return fn;
}

/* Bytes from one image's arena to the next's when images run in groups. */
static int64_t arena_stride(const IrGraph *g)
{
    return (g->workspace_bytes + 63) / 64 * 64;
}

/* When an executable runs a batch's images on threads of their own. Never
 * for arenas too big to have one per thread, or an fc past 8 MiB, whose
 * weights would stream from memory for each thread's images (an fc of 411
 * MB at batch 8 took 83.7 ms on two threads that way, 17.6 ms in a group of
 * eight). For any batch when the convs are all small
 * (CG_IMAGE_PARALLEL_MAX_MACS); else for a batch the threads share evenly,
 * where each thread's images whole beat every layer split, its threads
 * sharing each map and meeting at a barrier after it. */
typedef enum { IMAGES_NEVER, IMAGES_EVEN_BATCH, IMAGES_ANY_BATCH } ImagesOnThreads;

static ImagesOnThreads images_on_threads(const CgCtx *c)
{
    const IrGraph *g = c->g;
    ImagesOnThreads when = IMAGES_ANY_BATCH;
    if (!c->executable || g->count < 2 || arena_stride(g) > (16 << 20))
        return IMAGES_NEVER;
    for (size_t i = 1; i < g->count; i++) {
        const IrNode *n = &g->nodes[i];
        if (n->op == IR_OP_CONV && n->macs >= CG_IMAGE_PARALLEL_MAX_MACS)
            when = IMAGES_EVEN_BATCH;
        if (n->op == IR_OP_FC && n->params * 4 > (8 << 20))
            return IMAGES_NEVER;
    }
    return when;
}

/* min(batch, the runtime's threads), as the i64 batch's type. */
static LLVMValueRef image_threads(CgCtx *c, LLVMValueRef batch)
{
    LLVMValueRef n = cg_call_runtime(c, "cnnrt_pool_threads", LLVMFunctionType(c->i32, NULL, 0, 0), NULL);
    LLVMValueRef t = LLVMBuildZExt(c->b, n, LLVMTypeOf(batch), "threads");
    return LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntULT, batch, t, ""), batch, t, "");
}

/* Images at once for the whole network: the most any fc asks for. */
static int group_size(CgCtx *c)
{
    int group = 1;
    for (size_t i = 1; i < c->g->count; i++) {
        if (c->g->nodes[i].group >= 0 && c->g->nodes[i].group != (int32_t)i)
            continue;
        int want = cg_fc_batch(c, i);
        if (want > group)
            group = want;
    }
    return group;
}

/* Floats from one image's copy of a buffer to the next's. */
static int64_t image_stride(const IrGraph *g, int64_t buffer)
{
    if (buffer == IR_BUF_INPUT)
        return ir_shape_elems(g->nodes[0].out);
    if (buffer == IR_BUF_OUTPUT)
        return ir_shape_elems(g->nodes[g->count - 1].out);
    return arena_stride(g) / 4;
}

/* The fc at node for a group of images: (x, y, table, scratch) like any
 * layer function, x and y the first image's buffers. */
static LLVMValueRef batch_function(CgCtx *c, size_t node, int group)
{
    const IrGraph *g = c->g;
    char name[64];
    snprintf(name, sizeof name, "layer%zu.fc.batch%d", node, group);
    LLVMTypeRef args[4] = {c->ptr, c->ptr, c->ptr, c->ptr};
    LLVMValueRef fn = LLVMAddFunction(c->mod, name, LLVMFunctionType(c->void_t, args, 4, 0));
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    c->fn = fn;
    LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, fn, "entry"));
    int64_t from = g->nodes[g->nodes[node].inputs[0]].buffer, to = g->nodes[ir_group_tail(g, node)].buffer;
    cg_lower_fc_batch(c, node, LLVMGetParam(fn, 0), LLVMGetParam(fn, 1), LLVMGetParam(fn, 2), group,
                      image_stride(g, from), image_stride(g, to));
    LLVMBuildRetVoid(c->b);
    return fn;
}

/* Where a buffer of the plan (ir/plan.h) is, for the current image. */
static LLVMValueRef buffer_at(CgCtx *c, int64_t buffer, LLVMValueRef in_img, LLVMValueRef out_img, LLVMValueRef ws)
{
    IR_ASSERT(buffer != IR_BUF_FUSED);
    if (buffer == IR_BUF_INPUT)
        return in_img;
    if (buffer == IR_BUF_OUTPUT)
        return out_img;
    LLVMValueRef off = cg_i64(c, buffer);
    return LLVMBuildInBoundsGEP2(c->b, c->i8, ws, &off, 1, "");
}

static LLVMValueRef cstring(CgCtx *c, const char *name, const char *s);

/* NAME_run's arguments, as the layer calls need them, and in an executable
 * each kernel's name for the profile (runtime/profile.h), by first node. */
typedef struct RunArgs {
    LLVMValueRef in, out, ws, table;
    LLVMValueRef *names;
} RunArgs;

/* The kernels' names as the report's fused groups write them ("conv1 +
 * relu1 + pool1"), as constant strings; executables only. */
static LLVMValueRef *profile_names(CgCtx *c, LLVMValueRef *layers)
{
    const IrGraph *g = c->g;
    if (!c->executable)
        return NULL;
    LLVMValueRef *names = ir_arena_alloc(g->arena, g->count, sizeof *names);
    for (size_t i = 1; i < g->count; i++) {
        if (!layers[i])
            continue;
        char sym[64];
        snprintf(sym, sizeof sym, "profile.name.%zu", i);
        names[i] = cstring(c, sym, ir_group_label(g, i));
    }
    return names;
}

/* Tells the profile (runtime/profile.h) that a thread starts a sequence of
 * layers; executables only. */
static void profile_start(CgCtx *c, const RunArgs *r)
{
    if (r->names)
        cg_call_runtime(c, "cnnrt_profile_start", LLVMFunctionType(c->void_t, NULL, 0, 0), NULL);
}

/* Tells the profile that the kernel at node ran for `images` images. */
static void profile_layer(CgCtx *c, const RunArgs *r, size_t node, int64_t images)
{
    if (!r->names)
        return;
    const IrGraph *g = c->g;
    int64_t macs = 0;
    for (size_t k = node; k <= ir_group_tail(g, node); k++)
        macs += g->nodes[k].macs;
    LLVMTypeRef types[2] = {c->ptr, c->i64};
    LLVMValueRef args[2] = {r->names[node], cg_i64(c, macs * images)};
    cg_call_runtime(c, "cnnrt_profile_layer", LLVMFunctionType(c->void_t, types, 2, 0), args);
}

/* base + img * elems floats: one image of the caller's input or output. */
static LLVMValueRef image_at(CgCtx *c, LLVMValueRef base, LLVMValueRef img, int64_t elems)
{
    return cg_at(c, base, cg_mul(c, img, cg_i64(c, elems)));
}

/* Calls fn, the kernel of the group headed by node, for image img, whose
 * activations are in arena number `arena` of the workspace. */
static void call_layer(CgCtx *c, const RunArgs *r, LLVMValueRef fn, size_t node, LLVMValueRef img,
                       LLVMValueRef arena)
{
    const IrGraph *g = c->g;
    LLVMValueRef in_img = image_at(c, r->in, img, ir_shape_elems(g->nodes[0].out));
    LLVMValueRef out_img = image_at(c, r->out, img, ir_shape_elems(g->nodes[g->count - 1].out));
    LLVMValueRef off = cg_mul(c, arena, cg_i64(c, arena_stride(g)));
    LLVMValueRef ws = LLVMBuildInBoundsGEP2(c->b, c->i8, r->ws, &off, 1, "");
    const IrNode *n = &g->nodes[node];
    int64_t from = g->nodes[n->inputs[0]].buffer, to = g->nodes[ir_group_tail(g, node)].buffer;
    int64_t scratch = n->scratch;
    uint32_t nin = ir_group_inputs(g, node, NULL, 0);
    int32_t *ins = ir_arena_alloc(g->arena, nin, sizeof *ins);
    ir_group_inputs(g, node, ins, nin);
    unsigned nargs = 3 + nin;
    LLVMValueRef *args = ir_arena_alloc(g->arena, nargs, sizeof *args);
    LLVMTypeRef *types = ir_arena_alloc(g->arena, nargs, sizeof *types);
    args[0] = buffer_at(c, from, in_img, out_img, ws);
    args[1] = buffer_at(c, to, in_img, out_img, ws);
    args[2] = r->table;
    args[3] = scratch >= 0 ? buffer_at(c, scratch, in_img, out_img, ws) : LLVMConstPointerNull(c->ptr);
    for (uint32_t k = 1; k < nin; k++)
        args[3 + k] = buffer_at(c, g->nodes[ins[k]].buffer, in_img, out_img, ws);
    for (unsigned k = 0; k < nargs; k++)
        types[k] = c->ptr;
    LLVMBuildCall2(c->b, LLVMFunctionType(c->void_t, types, nargs, 0), fn, args, nargs, "");
}

/* The layers, for the image task: each thread's groups of tg images (1:
 * an image at a time) and the layers that run once for such a group (NULL
 * for none, or for a layer that runs image by image). */
typedef struct ImageTask {
    LLVMValueRef *layers, *names;
    int tg;
    LLVMValueRef *grouped;
} ImageTask;

/* Whether the group headed by node runs for each image of a group in turn
 * before the next layer starts: where its weights outweigh the activations
 * it reads and writes, so that the weights are read from memory once for
 * the images. Other layers run image by image, each image's activations
 * staying in the caches from one layer to the next. */
static bool layer_by_layer(const CgCtx *c, size_t node)
{
    const IrGraph *g = c->g;
    const size_t tail = ir_group_tail(g, node);
    int64_t weights = 0;
    for (size_t k = node; k <= tail; k++)
        weights += g->nodes[k].params;
    return weights > ir_shape_elems(g->nodes[g->nodes[node].inputs[0]].out) + ir_shape_elems(g->nodes[tail].out);
}

/* The layers for images [img0, img0 + size) in arenas from arena0: once for
 * the group where grouped has the layer's kernel, the others image by image
 * in runs that a layer_by_layer layer makes on its own. */
static void run_group(CgCtx *c, const RunArgs *r, LLVMValueRef *layers, LLVMValueRef *grouped, int size,
                      LLVMValueRef img0, LLVMValueRef arena0)
{
    const size_t count = c->g->count;
    for (size_t i = 1; i < count;) {
        if (!layers[i]) {
            i++;
            continue;
        }
        if (grouped && grouped[i]) {
            call_layer(c, r, grouped[i], i, img0, arena0);
            profile_layer(c, r, i, size);
            i++;
            continue;
        }
        size_t end = i + 1;
        if (!layer_by_layer(c, i))
            while (end < count && !(layers[end] && ((grouped && grouped[end]) || layer_by_layer(c, end))))
                end++;
        for (int a = 0; a < size; a++) {
            LLVMValueRef img = cg_add(c, img0, cg_i64(c, a)), arena = cg_add(c, arena0, cg_i64(c, a));
            for (size_t k = i; k < end; k++)
                if (layers[k]) {
                    call_layer(c, r, layers[k], k, img, arena);
                    profile_layer(c, r, k, 1);
                }
        }
        i = end;
    }
}

/* ptrs: input, output, workspace, table, {batch, threads}. Thread slot a
 * (in [begin, end)) runs the groups of tg images a, a + threads, ... (group
 * q: images [q tg, q tg + tg)) in arenas [a tg, a tg + tg), each fc once
 * for the group where grouped has it, then the images after the last group
 * one at a time. LeNet-5 at batch 8 on two threads: 0.032 ms with its fcs
 * run for one image at a time, when a group of 4 on one thread takes
 * 0.026. */
static void image_task(CgCtx *c, void *user, LLVMValueRef *ptrs, LLVMValueRef begin, LLVMValueRef end)
{
    const ImageTask *t = user;
    RunArgs r = {ptrs[0], ptrs[1], ptrs[2], ptrs[3], t->names};
    LLVMValueRef one = cg_i64(c, 1), tg = cg_i64(c, t->tg);
    LLVMValueRef batch = LLVMBuildLoad2(c->b, c->i64, ptrs[4], "batch");
    LLVMValueRef slots = LLVMBuildLoad2(c->b, c->i64, LLVMBuildInBoundsGEP2(c->b, c->i64, ptrs[4], &one, 1, ""), "");
    LLVMValueRef groups = LLVMBuildUDiv(c->b, batch, tg, "groups");
    CgLoop la, lq, li;
    profile_start(c, &r);
    LLVMValueRef a = cg_loop_begin(c, &la, begin, end, "slot");
    LLVMValueRef arena0 = cg_mul(c, a, tg);
    /* groups a + j * slots for j < ceil((groups - a) / slots) */
    LLVMValueRef groups_left = cg_sub(c, groups, a);
    LLVMValueRef count = LLVMBuildUDiv(c->b, cg_add(c, groups_left, cg_sub(c, slots, one)), slots, "");
    LLVMValueRef j = cg_loop_begin(c, &lq, cg_i64(c, 0), count, "j");
    run_group(c, &r, t->layers, t->grouped, t->tg, cg_mul(c, cg_add(c, a, cg_mul(c, j, slots)), tg), arena0);
    cg_loop_end(c, &lq);
    if (t->tg > 1) { /* the images after the last group: start + a + k * slots */
        LLVMValueRef start = cg_add(c, cg_mul(c, groups, tg), a);
        LLVMValueRef some = LLVMBuildICmp(c->b, LLVMIntULT, start, batch, "");
        LLVMValueRef images_left = cg_sub(c, batch, start);
        LLVMValueRef rounds = LLVMBuildUDiv(c->b, cg_add(c, images_left, cg_sub(c, slots, one)), slots, "");
        LLVMValueRef rest = LLVMBuildSelect(c->b, some, rounds, cg_i64(c, 0), "rest");
        LLVMValueRef k = cg_loop_begin(c, &li, cg_i64(c, 0), rest, "k");
        run_group(c, &r, t->layers, NULL, 1, cg_add(c, start, cg_mul(c, k, slots)), arena0);
        cg_loop_end(c, &li);
    }
    cg_loop_end(c, &la);
}

/* Whether the fc at node runs once for a group of `size` images (a batch
 * in groups of `group`): groups of `group` and of half that for every fc
 * that asks for them (cg_fc_batch; two threads run their images in groups
 * of the half, image_task), the smaller groups that end a batch only
 * for an fc that streams its weights from memory (not packed, cg_fc_pack),
 * where they save a pass over the weights. Each copy costs compile time:
 * LeNet-5 took 0.14-0.15 s with copies for groups of 4, 0.12-0.14 without
 * (Zen 4). */
static bool in_group(CgCtx *c, size_t node, int group, int size)
{
    return cg_fc_batch(c, node) == group && (size == group || size == group / 2 || !cg_fc_pack(c, node));
}

/* Group sizes, largest first: the batch goes in groups of `group`, then at
 * most one of each half down to 4 (7 images: 4, then 3 alone), each size
 * only if some fc runs in it. */
static int group_sizes(CgCtx *c, int group, int *sizes)
{
    int n = 0;
    for (int s = group; s > 1 && (s == group || s >= 4); s /= 2) {
        bool any = false;
        for (size_t i = 1; i < c->g->count; i++)
            any = any || in_group(c, i, group, s);
        if (any)
            sizes[n++] = s;
    }
    return n;
}

/* i32 NAME_run(ptr in, ptr out, size_t batch, ptr workspace, ptr params) */
static LLVMValueRef run_function(CgCtx *c, int group)
{
    const IrGraph *g = c->g;
    IR_ASSERT(g->planned);
    LLVMValueRef *layers = ir_arena_alloc(g->arena, g->count, sizeof *layers);
    for (size_t i = 1; i < g->count; i++) {
        if (g->nodes[i].group >= 0 && g->nodes[i].group != (int32_t)i)
            continue; /* inside the group lowered at its first node */
        int64_t from = g->nodes[g->nodes[i].inputs[0]].buffer, to = g->nodes[ir_group_tail(g, i)].buffer;
        layers[i] = layer_function(c, i, from == to);
    }
    int sizes[4], nsizes = group_sizes(c, group, sizes);
    LLVMValueRef *batched[4];
    for (int k = 0; k < nsizes; k++) {
        batched[k] = ir_arena_alloc(g->arena, g->count, sizeof *batched[k]);
        for (size_t i = 1; i < g->count; i++)
            if (layers[i] && in_group(c, i, group, sizes[k]))
                batched[k][i] = batch_function(c, i, sizes[k]);
    }
    /* The network's name has no length limit: symbols are sized to it. */
    const char *name = ir_arena_printf(g->arena, "%s_run", g->name);
    LLVMTypeRef args[5] = {c->ptr, c->ptr, c->size, c->ptr, c->ptr};
    LLVMTypeRef ft = LLVMFunctionType(c->i32, args, 5, 0);
    LLVMValueRef fn = LLVMAddFunction(c->mod, name, ft);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    c->fn = fn;
    LLVMValueRef in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1), batch = LLVMGetParam(fn, 2);
    LLVMValueRef ws = LLVMGetParam(fn, 3), table = LLVMGetParam(fn, 4);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(c->ctx, fn, "entry");
    LLVMBasicBlockRef bad = LLVMAppendBasicBlockInContext(c->ctx, fn, "bad_arguments");
    LLVMBasicBlockRef work = LLVMAppendBasicBlockInContext(c->ctx, fn, "work");
    LLVMPositionBuilderAtEnd(c->b, entry);
    batch = LLVMBuildZExtOrBitCast(c->b, batch, c->i64, "batch"); /* size_t is 32 bits on wasm32 and Cortex-M */

    /* SPEC section 8: non-zero for a NULL pointer, batch 0 or a misaligned workspace. */
    LLVMValueRef null = LLVMConstPointerNull(c->ptr);
    LLVMValueRef wsint = LLVMBuildPtrToInt(c->b, ws, c->i64, "");
    LLVMValueRef wrong = LLVMBuildICmp(c->b, LLVMIntEQ, in, null, "");
    wrong = LLVMBuildOr(c->b, wrong, LLVMBuildICmp(c->b, LLVMIntEQ, out, null, ""), "");
    wrong = LLVMBuildOr(c->b, wrong, LLVMBuildICmp(c->b, LLVMIntEQ, table, null, ""), "");
    wrong = LLVMBuildOr(c->b, wrong, LLVMBuildICmp(c->b, LLVMIntEQ, batch, cg_i64(c, 0), ""), "");
    if (g->workspace_bytes > 0)
        wrong = LLVMBuildOr(c->b, wrong, LLVMBuildICmp(c->b, LLVMIntEQ, ws, null, ""), "");
    LLVMValueRef misaligned = LLVMBuildICmp(c->b, LLVMIntNE,
                                            LLVMBuildAnd(c->b, wsint, cg_i64(c, 63), ""), cg_i64(c, 0), "");
    wrong = LLVMBuildOr(c->b, wrong, misaligned, "");
    LLVMBuildCondBr(c->b, wrong, bad, work);
    LLVMPositionBuilderAtEnd(c->b, bad);
    LLVMBuildRet(c->b, LLVMConstInt(c->i32, 1, 0));

    LLVMPositionBuilderAtEnd(c->b, work);
    RunArgs r = {in, out, ws, table, profile_names(c, layers)};
    const ImagesOnThreads when = images_on_threads(c);
    if (when != IMAGES_NEVER) {
        /* Two or more threads and images (and as many images on each, for a
         * network not all small): each thread its own images, whole. */
        LLVMValueRef slots = image_threads(c, batch);
        LLVMBasicBlockRef par = LLVMAppendBasicBlockInContext(c->ctx, fn, "images_on_threads");
        LLVMBasicBlockRef seq = LLVMAppendBasicBlockInContext(c->ctx, fn, "images_in_turn");
        LLVMValueRef go = LLVMBuildICmp(c->b, LLVMIntUGE, slots, cg_i64(c, 2), "");
        if (when == IMAGES_EVEN_BATCH) {
            LLVMValueRef one = cg_i64(c, 1); /* a divisor for a batch of 0 too */
            LLVMValueRef divisor = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntUGT, slots, one, ""), slots, one, "");
            LLVMValueRef left = LLVMBuildURem(c->b, batch, divisor, "");
            LLVMValueRef even = LLVMBuildICmp(c->b, LLVMIntEQ, left, cg_i64(c, 0), "");
            go = LLVMBuildAnd(c->b, go, even, "");
        }
        LLVMBuildCondBr(c->b, go, par, seq);
        LLVMPositionBuilderAtEnd(c->b, par);
        LLVMValueRef counts = cg_entry_alloca(c, LLVMArrayType2(c->i64, 2), "image_counts");
        LLVMValueRef one = cg_i64(c, 1);
        LLVMBuildStore(c->b, batch, counts);
        LLVMBuildStore(c->b, slots, LLVMBuildInBoundsGEP2(c->b, c->i64, counts, &one, 1, ""));
        const char *task = ir_arena_printf(g->arena, "%s.images", g->name);
        ImageTask t = {layers, r.names, 1, NULL};
        LLVMValueRef ptrs[5] = {in, out, ws, table, counts};
        /* Groups of half the largest on each thread when the workspace has
         * their arenas: a batch of a whole group, at most two threads. */
        if (nsizes >= 2 && sizes[1] == group / 2) {
            LLVMBasicBlockRef grp = LLVMAppendBasicBlockInContext(c->ctx, fn, "groups_on_threads");
            LLVMBasicBlockRef one_by_one = LLVMAppendBasicBlockInContext(c->ctx, fn, "images_one_by_one");
            LLVMValueRef whole = LLVMBuildICmp(c->b, LLVMIntUGE, batch, cg_i64(c, group), "");
            LLVMValueRef few = LLVMBuildICmp(c->b, LLVMIntULE, slots, cg_i64(c, 2), "");
            LLVMValueRef fits = LLVMBuildAnd(c->b, whole, few, "");
            LLVMBuildCondBr(c->b, fits, grp, one_by_one);
            LLVMPositionBuilderAtEnd(c->b, grp);
            ImageTask tg = {layers, r.names, sizes[1], batched[1]};
            task = ir_arena_printf(g->arena, "%s.image_groups", g->name);
            cg_parallel_for(c, task, ptrs, 5, slots, image_task, &tg);
            LLVMBuildRet(c->b, LLVMConstInt(c->i32, 0, 0));
            LLVMPositionBuilderAtEnd(c->b, one_by_one);
            task = ir_arena_printf(g->arena, "%s.images", g->name);
        }
        cg_parallel_for(c, task, ptrs, 5, slots, image_task, &t);
        LLVMBuildRet(c->b, LLVMConstInt(c->i32, 0, 0));
        LLVMPositionBuilderAtEnd(c->b, seq);
    }
    profile_start(c, &r);
    LLVMValueRef start = cg_i64(c, 0);
    for (int k = 0; k < nsizes; k++) {
        /* Whole groups in lockstep, layer by layer: image a of the group in
         * arena a, and each big fc once for all of them (streaming its
         * weights once, not once per image). */
        int size = sizes[k];
        LLVMValueRef full = LLVMBuildUDiv(c->b, LLVMBuildSub(c->b, batch, start, ""), cg_i64(c, size), "groups");
        CgLoop lg;
        LLVMValueRef img0 = cg_add(c, start, cg_mul(c, cg_loop_begin(c, &lg, cg_i64(c, 0), full, "group"),
                                                    cg_i64(c, size)));
        run_group(c, &r, layers, batched[k], size, img0, cg_i64(c, 0));
        cg_loop_end(c, &lg);
        start = cg_add(c, start, cg_mul(c, full, cg_i64(c, size)));
    }
    /* One image at a time: every image, or those after the last group. */
    CgLoop lb;
    LLVMValueRef img = cg_loop_begin(c, &lb, start, batch, "image");
    if (g->count == 1) {
        int64_t elems = ir_shape_elems(g->nodes[0].out);
        LLVMValueRef to = image_at(c, out, img, elems);
        LLVMValueRef from = image_at(c, in, img, elems);
        LLVMBuildMemMove(c->b, to, 4, from, 4, cg_i64(c, elems * 4));
    }
    for (size_t i = 1; i < g->count; i++) {
        if (layers[i]) {
            call_layer(c, &r, layers[i], i, img, cg_i64(c, 0));
            profile_layer(c, &r, i, 1);
        }
    }
    cg_loop_end(c, &lb);
    LLVMBuildRet(c->b, LLVMConstInt(c->i32, 0, 0));
    return fn;
}

/* A private constant holding bytes as they are: one blob per tensor, never one
 * LLVM constant per float, so VGG-16's 553 MB embed quickly. */
static LLVMValueRef blob(CgCtx *c, const char *name, const void *data, size_t bytes)
{
    IR_ASSERT(bytes < (size_t)UINT32_MAX);
    LLVMValueRef init = LLVMConstStringInContext(c->ctx, data, (unsigned)bytes, 1);
    LLVMValueRef gv = LLVMAddGlobal(c->mod, LLVMTypeOf(init), name);
    LLVMSetInitializer(gv, init);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetLinkage(gv, LLVMPrivateLinkage);
    LLVMSetUnnamedAddr(gv, 1);
    LLVMSetAlignment(gv, 64);
    return gv;
}

static LLVMValueRef cstring(CgCtx *c, const char *name, const char *s)
{
    LLVMValueRef init = LLVMConstStringInContext(c->ctx, s, (unsigned)strlen(s), 0);
    LLVMValueRef gv = LLVMAddGlobal(c->mod, LLVMTypeOf(init), name);
    LLVMSetInitializer(gv, init);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetLinkage(gv, LLVMPrivateLinkage);
    LLVMSetUnnamedAddr(gv, 1);
    return gv;
}

/* One float per value given: an input may have any number of channels. */
static LLVMValueRef floats(CgCtx *c, const char *name, const double *v, size_t n)
{
    float *tmp = ir_arena_alloc(c->g->arena, n ? n : 1, sizeof *tmp);
    for (size_t i = 0; i < n; i++)
        tmp[i] = (float)v[i];
    return blob(c, name, tmp, n * sizeof(float));
}

/* size_t NAME_workspace_size(size_t batch): 0 for batch 0; one arena, or
 * one per image of a group when the run goes in groups (run_function). */
static LLVMValueRef workspace_function(CgCtx *c, int group)
{
    const char *name = ir_arena_printf(c->g->arena, "%s_workspace_size", c->g->name);
    LLVMValueRef fn = LLVMAddFunction(c->mod, name, LLVMFunctionType(c->size, &c->size, 1, 0));
    c->fn = fn;
    LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, fn, "entry"));
    LLVMValueRef batch = LLVMGetParam(fn, 0), none = LLVMConstInt(c->size, 0, 0);
    LLVMValueRef zero = LLVMBuildICmp(c->b, LLVMIntEQ, batch, none, "");
    LLVMValueRef one = LLVMConstInt(c->size, (unsigned long long)c->g->workspace_bytes, 0);
    LLVMValueRef size = one;
    /* The largest group the batch makes (run_function's sizes). */
    int sizes[4], nsizes = group_sizes(c, group, sizes);
    for (int k = nsizes - 1; k >= 0; k--) {
        int s = sizes[k];
        LLVMValueRef grouped = LLVMBuildICmp(c->b, LLVMIntUGE, batch, LLVMConstInt(c->size, (unsigned)s, 0), "");
        LLVMValueRef all = LLVMConstInt(c->size, (unsigned long long)s * arena_stride(c->g), 0);
        size = LLVMBuildSelect(c->b, grouped, all, size, "");
    }
    if (images_on_threads(c) != IMAGES_NEVER) {
        /* or an arena per thread that runs images (run_function), if more */
        LLVMValueRef wide = LLVMBuildZExtOrBitCast(c->b, batch, c->i64, "");
        LLVMValueRef slots = image_threads(c, wide);
        LLVMValueRef bytes = LLVMBuildTruncOrBitCast(c->b, cg_mul(c, slots, cg_i64(c, arena_stride(c->g))), c->size, "");
        LLVMValueRef more = LLVMBuildICmp(c->b, LLVMIntUGT, bytes, size, "");
        size = LLVMBuildSelect(c->b, more, bytes, size, "");
    }
    LLVMBuildRet(c->b, LLVMBuildSelect(c->b, zero, none, size, ""));
    return fn;
}

/* The block the kernel of params[i] wants it packed in (cnnrt_pack), or 0.
 * A folded batchnorm's bias slot holds the conv's bias (CnnrtFold), packed
 * as the conv wants it. */
static int param_pack(const CgCtx *c, size_t i)
{
    size_t node = (size_t)c->params[i].node;
    const IrNode *n = &c->g->nodes[node];
    switch (n->op) {
    case IR_OP_CONV:
        return n->pack;
    case IR_OP_FC:
        return cg_fc_pack(c, node);
    case IR_OP_BATCHNORM:
        return n->group >= 0 && c->params[i].role == IR_ROLE_BIAS ? c->g->nodes[n->group].pack : 0;
    default:
        return 0;
    }
}

/* The fold of the batchnorm in the group headed by the conv at node
 * (ir/fuse.c), as indices into params; false when there is none. */
static bool fold_at(const CgCtx *c, size_t node, CnnrtFold *f)
{
    if (c->g->nodes[node].op != IR_OP_CONV)
        return false;
    int64_t bn = ir_group_find(c->g, node, IR_OP_BATCHNORM);
    if (bn < 0)
        return false;
    int64_t bias = ir_param_find(c->params, c->nparams, node, IR_ROLE_BIAS);
    *f = (CnnrtFold){
        .weight = (int32_t)cg_param_index(c, node, IR_ROLE_WEIGHT),
        .bias = (int32_t)bias,
        .gamma = (int32_t)cg_param_index(c, (size_t)bn, IR_ROLE_WEIGHT),
        .beta = (int32_t)cg_param_index(c, (size_t)bn, IR_ROLE_BIAS),
        .mean = (int32_t)cg_param_index(c, (size_t)bn, IR_ROLE_RUNNING_MEAN),
        .var = (int32_t)cg_param_index(c, (size_t)bn, IR_ROLE_RUNNING_VAR),
        .eps = c->g->nodes[bn].attr.batchnorm.eps,
    };
    return true;
}

/* Folds every batchnorm that ir/fuse.c put in a conv's group into the
 * conv's weight and into the batchnorm's bias slot (cnnrt_fold), before
 * they are packed: weights[] then points at the folded values, in
 * malloc'd memory that *held (an array of them, *nheld long) keeps. */
static void fold_weights(CgCtx *c, const float **weights, float ***held, size_t *nheld)
{
    const IrGraph *g = c->g;
    *held = NULL;
    *nheld = 0;
    for (size_t i = 1; i < g->count; i++) {
        CnnrtFold f;
        if (g->nodes[i].group != (int32_t)i || !fold_at(c, i, &f))
            continue;
        if (!weights[f.weight] || !weights[f.gamma] || !weights[f.beta] || !weights[f.mean] || !weights[f.var] ||
            (f.bias >= 0 && !weights[f.bias]))
            continue; /* an executable without weights: its runtime folds them */
        const IrParam *w = &c->params[f.weight];
        int64_t K = w->shape[0], taps = w->count / K;
        float *wf = malloc((size_t)w->count * sizeof *wf), *bf = malloc((size_t)K * sizeof *bf);
        *held = realloc(*held, (*nheld + 2) * sizeof **held);
        if (!wf || !bf || !*held)
            IR_DIE("out of memory folding %s into %s", g->nodes[ir_group_find(g, i, IR_OP_BATCHNORM)].name, w->name);
        (*held)[(*nheld)++] = wf;
        (*held)[(*nheld)++] = bf;
        cnnrt_fold(K, taps, f.eps, weights[f.weight], f.bias >= 0 ? weights[f.bias] : NULL, weights[f.gamma],
                   weights[f.beta], weights[f.mean], weights[f.var], wf, bf);
        weights[f.weight] = wf;
        weights[f.beta] = bf;
    }
}

/* m when params[i] is a conv weight that its kernel takes transformed
 * for Winograd F(m x m, F x F) (ir/kernel.h, cnnrt_pack), else 0. */
static int param_wino(const CgCtx *c, size_t i)
{
    size_t node = (size_t)c->params[i].node;
    return c->params[i].rank == 4 && c->g->nodes[node].op == IR_OP_CONV ? c->g->nodes[node].wino_m : 0;
}

static LLVMValueRef param_struct(CgCtx *c, LLVMTypeRef ty, const IrParam *p, LLVMValueRef name,
                                 LLVMValueRef data, int pack, int wino)
{
    LLVMValueRef dims[4];
    for (int k = 0; k < 4; k++)
        dims[k] = cg_i64(c, k < p->rank ? p->shape[k] : 0);
    LLVMValueRef fields[8] = {
        name,
        LLVMConstInt(c->i32, (unsigned long long)p->rank, 0),
        LLVMConstArray2(c->i64, dims, 4),
        cg_i64(c, p->count),
        data ? data : LLVMConstPointerNull(c->ptr),
        LLVMConstInt(c->i32, p->inline_data != NULL, 0),
        LLVMConstInt(c->i32, (unsigned long long)pack, 0),
        LLVMConstInt(c->i32, (unsigned long long)wino, 0),
    };
    return LLVMConstNamedStruct(ty, fields, 8);
}

/* const CnnrtModel cnnrt_model, laid out as runtime/cnnrt.h declares it. */
static void model_descriptor(CgCtx *c, LLVMValueRef *blobs, LLVMValueRef run, LLVMValueRef wsfn)
{
    const IrGraph *g = c->g;
    LLVMTypeRef pfields[8] = {c->ptr, c->i32, LLVMArrayType2(c->i64, 4), c->i64, c->ptr, c->i32, c->i32, c->i32};
    LLVMTypeRef pty = LLVMStructCreateNamed(c->ctx, "CnnrtParam");
    LLVMStructSetBody(pty, pfields, 8, 0);
    LLVMValueRef *ps = ir_arena_alloc(g->arena, c->nparams ? c->nparams : 1, sizeof *ps);
    for (size_t i = 0; i < c->nparams; i++) {
        char nm[64];
        snprintf(nm, sizeof nm, "param.name.%zu", i);
        ps[i] = param_struct(c, pty, &c->params[i], cstring(c, nm, c->params[i].name), blobs[i], param_pack(c, i),
                             param_wino(c, i));
    }
    LLVMValueRef parr = LLVMConstArray2(pty, ps, c->nparams);
    LLVMValueRef pgv = LLVMAddGlobal(c->mod, LLVMTypeOf(parr), "params.info");
    LLVMSetInitializer(pgv, parr);
    LLVMSetGlobalConstant(pgv, 1);
    LLVMSetLinkage(pgv, LLVMPrivateLinkage);

    /* CnnrtFold, one per batchnorm folded into a conv. */
    LLVMTypeRef f64 = LLVMDoubleTypeInContext(c->ctx);
    LLVMTypeRef ffields[7] = {c->i32, c->i32, c->i32, c->i32, c->i32, c->i32, f64};
    LLVMTypeRef fty = LLVMStructCreateNamed(c->ctx, "CnnrtFold");
    LLVMStructSetBody(fty, ffields, 7, 0);
    LLVMValueRef *fs = ir_arena_alloc(g->arena, g->count, sizeof *fs);
    unsigned nfolds = 0;
    for (size_t i = 1; i < g->count; i++) {
        CnnrtFold f;
        if (g->nodes[i].group != (int32_t)i || !fold_at(c, i, &f))
            continue;
        int32_t ix[6] = {f.weight, f.bias, f.gamma, f.beta, f.mean, f.var};
        LLVMValueRef vals[7];
        for (int k = 0; k < 6; k++)
            vals[k] = LLVMConstInt(c->i32, (unsigned long long)(int64_t)ix[k], 1);
        vals[6] = LLVMConstReal(f64, f.eps);
        fs[nfolds++] = LLVMConstNamedStruct(fty, vals, 7);
    }
    LLVMValueRef farr = LLVMConstArray2(fty, fs, nfolds);
    LLVMValueRef fgv = LLVMAddGlobal(c->mod, LLVMTypeOf(farr), "folds.info");
    LLVMSetInitializer(fgv, farr);
    LLVMSetGlobalConstant(fgv, 1);
    LLVMSetLinkage(fgv, LLVMPrivateLinkage);

    const IrInputAttr *in = &g->nodes[0].attr.input;
    IrShape is = g->nodes[0].out, os = g->nodes[g->count - 1].out;
    LLVMValueRef null = LLVMConstPointerNull(c->ptr);
    LLVMTypeRef mfields[18] = {c->i32, c->ptr, c->i64, c->i64, c->i64, c->i64, c->i64, c->i64, c->i32,
                               c->i32, c->ptr, c->ptr, c->i32, c->ptr, c->ptr, c->ptr, c->i32, c->ptr};
    LLVMTypeRef mty = LLVMStructCreateNamed(c->ctx, "CnnrtModel");
    LLVMStructSetBody(mty, mfields, 18, 0);
    /* Each makes a global: one at a time, so that they come out in this order. */
    LLVMValueRef name = cstring(c, "model.name", g->name);
    LLVMValueRef mean = in->mean ? floats(c, "model.mean", in->mean, in->nmean) : null;
    LLVMValueRef std = in->std ? floats(c, "model.std", in->std, in->nstd) : null;
    LLVMValueRef vals[18] = {
        LLVMConstInt(c->i32, CNNRT_ABI_VERSION, 0),
        name,
        cg_i64(c, is.w), cg_i64(c, is.h), cg_i64(c, is.d),
        cg_i64(c, os.w), cg_i64(c, os.h), cg_i64(c, os.d),
        LLVMConstInt(c->i32, in->mean ? in->nmean : 0, 0),
        LLVMConstInt(c->i32, in->std ? in->nstd : 0, 0),
        mean, std,
        LLVMConstInt(c->i32, c->nparams, 0),
        pgv, wsfn, run,
        LLVMConstInt(c->i32, nfolds, 0), fgv,
    };
    LLVMValueRef gv = LLVMAddGlobal(c->mod, mty, "cnnrt_model");
    LLVMSetInitializer(gv, LLVMConstNamedStruct(mty, vals, 18));
    LLVMSetGlobalConstant(gv, 1);
}

void cg_build_module(CgCtx *c, const float *const *given)
{
    const IrGraph *g = c->g;
    int group = group_size(c);
    LLVMValueRef run = run_function(c, group);

    /* The weights as the kernels read them: folded where a batchnorm is. */
    const float **weights = ir_arena_alloc(g->arena, c->nparams ? c->nparams : 1, sizeof *weights);
    for (size_t i = 0; i < c->nparams; i++)
        weights[i] = given[i];
    float **held;
    size_t nheld;
    fold_weights(c, weights, &held, &nheld);

    /* The weights: a blob per tensor, and a table of pointers to them. */
    bool all = true;
    LLVMValueRef *blobs = ir_arena_alloc(g->arena, c->nparams ? c->nparams : 1, sizeof *blobs);
    for (size_t i = 0; i < c->nparams; i++) {
        if (!weights[i]) {
            all = false;
            continue;
        }
        char nm[64];
        snprintf(nm, sizeof nm, "weights.%zu", i);
        const IrParam *p = &c->params[i];
        int pack = param_pack(c, i);
        if (!pack) {
            blobs[i] = blob(c, nm, weights[i], (size_t)p->count * sizeof(float));
            continue;
        }
        int wino = param_wino(c, i);
        size_t count = (size_t)cnnrt_packed_count(p->rank, p->shape, pack, wino);
        float *packed = malloc(count * sizeof *packed);
        if (!packed)
            IR_DIE("out of memory packing %s (%zu floats)", p->name, count);
        cnnrt_pack(p->rank, p->shape, pack, wino, weights[i], packed);
        blobs[i] = blob(c, nm, packed, count * sizeof *packed);
        free(packed);
    }

    LLVMValueRef wsfn = workspace_function(c, group);
    if (c->measure && !all)
        LLVMSetLinkage(run, LLVMExternalLinkage); /* what NAME_infer would keep alive */
    if (all) {
        /* int NAME_infer(const float *in, float *out, size_t batch, void *ws) */
        LLVMValueRef *ptrs = ir_arena_alloc(g->arena, c->nparams ? c->nparams : 1, sizeof *ptrs);
        for (size_t i = 0; i < c->nparams; i++)
            ptrs[i] = blobs[i];
        LLVMValueRef tinit = LLVMConstArray2(c->ptr, ptrs, c->nparams);
        LLVMValueRef table = LLVMAddGlobal(c->mod, LLVMTypeOf(tinit), "weights.table");
        LLVMSetInitializer(table, tinit);
        LLVMSetGlobalConstant(table, 1);
        LLVMSetLinkage(table, LLVMPrivateLinkage);
        LLVMSetAlignment(table, 8);

        const char *name = ir_arena_printf(g->arena, "%s_infer", g->name);
        LLVMTypeRef args[4] = {c->ptr, c->ptr, c->size, c->ptr};
        LLVMValueRef fn = LLVMAddFunction(c->mod, name, LLVMFunctionType(c->i32, args, 4, 0));
        c->fn = fn;
        LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, fn, "entry"));
        LLVMValueRef call[5] = {LLVMGetParam(fn, 0), LLVMGetParam(fn, 1), LLVMGetParam(fn, 2),
                                LLVMGetParam(fn, 3), table};
        LLVMBuildRet(c->b, LLVMBuildCall2(c->b, LLVMGlobalGetValueType(run), run, call, 5, ""));
    }
    if (c->executable)
        model_descriptor(c, blobs, run, wsfn);
    for (size_t i = 0; i < nheld; i++)
        free(held[i]);
    free(held);
}
