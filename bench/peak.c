/* peak.c — the machine's peak for bench/run.sh: float32 GFLOP/s of fused
 * multiply-adds on the widest vectors the host has (AVX-512, else AVX2+FMA,
 * else 128-bit multiply and add), on one thread and on T threads, and the
 * memory bandwidth of a STREAM-style triad, likewise.
 *
 *     cc -O2 -march=native -pthread bench/peak.c -o peak && ./peak [T]
 *
 * Prints one JSON object. Each figure is the best of several repetitions: on a
 * machine shared with other jobs the best one is the least disturbed.
 *
 * The FMA kernel keeps 12 independent accumulator chains: a chain's next FMA
 * waits for the previous one (4 cycles of latency on recent x86) and two FMA
 * ports each start one per cycle, so at least 8 chains are needed to keep both
 * busy; 12 leave slack. acc = acc * a + b with a just below 1 converges, so no
 * value overflows or becomes subnormal (which would slow the units down). The
 * chains start from different values, or the compiler would merge them into one.
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { CHAINS = 12, REPS = 5 };

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* -- FMA chains, one function per vector width -------------------------------- */

#define CHAIN12(FMA)                                                                                 \
    a0 = FMA(a0, m, c); a1 = FMA(a1, m, c); a2 = FMA(a2, m, c); a3 = FMA(a3, m, c);                \
    a4 = FMA(a4, m, c); a5 = FMA(a5, m, c); a6 = FMA(a6, m, c); a7 = FMA(a7, m, c);                \
    a8 = FMA(a8, m, c); a9 = FMA(a9, m, c); a10 = FMA(a10, m, c); a11 = FMA(a11, m, c)

__attribute__((target("avx512f"))) static float fma_avx512(uint64_t iters) {
    __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
    __m512 a0 = _mm512_set1_ps(0.10f), a1 = _mm512_set1_ps(0.11f), a2 = _mm512_set1_ps(0.12f),
           a3 = _mm512_set1_ps(0.13f), a4 = _mm512_set1_ps(0.14f), a5 = _mm512_set1_ps(0.15f),
           a6 = _mm512_set1_ps(0.16f), a7 = _mm512_set1_ps(0.17f), a8 = _mm512_set1_ps(0.18f),
           a9 = _mm512_set1_ps(0.19f), a10 = _mm512_set1_ps(0.20f), a11 = _mm512_set1_ps(0.21f);
    for (uint64_t i = 0; i < iters; i++) {
        CHAIN12(_mm512_fmadd_ps);
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static float fma_avx2(uint64_t iters) {
    __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
    __m256 a0 = _mm256_set1_ps(0.10f), a1 = _mm256_set1_ps(0.11f), a2 = _mm256_set1_ps(0.12f),
           a3 = _mm256_set1_ps(0.13f), a4 = _mm256_set1_ps(0.14f), a5 = _mm256_set1_ps(0.15f),
           a6 = _mm256_set1_ps(0.16f), a7 = _mm256_set1_ps(0.17f), a8 = _mm256_set1_ps(0.18f),
           a9 = _mm256_set1_ps(0.19f), a10 = _mm256_set1_ps(0.20f), a11 = _mm256_set1_ps(0.21f);
    for (uint64_t i = 0; i < iters; i++) {
        CHAIN12(_mm256_fmadd_ps);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

/* No FMA: a multiply and an add per element, counted as two flops. */
typedef float v4f __attribute__((vector_size(16)));
#define MULADD(x, y, z) ((x) * (y) + (z))
static float fma_generic(uint64_t iters) {
    v4f m = {0.999999f, 0.999999f, 0.999999f, 0.999999f}, c = {1e-6f, 1e-6f, 1e-6f, 1e-6f};
    v4f a0 = {0.10f, 0.10f, 0.10f, 0.10f}, a1 = a0 + 0.01f, a2 = a0 + 0.02f, a3 = a0 + 0.03f,
        a4 = a0 + 0.04f, a5 = a0 + 0.05f, a6 = a0 + 0.06f, a7 = a0 + 0.07f, a8 = a0 + 0.08f,
        a9 = a0 + 0.09f, a10 = a0 + 0.10f, a11 = a0 + 0.11f;
    for (uint64_t i = 0; i < iters; i++) {
        CHAIN12(MULADD);
    }
    v4f s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    return s[0] + s[1] + s[2] + s[3];
}

typedef float (*FmaFn)(uint64_t iters);

/* -- threads: every thread runs the same work between two barriers ---------------- */

typedef struct {
    pthread_barrier_t *start, *stop;
    FmaFn fma;
    uint64_t iters;
    float *a, *b, *c; /* triad slice */
    size_t n;
    int mode; /* 0: FMA chains, 1: triad */
    volatile float sink;
} Worker;

static void triad(float *restrict a, const float *restrict b, const float *restrict c, size_t n) {
    for (size_t i = 0; i < n; i++)
        a[i] = b[i] + 3.0f * c[i];
}

static void *worker_main(void *arg) {
    Worker *w = arg;
    pthread_barrier_wait(w->start);
    if (w->mode == 0)
        w->sink = w->fma(w->iters);
    else
        triad(w->a, w->b, w->c, w->n);
    pthread_barrier_wait(w->stop);
    return NULL;
}

/* Seconds for nthreads workers to do their share, best of REPS. */
static double run_threads(int nthreads, Worker *proto, float *a, float *b, float *c, size_t n) {
    double best = 1e30;
    pthread_t *tids = calloc((size_t)nthreads, sizeof *tids);
    Worker *ws = calloc((size_t)nthreads, sizeof *ws);
    if (!tids || !ws) {
        fprintf(stderr, "peak: out of memory\n");
        exit(1);
    }
    for (int rep = 0; rep < REPS; rep++) {
        pthread_barrier_t start, stop;
        pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1);
        pthread_barrier_init(&stop, NULL, (unsigned)nthreads + 1);
        for (int t = 0; t < nthreads; t++) {
            ws[t].start = &start;
            ws[t].stop = &stop;
            ws[t].fma = proto->fma;
            ws[t].iters = proto->iters;
            ws[t].mode = proto->mode;
            size_t lo = n * (size_t)t / (size_t)nthreads, hi = n * (size_t)(t + 1) / (size_t)nthreads;
            ws[t].a = a ? a + lo : NULL;
            ws[t].b = b ? b + lo : NULL;
            ws[t].c = c ? c + lo : NULL;
            ws[t].n = hi - lo;
            if (pthread_create(&tids[t], NULL, worker_main, &ws[t]) != 0) {
                fprintf(stderr, "peak: cannot start thread %d\n", t);
                exit(1);
            }
        }
        pthread_barrier_wait(&start);
        double t0 = now_s();
        pthread_barrier_wait(&stop);
        double dt = now_s() - t0;
        for (int t = 0; t < nthreads; t++)
            pthread_join(tids[t], NULL);
        pthread_barrier_destroy(&start);
        pthread_barrier_destroy(&stop);
        if (dt < best)
            best = dt;
    }
    free(tids);
    free(ws);
    return best;
}

int main(int argc, char **argv) {
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int nthreads = argc > 1 ? atoi(argv[1]) : (int)(ncpu > 0 ? ncpu : 1);
    if (nthreads < 1 || nthreads > 4096) {
        fprintf(stderr, "usage: peak [THREADS]\n");
        return 2;
    }

    const char *isa = "sse";
    int lanes = 4;
    FmaFn fma = fma_generic;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        isa = "avx512", lanes = 16, fma = fma_avx512;
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        isa = "avx2", lanes = 8, fma = fma_avx2;
    }

    /* About 0.1-0.3 s a repetition at tens of GFLOP/s per thread. */
    Worker proto = {.fma = fma, .iters = 160u * 1000 * 1000 / (uint64_t)(lanes / 4), .mode = 0};
    double flops = 2.0 * CHAINS * lanes * (double)proto.iters;
    fma(1000 * 1000); /* wake the core up (frequency, vector unit power) */
    double g1 = flops / run_threads(1, &proto, NULL, NULL, NULL, 0) * 1e-9;
    double gn = (double)nthreads * flops / run_threads(nthreads, &proto, NULL, NULL, NULL, 0) * 1e-9;

    /* Triad over 3 x 128 MiB, far beyond any cache; each thread first-touches
     * its own slice, so pages are near the thread that uses them. */
    size_t n = (size_t)32 << 20;
    float *a = aligned_alloc(64, n * sizeof(float)), *b = aligned_alloc(64, n * sizeof(float)),
          *c = aligned_alloc(64, n * sizeof(float));
    if (!a || !b || !c) {
        fprintf(stderr, "peak: out of memory for the bandwidth arrays\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        a[i] = 0.0f, b[i] = 1.0f, c[i] = 2.0f;
    Worker tri = {.mode = 1};
    double bytes = 3.0 * (double)n * sizeof(float);
    double bw1 = bytes / run_threads(1, &tri, a, b, c, n) * 1e-9;
    double bwn = bytes / run_threads(nthreads, &tri, a, b, c, n) * 1e-9;
    if (a[n / 2] != 7.0f) {
        fprintf(stderr, "peak: the triad computed %g, not 7\n", (double)a[n / 2]);
        return 1;
    }
    free(a);
    free(b);
    free(c);

    printf("{\"isa\": \"%s\", \"vector_bits\": %d, \"threads\": %d, "
           "\"gflops_1\": %.2f, \"gflops_all\": %.2f, \"bandwidth_gbs_1\": %.2f, \"bandwidth_gbs_all\": %.2f}\n",
           isa, lanes * 32, nthreads, g1, gn, bw1, bwn);
    return 0;
}
