/* The main of every program cnnc builds (SPEC sections 6 and 8). The
 * generated object defines cnnrt_model; this file reads the command line,
 * the inputs (.npy, .pgm, .ppm) and the weights (embedded, or --weights),
 * calls the model's run() once (or --bench times) and prints or writes the
 * results. Exit status: 0 success, 1 a bad input or weights file, 2 a usage
 * error. Everything written goes through a temporary file renamed on
 * success, so an error leaves nothing behind. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "runtime/cnnrt.h"
#include "runtime/image.h"
#include "runtime/npy.h"
#include "runtime/pool.h"
#include "runtime/profile.h"
#include "runtime/rtio.h"
#include "runtime/safetensors.h"

#ifndef CNNC_VERSION
#define CNNC_VERSION "unknown"
#endif

enum { EXIT_OK = 0, EXIT_INPUT = 1, EXIT_USAGE = 2 };

typedef enum { OUT_NONE, OUT_NPY, OUT_PGM, OUT_PPM } OutKind;

typedef struct Options {
    const char *weights, *output, *labels;
    OutKind out_kind;
    long top, bench, threads, resize;
    bool json, profile;
    const char **inputs;
    int ninputs;
} Options;

/* An input that could not be read: the batch goes on without it. */
typedef struct BadInput {
    size_t before; /* the batch's images read before it: where it goes in the results */
    const char *path;
    char *error; /* the message printed for it */
} BadInput;

/* One image of the batch and what to call it when printing. */
typedef struct Batch {
    float *data; /* count images of in_size floats */
    size_t count, cap;
    char **names;
    BadInput *bad; /* nbad inputs that could not be read, in order */
    size_t nbad;
} Batch;

static const char *prog = "cnnrt";
/* The last error message() printed, for the --json entry of a bad input. */
static char last_error[8192];

static void message(const char *kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void message(const char *kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s: %s\n", prog, kind, last_error);
}

static void usage_line(FILE *f)
{
    fprintf(f, "usage: %s [--weights FILE] [--output FILE] [--top K] [--labels FILE] [--json]\n"
               "       %*s [--resize S] [--bench N] [--threads T] [--profile] [INPUT ...]\n",
            prog, (int)strlen(prog), "");
}

static void help(const CnnrtModel *m)
{
    usage_line(stdout);
    printf("\nRuns the network '%s' (input %lldx%lldx%lld, output %lldx%lldx%lld, W x H x D).\n\n", m->name,
           (long long)m->in_w, (long long)m->in_h, (long long)m->in_d, (long long)m->out_w,
           (long long)m->out_h, (long long)m->out_d);
    printf("  INPUT              .npy (float32, or float64/uint8 converted; shape (D,H,W),\n"
           "                     (N,D,H,W), or (H,W) for a 1-deep input), used as it is; or\n"
           "                     an image: PNG, JPEG, PGM or PPM (P2, P5, P3, P6) of the\n"
           "                     input's size (or any size with --resize), scaled to\n"
           "                     0..1 and normalised. Several inputs make one batch.\n"
           "  --resize S         scale each image's shorter side to S (bilinear, as PIL\n"
           "                     resizes), then crop its centre to the input's size:\n"
           "                     torchvision's Resize(S) + CenterCrop; ImageNet uses 256\n"
           "                     for a 224x224 input\n"
           "  --weights FILE     safetensors weights (needed when none were embedded;\n"
           "                     given anyway, they replace the embedded ones)\n"
           "  --output FILE      write the output: .npy, (N, K) for a vector output or\n"
           "                     (N, D, H, W) otherwise; .pgm/.ppm for a 1- or 3-deep map\n"
           "  --top K            print the K best classes of a vector output (default 5)\n"
           "  --labels FILE      class names, one per line\n"
           "  --json             print the results as a JSON array\n"
           "  --bench N          run N times and print latency and images per second\n"
           "                     (on zeros when there is no INPUT), after one untimed\n"
           "                     run and with the weights copied to memory of their own\n"
           "  --profile          also print each layer's time per run and GFLOP/s (the\n"
           "                     timed runs of --bench, else the one run), to stderr\n"
           "  --threads T        threads to run on (default: every core)\n"
           "  --help, --version\n"
           "\nAn INPUT that cannot be read is reported and left out: the others still get\n"
           "their results (with --json, an entry with an \"error\"), but --output is not\n"
           "written, and the exit status is 1.\n"
           "\nExit status: 0 success, 1 a bad input or weights file, 2 a usage error.\n");
}

/* A whole positive decimal number for option opt, at most max. A larger
 * number is clamped to max when clamp is set (--top: more than the class
 * count prints them all) and refused otherwise. */
static bool parse_count(const char *opt, const char *s, long max, bool clamp, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < 1 || (errno != 0 && v != LONG_MAX)) {
        message("error", "%s needs a whole number from 1 up, not '%s'", opt, s);
        return false;
    }
    if (v > max || errno != 0) {
        if (!clamp) {
            message("error", "%s %s is too large (at most %ld)", opt, s, max);
            return false;
        }
        v = max;
    }
    *out = v;
    return true;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* Returns -1 to go on, or an exit status (help, version, usage error). */
static int parse_args(int argc, char **argv, const CnnrtModel *m, Options *o)
{
    o->top = 5;
    o->inputs = calloc((size_t)argc, sizeof *o->inputs);
    if (!o->inputs) {
        message("error", "out of memory");
        return EXIT_INPUT;
    }
    bool only_inputs = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_inputs || a[0] != '-' || strcmp(a, "-") == 0) {
            o->inputs[o->ninputs++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_inputs = true;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            help(m);
            return EXIT_OK;
        }
        if (strcmp(a, "--version") == 0) {
            printf("%s: network %s, built by cnnc %s (runtime ABI %d)\n", prog, m->name, CNNC_VERSION,
                   CNNRT_ABI_VERSION);
            return EXIT_OK;
        }
        if (strcmp(a, "--json") == 0) {
            o->json = true;
            continue;
        }
        if (strcmp(a, "--profile") == 0) {
            o->profile = true;
            continue;
        }
        static const char *const with_value[] = {"--weights", "--output", "--top",    "--labels",
                                                 "--bench",   "--threads", "--resize"};
        const char *value = NULL;
        size_t k = 0, nk = sizeof with_value / sizeof with_value[0];
        for (; k < nk; k++) {
            size_t n = strlen(with_value[k]);
            if (strncmp(a, with_value[k], n) == 0 && (a[n] == '\0' || a[n] == '=')) {
                if (a[n] == '=') {
                    value = a + n + 1;
                } else if (i + 1 < argc) {
                    value = argv[++i];
                } else {
                    message("error", "option '%s' needs a value", a);
                    usage_line(stderr);
                    return EXIT_USAGE;
                }
                break;
            }
        }
        if (k == nk) {
            message("error", "unknown option '%s'", a);
            usage_line(stderr);
            return EXIT_USAGE;
        }
        if (*value == '\0' && k != 2 && k != 4 && k != 5 && k != 6) {
            message("error", "option '%s' needs a non-empty value", with_value[k]);
            return EXIT_USAGE;
        }
        switch (k) {
        case 0: o->weights = value; break;
        case 1: o->output = value; break;
        case 2: if (!parse_count("--top", value, LONG_MAX, true, &o->top)) return EXIT_USAGE; break;
        case 3: o->labels = value; break;
        case 4: if (!parse_count("--bench", value, 1000000000L, false, &o->bench)) return EXIT_USAGE; break;
        case 5: if (!parse_count("--threads", value, 4096, false, &o->threads)) return EXIT_USAGE; break;
        default: if (!parse_count("--resize", value, 65535, false, &o->resize)) return EXIT_USAGE; break;
        }
    }
    if (o->ninputs == 0 && o->bench == 0) {
        message("error", "no input files (give .npy or image files, or --bench N to run on zeros)");
        usage_line(stderr);
        return EXIT_USAGE;
    }
    if (o->output) {
        if (has_suffix(o->output, ".npy")) {
            o->out_kind = OUT_NPY;
        } else if (has_suffix(o->output, ".pgm") || has_suffix(o->output, ".ppm")) {
            o->out_kind = has_suffix(o->output, ".pgm") ? OUT_PGM : OUT_PPM;
            int64_t want = o->out_kind == OUT_PGM ? 1 : 3;
            if (m->out_d != want) {
                message("error", "--output %s: a .%s needs a %lld-deep output, this network's is %lldx%lldx%lld",
                        o->output, o->out_kind == OUT_PGM ? "pgm" : "ppm", (long long)want,
                        (long long)m->out_w, (long long)m->out_h, (long long)m->out_d);
                return EXIT_USAGE;
            }
        } else {
            message("error", "--output %s: unknown file type; use .npy, .pgm or .ppm", o->output);
            return EXIT_USAGE;
        }
        /* The output must not replace an input, under whatever name (as
         * cnnc -o refuses its source and weights). */
        const char *named = rt_same_file(o->output, o->weights) ? o->weights
                            : rt_same_file(o->output, o->labels) ? o->labels
                                                                 : NULL;
        for (int i = 0; !named && i < o->ninputs; i++)
            if (rt_same_file(o->output, o->inputs[i]))
                named = o->inputs[i];
        if (named) {
            message("error", "--output %s is the input '%s'%s; it would be overwritten: write the output elsewhere",
                    o->output, named, strcmp(named, o->output) != 0 ? " (the same file by another name)" : "");
            return EXIT_INPUT;
        }
    }
    return -1;
}

static bool batch_grow(Batch *b, size_t images, size_t in_size)
{
    size_t need = b->count + images;
    if (need < b->count)
        return false;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4, bytes;
    while (cap < need)
        cap *= 2;
    if (!rt_mul_size(cap, in_size, &bytes) || !rt_mul_size(bytes, sizeof(float), &bytes))
        return false;
    float *d = realloc(b->data, bytes ? bytes : 1);
    if (!d)
        return false;
    b->data = d;
    char **n = realloc(b->names, cap * sizeof *n);
    if (!n)
        return false;
    b->names = n;
    b->cap = cap;
    return true;
}

static void shape_text(char *buf, size_t len, const CnnrtArray *a)
{
    size_t n = (size_t)snprintf(buf, len, "(");
    for (int32_t i = 0; i < a->rank && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%lld", i ? ", " : "", (long long)a->shape[i]);
    if (n < len)
        snprintf(buf + n, len - n, a->rank == 1 ? ",)" : ")");
}

/* Adds the images of one .npy to the batch. */
static int add_npy(const CnnrtModel *m, const char *path, const unsigned char *bytes, size_t len, Batch *b,
                   size_t in_size)
{
    char err[512];
    CnnrtArray a;
    if (cnnrt_npy_parse(path, bytes, len, &a, err, sizeof err) != 0) {
        message("error", "%s", err);
        return EXIT_INPUT;
    }
    int64_t d = m->in_d, h = m->in_h, w = m->in_w, n = -1;
    if (a.rank == 3 && a.shape[0] == d && a.shape[1] == h && a.shape[2] == w)
        n = 1;
    else if (a.rank == 4 && a.shape[1] == d && a.shape[2] == h && a.shape[3] == w)
        n = a.shape[0];
    else if (a.rank == 2 && d == 1 && a.shape[0] == h && a.shape[1] == w)
        n = 1;
    if (n <= 0) {
        char got[256], hw[64] = "";
        shape_text(got, sizeof got, &a);
        if (d == 1)
            snprintf(hw, sizeof hw, " or (%lld, %lld)", (long long)h, (long long)w);
        if (n == 0)
            message("error", "%s: shape %s holds no images", path, got);
        else
            message("error",
                    "%s: shape %s does not fit the network's input %lldx%lldx%lld (W x H x D): expected "
                    "(%lld, %lld, %lld)%s(N, %lld, %lld, %lld)%s",
                    path, got, (long long)w, (long long)h, (long long)d, (long long)d, (long long)h,
                    (long long)w, d == 1 ? ", " : " or ", (long long)d, (long long)h, (long long)w, hw);
        cnnrt_array_free(&a);
        return EXIT_INPUT;
    }
    if (!batch_grow(b, (size_t)n, in_size)) {
        message("error", "%s: out of memory for %lld images", path, (long long)n);
        cnnrt_array_free(&a);
        return EXIT_INPUT;
    }
    memcpy(b->data + b->count * in_size, a.data, (size_t)n * in_size * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        size_t k = strlen(path) + 32;
        char *name = malloc(k);
        if (name) {
            /* A stack of images is named per image: x.npy[0], x.npy[1] ... */
            if (a.rank == 4 && n > 1)
                snprintf(name, k, "%s[%lld]", path, (long long)i);
            else
                snprintf(name, k, "%s", path);
        }
        b->names[b->count++] = name;
    }
    cnnrt_array_free(&a);
    return EXIT_OK;
}

static int add_image(const CnnrtModel *m, const char *path, const unsigned char *bytes, size_t len, Batch *b,
                     size_t in_size, long resize)
{
    char err[1024];
    CnnrtImage img;
    if (cnnrt_image_parse(path, bytes, len, &img, err, sizeof err) != 0) {
        message("error", "%s", err);
        return EXIT_INPUT;
    }
    if (resize > 0) {
        CnnrtImage cut;
        int rc = cnnrt_image_resize_crop(path, &img, resize, m->in_w, m->in_h, &cut, err, sizeof err);
        cnnrt_image_free(&img);
        if (rc != 0) {
            message("error", "%s", err);
            return EXIT_INPUT;
        }
        img = cut;
    }
    if (!batch_grow(b, 1, in_size)) {
        message("error", "%s: out of memory", path);
        cnnrt_image_free(&img);
        return EXIT_INPUT;
    }
    int rc = cnnrt_image_to_input(path, &img, m->in_w, m->in_h, m->in_d, m->nmean, m->mean, m->nstd, m->std,
                                  b->data + b->count * in_size, err, sizeof err);
    cnnrt_image_free(&img);
    if (rc != 0) {
        message("error", "%s", err);
        return EXIT_INPUT;
    }
    b->names[b->count++] = strdup(path);
    return EXIT_OK;
}

static int read_input(const CnnrtModel *m, const char *path, Batch *b, size_t in_size, long resize)
{
    char err[512];
    unsigned char *bytes;
    size_t len;
    if (rt_read_file(path, &bytes, &len, err, sizeof err) != 0) {
        message("error", "%s", err);
        return EXIT_INPUT;
    }
    /* A .npy by its suffix (its errors are then about the array), or by
     * its magic; anything else is an image, told by its content, which
     * names what the file looks like when it is none it reads. */
    bool npy = has_suffix(path, ".npy") || (len >= 6 && memcmp(bytes, "\x93NUMPY", 6) == 0);
    int rc;
    if (npy)
        rc = add_npy(m, path, bytes, len, b, in_size);
    else
        rc = add_image(m, path, bytes, len, b, in_size, resize);
    free(bytes);
    return rc;
}

static void on_bind(void *ctx, int severity, const char *text)
{
    (void)ctx;
    message(severity == CNNRT_ERROR ? "error" : "warning", "%s", text);
}

/* Labels: one per line, '\r' stripped; *n gets how many. */
static char **read_labels(const char *path, size_t *n)
{
    char err[512];
    unsigned char *bytes;
    size_t len;
    *n = 0;
    if (rt_read_file(path, &bytes, &len, err, sizeof err) != 0) {
        message("error", "%s", err);
        return NULL;
    }
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += bytes[i] == '\n';
    char **labels = calloc(lines, sizeof *labels);
    if (!labels) {
        free(bytes);
        message("error", "%s: out of memory", path);
        return NULL;
    }
    char *p = (char *)bytes, *end = p + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        size_t k = (size_t)(stop - p);
        if (k && p[k - 1] == '\r')
            k--;
        labels[*n] = malloc(k + 1);
        if (labels[*n]) {
            memcpy(labels[*n], p, k);
            labels[*n][k] = '\0';
        }
        (*n)++;
        p = nl ? nl + 1 : end;
    }
    free(bytes);
    return labels;
}

typedef struct Ranked {
    size_t index;
    float score;
} Ranked;

/* Best first; NaN after every number; ties by index, so output is stable. */
static int by_score(const void *a, const void *b)
{
    const Ranked *x = a, *y = b;
    bool xn = isnan(x->score), yn = isnan(y->score);
    if (xn != yn)
        return xn ? 1 : -1;
    if (!xn && x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Prints the results of a batch: top classes of a vector output, or shape
 * and range of a map, as text or one JSON array. */
static int print_results(const CnnrtModel *m, const Options *o, const Batch *b, const float *out,
                         size_t out_size, char **labels, size_t nlabels)
{
    bool vector = m->out_w == 1 && m->out_h == 1;
    size_t classes = (size_t)m->out_d;
    size_t k = vector ? ((size_t)o->top < classes ? (size_t)o->top : classes) : 0;
    Ranked *r = vector ? malloc(classes * sizeof *r) : NULL;
    if (vector && !r) {
        message("error", "out of memory");
        return EXIT_INPUT;
    }
    cJSON *root = o->json ? cJSON_CreateArray() : NULL;
    size_t next_bad = 0;
    for (size_t i = 0; i <= b->count; i++) {
        /* The inputs that could not be read, where they were given, so
         * that the JSON has an entry for every input. */
        for (; root && next_bad < b->nbad && b->bad[next_bad].before == i; next_bad++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddItemToArray(root, e);
            cJSON_AddStringToObject(e, "input", b->bad[next_bad].path);
            cJSON_AddStringToObject(e, "error", b->bad[next_bad].error ? b->bad[next_bad].error : "?");
        }
        if (i == b->count)
            break;
        const float *y = out + i * out_size;
        const char *name = b->names[i] ? b->names[i] : "?";
        cJSON *item = NULL;
        if (root) {
            item = cJSON_CreateObject();
            cJSON_AddItemToArray(root, item);
            cJSON_AddStringToObject(item, "input", name);
        }
        if (vector) {
            for (size_t c = 0; c < classes; c++)
                r[c] = (Ranked){c, y[c]};
            qsort(r, classes, sizeof *r, by_score);
            cJSON *res = NULL;
            if (item) {
                cJSON_AddNumberToObject(item, "result_num", (double)k);
                res = cJSON_AddArrayToObject(item, "result");
            } else {
                printf("%s: top %zu of %zu classes\n  %4s %6s %12s  %s\n", name, k, classes, "#", "index",
                       "score", "label");
            }
            for (size_t j = 0; j < k; j++) {
                char idx[32];
                snprintf(idx, sizeof idx, "%zu", r[j].index);
                const char *label = r[j].index < nlabels && labels[r[j].index] ? labels[r[j].index] : idx;
                if (res) {
                    cJSON *e = cJSON_CreateObject();
                    cJSON_AddNumberToObject(e, "index", (double)r[j].index);
                    cJSON_AddStringToObject(e, "label", label);
                    cJSON_AddNumberToObject(e, "score", (double)r[j].score);
                    cJSON_AddItemToArray(res, e);
                } else {
                    printf("  %4zu %6zu %12.6g  %s\n", j + 1, r[j].index, (double)r[j].score, label);
                }
            }
        } else {
            double lo = INFINITY, hi = -INFINITY, sum = 0;
            for (size_t j = 0; j < out_size; j++) {
                lo = fmin(lo, y[j]);
                hi = fmax(hi, y[j]);
                sum += y[j];
            }
            double mean = out_size ? sum / (double)out_size : 0;
            if (item) {
                cJSON *shape = cJSON_AddArrayToObject(item, "output");
                cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)m->out_w));
                cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)m->out_h));
                cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)m->out_d));
                cJSON_AddNumberToObject(item, "min", lo);
                cJSON_AddNumberToObject(item, "max", hi);
                cJSON_AddNumberToObject(item, "mean", mean);
            } else {
                printf("%s: output %lldx%lldx%lld (W x H x D), min %.6g, max %.6g, mean %.6g\n", name,
                       (long long)m->out_w, (long long)m->out_h, (long long)m->out_d, lo, hi, mean);
            }
        }
    }
    free(r);
    if (root) {
        char *text = cJSON_Print(root);
        if (text)
            puts(text);
        free(text);
        cJSON_Delete(root);
        if (!text) {
            message("error", "out of memory printing JSON");
            return EXIT_INPUT;
        }
    }
    return EXIT_OK;
}

static bool model_ok(const CnnrtModel *m)
{
    if (m->abi != CNNRT_ABI_VERSION) {
        message("error", "the network was compiled for runtime ABI %u, this runtime is ABI %d; rebuild it",
                (unsigned)m->abi, CNNRT_ABI_VERSION);
        return false;
    }
    int64_t t;
    if (m->in_w < 1 || m->in_h < 1 || m->in_d < 1 || m->out_w < 1 || m->out_h < 1 || m->out_d < 1 ||
        !rt_mul_i64(m->in_w, m->in_h, &t) || !rt_mul_i64(t, m->in_d, &t) || !rt_mul_i64(m->out_w, m->out_h, &t) ||
        !rt_mul_i64(t, m->out_d, &t) || !m->run || !m->workspace_size || m->nparams < 0 ||
        (m->nparams > 0 && !m->params)) {
        message("error", "the network's descriptor is malformed");
        return false;
    }
    /* Each fold's tensors exist, one value per filter of its conv. */
    bool folds_ok = m->nfolds >= 0 && (m->nfolds == 0 || m->folds);
    for (int32_t f = 0; folds_ok && f < m->nfolds; f++) {
        const CnnrtFold *fd = &m->folds[f];
        int32_t ix[6] = {fd->weight, fd->bias, fd->gamma, fd->beta, fd->mean, fd->var};
        for (int k = 0; k < 6; k++)
            folds_ok &= (k == 1 && ix[k] == -1) || (ix[k] >= 0 && ix[k] < m->nparams);
        if (!folds_ok)
            break;
        int64_t K = m->params[fd->weight].shape[0];
        for (int k = 1; k < 6; k++)
            folds_ok &= ix[k] < 0 || m->params[ix[k]].count == K;
        folds_ok &= K > 0 && fd->eps > 0;
    }
    if (!folds_ok) {
        message("error", "the network's descriptor is malformed");
        return false;
    }
    return true;
}

/* count floats rounded up to whole 64-byte lines: each tensor on lines of
 * its own, as embedded ones are. */
static size_t line_floats(int64_t count)
{
    return ((size_t)count + 15) / 16 * 16;
}

/* Folds each batchnorm into its conv (CnnrtFold) when the values came from
 * a weights file; embedded ones were folded by the compiler. The folded
 * weight and bias go into one block (*buffer, free() it) and replace
 * values[] of the conv's weight and the batchnorm's bias, which the packing
 * then takes as any file value. */
static bool fold_params(const CnnrtModel *m, const float **values, float **buffer)
{
    size_t total = 0;
    for (int32_t f = 0; f < m->nfolds; f++) {
        const CnnrtFold *fd = &m->folds[f];
        if (values[fd->weight] != m->params[fd->weight].embedded)
            total += line_floats(m->params[fd->weight].count) + line_floats(m->params[fd->beta].count);
    }
    if (total == 0)
        return true;
    float *at = *buffer = rt_alloc_big(total * sizeof(float));
    if (!at) {
        message("error", "out of memory folding the batch norms (%zu bytes)", total * sizeof(float));
        return false;
    }
    for (int32_t f = 0; f < m->nfolds; f++) {
        const CnnrtFold *fd = &m->folds[f];
        const CnnrtParam *w = &m->params[fd->weight];
        if (values[fd->weight] == w->embedded)
            continue;
        int64_t K = w->shape[0];
        float *wf = at, *bf = at + line_floats(w->count);
        cnnrt_fold(K, w->count / K, fd->eps, values[fd->weight], fd->bias >= 0 ? values[fd->bias] : NULL,
                   values[fd->gamma], values[fd->beta], values[fd->mean], values[fd->var], wf, bf);
        values[fd->weight] = wf;
        values[fd->beta] = bf;
        at = bf + line_floats(K);
    }
    return true;
}

/* Whether place_params moves a parameter into its buffer. */
static bool placed(const CnnrtParam *p, const float *value, bool hold)
{
    return value == p->embedded ? hold : p->pack > 0;
}

/* Where run() reads each parameter from. Values from a weights file come
 * in PyTorch's layout; the kernels that asked for packed parameters
 * (CnnrtParam.pack) get them packed, into a buffer from rt_alloc_big.
 * Embedded values were packed by the compiler and are read from the
 * program's file mapping (4 KiB pages), except with hold (--bench): then
 * they are copied into that buffer too, their pages given back, before the
 * untimed run. A long-running process would hold its weights so, as
 * onnxruntime's session does once it is made (not timed either); timed
 * from the file mapping, VGG-16's fc6 at batch 8 took 47-93 ms in copies of
 * one program, depending on where the page cache happened to put the file,
 * and 37-41 ms held. A single run does not copy: reading fc6's 411 MB once
 * to run it once is cheaper than reading and writing them first. */
static bool place_params(const CnnrtModel *m, const float **values, bool hold, float **buffer)
{
    size_t total = 0;
    for (int32_t i = 0; i < m->nparams; i++) {
        const CnnrtParam *p = &m->params[i];
        if (placed(p, values[i], hold))
            total += (size_t)cnnrt_packed_count(p->rank, p->shape, p->pack, p->wino);
    }
    if (total == 0)
        return true;
    float *at = *buffer = rt_alloc_big(total * sizeof(float));
    if (!at) {
        message("error", "out of memory placing the weights (%zu bytes)", total * sizeof(float));
        return false;
    }
    for (int32_t i = 0; i < m->nparams; i++) {
        const CnnrtParam *p = &m->params[i];
        if (!placed(p, values[i], hold))
            continue;
        size_t count = (size_t)cnnrt_packed_count(p->rank, p->shape, p->pack, p->wino);
        if (values[i] != p->embedded) {
            cnnrt_pack(p->rank, p->shape, p->pack, p->wino, values[i], at);
            /* The file's values, in storage, are not read again: give their
             * pages back rather than hold these parameters twice (VGG-16
             * with --weights, whose convs are packed: max RSS 621 MB
             * before, 564 after). */
            rt_release_pages(values[i], (size_t)cnnrt_packed_count(p->rank, p->shape, 0, 0) * sizeof(float));
        } else {
            /* 8 MiB at a time, each step's pages given back before the
             * next, so the copy and the file's pages are not both held. */
            const char *from = (const char *)values[i];
            for (size_t done = 0, bytes = count * sizeof(float); done < bytes;) {
                size_t step = bytes - done < ((size_t)8 << 20) ? bytes - done : (size_t)8 << 20;
                memcpy((char *)at + done, from + done, step);
                rt_release_pages(from + done, step);
                done += step;
            }
        }
        values[i] = at;
        at += count;
    }
    return true;
}

int main(int argc, char **argv)
{
    if (argc > 0 && argv[0] && *argv[0]) {
        const char *slash = strrchr(argv[0], '/');
        prog = slash ? slash + 1 : argv[0];
    }
#ifdef __wasi__
    /* A WASI module starts in "/", whatever directory it was run from; the
     * runner (runtime/wasi-run) passes that in $PWD, so relative paths mean
     * what they mean to the shell. */
    const char *pwd = getenv("PWD");
    if (pwd && *pwd == '/' && chdir(pwd) != 0)
        fprintf(stderr, "%s: warning: cannot enter '%s': %s\n", prog, pwd, strerror(errno));
#endif
    const CnnrtModel *m = &cnnrt_model;
    if (!model_ok(m))
        return EXIT_INPUT;
    Options o = {0};
    Batch b = {0};
    CnnrtSt *st = NULL;
    float *storage = NULL, *folded = NULL, *packed = NULL, *out = NULL;
    const float **values = NULL;
    void *workspace = NULL;
    char **labels = NULL;
    size_t nlabels = 0;
    double *times = NULL;
    int rc = parse_args(argc, argv, m, &o);
    if (rc >= 0)
        goto done;
    rc = EXIT_INPUT;

    size_t in_size = (size_t)(m->in_w * m->in_h * m->in_d);
    size_t out_size = (size_t)(m->out_w * m->out_h * m->out_d);
    bool need_file = false;
    for (int32_t i = 0; i < m->nparams; i++)
        need_file |= !m->params[i].fixed && !m->params[i].embedded;
    if (need_file && !o.weights) {
        message("error", "this program was built without weights: give them with --weights FILE.safetensors");
        usage_line(stderr);
        rc = EXIT_USAGE;
        goto done;
    }

    /* Inputs first: they are cheap to check, weights may be large. An input
     * that cannot be read is reported and left out; the others still get
     * their results, and the exit status is 1. */
    b.bad = calloc((size_t)o.ninputs + 1, sizeof *b.bad);
    if (!b.bad) {
        message("error", "out of memory");
        rc = EXIT_INPUT;
        goto done;
    }
    for (int i = 0; i < o.ninputs; i++)
        if (read_input(m, o.inputs[i], &b, in_size, o.resize) != EXIT_OK)
            b.bad[b.nbad++] = (BadInput){b.count, o.inputs[i], strdup(last_error)};
    rc = EXIT_INPUT;
    if (b.nbad > 0 && (b.count == 0 || o.output)) {
        /* An output file holds every input in order, or is not written. */
        if (o.ninputs > 1)
            message("error", "%zu of %d inputs could not be read%s", b.nbad, o.ninputs,
                    o.output ? "; nothing written" : "");
        goto done;
    }
    if (o.ninputs == 0) {
        /* --bench with no INPUT: one image of zeros. */
        if (!batch_grow(&b, 1, in_size)) {
            message("error", "out of memory");
            goto done;
        }
        memset(b.data, 0, in_size * sizeof(float));
        b.names[b.count++] = strdup("zeros");
    }
    if ((o.out_kind == OUT_PGM || o.out_kind == OUT_PPM) && b.count != 1) {
        message("error", "--output %s writes one image, but the inputs hold %zu; use a .npy output", o.output,
                b.count);
        rc = EXIT_USAGE;
        goto done;
    }

    values = calloc(m->nparams > 0 ? (size_t)m->nparams : 1, sizeof *values);
    if (!values) {
        message("error", "out of memory");
        goto done;
    }
    for (int32_t i = 0; i < m->nparams; i++)
        values[i] = m->params[i].embedded;
    if (o.weights) {
        char err[1024];
        st = cnnrt_st_open(o.weights, err, sizeof err);
        if (!st) {
            message("error", "%s", err);
            goto done;
        }
        if (cnnrt_st_bind(st, m->params, m->nparams, values, &storage, on_bind, NULL) != 0)
            goto done;
        /* The converted values live in storage; the mapping can go. */
        cnnrt_st_close(st);
        st = NULL;
    }
    for (int32_t i = 0; i < m->nparams; i++)
        if (!values[i]) {
            message("error", "parameter '%s' has no values", m->params[i].name);
            goto done;
        }
    if (!fold_params(m, values, &folded) || !place_params(m, values, o.bench > 0, &packed))
        goto done;

    /* Labels before running: a bad labels file should not cost a --bench. */
    if (o.labels && (labels = read_labels(o.labels, &nlabels)) == NULL)
        goto done;
    if (labels && m->out_w == 1 && m->out_h == 1 && nlabels != (size_t)m->out_d)
        message("warning", "%s: %zu labels for %lld classes", o.labels, nlabels, (long long)m->out_d);

    /* The pool first: a program whose images run on threads of their own
     * (codegen/module.c) asks the pool how many arenas its workspace needs. */
    long threads = o.threads > 0 ? o.threads : sysconf(_SC_NPROCESSORS_ONLN);
    cnnrt_pool_start(threads > 0 && threads < 4096 ? (int)threads : 1);

    /* rt_alloc_big rounds the size up for its alignment and gives a real
     * pointer for 0 bytes too; a size it cannot round is out of memory. */
    size_t ws = m->workspace_size(b.count), out_bytes;
    if (!rt_mul_size(b.count, out_size, &out_bytes) || !rt_mul_size(out_bytes, sizeof(float), &out_bytes) ||
        !(workspace = rt_alloc_big(ws)) || !(out = malloc(out_bytes ? out_bytes : 1))) {
        message("error", "out of memory for the workspace (%zu bytes) and output of %zu images", ws, b.count);
        goto done;
    }

    size_t runs = o.bench > 0 ? (size_t)o.bench : 1;
    if (o.bench > 0) {
        times = malloc(runs * sizeof *times);
        if (!times) {
            message("error", "out of memory");
            goto done;
        }
        /* One untimed run first: page faults and cold caches are not latency. */
        if (m->run(b.data, out, b.count, workspace, values) != 0) {
            message("error", "the network refused its arguments (batch %zu)", b.count);
            goto done;
        }
    }
    /* After the untimed run: its page faults are not a layer's time. */
    if (o.profile)
        cnnrt_profile_enable(true);
    for (size_t r = 0; r < runs; r++) {
        int64_t t0 = rt_now_ns();
        int status = m->run(b.data, out, b.count, workspace, values);
        int64_t t1 = rt_now_ns();
        if (status != 0) {
            message("error", "the network refused its arguments (batch %zu)", b.count);
            goto done;
        }
        if (times)
            times[r] = (double)(t1 - t0) / 1e6;
    }
    if (times) {
        double sum = 0;
        for (size_t r = 0; r < runs; r++)
            sum += times[r];
        qsort(times, runs, sizeof *times, cmp_double);
        double median = runs % 2 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
        double mean = sum / (double)runs;
        /* With --json, standard output is the JSON alone. */
        FILE *f = o.json ? stderr : stdout;
        fprintf(f, "bench: %zu runs, batch %zu: min %.4g ms, median %.4g ms, mean %.4g ms, %.4g images/s\n", runs,
                b.count, times[0], median, mean, median > 0 ? (double)b.count * 1e3 / median : INFINITY);
    }
    if (o.profile) {
        cnnrt_profile_enable(false);
        fflush(stdout); /* after the bench line */
        cnnrt_profile_print(stderr, runs, b.count);
    }

    if (o.output) {
        char err[1024];
        int w;
        if (o.out_kind == OUT_NPY) {
            int64_t shape4[4] = {(int64_t)b.count, m->out_d, m->out_h, m->out_w};
            int64_t shape2[2] = {(int64_t)b.count, m->out_d};
            bool vector = m->out_w == 1 && m->out_h == 1;
            w = cnnrt_npy_write(o.output, out, vector ? 2 : 4, vector ? shape2 : shape4, err, sizeof err);
        } else {
            w = cnnrt_image_write(o.output, out, m->out_w, m->out_h, m->out_d, err, sizeof err);
        }
        if (w != 0) {
            message("error", "%s", err);
            goto done;
        }
        rc = o.json ? print_results(m, &o, &b, out, out_size, labels, nlabels) : EXIT_OK;
    } else if (o.ninputs > 0 || o.json) {
        rc = print_results(m, &o, &b, out, out_size, labels, nlabels);
    } else {
        rc = EXIT_OK;
    }
    if (rc == EXIT_OK && fflush(stdout) != 0) {
        message("error", "cannot write the results: %s", strerror(errno));
        rc = EXIT_INPUT;
    }
    if (rc == EXIT_OK && b.nbad > 0) {
        message("error", "%zu of %d inputs could not be read (above); the results printed are the others'",
                b.nbad, o.ninputs);
        rc = EXIT_INPUT;
    }

done:
    cnnrt_pool_stop();
    for (size_t i = 0; i < b.count; i++)
        free(b.names[i]);
    free(b.names);
    free(b.data);
    for (size_t i = 0; i < b.nbad; i++)
        free(b.bad[i].error);
    free(b.bad);
    for (size_t i = 0; i < nlabels; i++)
        free(labels[i]);
    free(labels);
    free(times);
    free(out);
    free(workspace);
    free(values);
    free(storage);
    free(folded);
    free(packed);
    cnnrt_st_close(st);
    free(o.inputs);
    return rc;
}
