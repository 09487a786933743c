/* The dataflow-graph IR: a dense array of nodes in topological order, each node
 * its op, typed attributes, the indices of its inputs, its source span and,
 * after ir_graph_infer, its output shape, params and MACs (SPEC section 2). */
#ifndef CNNC_IR_IR_H
#define CNNC_IR_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "diag.h"

typedef enum {
#define IR_OP(id, word) IR_OP_##id,
#include "ops.def"
#undef IR_OP
    IR_OP_COUNT
} IrOp;

typedef enum { IR_ROUND_EXACT, IR_ROUND_FLOOR, IR_ROUND_CEIL } IrRound;
typedef enum { IR_POOL_MAX, IR_POOL_AVG } IrPoolMode;

/* W x H x D as the slides write it; every size is 64-bit (SPEC section 2). */
typedef struct IrShape {
    int64_t w, h, d;
} IrShape;

/* Parameters written in the source (weights=[...], biases=[...]). */
typedef struct IrParamList {
    bool given;
    float *data;
    size_t count;
    SrcSpan span; /* the list, for count errors */
} IrParamList;

typedef struct IrInputAttr {
    IrShape shape;
    double *mean, *std; /* NULL when not given; else nmean / nstd values */
    size_t nmean, nstd;
    SrcSpan mean_span, std_span;
} IrInputAttr;

/* A window's F, S and P are written width x height (SPEC section 9): size,
 * stride and pad hold the width's, the _h fields the height's, equal when
 * one number was written. Keeping the width's in the old fields lets the
 * kernels that take only square windows read them as they always did,
 * behind ir_conv_plain. */
typedef struct IrConvAttr {
    int64_t filters, size, stride, pad; /* K, and F, S, P across */
    int64_t size_h, stride_h, pad_h;    /* F, S, P down */
    int64_t groups;                     /* G: filter k sees the D1/G channels of its group */
    int64_t dilation, dilation_h;       /* R across and down: taps R apart */
    bool bias;
    IrRound round;
    IrParamList weights, biases;
} IrConvAttr;

typedef struct IrPoolAttr {
    IrPoolMode mode;
    int64_t size, stride, pad;       /* F, S, P across */
    int64_t size_h, stride_h, pad_h; /* F, S, P down */
    /* The window is the whole map (pool max|avg global): ir_graph_infer sets
     * the sizes and strides to the input's W and H and the pads to 0, so
     * every stage after it sees an ordinary W x H window. */
    bool global;
    IrRound round;
} IrPoolAttr;

/* A conv of the SPEC's sections 1 and 2: square, every tap adjacent, every
 * filter across all channels. Only these reach the micro-kernels, Winograd,
 * packed weights and the zero frames of ir/plan.c, which index by one F, S
 * and P; the others take codegen/ops/conv.c's grouped or naive paths. */
static inline bool ir_conv_plain(const IrConvAttr *a)
{
    return a->size == a->size_h && a->stride == a->stride_h && a->pad == a->pad_h && a->dilation == 1 &&
           a->dilation_h == 1 && a->groups == 1;
}

/* A pool window with the same F, S and P across and down. */
static inline bool ir_pool_square(const IrPoolAttr *a)
{
    return a->size == a->size_h && a->stride == a->stride_h && a->pad == a->pad_h;
}

typedef struct IrFcAttr {
    int64_t outputs; /* K */
    bool bias;
    IrParamList weights, biases;
} IrFcAttr;

typedef struct IrDropoutAttr {
    double p;
} IrDropoutAttr;

typedef struct IrBatchnormAttr {
    double eps; /* > 0, added to running_var under the square root */
} IrBatchnormAttr;
typedef struct IrLeakyReluAttr {
    double slope; /* any finite float: y = slope * x for x <= 0 */
} IrLeakyReluAttr;

/* How a node's kernel runs, chosen once by ir_graph_plan for g->machine
 * (ir/kernel.h) and read by codegen and the report. */
typedef enum {
    IR_KERNEL_NONE,     /* not a conv */
    IR_KERNEL_NAIVE,    /* scalar loops, every edge tested */
    IR_KERNEL_COLUMNS,  /* plain conv: vectors of output columns, weights as PyTorch lays them out */
    IR_KERNEL_FILTERS,  /* plain conv: vectors of filters over packed weights (a 1x1 conv is a packed matrix product) */
    IR_KERNEL_WINOGRAD, /* plain 3x3 or 5x5 conv of stride 1: Winograd F(m x m, F x F) */
    IR_KERNEL_GROUPED,  /* grouped, depthwise, dilated or non-square conv: columns over its group's channels */
    IR_KERNEL_DEPTHWISE, /* depthwise conv between channel-blocked maps: vectors of channels a cell */
    IR_KERNEL_COUNT
} IrKernel;

typedef struct IrNode {
    IrOp op;
    const char *name;
    SrcSpan span;      /* the kind word: shape errors and missing keys point here */
    SrcSpan name_span; /* the explicit name, or the kind word for default names */
    bool named;        /* the name was written in the source */
    int32_t *inputs;   /* ninputs earlier nodes, in the order written */
    uint32_t ninputs;
    union {
        IrInputAttr input;
        IrConvAttr conv;
        IrPoolAttr pool;
        IrFcAttr fc;
        IrDropoutAttr dropout;
        IrBatchnormAttr batchnorm;
        IrLeakyReluAttr leakyrelu;
    } attr;
    /* Filled by ir_graph_infer. */
    IrShape out;
    int64_t params, macs;
    /* Filled by ir_graph_fuse: the index of the first node of this node's
     * fused group, or -1 when it runs on its own. */
    int32_t group;
    /* Filled by ir_graph_plan: where the output lives for one image. */
    int64_t buffer;  /* a byte offset in the workspace, or one of IR_BUF_* */
    int64_t scratch; /* a workspace offset for the kernel's own use, or -1 */
    /* Zeros around every channel of the buffer: the output is stored as
     * D x (H + 2 out_pad) x (W + 2 out_pad), so the conv that reads it
     * needs no padded copy (ir/plan.c says when). 0 for a plain buffer. */
    int64_t out_pad;
    /* The conv that is the buffer's only reader, reading it as its input,
     * when a conv kernel or a pool that stands alone writes it; else -1.
     * Such a buffer is the two kernels' own business: codegen may lay it
     * out for them (channel blocks between two convs, codegen/ops/conv.c). */
    int32_t conv_reader;
    /* The kernel (ir/kernel.h): its kind, the filters a block of its packed
     * weights holds (cnnrt_pack; 0: PyTorch's layout), Winograd's output
     * tile m (0 unless IR_KERNEL_WINOGRAD), and the channel block of the
     * node's buffer, [D/blk][H][W][blk] between two filter-vector convs (0:
     * plain [D][H][W]). */
    IrKernel kernel;
    int32_t pack, wino_m, blk;
} IrNode;

/* What the kernel choices (ir/kernel.h) read of the machine, resolved by
 * codegen (cg_machine) from the target and CPU: floats a vector register
 * holds (1: no SIMD), how many vector registers, and the -O level. All 0
 * (as a new graph has it): scalar code at -O0, every kernel naive. */
typedef struct IrMachine {
    int vec_width, vec_regs, opt_level;
} IrMachine;

/* Places of a node's output other than a workspace offset. */
enum {
    IR_BUF_INPUT = -1,  /* the caller's input (the input layer) */
    IR_BUF_OUTPUT = -2, /* the caller's output (the last node) */
    IR_BUF_FUSED = -3,  /* never written: inside a fused group */
};

typedef struct IrGraph {
    const char *name;
    SrcSpan name_span;
    IrNode *nodes;
    size_t count, cap;
    IrArena *arena;
    /* Filled by ir_graph_infer. */
    bool shaped;
    int64_t total_params, total_macs, weights_bytes;
    /* The machine the code is for, set before ir_graph_plan: the kernels
     * it chooses (ir/kernel.h) depend on it. */
    IrMachine machine;
    /* Filled by ir_graph_plan (ir/plan.h). */
    bool planned;
    int64_t workspace_bytes, peak_activation_bytes;
    /* Filled by the driver for a report with --target: what an AOT object
     * for that target costs (codegen's cg_measure). NULL target: not asked. */
    const char *target, *target_cpu;
    int64_t code_bytes, constant_bytes, data_bytes;
    bool target_exact; /* measured with the weights, not estimated without */
} IrGraph;

IrGraph *ir_graph_new(IrArena *a, const char *name);
/* Appends a node with no inputs; the pointer is valid until the next add. */
IrNode *ir_graph_add(IrGraph *g, IrOp op);
/* Gives node n its inputs, copied into the graph's arena. */
void ir_node_set_inputs(IrGraph *g, IrNode *n, const int32_t *inputs, uint32_t count);

/* What every stage asks of an op, declared once beside its shape rule (the
 * op's file in ir/ops/) and gathered from ops.def into ir_op_defs, so that
 * adding an op touches its own files and that one list. */
typedef struct IrInfer IrInfer;
typedef struct IrParamSpec IrParamSpec;
typedef struct IrOpDef {
    int32_t min_inputs, max_inputs; /* max_inputs -1: any number */
    bool in_place;                  /* may write its output over its input (ir/plan.c) */
    /* Sets n->out, n->params and n->macs from the inputs' shapes in[0 ..
     * n->ninputs) (NULL for the input layer); reports and returns false
     * when the shape fails. */
    bool (*infer)(IrInfer *cx, IrNode *n, const IrShape *in);
    /* The parameter tensors the node reads, into specs (at most
     * IR_ROLE_COUNT); returns how many. NULL: none. */
    int (*params)(const IrGraph *g, const IrNode *n, IrParamSpec *specs);
    /* The hyper-parameters for the text report, in the SPEC's letters
     * (K=6 F=5 S=1 P=2), and as JSON members (", \"size\": 5"). NULL: none. */
    void (*hyper)(const IrNode *n, char *buf, size_t size);
    void (*json)(const IrNode *n, FILE *out);
} IrOpDef;
extern const IrOpDef *const ir_op_defs[IR_OP_COUNT];

const char *ir_op_word(IrOp op);
/* The op whose kind word is word; false when there is none. */
bool ir_op_from_word(const char *word, IrOp *op);
extern const char *const ir_op_words[IR_OP_COUNT];

/* Shapes, params and MACs of every node, in order; stops at the first node whose
 * shape fails (later shapes depend on it) and reports it. */
__attribute__((warn_unused_result)) bool ir_graph_infer(IrGraph *g, IrDiag *diag);
/* Shapes nodes first.. only, whose inputs before first are shaped, and leaves
 * the totals to ir_graph_infer: a front end that adds nodes one at a time
 * shapes each once, in time linear in the graph. */
__attribute__((warn_unused_result)) bool ir_graph_infer_from(IrGraph *g, size_t first, IrDiag *diag);

/* Checks the graph's invariants; a failure is an internal error and aborts. */
void ir_graph_verify(const IrGraph *g);

/* Elements of a shape, or -1 when the product overflows. */
int64_t ir_shape_elems(IrShape s);

#endif
