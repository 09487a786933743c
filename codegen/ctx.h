/* Internal to codegen/: the one context that owns the LLVM objects of a
 * compilation, and thin helpers that make lowering read like the math. */
#ifndef CNNC_CODEGEN_CTX_H
#define CNNC_CODEGEN_CTX_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "cg.h"
#include "ir/fuse.h"
#include "ir/plan.h"

typedef struct CgCtx {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTargetMachineRef tm;
    LLVMTargetDataRef td;
    LLVMTypeRef i1, i8, i32, i64, f32, ptr, void_t;
    LLVMTypeRef size; /* the target's size_t, for the C functions' arguments */
    const IrGraph *g;
    const IrParam *params;
    size_t nparams;
    LLVMValueRef fn;      /* the function being built */
    LLVMValueRef scratch; /* a layer function's scratch (ir/plan.h), or NULL */
    bool executable; /* also define cnnrt_model */
    bool measure;    /* keep the run function without weights (cg_measure) */
    int opt_level;
    /* The target's SIMD (target_vectors, ctx.c): floats per vector register and
     * how many registers; vec_width 1 means no SIMD worth generating for. */
    int vec_width, vec_regs;
} CgCtx;

/* A counted loop for i in [lo, hi): cg_loop_begin returns i, the body follows,
 * cg_loop_end closes it and leaves the builder after the loop. */
typedef struct CgLoop {
    LLVMBasicBlockRef head, exit;
    LLVMValueRef i;
} CgLoop;

LLVMValueRef cg_loop_begin(CgCtx *c, CgLoop *l, LLVMValueRef lo, LLVMValueRef hi, const char *name);
void cg_loop_end(CgCtx *c, CgLoop *l);

/* if (cond) { ... } [else { ... }]: cg_if_begin, the then-part, optionally
 * cg_if_else and the else-part, cg_if_end. A NULL cond means always: the
 * then-part is emitted unconditionally and there must be no else-part. */
typedef struct CgIf {
    LLVMBasicBlockRef other, done;
} CgIf;

void cg_if_begin(CgCtx *c, CgIf *s, LLVMValueRef cond);
void cg_if_else(CgCtx *c, CgIf *s);
void cg_if_end(CgCtx *c, CgIf *s);

/* cg_i64, cg_f32 and cg_fconst make constants; most other helpers build
 * instructions. No call (nor initialiser) has two arguments that build: C
 * leaves their order open, and the code made would depend on the compiler
 * that built cnnc (tests/peer). Such operands go into locals first. */
LLVMValueRef cg_i64(CgCtx *c, int64_t v);
LLVMValueRef cg_f32(CgCtx *c, double v);
LLVMValueRef cg_add(CgCtx *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_sub(CgCtx *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_mul(CgCtx *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_smax(CgCtx *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_smin(CgCtx *c, LLVMValueRef a, LLVMValueRef b);
/* base[index] for a float pointer, as an address and as a value. */
LLVMValueRef cg_at(CgCtx *c, LLVMValueRef base, LLVMValueRef index);
LLVMValueRef cg_load(CgCtx *c, LLVMValueRef base, LLVMValueRef index);
void cg_store(CgCtx *c, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index);
/* A variable of type t at the top of the entry block, where mem2reg finds it. */
LLVMValueRef cg_entry_alloca(CgCtx *c, LLVMTypeRef t, const char *name);
/* A float variable in the entry block (SROA/mem2reg turn it into registers). */
LLVMValueRef cg_var(CgCtx *c, const char *name);

/* Vectors of c->vec_width floats or fewer: type, unaligned load/store of
 * base[index..], a splat of a scalar, fused multiply-add a*b + acc, and a
 * vector variable in the entry block. */
LLVMTypeRef cg_vec_t(CgCtx *c, int width);
LLVMValueRef cg_vload(CgCtx *c, int width, LLVMValueRef base, LLVMValueRef index);
void cg_vstore(CgCtx *c, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index);
/* Stores the lanes of v whose i1 in mask is set. */
void cg_vstore_masked(CgCtx *c, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index, LLVMValueRef mask);
/* The constant mask of v lanes, on for lanes [lo, hi). */
LLVMValueRef cg_lane_mask(CgCtx *c, int v, int64_t lo, int64_t hi);
LLVMValueRef cg_splat(CgCtx *c, int width, LLVMValueRef scalar);
/* The sum of a vector's lanes, in log2(width) halving steps. */
LLVMValueRef cg_hsum(CgCtx *c, LLVMValueRef v);
/* The first lanes of vector v, as a vector of that many. */
LLVMValueRef cg_prefix(CgCtx *c, LLVMValueRef v, int lanes);
LLVMValueRef cg_fma(CgCtx *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef acc);
/* A hint to bring the line of base[index] (floats) into the cache. */
void cg_prefetch(CgCtx *c, LLVMValueRef base, LLVMValueRef index);
LLVMValueRef cg_vvar(CgCtx *c, int width, const char *name);
/* Transposes the v x v matrix whose rows are r[0..v): each round swaps bit b
 * of the row and column indices with one two-input shuffle per row, so
 * log2(v) rounds of v shuffles, all in registers. */
void cg_transpose(CgCtx *c, int v, LLVMValueRef *r);
/* v floats at base[index], base[index + S], ...: for S > 1 the (v - 1)*S + 1
 * floats that span them (no further: they may end the input) as vectors of
 * v, the last shifted back to end the span, merged by two-input shuffles
 * that each take the lanes found in the next vector. One load of the span
 * (15 floats for 8 lanes of stride 2) was split by LLVM into inserts of
 * single floats. */
LLVMValueRef cg_strided_load(CgCtx *c, int v, int64_t S, LLVMValueRef base, LLVMValueRef index);
/* The same, but the floats at offsets from index outside [lo, hi) are not
 * read (masked loads) and come in as fill: a pool's window past the edge. */
LLVMValueRef cg_strided_load_within(CgCtx *c, int v, int64_t S, LLVMValueRef base, LLVMValueRef index, int64_t lo,
                                    int64_t hi, double fill);

/* max(v, 0) keeping NaN, as PyTorch's relu does (scalar or vector). */
LLVMValueRef cg_relu(CgCtx *c, LLVMValueRef v);
/* The running maximum of a max pool: v unless cur >= v or cur is NaN, so a
 * NaN anywhere in the window is the result, as in PyTorch. */
LLVMValueRef cg_max_nan(CgCtx *c, LLVMValueRef cur, LLVMValueRef v);
/* The maxima across of v max-pool windows F floats wide, S apart, the first
 * starting at base[index]: each of the F columns one strided load, the
 * floats at offsets from index outside [lo, hi) not read but -inf (a window
 * past the map's edge or in its padding), NaN kept. A pooled row's maximum
 * down then takes these rows' (codegen/ops/pool.c, conv.c). */
LLVMValueRef cg_window_max(CgCtx *c, int v, int64_t S, int64_t F, LLVMValueRef base, LLVMValueRef index, int64_t lo,
                           int64_t hi);
/* e^x for a float or a vector of floats, inline (no libm call; see build.c
 * for the error). */
LLVMValueRef cg_exp(CgCtx *c, LLVMValueRef x);
/* The float v as a constant of type t: a scalar, or v in every lane. */
LLVMValueRef cg_fconst(CgCtx *c, LLVMTypeRef t, double v);
/* Applies the activation node act (relu, relu6, leakyrelu, sigmoid or
 * tanh) to v, a float or a vector of floats (ops/activation.c); NULL act
 * leaves v as it is. The lowering of each and the fused epilogues of conv
 * and fc share it. */
LLVMValueRef cg_activation(CgCtx *c, const IrNode *act, LLVMValueRef v);
/* The activation fused into the conv or fc at node (the node after it in
 * its group), or NULL. */
const IrNode *cg_fused_act(const CgCtx *c, size_t node);
/* The float pointer params[index] of the table passed to every layer. */
LLVMValueRef cg_param(CgCtx *c, LLVMValueRef table, size_t index);
/* Index of node's parameter of that role in the table (it must exist). */
size_t cg_param_index(const CgCtx *c, size_t node, IrParamRole role);

/* Calls the runtime's function name (runtime/pool.h), declaring it with
 * type on first use; executables only. */
LLVMValueRef cg_call_runtime(CgCtx *c, const char *name, LLVMTypeRef type, LLVMValueRef *args);

/* Splits [0, n) over the runtime's threads (runtime/pool.h), for
 * executables only: builds a task function void(ctx, begin, end), whose body
 * emits the work for [begin, end) from the pointers ptrs[] (NULL entries stay
 * NULL) as the task sees them, and calls cnnrt_parallel_for with it here. */
typedef void (*CgTaskBody)(CgCtx *c, void *user, LLVMValueRef *ptrs, LLVMValueRef begin, LLVMValueRef end);
void cg_parallel_for(CgCtx *c, const char *name, const LLVMValueRef *ptrs, int nptrs, LLVMValueRef n, CgTaskBody body,
                     void *user);
/* Below this many multiply-adds a layer is not split over threads. The
 * pool's threads poll between layers (runtime/pool.c), so a split costs
 * microseconds. CIFAR-10 at batch 1 on two threads (convs of 0.9-9.4 M MACs,
 * fc1 0.5 M; 0.36 ms on one thread): 0.36 ms with convs split from 32 M,
 * 0.245 ms from 2 M once convs split into row tiles too, 0.205 ms with fc
 * split from 0.25 M as well. LeNet-5's layers (under 0.25 M) stay whole. fc
 * is bound by memory, and two threads draw more bandwidth than one (triad
 * 13.6 against 37.9 GB/s here). */
#define CG_PARALLEL_MIN_MACS (2 * 1000 * 1000)
#define CG_PARALLEL_MIN_FC_MACS (250 * 1000)
/* A grouped or depthwise conv reads its input for few multiply-adds (9 a
 * cell for a depthwise 3x3), so it costs about as much a MAC as an fc. */
#define CG_PARALLEL_MIN_GROUPED_MACS (250 * 1000)
/* The same for a windowed pool, counting the cells its windows read: a
 * cell costs a load and a max where a multiply-add costs a share of an
 * FMA. */
#define CG_PARALLEL_MIN_POOL_CELLS (400 * 1000)
/* A network whose convs are all below this many multiply-adds (LeNet-5,
 * CIFAR-10's) runs a batch's images on threads of their own, each image's
 * layers whole, rather than every layer split with a barrier after it:
 * CIFAR-10 at batch 8 on two threads spent 17% of its samples waiting in
 * the pool (perf), and took 1.41 ms this way against 1.65 ms. */
#define CG_IMAGE_PARALLEL_MAX_MACS (32 * 1000 * 1000)

/* Builds the whole module: layers, NAME_run, weights, entry points. */
void cg_build_module(CgCtx *c, const float *const *weights);

/* One lowering per op: one image, xs[k] its k-th input (D1 x H1 x W1), y its
 * output (D2 x H2 x W2), table the parameter pointers. xs[0] and y may be the
 * same buffer only for ops that run in place (IrOpDef.in_place). */
#define IR_OP(id, word)                                                                  \
    void cg_lower_##word(CgCtx *c, size_t node, const LLVMValueRef *xs, LLVMValueRef y, LLVMValueRef table);
#include "ir/ops.def"
#undef IR_OP
/* Where a conv kernel's output cell (k, oy, ox) goes (ops/conv.c): in a
 * plain buffer, or in one planned with a frame of zeros for the conv that
 * reads it (ir/plan.h), inside the frame. */
typedef struct CgConvOut {
    int64_t plane, row; /* cells from one channel, one row, to the next */
    int64_t origin;     /* where cell (0, 0, 0) is */
    int blk;            /* 0, or channels in blocks of blk: a cell is blk floats (ir/kernel.h) */
} CgConvOut;
/* Where cell (k, oy, ox) is in a buffer laid out as o says. */
LLVMValueRef cg_conv_out_index(CgCtx *c, const CgConvOut *o, LLVMValueRef k, LLVMValueRef oy, LLVMValueRef ox);
/* Zeroes the frame of P around y's planes of shape s (ops/conv.c), in
 * channel blocks of blk or plain (blk 0): a buffer planned with a frame for
 * the conv that reads it (ir/plan.h), after its values, every run, since
 * other buffers share the arena. */
void cg_zero_frame(CgCtx *c, LLVMValueRef y, int64_t P, IrShape s, int blk);
/* The lowering of a conv the plan runs as Winograd (ir/kernel.h), for the
 * output laid out as out says and an input in channel blocks of the vector
 * width or, plain_in, not. */
void cg_lower_winograd(CgCtx *c, size_t node, LLVMValueRef x, LLVMValueRef y, LLVMValueRef table,
                       const CgConvOut *out, bool plain_in, bool split);
/* The bias of the conv at node, from table: that of the batchnorm folded
 * into it (ir/fuse.c), else its own, else NULL. */
LLVMValueRef cg_conv_bias(CgCtx *c, size_t node, LLVMValueRef table);
/* How many images the fc at node should take at once (1: one at a time),
 * and its lowering for nimg images, inputs xs floats apart, outputs ys. */
int cg_fc_batch(const CgCtx *c, size_t node);
/* The block of rows an fc's weights and bias are packed in (cnnrt_pack),
 * or 0 for PyTorch's layout. */
int cg_fc_pack(const CgCtx *c, size_t node);
void cg_lower_fc_batch(CgCtx *c, size_t node, LLVMValueRef x, LLVMValueRef y, LLVMValueRef table, int nimg,
                       int64_t xs, int64_t ys);

#endif
