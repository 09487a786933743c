/* Differential test of code generation: random chains of every op, with random
 * sizes, strides, pads (square or not), groups, dilations, global pools,
 * rounding and bias, and random DAGs (skips, adds, concats), compiled at -O0
 * and -O2 (the given corner cases at -O1 and -O3 too), loaded as shared
 * objects and run at batch 1, 7 and 13 against the reference interpreter
 * (tests/ref). */
#include <dlfcn.h>
#include <float.h>
#include <stdbool.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/cg.h"
#include "frontend/frontend.h"
#include "ir/fuse.h"
#include "ir/plan.h"
#include "tests/ref/ref.h"
#include "tests/tolerance.h"

static uint64_t rng_state = 88172645463325252u;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static int64_t pick(int64_t lo, int64_t hi) /* inclusive */
{
    return lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));
}
static float uniform(void)
{
    return (float)((double)(rng() >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* "a" or, one time in four, "axb" (width x height, SPEC section 9) with b
 * drawn from the same range. */
static const char *pair(char *buf, size_t size, int64_t a, int64_t lo, int64_t hi)
{
    if (pick(0, 3))
        snprintf(buf, size, "%" PRId64, a);
    else
        snprintf(buf, size, "%" PRId64 "x%" PRId64, a, pick(lo, hi));
    return buf;
}

/* A random layer line; the caller keeps it only if the network still checks
 * (a groups= that does not divide the depth, say, is simply drawn again). */
static void random_layer(char *buf, size_t size)
{
    static const char *const rounds[] = {"", " round=floor", " round=ceil"};
    char f[32], st[32], pd[32], extra[64] = "";
    int kind = (int)pick(0, 16), n;
    switch (kind) {
    case 0:
    case 1:
    case 2:
    case 9: { /* 9: a conv and a batchnorm after it, which ir/fuse.c folds */
        /* One conv in three grouped (G up to 8: depthwise on the shallow
         * inputs), one in four dilated. */
        int64_t k = pick(0, 2) ? pick(1, 6) : pick(7, 40);
        size_t used = 0;
        if (!pick(0, 2)) {
            int64_t g = pick(2, 8);
            k = g * pick(1, 3);
            used += (size_t)snprintf(extra + used, sizeof extra - used, " groups=%" PRId64, g);
        }
        if (!pick(0, 3))
            snprintf(extra + used, sizeof extra - used, " dilation=%s", pair(f, sizeof f, pick(1, 3), 1, 3));
        n = snprintf(buf, size, "conv filters=%" PRId64 " size=%s stride=%s pad=%s%s%s%s\n", k,
                     pair(f, sizeof f, pick(1, 4), 1, 4), pair(st, sizeof st, pick(1, 3), 1, 3),
                     pair(pd, sizeof pd, pick(0, 2), 0, 2), extra, pick(0, 2) ? "" : " bias=false", rounds[pick(0, 2)]);
        if (kind == 9 && n > 0 && (size_t)n < size)
            snprintf(buf + n, size - (size_t)n, "batchnorm%s\n", pick(0, 2) ? "" : " eps=0.01");
        break;
    }
    case 3:
    case 4: {
        /* pad <= size/2 in each dimension: the height's drawn below it. */
        int64_t fw = pick(1, 4), fh = pick(0, 3) ? fw : pick(1, 4);
        int64_t pw = pick(0, fw / 2), ph = fh == fw ? pw : pick(0, fh / 2);
        if (fh != fw)
            snprintf(f, sizeof f, "%" PRId64 "x%" PRId64, fw, fh);
        else
            snprintf(f, sizeof f, "%" PRId64, fw);
        if (ph != pw)
            snprintf(pd, sizeof pd, "%" PRId64 "x%" PRId64, pw, ph);
        else
            snprintf(pd, sizeof pd, "%" PRId64, pw);
        snprintf(buf, size, "pool %s size=%s stride=%s pad=%s%s\n", pick(0, 1) ? "max" : "avg", f,
                 pair(st, sizeof st, pick(1, 3), 1, 3), pd, rounds[pick(0, 2)]);
        break;
    }
    case 5:
        snprintf(buf, size, "fc %" PRId64 "%s\n", pick(1, 12), pick(0, 3) ? "" : " bias=false");
        break;
    case 6:
        snprintf(buf, size, "relu\n");
        break;
    case 7:
        snprintf(buf, size, "softmax\n");
        break;
    case 8:
        snprintf(buf, size, "dropout p=0.3\n");
        break;
    case 10:
        snprintf(buf, size, "pool %s global\n", pick(0, 1) ? "max" : "avg");
        break;
    case 11:
        snprintf(buf, size, "batchnorm%s\n", pick(0, 2) ? "" : " eps=0.01");
        break;
    case 12:
        snprintf(buf, size, "flatten\n");
        break;
    case 13:
        snprintf(buf, size, "relu6\n");
        break;
    case 14: /* slopes of either sign, some above 1 */
        snprintf(buf, size, "leakyrelu slope=%.3g\n", uniform() * 2);
        break;
    case 15:
        snprintf(buf, size, "sigmoid\n");
        break;
    default:
        snprintf(buf, size, "tanh\n");
        break;
    }
}

static IrGraph *try_compile(IrArena *a, const char *src, FILE *sink)
{
    IrDiag d;
    ir_diag_init(&d, "random.cnn", src, strlen(src), sink);
    return fe_compile(a, &d, src, strlen(src));
}

/* Builds a random network that passes the shape check; returns its source. */
static char *random_network(int index, FILE *sink)
{
    static char src[8192];
    int len = snprintf(src, sizeof src, "network rnd%d {\ninput %" PRId64 "x%" PRId64 "x%" PRId64 "\n", index,
                       pick(1, 14), pick(1, 14), pick(0, 2) ? pick(1, 4) : pick(5, 12));
    int layers = (int)pick(1, 7);
    for (int l = 0, tries = 0; l < layers && tries < 200; tries++) {
        char line[256];
        random_layer(line, sizeof line);
        int n = snprintf(src + len, sizeof src - (size_t)len, "%s}\n", line);
        IrArena *a = ir_arena_new();
        bool ok = try_compile(a, src, sink) != NULL;
        ir_arena_free(a);
        if (ok) {
            len += n - 2; /* keep the layer, drop the "}\n" */
            l++;
        }
        src[len] = '\0';
    }
    snprintf(src + len, sizeof src - (size_t)len, "}\n");
    return src;
}

/* The shapes of the nodes of the last network that checked, to pick
 * layers an add or a concat can take. */
typedef struct Shapes {
    int count;
    IrShape s[64];
} Shapes;

static bool check_and_shape(const char *src, FILE *sink, Shapes *out)
{
    IrArena *a = ir_arena_new();
    IrGraph *g = try_compile(a, src, sink);
    if (g && out) {
        out->count = (int)(g->count < 64 ? g->count : 64);
        for (int i = 0; i < out->count; i++)
            out->s[i] = g->nodes[i].out;
    }
    ir_arena_free(a);
    return g != NULL;
}

/* The name of node i of a random DAG: the input, or n1, n2, ... */
static const char *dag_name(int i, char *buf)
{
    if (i == 0)
        return "input";
    sprintf(buf, "n%d", i);
    return buf;
}

/* A random DAG (SPEC section 9): chain layers that may read a layer
 * several back (from=), adds of two or three same-shaped layers (skip
 * connections) and 2- to 4-way concats of layers of the same width and
 * height, any of them possibly the input or read twice. */
static char *random_dag(int index, FILE *sink)
{
    static char src[16384];
    int len = snprintf(src, sizeof src, "network dag%d {\ninput %" PRId64 "x%" PRId64 "x%" PRId64 "\n", index,
                       pick(2, 12), pick(2, 12), pick(1, 6));
    Shapes sh;
    snprintf(src + len, sizeof src - (size_t)len, "}\n");
    if (!check_and_shape(src, sink, &sh))
        return src; /* an input alone always checks; main then reports it */
    src[len] = '\0';
    int layers = (int)pick(3, 10), nodes = 1;
    for (int tries = 0; nodes <= layers && tries < 300 && nodes < 60; tries++) {
        char line[512], body[400], nm[2][16];
        int kind = (int)pick(0, 9);
        if (kind <= 1) { /* add of same-shaped layers */
            int a = (int)pick(0, nodes - 1), found[3] = {a, -1, -1}, n = 1;
            for (int j = 0; j < nodes && n < 3; j++)
                if (j != a && sh.s[j].w == sh.s[a].w && sh.s[j].h == sh.s[a].h && sh.s[j].d == sh.s[a].d && pick(0, 1))
                    found[n++] = j;
            if (n < 2)
                found[n++] = a; /* add x x */
            int w = snprintf(body, sizeof body, "add");
            for (int k = 0; k < n; k++)
                w += snprintf(body + w, sizeof body - (size_t)w, "%s%s", k && pick(0, 1) ? ", " : " ", dag_name(found[k], nm[0]));
        } else if (kind <= 3) { /* concat of 2 to 4 layers of the same W x H */
            int a = (int)pick(0, nodes - 1), want = (int)pick(2, 4);
            int w = snprintf(body, sizeof body, "concat %s", dag_name(a, nm[0]));
            for (int k = 1; k < want; k++) {
                int j = (int)pick(0, nodes - 1);
                if (sh.s[j].w != sh.s[a].w || sh.s[j].h != sh.s[a].h)
                    j = a;
                w += snprintf(body + w, sizeof body - (size_t)w, " %s", dag_name(j, nm[0]));
            }
        } else { /* a chain layer, maybe reading a layer further back */
            char layer[256];
            random_layer(layer, sizeof layer);
            layer[strcspn(layer, "\n")] = '\0';
            if (nodes > 1 && pick(0, 2) == 0)
                snprintf(body, sizeof body, "%s from=%s", layer, dag_name((int)pick(0, nodes - 2), nm[0]));
            else
                snprintf(body, sizeof body, "%s", layer);
        }
        snprintf(line, sizeof line, "n%d: %s\n", nodes, body);
        int n = snprintf(src + len, sizeof src - (size_t)len, "%s}\n", line);
        if (len + n >= (int)sizeof src)
            break;
        if (check_and_shape(src, sink, &sh)) {
            len += n - 2;
            nodes++;
        }
        src[len] = '\0';
    }
    snprintf(src + len, sizeof src - (size_t)len, "}\n");
    return src;
}

typedef int (*InferFn)(const float *, float *, size_t, void *);
typedef size_t (*WsFn)(size_t);

/* Plans g for this machine at -O<opt>, as the driver does (its kernels are
 * chosen for both), compiles it to a shared object and returns the loaded
 * handle. */
static void *build_and_load(IrGraph *g, const IrParam *params, size_t np, const float *const *w, int opt,
                            const char *dir)
{
    CgOptions o = {.opt_level = opt};
    CgOutput out;
    char err[512];
    if (!cg_machine(&o, &g->machine, err, sizeof err) || !ir_graph_plan(g)) {
        fprintf(stderr, "cannot plan %s at -O%d: %s\n", g->name, opt, err);
        return NULL;
    }
    if (!cg_compile(g, params, np, w, &o, CG_EMIT_OBJ, &out, err, sizeof err)) {
        fprintf(stderr, "cg_compile: %s\n", err);
        return NULL;
    }
    char obj[512], so[512], cmd[1200];
    snprintf(obj, sizeof obj, "%s/%s-O%d.o", dir, g->name, opt);
    snprintf(so, sizeof so, "%s/%s-O%d.so", dir, g->name, opt);
    FILE *f = fopen(obj, "wb");
    if (!f || fwrite(out.data, 1, out.size, f) != out.size) {
        perror(obj);
        return NULL;
    }
    fclose(f);
    cg_output_free(&out);
    snprintf(cmd, sizeof cmd, "cc -shared -o %s %s -lm", so, obj);
    if (system(cmd) != 0)
        return NULL;
    return dlopen(so, RTLD_NOW | RTLD_LOCAL);
}

/* Checks one network, fused (ir/fuse.c) or every layer on its own. */
static int check_network_as(const char *src, const char *dir, FILE *sink, bool fuse, bool every_level)
{
    IrArena *a = ir_arena_new();
    IrGraph *g = try_compile(a, src, sink);
    if (!g) {
        fprintf(stderr, "generated network does not check:\n%s", src);
        ir_arena_free(a);
        return 1;
    }
    if (fuse)
        ir_graph_fuse(g); /* planned per -O level by build_and_load */
    size_t np;
    IrParam *params = ir_graph_params(g, a, &np);
    float **w = ir_arena_alloc(a, np ? np : 1, sizeof *w);
    for (size_t i = 0; i < np; i++) {
        /* Weights uniform in +-sqrt(3 / fan-in), so each layer keeps its
         * input's scale: unscaled, a deep chain's values grew to thousands,
         * where float32 rounding in any summation order moves a softmax's
         * near-ties by more than the tolerance. */
        double fan_in = (params[i].role != IR_ROLE_WEIGHT) ? 1.0 : (double)params[i].count / (double)params[i].shape[0];
        float scale = (float)sqrt(3.0 / fan_in);
        w[i] = ir_arena_alloc(a, (size_t)params[i].count, sizeof(float));
        /* Inline weights= and biases= are used as written, as cnnc uses
         * them: a corner case picks its values (e.g. past an activation's
         * saturation). */
        if (params[i].inline_data) {
            memcpy(w[i], params[i].inline_data, (size_t)params[i].count * sizeof(float));
            continue;
        }
        /* A variance must be positive: [0.5, 1.5] keeps a batchnorm's
         * scale near the weight's, as a trained one is. */
        for (int64_t k = 0; k < params[i].count; k++)
            w[i][k] = params[i].role == IR_ROLE_RUNNING_VAR ? 1.0f + 0.5f * uniform()
                      : params[i].role != IR_ROLE_WEIGHT  ? uniform()
                                                          : uniform() * scale;
    }
    size_t in_n = (size_t)ir_shape_elems(g->nodes[0].out), out_n = (size_t)ir_shape_elems(g->nodes[g->count - 1].out);
    int failures = 0;
    for (int opt = 0; opt <= 3; opt += every_level ? 1 : 2) {
        void *h = build_and_load(g, params, np, (const float *const *)w, opt, dir);
        if (!h) {
            fprintf(stderr, "cannot build or load %s at -O%d: %s\n", g->name, opt, dlerror());
            failures++;
            continue;
        }
        char sym[300];
        snprintf(sym, sizeof sym, "%s_infer", g->name);
        InferFn infer = (InferFn)dlsym(h, sym);
        snprintf(sym, sizeof sym, "%s_workspace_size", g->name);
        WsFn wsize = (WsFn)dlsym(h, sym);
        /* 13 images: with groups (module.c), one of 8, one of 4, one alone. */
        static const size_t batches[] = {1, 7, 13};
        for (size_t bi = 0; bi < sizeof batches / sizeof *batches; bi++) {
            size_t batch = batches[bi];
            float *in = malloc(batch * in_n * sizeof *in);
            float *got = malloc(batch * out_n * sizeof *got);
            float *want = malloc(batch * out_n * sizeof *want);
            for (size_t i = 0; i < batch * in_n; i++)
                in[i] = uniform();
            size_t wsn = wsize(batch);
            void *ws = aligned_alloc(64, (wsn + 63) / 64 * 64 + 64);
            int rc = infer(in, got, batch, ws);
            ref_run(g, params, np, (const float *const *)w, in, want, batch);
            double ratio = cnnc_error_ratio(got, want, batch * out_n);
            if (rc != 0 || !(ratio <= 1.0)) {
                fprintf(stderr, "MISMATCH %s -O%d batch %zu%s: rc %d, error %.3g of the tolerance\n%s",
                        g->name, opt, batch, fuse ? " fused" : "", rc, ratio, src);
                failures++;
            }
            /* SPEC section 8: bad arguments are refused. */
            if (infer(in, got, 0, ws) == 0 || infer(NULL, got, batch, ws) == 0 ||
                (wsn > 0 && infer(in, got, batch, (char *)ws + 4) == 0) || wsize(0) != 0) {
                fprintf(stderr, "%s accepted bad arguments\n", g->name);
                failures++;
            }
            free(ws);
            free(in);
            free(got);
            free(want);
        }
        dlclose(h);
    }
    ir_arena_free(a);
    return failures;
}

/* -O0 and -O2, fused and not; a given corner fused at every level (-O1
 * and -O3 choose kernels as -O2 does, but LLVM's passes differ). */
static int check_network(const char *src, const char *dir, FILE *sink, bool every_level)
{
    return check_network_as(src, dir, sink, false, false) + check_network_as(src, dir, sink, true, every_level);
}

/* The activations on values that uniform inputs never reach: NaN, +-inf,
 * +-0, subnormals, tiny values (tanh x ~ x), the edges of tanh's two
 * ranges, saturation and FLT_MAX, in a vector body and a scalar tail.
 * Each value is judged on its own: NaN where the reference has NaN, equal
 * infinities, else within the tolerance of the value itself, which the
 * tolerance of the whole output (1e-4 of 1 for these) could not see for
 * tiny values; a result under FLT_MIN may be flushed to 0. */
static int check_special_values(const char *dir, FILE *sink)
{
    static const float values[] = {
        NAN, -NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-40f, -1e-40f, 1e-30f, -1e-30f, 1e-8f, -3e-6f,
        0.01f, -0.3f, 0.4999f, -0.5f, 0.5001f, 0.7f, -1, 2.5f, -6, 6.0001f, 9, -20, 44, -87.3f, 88.7f, -89,
        100, -100, 1e30f, -1e30f, FLT_MAX, -FLT_MAX, 3.3f, -7.25f, 0.125f};
    static const char *const acts[] = {"relu", "relu6", "leakyrelu", "leakyrelu slope=-3.5", "leakyrelu slope=0",
                                       "sigmoid", "tanh"};
    const size_t n = sizeof values / sizeof *values;
    int failures = 0;
    for (size_t k = 0; k < sizeof acts / sizeof *acts; k++) {
        char src[256];
        snprintf(src, sizeof src, "network special%zu {\n input %zux1x1\n %s\n}\n", k, n, acts[k]);
        IrArena *a = ir_arena_new();
        IrGraph *g = try_compile(a, src, sink);
        if (!g) {
            fprintf(stderr, "cannot compile:\n%s", src);
            ir_arena_free(a);
            failures++;
            continue;
        }
        for (int opt = 0; opt <= 2; opt += 2) {
            void *h = build_and_load(g, NULL, 0, NULL, opt, dir);
            char sym[64];
            snprintf(sym, sizeof sym, "special%zu_infer", k);
            InferFn infer = h ? (InferFn)dlsym(h, sym) : NULL;
            float got[sizeof values / sizeof *values], want[sizeof values / sizeof *values];
            static char ws[64] __attribute__((aligned(64)));
            if (!infer || infer(values, got, 1, ws) != 0) {
                fprintf(stderr, "cannot build or run %s at -O%d\n", acts[k], opt);
                failures++;
                continue;
            }
            ref_run(g, NULL, 0, NULL, values, want, 1);
            for (size_t i = 0; i < n; i++) {
                double err = fabs((double)got[i] - want[i]);
                bool ok = isnan(want[i])   ? isnan(got[i])
                          : isinf(want[i]) ? got[i] == want[i]
                                           : err <= CNNC_TOLERANCE * fabs(want[i]) || err < FLT_MIN;
                if (!ok) {
                    fprintf(stderr, "MISMATCH %s -O%d at x = %.9g: %.9g, the reference %.9g\n", acts[k], opt,
                            values[i], got[i], want[i]);
                    failures++;
                }
            }
            dlclose(h);
        }
        ir_arena_free(a);
    }
    return failures;
}

int main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 40;
    char dir[] = "/tmp/cnnc-diff-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    FILE *sink = fopen("/dev/null", "w");
    int failures = 0;
    /* Replaying one network: diff_codegen 0 FILE.cnn */
    for (int i = 2; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        static char src[65536];
        size_t n = f ? fread(src, 1, sizeof src - 1, f) : 0;
        if (f)
            fclose(f);
        src[n] = '\0';
        failures += check_network(src, dir, sink, true) != 0;
    }
    failures += check_special_values(dir, sink) != 0;
    bool show = getenv("CNNC_DIFF_SHOW") != NULL; /* print the networks, to see what is covered */
    for (int i = 0; i < count; i++) {
        const char *src = random_network(i, sink);
        if (show)
            fputs(src, stdout);
        failures += check_network(src, dir, sink, false) != 0;
    }
    /* As many random DAGs as half the chains. */
    for (int i = 0; i < count / 2; i++) {
        const char *src = random_dag(i, sink);
        if (show)
            fputs(src, stdout);
        failures += check_network(src, dir, sink, false) != 0;
    }
    fclose(sink);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    printf("%d random networks, %d random DAGs and %d given ones, %d failed\n", count, count / 2, argc > 2 ? argc - 2 : 0,
           failures);
    return failures ? 1 : 0;
}
