/* A hand-written cnnrt_model standing in for cnnc's generated object in the
 * runtime's CLI test: "fixclass", a 4x4x1 input (mean 0.5, std 0.25 for
 * images) fully connected to 3 classes, y[k] = b[k] + sum_j W[k][j] x[j],
 * with params fc.weight [3, 16] and fc.bias [3] and no embedded values, so
 * the program needs --weights. */
#include <stdint.h>

#include "runtime/cnnrt.h"

static size_t workspace_size(size_t batch)
{
    return batch * 16 * sizeof(float);
}

static int run(const float *input, float *output, size_t batch, void *workspace, const float *const *params)
{
    if (!input || !output || !workspace || !params || batch == 0 || (uintptr_t)workspace % 64 != 0)
        return 1;
    const float *w = params[0], *b = params[1];
    /* Copy through the workspace so a short workspace shows under ASan. */
    float *x = workspace;
    for (size_t i = 0; i < batch * 16; i++)
        x[i] = input[i];
    for (size_t n = 0; n < batch; n++)
        for (int k = 0; k < 3; k++) {
            double s = b[k];
            for (int j = 0; j < 16; j++)
                s += (double)w[k * 16 + j] * x[n * 16 + j];
            output[n * 3 + k] = (float)s;
        }
    return 0;
}

static const float mean[] = {0.5f}, std[] = {0.25f};

static const CnnrtParam params[] = {
    {"fc.weight", 2, {3, 16}, 48, NULL, 0, 0, 0},
    {"fc.bias", 1, {3}, 3, NULL, 0, 0, 0},
};

const CnnrtModel cnnrt_model = {
    .abi = CNNRT_ABI_VERSION,
    .name = "fixclass",
    .in_w = 4, .in_h = 4, .in_d = 1,
    .out_w = 1, .out_h = 1, .out_d = 3,
    .nmean = 1, .nstd = 1, .mean = mean, .std = std,
    .nparams = 2, .params = params,
    .workspace_size = workspace_size,
    .run = run,
};
