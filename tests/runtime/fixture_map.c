/* A second hand-written cnnrt_model for the runtime's CLI test: "fixmap", a
 * 4x4x1 map to a 4x4x1 map, y = w x + b (a 1x1 conv), with w embedded (0.5,
 * replaceable by --weights) and b written inline (fixed at 0.25: a file
 * tensor for it is only a warning). No mean/std: images are pixel/maxval. */
#include <stdint.h>

#include "runtime/cnnrt.h"

static size_t workspace_size(size_t batch)
{
    (void)batch;
    return 0;
}

static int run(const float *input, float *output, size_t batch, void *workspace, const float *const *params)
{
    if (!input || !output || !workspace || !params || batch == 0 || (uintptr_t)workspace % 64 != 0)
        return 1;
    for (size_t i = 0; i < batch * 16; i++)
        output[i] = params[0][0] * input[i] + params[1][0];
    return 0;
}

static const float weight[] = {0.5f}, bias[] = {0.25f};

static const CnnrtParam params[] = {
    {"conv.weight", 4, {1, 1, 1, 1}, 1, weight, 0, 0, 0},
    {"conv.bias", 1, {1}, 1, bias, 1, 0, 0},
};

const CnnrtModel cnnrt_model = {
    .abi = CNNRT_ABI_VERSION,
    .name = "fixmap",
    .in_w = 4, .in_h = 4, .in_d = 1,
    .out_w = 4, .out_h = 4, .out_d = 1,
    .nparams = 2, .params = params,
    .workspace_size = workspace_size,
    .run = run,
};
