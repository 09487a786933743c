/* The contract between the code cnnc generates and libcnnrt, the runtime the
 * programs it builds link with (SPEC section 6). The generated object of an
 * executable defines cnnrt_model; the runtime's main reads inputs, loads or
 * checks weights, calls run() and prints or writes the results.
 * This header includes nothing of the compiler. */
#ifndef CNNC_RUNTIME_CNNRT_H
#define CNNC_RUNTIME_CNNRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CNNRT_ABI_VERSION 1

/* One parameter tensor, named and shaped as in PyTorch's state dict (SPEC
 * section 4): conv weight [K, D1, F, F], conv bias [K], fc weight [K, N], fc
 * bias [K]. */
typedef struct CnnrtParam {
    const char *name;      /* "conv1.weight" */
    int32_t rank;          /* 1, 2 or 4 */
    int64_t shape[4];      /* the first rank entries are used */
    int64_t count;         /* product of shape */
    const float *embedded; /* compiled-in values, or NULL when none were given */
    int32_t fixed;         /* 1: written inline in the source; a weights file does not replace it */
} CnnrtParam;

typedef struct CnnrtModel {
    uint32_t abi; /* CNNRT_ABI_VERSION */
    const char *name;
    int64_t in_w, in_h, in_d;    /* input W x H x D */
    int64_t out_w, out_h, out_d; /* output W x H x D; W = H = 1 is a vector output */
    /* Image normalisation, x = (pixel/maxval - mean[c]) / std[c]; a count is 0
     * (not given), 1 (all channels) or in_d. */
    int32_t nmean, nstd;
    const float *mean, *std;
    int32_t nparams;
    const CnnrtParam *params;
    /* Bytes of scratch run() needs for batch images (0 for batch 0). */
    size_t (*workspace_size)(size_t batch);
    /* Runs batch images stored one after another (each D x H x W, C order) into
     * output; params[i] points at params[i].count floats. The workspace is at
     * least workspace_size(batch) bytes, 64-byte aligned. Returns 0 on success,
     * non-zero on bad arguments. */
    int (*run)(const float *input, float *output, size_t batch, void *workspace,
               const float *const *params);
} CnnrtModel;

/* Defined by the object cnnc generates for an executable. */
extern const CnnrtModel cnnrt_model;

#ifdef __cplusplus
}
#endif

#endif
