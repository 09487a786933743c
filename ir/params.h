/* The network's parameter tensors, named and shaped as PyTorch's state dict
 * (SPEC sections 4, 9): what a weights file must hold and what code
 * generation embeds or expects at run time. Each op says which tensors it
 * reads (IrOpDef.params); this lists them for the whole graph. */
#ifndef CNNC_IR_PARAMS_H
#define CNNC_IR_PARAMS_H

#include "ir.h"

/* What a tensor is to its layer; its name is "<layer>.<role word>". */
typedef enum {
    IR_ROLE_WEIGHT,
    IR_ROLE_BIAS,
    IR_ROLE_RUNNING_MEAN,
    IR_ROLE_RUNNING_VAR,
    IR_ROLE_COUNT
} IrParamRole;
extern const char *const ir_role_words[IR_ROLE_COUNT];

/* One tensor as an op declares it. */
struct IrParamSpec {
    IrParamRole role;
    int32_t rank;
    int64_t shape[4];
    const IrParamList *given; /* written in the source, or NULL */
};

typedef struct IrParam {
    const char *name;  /* "<layer>.weight", "<layer>.running_var" ... */
    int32_t node;      /* the layer it belongs to */
    IrParamRole role;
    int32_t rank;      /* conv weight 4 [K, D1/G, Fh, Fw]; fc weight 2 [K, N]; others 1 [K] */
    int64_t shape[4];
    int64_t count;
    const float *inline_data; /* written in the source, or NULL */
} IrParam;

/* Every parameter tensor of a shaped graph, in layer order, each layer's in
 * the order of IrParamRole. */
IrParam *ir_graph_params(const IrGraph *g, IrArena *a, size_t *count);

/* Index into params of node's tensor of the given role, or -1. */
int64_t ir_param_find(const IrParam *params, size_t nparams, size_t node, IrParamRole role);

#endif
