/* Robustness: thousands of random mutations of the examples go through the
 * whole front end (parse, build, shape check, all three reports). Each must end
 * in success or in reported errors -- never a crash, a hang or an error without
 * a message. Run under ASan/UBSan this also catches memory errors. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "ir/fuse.h"
#include "ir/plan.h"
#include "ir/report.h"

/* xorshift64*: deterministic, so a failing mutation can be replayed by seed. */
static uint64_t rng_state;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717u;
}
static size_t pick(size_t n)
{
    return n ? (size_t)(rng() % n) : 0;
}

/* Pieces of the language, so mutations reach past the scanner. */
static const char *const dict[] = {
    "=", "[", "]", "{", "}", ":", ",", ";", "\n", "#", "//", "x", "0", "-1", "1e999",
    "99999999999999999999", "9223372036854775807", "conv", "pool", "fc", "input", "relu",
    "softmax", "flatten", "dropout", "network", "max", "avg", "filters=", "size=", "stride=",
    "pad=", "round=ceil", "round=floor", "bias=false", "weights=[1,2]", "biases=[1]",
    "mean=0.5", "std=0", "p=0.9", "1x1x1", "4294967296x4294967296x4294967296", "\t", "\r",
    "a.b.c", "features.0:", "\xff", "\0",
};

typedef struct Buf {
    char *data;
    size_t len, cap;
} Buf;

static void buf_reserve(Buf *b, size_t want)
{
    if (want <= b->cap)
        return;
    while (b->cap < want)
        b->cap = b->cap ? b->cap * 2 : 4096;
    b->data = realloc(b->data, b->cap);
    if (!b->data) {
        perror("realloc");
        exit(2);
    }
}

static void buf_insert(Buf *b, size_t at, const char *s, size_t n)
{
    buf_reserve(b, b->len + n + 1);
    memmove(b->data + at + n, b->data + at, b->len - at);
    memcpy(b->data + at, s, n);
    b->len += n;
}

static void mutate_once(Buf *b)
{
    size_t at = pick(b->len + 1);
    switch (pick(6)) {
    case 0: /* flip a byte */
        if (b->len)
            b->data[pick(b->len)] ^= (char)(1u << pick(8));
        break;
    case 1: /* random byte */
        buf_insert(b, at, (char[]){(char)pick(256)}, 1);
        break;
    case 2: { /* delete a range */
        size_t n = pick(16) + 1;
        if (at + n > b->len)
            n = b->len - at;
        memmove(b->data + at, b->data + at + n, b->len - at - n);
        b->len -= n;
        break;
    }
    case 3: { /* duplicate a range */
        if (!b->len)
            break;
        size_t from = pick(b->len), n = pick(64) + 1;
        if (from + n > b->len)
            n = b->len - from;
        char tmp[64];
        memcpy(tmp, b->data + from, n);
        buf_insert(b, at, tmp, n);
        break;
    }
    default: { /* a word of the language */
        const char *w = dict[pick(sizeof dict / sizeof *dict)];
        buf_insert(b, at, w, w[0] ? strlen(w) : 1);
        break;
    }
    }
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    if (!s || fread(s, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(2);
    }
    fclose(f);
    *len = (size_t)n;
    return s;
}

/* One run of the front end; returns false when the outcome breaks the contract. */
static bool run_one(const char *src, size_t len, FILE *sink, int *ok_count)
{
    IrArena *a = ir_arena_new();
    IrDiag diag;
    ir_diag_init(&diag, "mutant.cnn", src, len, sink);
    IrGraph *g = fe_compile(a, &diag, src, len);
    if (g) {
        ir_graph_fuse(g);
        if (!ir_graph_plan(g))
            abort(); /* a shaped graph always plans */
    }
    bool fine = true;
    if (g) {
        /* Success means no errors, and every report can be written. */
        fine = diag.errors == 0;
        ir_report_text(g, sink);
        ir_report_json(g, sink);
        ir_report_dot(g, sink);
        ++*ok_count;
    } else {
        fine = diag.errors > 0; /* a failure always says why */
    }
    ir_arena_free(a);
    return fine;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s SEED COUNT FILE.cnn...\n", argv[0]);
        return 2;
    }
    uint64_t seed = strtoull(argv[1], NULL, 10);
    long count = strtol(argv[2], NULL, 10);
    int nfiles = argc - 3;
    FILE *sink = fopen("/dev/null", "w");
    if (!sink)
        return 2;
    int ok = 0, bad = 0;
    for (long i = 0; i < count; i++) {
        rng_state = seed * 0x9E3779B97F4A7C15u + (uint64_t)i + 1;
        size_t len;
        char *orig = slurp(argv[3 + pick((size_t)nfiles)], &len);
        Buf b = {.data = orig, .len = len, .cap = len + 1};
        int rounds = (int)pick(8) + 1;
        for (int r = 0; r < rounds; r++)
            mutate_once(&b);
        if (!run_one(b.data, b.len, sink, &ok)) {
            fprintf(stderr, "mutation %ld (seed %llu) broke the contract\n", i,
                    (unsigned long long)seed);
            bad++;
        }
        free(b.data);
    }
    fclose(sink);
    printf("%ld mutations: %d accepted, %ld rejected with errors, %d broken\n", count, ok,
           count - ok - bad, bad);
    return bad ? 1 : 0;
}
