/* The reference: a plain C interpreter of the IR with simple loops and double
 * accumulation, written from the SPEC's definitions and nothing of codegen/,
 * so tests can check generated code on any network and any batch. */
#ifndef CNNC_TESTS_REF_H
#define CNNC_TESTS_REF_H

#include <stddef.h>

#include "ir/ir.h"
#include "ir/params.h"

/* One op on one image: xs[k] its k-th input, y its output (distinct buffers);
 * p[role] the layer's tensor of each role (IrParamRole), NULL when absent. */
#define IR_OP(id, word)                                                                         \
    void ref_##word(const IrGraph *g, size_t node, const float *const *xs, float *y,            \
                    const float *const *p);
#include "ir/ops.def"
#undef IR_OP

/* Runs batch images through g; weights[i] holds params[i]'s floats. */
void ref_run(const IrGraph *g, const IrParam *params, size_t nparams, const float *const *weights,
             const float *input, float *output, size_t batch);

#endif
