/* The ONNX front end (SPEC section 10): a ModelProto in, the same shaped IR
 * graph the .cnn front end builds out, with the initializers as the values
 * of the graph's parameter tensors. Problems go to the diagnostics sink,
 * each naming the node and its op where it has one. */
#ifndef CNNC_FRONTEND_ONNX_ONNX_H
#define CNNC_FRONTEND_ONNX_ONNX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/ir.h"

/* One parameter tensor's values, by the name ir_graph_params gives it
 * ("<layer>.weight"), in PyTorch's layout. */
typedef struct FeOnnxTensor {
    const char *name;
    const float *data;
    int64_t count;
} FeOnnxTensor;

typedef struct FeOnnxWeights {
    FeOnnxTensor *v;
    size_t count;
} FeOnnxWeights;

/* True when bytes start like a serialized ModelProto rather than text: a
 * protobuf field tag of ModelProto, a byte no .cnn source starts with. */
bool fe_onnx_sniff(const char *bytes, size_t len);

/* Reads, imports and shape-checks the model; NULL after reporting errors.
 * name is the network's name (the C symbols' prefix). weights receives the
 * initializers that became parameter tensors, in the graph's arena. */
IrGraph *fe_onnx_compile(IrArena *a, IrDiag *diag, const char *bytes, size_t len, const char *name,
                         FeOnnxWeights *weights);

/* One float tensor of a TensorProto file (the conformance data's
 * input_0.pb), malloc'ed into *data; false with a message in msg. */
bool fe_onnx_read_tensor_file(const char *bytes, size_t len, float **data, int64_t *count, int64_t *dims, int *rank,
                              char *msg, size_t msg_size);

#endif
