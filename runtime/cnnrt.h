/* The contract between the code cnnc generates and libcnnrt, the runtime the
 * programs it builds link with (SPEC section 6). The generated object of an
 * executable defines cnnrt_model; the runtime's main reads inputs, loads or
 * checks weights, calls run() and prints or writes the results.
 * This header includes nothing of the compiler. */
#ifndef CNNC_RUNTIME_CNNRT_H
#define CNNC_RUNTIME_CNNRT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CNNRT_ABI_VERSION 4

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
    int32_t pack;          /* 0, or run() takes the values packed in blocks of this many filters or rows */
    int32_t wino;          /* 0, or m: a conv weight packed for Winograd F(m x m, F x F) (4 for 3x3, 2 for 5x5) */
} CnnrtParam;

/* The packed layout of a conv's or an fc's parameters (CnnrtParam.pack =
 * B > 0), for kernels that load one tap of B filters (or one input's weights
 * for B rows) as vectors: weight [K][D][F][F] becomes [ceil(K/B)][D][F][F][B],
 * fc weight [K][N] becomes [ceil(K/B)][N][B], and bias [K] becomes
 * [ceil(K/B) * B], with zeros for the filters or rows past K. A conv
 * weight for Winograd F(m x m, F x F) (CnnrtParam.wino = m, with m + F = 7:
 * F(4x4, 3x3) or F(2x2, 5x5)) is transformed first, each F x F filter g of
 * a channel into the 6x6 G g G^T, and becomes [ceil(K/B)][36][D][B]: for
 * one of the 36 points, a block's weights are one stream in channel order.
 * Embedded values are packed already; values from a weights file are packed
 * by the runtime before run(). The compiler packs with the same functions,
 * so there is one definition of the layout. */
static inline int64_t cnnrt_packed_count(int32_t rank, const int64_t *shape, int32_t pack, int32_t wino)
{
    int64_t n = pack > 0 ? (shape[0] + pack - 1) / pack * pack : shape[0];
    if (wino && rank == 4)
        return n * shape[1] * 36;
    for (int32_t i = 1; i < rank; i++)
        n *= shape[i];
    return n;
}

/* G[j][k] of Winograd's filter transform for r x r filters (r = 3 or 5)
 * with the points 0, 1, -1, 2, -2 and infinity (Lavin and Gray, "Fast
 * Algorithms for Convolutional Neural Networks", 2016): p_j^k / prod_{l !=
 * j} (p_j - p_l) for the finite points, whatever r; the last row, infinity's,
 * picks the filter's last tap. */
static inline double cnnrt_wino_g(int j, int k, int r)
{
    static const double G[5][5] = {{1.0 / 4, 0, 0, 0, 0},
                                   {-1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6},
                                   {-1.0 / 6, 1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6},
                                   {1.0 / 24, 1.0 / 12, 1.0 / 6, 1.0 / 3, 2.0 / 3},
                                   {1.0 / 24, -1.0 / 12, 1.0 / 6, -1.0 / 3, 2.0 / 3}};
    return j == 5 ? (k == r - 1) : G[j][k];
}

/* u = G g G^T, 6 x 6, for an r x r filter g; in double, so that the packed
 * weight is the transform rounded once. */
static inline void cnnrt_wino_filter(const float *g, int r, float *u)
{
    double t[6][5];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < r; j++) {
            double sum = 0;
            for (int k = 0; k < r; k++)
                sum += cnnrt_wino_g(i, k, r) * g[k * r + j];
            t[i][j] = sum;
        }
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            double sum = 0;
            for (int k = 0; k < r; k++)
                sum += t[i][k] * cnnrt_wino_g(j, k, r);
            u[i * 6 + j] = (float)sum;
        }
}

static inline void cnnrt_pack(int32_t rank, const int64_t *shape, int32_t pack, int32_t wino, const float *raw,
                              float *out)
{
    int64_t k_count = shape[0], taps = 1; /* taps: D x F x F for a weight, 1 for a bias */
    for (int32_t i = 1; i < rank; i++)
        taps *= shape[i];
    int64_t blocks = (k_count + pack - 1) / pack;
    if (wino && rank == 4) { /* F x F filters, F = 7 - wino (CnnrtParam.wino) */
        const int64_t D = shape[1], r = shape[2];
        float u[36];
        /* j innermost: a channel's 36 points for the block's filters are
         * 36 runs of pack floats, written whole. */
        for (int64_t b = 0; b < blocks; b++)
            for (int64_t d = 0; d < D; d++)
                for (int64_t j = 0; j < pack; j++) {
                    int64_t k = b * pack + j;
                    if (k < k_count)
                        cnnrt_wino_filter(raw + (k * D + d) * r * r, (int)r, u);
                    for (int p = 0; p < 36; p++)
                        out[((b * 36 + p) * D + d) * pack + j] = k < k_count ? u[p] : 0.0f;
                }
        return;
    }
    for (int64_t b = 0; b < blocks; b++)
        for (int64_t t = 0; t < taps; t++)
            for (int64_t j = 0; j < pack; j++) {
                int64_t k = b * pack + j;
                out[(b * taps + t) * pack + j] = k < k_count ? raw[k * taps + t] : 0.0f;
            }
}

/* A batchnorm folded into the conv before it (SPEC section 9): indices into
 * CnnrtModel.params. run() reads the conv's weight as folded, and the
 * folded bias from the batchnorm's bias (beta) slot, packed as the conv's
 * bias would be; it reads neither the conv's own bias nor the batchnorm's
 * other tensors. Embedded values are folded already; values from a weights
 * file are folded by the runtime (cnnrt_fold), then packed. */
typedef struct CnnrtFold {
    int32_t weight, bias;           /* the conv's weight, and its own bias or -1 (bias=false) */
    int32_t gamma, beta, mean, var; /* the batchnorm's weight, bias, running_mean, running_var */
    double eps;
} CnnrtFold;

/* The fold, one definition for the compiler (embedded weights) and the
 * runtime (--weights): for each of the K filters, of taps floats each
 * (D x F x F), s = gamma / sqrt(var + eps), w' = w s and b' = (b - mean) s
 * + beta (b 0 when NULL), computed in double and rounded once to float.
 * w_out may be w and b_out may be beta. */
static inline void cnnrt_fold(int64_t K, int64_t taps, double eps, const float *w, const float *b, const float *gamma,
                              const float *beta, const float *mean, const float *var, float *w_out, float *b_out)
{
    for (int64_t k = 0; k < K; k++) {
        double s = (double)gamma[k] / sqrt((double)var[k] + eps);
        for (int64_t t = 0; t < taps; t++)
            w_out[k * taps + t] = (float)((double)w[k * taps + t] * s);
        b_out[k] = (float)(((b ? (double)b[k] : 0.0) - (double)mean[k]) * s + (double)beta[k]);
    }
}

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
    /* Bytes of scratch run() needs for batch images (0 for batch 0). Ask
     * after cnnrt_pool_start (runtime/pool.h): a small network runs its
     * images on the pool's threads, an arena each. */
    size_t (*workspace_size)(size_t batch);
    /* Runs batch images stored one after another (each D x H x W, C order) into
     * output; params[i] points at params[i].count floats (packed, and
     * cnnrt_packed_count of them, when params[i].pack > 0). The workspace is at
     * least workspace_size(batch) bytes, 64-byte aligned. Returns 0 on success,
     * non-zero on bad arguments. */
    int (*run)(const float *input, float *output, size_t batch, void *workspace,
               const float *const *params);
    /* The batchnorms folded into convs, for weights read at run time. */
    int32_t nfolds;
    const CnnrtFold *folds;
} CnnrtModel;

/* Defined by the object cnnc generates for an executable. */
extern const CnnrtModel cnnrt_model;

#ifdef __cplusplus
}
#endif

#endif
