/* The network's parameter tensors, named and shaped as PyTorch's state dict
 * (SPEC section 4): what a weights file must hold and what code generation
 * embeds or expects at run time. */
#ifndef CNNC_IR_PARAMS_H
#define CNNC_IR_PARAMS_H

#include "ir.h"

typedef struct IrParam {
    const char *name;  /* "<layer>.weight" or "<layer>.bias" */
    int32_t node;      /* the layer it belongs to */
    bool is_bias;
    int32_t rank;      /* conv weight 4 [K, D1, F, F]; fc weight 2 [K, N]; bias 1 [K] */
    int64_t shape[4];
    int64_t count;
    const float *inline_data; /* written in the source, or NULL */
} IrParam;

/* Every parameter tensor of a shaped graph, in layer order, weight before bias. */
IrParam *ir_graph_params(const IrGraph *g, IrArena *a, size_t *count);

#endif
