/* The safetensors reader (see safetensors.h). The file is mapped once (F32
 * tensors are pread from the same descriptor); the JSON header is parsed with
 * cJSON and every entry validated against the data section before anything
 * is read, so later reads cannot go out of bounds.
 * Layout: 8-byte little-endian header length N, N bytes of JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
 * then the data section, offsets relative to its start (SPEC section 4). */
#include "runtime/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef __wasi__
#include <sys/mman.h>
#endif
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/rtio.h"

/* The whole file at path, open as fd, in memory: mapped, or on WASI, which
 * has no mmap, read (into what a wasm module's linear memory would hold
 * anyway). *size is the file's size, and on WASI what was read. NULL with a
 * message in err. */
static void *map_file(const char *path, int fd, size_t *size, char *err, size_t errlen)
{
#ifdef __wasi__
    (void)fd;
    unsigned char *buf;
    return rt_read_file(path, &buf, size, err, errlen) == 0 ? buf : NULL;
#else
    void *m = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        rt_fail(err, errlen, "cannot read weights '%s': %s", path, strerror(errno));
        return NULL;
    }
    /* F16/BF16/F64 are converted from the mapping, front to back. */
    posix_madvise(m, *size, POSIX_MADV_SEQUENTIAL);
    return m;
#endif
}

static void unmap_file(void *p, size_t size)
{
#ifdef __wasi__
    (void)size;
    free(p);
#else
    munmap(p, size);
#endif
}

struct CnnrtSt {
    char *path;
    const unsigned char *map; /* the whole file */
    size_t size;
    const unsigned char *data; /* the data section */
    uint64_t data_len;
    int fd;      /* kept open for F32 reads straight into the caller's buffer */
    cJSON *root; /* owns the tensors' names */
    CnnrtStTensor *tensors;
    size_t count;
};

static const struct {
    const char *name;
    unsigned size;
} dtype_table[] = {
    [CNNRT_F32] = {"F32", 4},   [CNNRT_F16] = {"F16", 2},   [CNNRT_BF16] = {"BF16", 2},
    [CNNRT_F64] = {"F64", 8},   [CNNRT_BOOL] = {"BOOL", 1}, [CNNRT_U8] = {"U8", 1},
    [CNNRT_I8] = {"I8", 1},     [CNNRT_I16] = {"I16", 2},   [CNNRT_U16] = {"U16", 2},
    [CNNRT_I32] = {"I32", 4},   [CNNRT_U32] = {"U32", 4},   [CNNRT_I64] = {"I64", 8},
    [CNNRT_U64] = {"U64", 8},   [CNNRT_F8_E4M3] = {"F8_E4M3", 1},
    [CNNRT_F8_E5M2] = {"F8_E5M2", 1},
};
#define NDTYPES (sizeof dtype_table / sizeof dtype_table[0])

const char *cnnrt_dtype_name(CnnrtDtype dtype)
{
    return (unsigned)dtype < NDTYPES ? dtype_table[dtype].name : "?";
}

int cnnrt_dtype_is_float(CnnrtDtype dtype)
{
    return dtype == CNNRT_F32 || dtype == CNNRT_F16 || dtype == CNNRT_BF16 || dtype == CNNRT_F64;
}

const char *cnnrt_st_path(const CnnrtSt *st) { return st->path; }
size_t cnnrt_st_count(const CnnrtSt *st) { return st->count; }

const CnnrtStTensor *cnnrt_st_tensor(const CnnrtSt *st, size_t i)
{
    return i < st->count ? &st->tensors[i] : NULL;
}

const CnnrtStTensor *cnnrt_st_find(const CnnrtSt *st, const char *name)
{
    for (size_t i = 0; i < st->count; i++)
        if (strcmp(st->tensors[i].name, name) == 0)
            return &st->tensors[i];
    return NULL;
}

void cnnrt_st_close(CnnrtSt *st)
{
    if (!st)
        return;
    if (st->map)
        unmap_file((void *)st->map, st->size);
    if (st->fd >= 0)
        close(st->fd);
    cJSON_Delete(st->root);
    free(st->tensors);
    free(st->path);
    free(st);
}

/* "[3, 16]": shapes in messages, as PyTorch prints torch.Size. */
static void shape_text(char *buf, size_t len, int32_t rank, const int64_t *shape)
{
    size_t n = 0;
    n += (size_t)snprintf(buf, len, "[");
    for (int32_t i = 0; i < rank && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (n < len)
        snprintf(buf + n, len - n, "]");
}

/* A JSON number that is an exact non-negative integer a double holds
 * exactly (below 2^53). */
static bool json_uint(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d)
        return false;
    *out = (uint64_t)d;
    return true;
}

/* Checks one header entry and fills t; the message names the tensor. */
static int parse_entry(const CnnrtSt *st, const cJSON *e, CnnrtStTensor *t, char *err, size_t errlen)
{
    const char *path = st->path, *name = e->string;
    t->name = name;
    if (!cJSON_IsObject(e))
        return rt_fail(err, errlen, "%s: tensor '%s': header entry is not a JSON object", path, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt))
        return rt_fail(err, errlen, "%s: tensor '%s': no \"dtype\" string in the header", path, name);
    size_t k = 0;
    while (k < NDTYPES && strcmp(dtype_table[k].name, dt->valuestring) != 0)
        k++;
    if (k == NDTYPES)
        return rt_fail(err, errlen, "%s: tensor '%s': unknown dtype '%s'", path, name, dt->valuestring);
    t->dtype = (CnnrtDtype)k;
    if (!cJSON_IsArray(sh))
        return rt_fail(err, errlen, "%s: tensor '%s': no \"shape\" array in the header", path, name);
    int rank = cJSON_GetArraySize(sh);
    if (rank > CNNRT_ST_MAX_RANK)
        return rt_fail(err, errlen, "%s: tensor '%s': rank %d is more than %d", path, name, rank,
                       CNNRT_ST_MAX_RANK);
    t->rank = rank;
    t->count = 1;
    int i = 0;
    for (const cJSON *d = sh->child; d; d = d->next, i++) {
        uint64_t v;
        if (!json_uint(d, &v))
            return rt_fail(err, errlen, "%s: tensor '%s': shape entry %d is not a non-negative integer",
                           path, name, i);
        t->shape[i] = (int64_t)v;
        if (!rt_mul_i64(t->count, t->shape[i], &t->count))
            return rt_fail(err, errlen, "%s: tensor '%s': shape's element count overflows 64 bits", path,
                           name);
    }
    uint64_t b, en;
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || !json_uint(off->child, &b) ||
        !json_uint(off->child->next, &en))
        return rt_fail(err, errlen, "%s: tensor '%s': \"data_offsets\" is not [begin, end] with integers",
                       path, name);
    if (b > en)
        return rt_fail(err, errlen, "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin", path,
                       name, (unsigned long long)b, (unsigned long long)en);
    if (en > st->data_len)
        return rt_fail(err, errlen,
                       "%s: tensor '%s': data_offsets [%llu, %llu] run past the end of the data (%llu bytes): "
                       "truncated file?",
                       path, name, (unsigned long long)b, (unsigned long long)en,
                       (unsigned long long)st->data_len);
    int64_t bytes;
    if (!rt_mul_i64(t->count, dtype_table[k].size, &bytes))
        return rt_fail(err, errlen, "%s: tensor '%s': byte size overflows 64 bits", path, name);
    if ((uint64_t)bytes != en - b) {
        char s[256];
        shape_text(s, sizeof s, t->rank, t->shape);
        return rt_fail(err, errlen,
                       "%s: tensor '%s': %s %s needs %lld bytes, but data_offsets [%llu, %llu] hold %llu",
                       path, name, dt->valuestring, s, (long long)bytes, (unsigned long long)b,
                       (unsigned long long)en, (unsigned long long)(en - b));
    }
    t->begin = b;
    t->end = en;
    return 0;
}

static int by_begin(const void *a, const void *b)
{
    const CnnrtStTensor *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

int cnnrt_looks_like_onnx(const unsigned char *b, size_t n)
{
    /* A ModelProto starts with ir_version (field 1, a varint: 0x08 and a
     * small number) then producer_name, graph or opset_import (fields 2, 7,
     * 8: 0x12, 0x3a, 0x42). No text or safetensors file starts so. */
    return n >= 3 && b[0] == 0x08 && b[1] >= 1 && b[1] < 0x20 && (b[2] == 0x12 || b[2] == 0x3a || b[2] == 0x42);
}

int cnnrt_looks_like_checkpoint(const unsigned char *b, size_t n)
{
    if (n >= 4 && memcmp(b, "PK\x03\x04", 4) == 0)
        return 1;
    return n >= 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5 ? 2 : 0; /* pickle protocols 2 to 5 */
}

/* Parses and validates the header once the file is mapped. */
static int parse_header(CnnrtSt *st, char *err, size_t errlen)
{
    const char *path = st->path;
    if (st->size == 0)
        return rt_fail(err, errlen, "%s: the file is empty, not a safetensors file", path);
    /* What people give instead, named: torch.save's zip of pickles (or,
     * before PyTorch 1.6, a bare pickle), and ONNX models. */
    const unsigned char *m = st->map;
    int ckpt = cnnrt_looks_like_checkpoint(m, st->size);
    if (ckpt)
        return rt_fail(err, errlen,
                       "%s: this is a PyTorch checkpoint (%s, as torch.save writes), not safetensors; save the "
                       "state dict as safetensors instead, or export the model with torch.onnx.export and "
                       "compile the .onnx itself (the README's 'From PyTorch' shows both, with PyTorch alone)",
                       path, ckpt == 1 ? "a zip of pickles" : "a pickle");
    if (cnnrt_looks_like_onnx(m, st->size))
        return rt_fail(err, errlen,
                       "%s: this looks like an ONNX model, not safetensors; compile the model itself (cnnc "
                       "MODEL.onnx: its initializers are the weights), or save the PyTorch model's state dict as "
                       "safetensors (the README's 'From PyTorch' shows how)",
                       path);
    if (st->size < 8)
        return rt_fail(err, errlen, "%s: %zu bytes is too short for a safetensors header", path, st->size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | st->map[i];
    if (n > CNNRT_ST_MAX_HEADER)
        return rt_fail(err, errlen,
                       "%s: header length %llu is over 100 MB: not a safetensors file, or a corrupt one", path,
                       (unsigned long long)n);
    if (n > st->size - 8)
        return rt_fail(err, errlen,
                       "%s: header length %llu runs past the end of the file (%zu bytes): truncated file?",
                       path, (unsigned long long)n, st->size);
    st->data = st->map + 8 + n;
    st->data_len = st->size - 8 - n;
    const char *json = (const char *)st->map + 8, *end = NULL;
    st->root = cJSON_ParseWithLengthOpts(json, (size_t)n, &end, 0);
    if (!st->root) {
        size_t at = end && end >= json ? (size_t)(end - json) : 0;
        return rt_fail(err, errlen, "%s: corrupt JSON header (at byte %zu of %llu)", path, at + 8,
                       (unsigned long long)n + 8);
    }
    /* The format pads the header with spaces; anything else after the JSON
     * means the length or the JSON is wrong. */
    for (const char *p = end; p < json + n; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return rt_fail(err, errlen, "%s: corrupt JSON header: text after the JSON object at byte %zu",
                           path, (size_t)(p - json) + 8);
    if (!cJSON_IsObject(st->root))
        return rt_fail(err, errlen, "%s: the JSON header is not an object", path);
    size_t count = 0;
    for (const cJSON *e = st->root->child; e; e = e->next)
        count++;
    st->tensors = calloc(count ? count : 1, sizeof *st->tensors);
    if (!st->tensors)
        return rt_fail(err, errlen, "%s: out of memory", path);
    for (const cJSON *e = st->root->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) {
            if (!cJSON_IsObject(e))
                return rt_fail(err, errlen, "%s: \"__metadata__\" is not a JSON object", path);
            continue;
        }
        for (size_t i = 0; i < st->count; i++)
            if (strcmp(st->tensors[i].name, e->string) == 0)
                return rt_fail(err, errlen, "%s: tensor '%s' appears twice in the header", path, e->string);
        if (parse_entry(st, e, &st->tensors[st->count], err, errlen) != 0)
            return -1;
        st->count++;
    }
    qsort(st->tensors, st->count, sizeof *st->tensors, by_begin);
    for (size_t i = 1; i < st->count; i++) {
        const CnnrtStTensor *a = &st->tensors[i - 1], *b = &st->tensors[i];
        if (b->begin < a->end)
            return rt_fail(err, errlen, "%s: tensors '%s' [%llu, %llu] and '%s' [%llu, %llu] overlap", path,
                           a->name, (unsigned long long)a->begin, (unsigned long long)a->end, b->name,
                           (unsigned long long)b->begin, (unsigned long long)b->end);
    }
    return 0;
}

CnnrtSt *cnnrt_st_open(const char *path, char *err, size_t errlen)
{
    CnnrtSt *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        rt_fail(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    st->fd = -1;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is then
     * refused below like every file that cannot be mapped. */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        rt_fail(err, errlen, "cannot open weights '%s': %s", path, strerror(errno));
        cnnrt_st_close(st);
        return NULL;
    }
    struct stat sb;
    int ok = fstat(fd, &sb) == 0;
    if (!ok || !S_ISREG(sb.st_mode)) {
        if (ok && S_ISDIR(sb.st_mode))
            rt_fail(err, errlen, "%s: is a directory, not a safetensors file", path);
        else
            rt_fail(err, errlen, "%s: not a regular file (a pipe or a device), not a safetensors file", path);
        close(fd);
        cnnrt_st_close(st);
        return NULL;
    }
    st->size = (size_t)sb.st_size;
    if (st->size > 0) {
        /* One mapping: reading VGG-16's 553 MB costs the page faults and the
         * conversion, nothing per tensor beyond that. */
        void *m = map_file(path, fd, &st->size, err, errlen);
        if (!m) {
            close(fd);
            cnnrt_st_close(st);
            return NULL;
        }
        st->map = m;
    }
    st->fd = fd;
    if (parse_header(st, err, errlen) != 0) {
        cnnrt_st_close(st);
        return NULL;
    }
    return st;
}

/* IEEE half to single, exact for every half value (subnormals, inf, NaN). */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | mant << 13;
    } else if (exp != 0) {
        bits = sign | (exp + 112) << 23 | mant << 13;
    } else if (mant == 0) {
        bits = sign;
    } else {
        /* Subnormal: shift the mantissa up until its leading 1 is implicit. */
        exp = 113;
        while (!(mant & 0x400)) {
            mant <<= 1;
            exp--;
        }
        bits = sign | exp << 23 | (mant & 0x3ff) << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static uint64_t le_bytes(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

int cnnrt_st_read_f32(const CnnrtSt *st, const CnnrtStTensor *t, float *dst, char *err, size_t errlen)
{
    const unsigned char *p = st->data + t->begin;
    size_t n = (size_t)t->count;
    switch (t->dtype) {
    case CNNRT_F32:
        if (rt_host_little()) {
            /* pread copies from the page cache straight into dst with no
             * page faults on the mapping: VGG-16's 553 MB bind in about the
             * time of one plain read() of the file (~0.25 s warm here),
             * where a memcpy from the mapping took 0.3-0.45 s. The mapping
             * is the fallback should pread fail. */
            size_t done = 0, bytes = n * 4;
            off_t at = (off_t)(p - st->map);
            while (done < bytes) {
                ssize_t r = pread(st->fd, (char *)dst + done, bytes - done, at + (off_t)done);
                if (r < 0 && errno == EINTR)
                    continue;
                if (r <= 0)
                    break;
                done += (size_t)r;
            }
            if (done < bytes)
                memcpy((char *)dst + done, p + done, bytes - done);
        } else {
            for (size_t i = 0; i < n; i++) {
                uint32_t b = (uint32_t)le_bytes(p + 4 * i, 4);
                memcpy(&dst[i], &b, 4);
            }
        }
        return 0;
    case CNNRT_F16:
        for (size_t i = 0; i < n; i++)
            dst[i] = half_to_float((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
        return 0;
    case CNNRT_BF16:
        /* bfloat16 is the top half of a float32. */
        for (size_t i = 0; i < n; i++) {
            uint32_t b = (uint32_t)(p[2 * i] | p[2 * i + 1] << 8) << 16;
            memcpy(&dst[i], &b, 4);
        }
        return 0;
    case CNNRT_F64:
        for (size_t i = 0; i < n; i++) {
            uint64_t b = le_bytes(p + 8 * i, 8);
            double d;
            memcpy(&d, &b, 8);
            dst[i] = (float)d;
        }
        return 0;
    default:
        return rt_fail(err, errlen, "%s: tensor '%s' has dtype %s; only F32, F16, BF16 and F64 can be read",
                       st->path, t->name, cnnrt_dtype_name(t->dtype));
    }
}

static void report(CnnrtDiagFn diag, void *ctx, int severity, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(CnnrtDiagFn diag, void *ctx, int severity, const char *fmt, ...)
{
    /* Sized to the message: tensor names may be any length. */
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf)
        vsnprintf(buf, (size_t)n + 1, fmt, again);
    va_end(again);
    if (diag)
        diag(ctx, severity, buf ? buf : "out of memory for a message");
    free(buf);
}

static bool same_shape(const CnnrtParam *p, const CnnrtStTensor *t)
{
    if (p->rank != t->rank)
        return false;
    for (int32_t i = 0; i < p->rank; i++)
        if (p->shape[i] != t->shape[i])
            return false;
    return true;
}

/* Floats in a 64-byte cache line, and a count rounded up to whole lines. */
enum { ALIGN_FLOATS = 16 };

static size_t aligned_count(size_t n)
{
    return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

/* Index of the param named prefix (len bytes) + "." + suffix, or -1. */
static int32_t find_param(const CnnrtParam *params, int32_t nparams, const char *prefix, size_t len,
                          const char *suffix)
{
    for (int32_t i = 0; i < nparams; i++) {
        const char *n = params[i].name;
        if (strncmp(n, prefix, len) == 0 && n[len] == '.' && strcmp(n + len + 1, suffix) == 0)
            return i;
    }
    return -1;
}

/* Whether name is X.running_mean or X.running_var, a batch norm's running
 * statistics; *len is then X's length. */
static bool stats_layer(const char *name, size_t *len)
{
    const char *dot = strrchr(name, '.');
    if (!dot || (strcmp(dot + 1, "running_mean") != 0 && strcmp(dot + 1, "running_var") != 0))
        return false;
    *len = (size_t)(dot - name);
    return true;
}

/* The conv that a batchnorm X most likely follows, as PyTorch names them:
 * X with its last part's "bn" made "conv" (ResNet's layer1.0.bn1 after
 * layer1.0.conv1), X without a final "_bn" (down_bn after down), or X with
 * its last part's number less one (nn.Sequential's features.1 after
 * features.0); it must make D channels. Written into buf, or "" when none
 * is in the network. */
static void guess_conv(const CnnrtParam *params, int32_t nparams, const char *x, size_t len, int64_t D, char *buf,
                       size_t size)
{
    const char *last = x + len;
    while (last > x && last[-1] != '.')
        last--;
    size_t head = (size_t)(last - x), tail = len - head;
    char cand[3][512];
    int n = 0;
    const char *bn = NULL;
    for (const char *p = last; p + 2 <= x + len; p++)
        if (p[0] == 'b' && p[1] == 'n') {
            bn = p;
            break;
        }
    if (bn && len + 3 < sizeof cand[0])
        snprintf(cand[n++], sizeof cand[0], "%.*sconv%.*s", (int)(bn - x), x, (int)(x + len - bn - 2), bn + 2);
    if (len > 3 && len < sizeof cand[0] && strncmp(x + len - 3, "_bn", 3) == 0)
        snprintf(cand[n++], sizeof cand[0], "%.*s", (int)len - 3, x);
    char *end;
    errno = 0;
    unsigned long long num = tail > 0 && last[0] >= '0' && last[0] <= '9' ? strtoull(last, &end, 10) : 0;
    if (num > 0 && errno == 0 && end == x + len && head + 24 < sizeof cand[0])
        snprintf(cand[n++], sizeof cand[0], "%.*s%llu", (int)head, x, num - 1);
    *buf = '\0';
    for (int k = 0; k < n; k++) {
        int32_t i = find_param(params, nparams, cand[k], strlen(cand[k]), "weight");
        if (i >= 0 && params[i].rank == 4 && params[i].shape[0] == D) {
            snprintf(buf, size, "%s", cand[k]);
            return;
        }
    }
}

/* Tensors of a batch norm's running statistics (X.running_mean,
 * X.running_var) that no batchnorm X of the network reads: an error, not an
 * unused tensor, since running without them gives wrong answers (SPEC
 * section 9). Reported once per X, at its first such tensor (index j). */
static int orphan_stats(const CnnrtSt *st, const CnnrtParam *params, int32_t nparams, size_t j, CnnrtDiagFn diag,
                        void *ctx)
{
    const CnnrtStTensor *t = &st->tensors[j];
    const char *x = t->name;
    size_t len;
    if (!stats_layer(x, &len))
        return 0;
    char names[1100] = "";
    int count = 0;
    for (size_t k = 0; k < st->count; k++) {
        size_t l2;
        if (!stats_layer(st->tensors[k].name, &l2) || l2 != len || strncmp(st->tensors[k].name, x, len) != 0)
            continue;
        if (k < j)
            return 0; /* reported at the first */
        if (count++ < 2)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s'%s'", count > 1 ? " and " : "",
                     st->tensors[k].name);
    }
    int64_t D = t->rank == 1 ? t->shape[0] : -1;
    char conv[512], where[600];
    guess_conv(params, nparams, x, len, D, conv, sizeof conv);
    if (*conv)
        snprintf(where, sizeof where, "after layer '%s'", conv);
    else if (D > 0)
        snprintf(where, sizeof where, "after the layer whose %lld channels it normalises", (long long)D);
    else
        snprintf(where, sizeof where, "after the layer whose channels it normalises");
    /* No layer of the network under X's first part (GoogLeNet's aux1 when
     * X is aux1.conv.bn): most likely a part of the model that only
     * training runs, whose tensors the state dict still holds. */
    const char *dot = memchr(x, '.', len);
    char part[600] = "";
    if (dot) {
        size_t top = (size_t)(dot - x) + 1;
        bool any = false;
        for (int32_t i = 0; i < nparams && !any; i++)
            any = strncmp(params[i].name, x, top) == 0;
        if (!any)
            snprintf(part, sizeof part,
                     "; or, if '%.*s' runs only in training (as GoogLeNet's auxiliary classifiers do), save the "
                     "state dict without its tensors",
                     (int)top - 1, x);
    }
    report(diag, ctx, CNNRT_ERROR,
           "%s: %s %s %s running statistics, but the network has no batchnorm '%.*s' to read %s "
           "(ignoring %s would give wrong answers); add '%.*s: batchnorm' %s%s",
           st->path, count > 1 ? "tensors" : "tensor", names, count > 1 ? "are a batch norm's" : "is a batch norm's",
           (int)len, x, count > 1 ? "them" : "it", count > 1 ? "them" : "it", (int)len, x, where, part);
    return 1;
}

/* A batch norm's X.num_batches_tracked (PyTorch's training counter) is
 * ignored silently where the network has batchnorm X, or where X's running
 * statistics are already an error (orphan_stats). */
static bool ignored_counter(const CnnrtSt *st, const CnnrtParam *params, int32_t nparams, const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || strcmp(dot + 1, "num_batches_tracked") != 0)
        return false;
    size_t len = (size_t)(dot - name);
    if (find_param(params, nparams, name, len, "running_mean") >= 0)
        return true;
    for (size_t k = 0; k < st->count; k++) {
        size_t l2;
        if (stats_layer(st->tensors[k].name, &l2) && l2 == len && strncmp(st->tensors[k].name, name, len) == 0)
            return true;
    }
    return false;
}

int cnnrt_st_bind(const CnnrtSt *st, const CnnrtParam *params, int32_t nparams, const float **values,
                  float **storage, CnnrtDiagFn diag, void *ctx)
{
    const char *path = st->path;
    int errors = 0;
    size_t total = 0;
    *storage = NULL;
    for (int32_t i = 0; i < nparams; i++) {
        const CnnrtParam *p = &params[i];
        values[i] = p->embedded;
        if (p->fixed)
            continue;
        char want[256], got[256];
        shape_text(want, sizeof want, p->rank, p->shape);
        const CnnrtStTensor *t = cnnrt_st_find(st, p->name);
        if (!t) {
            /* A layer PyTorch made with bias=False has a weight and no bias. */
            size_t n = strlen(p->name);
            bool no_bias = false;
            if (n > 5 && strcmp(p->name + n - 5, ".bias") == 0) {
                char *w = malloc(n + 3); /* ".bias" becomes ".weight" */
                if (w) {
                    snprintf(w, n + 3, "%.*s.weight", (int)(n - 5), p->name);
                    no_bias = cnnrt_st_find(st, w) != NULL;
                    free(w);
                }
            }
            report(diag, ctx, CNNRT_ERROR,
                   "%s: missing tensor '%s': expected shape %s, found no tensor of that name%s%.*s%s", path, p->name,
                   want, no_bias ? "; the file has '" : "", no_bias ? (int)(n - 5) : 0, p->name,
                   no_bias ? ".weight' but no bias: if PyTorch made the layer with bias=False, write bias=false on it"
                           : "");
            errors++;
            continue;
        }
        shape_text(got, sizeof got, t->rank, t->shape);
        if (!same_shape(p, t)) {
            report(diag, ctx, CNNRT_ERROR, "%s: tensor '%s': expected shape %s, found %s", path, p->name, want,
                   got);
            errors++;
        }
        if (!cnnrt_dtype_is_float(t->dtype)) {
            report(diag, ctx, CNNRT_ERROR,
                   "%s: tensor '%s': expected dtype F32 (or F16, BF16, F64), found %s", path, p->name,
                   cnnrt_dtype_name(t->dtype));
            errors++;
        }
        if ((size_t)t->count > SIZE_MAX / 4 - ALIGN_FLOATS - total) {
            report(diag, ctx, CNNRT_ERROR, "%s: the parameters do not fit in memory", path);
            return -1;
        }
        total += aligned_count((size_t)t->count);
    }
    for (size_t j = 0; j < st->count; j++) {
        const CnnrtStTensor *t = &st->tensors[j];
        int32_t i = 0;
        while (i < nparams && strcmp(params[i].name, t->name) != 0)
            i++;
        size_t len;
        if (i < nparams) {
            if (params[i].fixed)
                report(diag, ctx, CNNRT_WARNING,
                       "%s: tensor '%s' is not used: the network gives it inline in its source", path, t->name);
        } else if (stats_layer(t->name, &len)) {
            errors += orphan_stats(st, params, nparams, j, diag, ctx);
        } else if (!ignored_counter(st, params, nparams, t->name)) {
            report(diag, ctx, CNNRT_WARNING, "%s: tensor '%s' is not used by the network", path, t->name);
        }
    }
    if (errors)
        return errors;
    /* Each tensor on a cache line of its own, as embedded ones are, in
     * memory the kernels stream well (rt_alloc_big). */
    float *block = rt_alloc_big(total * sizeof(float));
    if (!block) {
        report(diag, ctx, CNNRT_ERROR, "%s: out of memory for %zu parameters", path, total);
        return -1;
    }
    size_t at = 0;
    for (int32_t i = 0; i < nparams; i++) {
        if (params[i].fixed)
            continue;
        const CnnrtStTensor *t = cnnrt_st_find(st, params[i].name);
        char msg[512];
        if (cnnrt_st_read_f32(st, t, block + at, msg, sizeof msg) != 0) {
            /* Unreachable after the dtype check above; reported anyway. */
            report(diag, ctx, CNNRT_ERROR, "%s", msg);
            free(block);
            return 1;
        }
        values[i] = block + at;
        at += aligned_count((size_t)t->count);
    }
    *storage = block;
    return 0;
}

/* ---- writing -------------------------------------------------------------- */

int cnnrt_st_write(FILE *f, const CnnrtStOut *t, size_t n, char *err, size_t errlen)
{
    cJSON *root = cJSON_CreateObject(), *meta = cJSON_CreateObject();
    if (!root || !meta || !cJSON_AddStringToObject(meta, "format", "pt")) {
        cJSON_Delete(root);
        cJSON_Delete(meta);
        return rt_fail(err, errlen, "out of memory for a safetensors header");
    }
    cJSON_AddItemToObject(root, "__metadata__", meta);
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t count = 1;
        for (int32_t k = 0; k < t[i].rank; k++)
            if (t[i].shape[k] < 0 || !rt_mul_i64(count, t[i].shape[k], &count))
                count = -1;
        int64_t bytes;
        if (count < 0 || !rt_mul_i64(count, 4, &bytes) || at + (uint64_t)bytes > ((uint64_t)1 << 53)) {
            cJSON_Delete(root);
            return rt_fail(err, errlen, "tensor '%s' is too large for a safetensors file", t[i].name);
        }
        cJSON *e = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *off = cJSON_CreateArray();
        bool ok = e && shape && off && cJSON_AddStringToObject(e, "dtype", "F32");
        for (int32_t k = 0; ok && k < t[i].rank; k++)
            ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t[i].shape[k]));
        ok = ok && cJSON_AddItemToArray(off, cJSON_CreateNumber((double)at)) &&
             cJSON_AddItemToArray(off, cJSON_CreateNumber((double)(at + (uint64_t)bytes)));
        if (ok) {
            cJSON_AddItemToObject(e, "shape", shape);
            cJSON_AddItemToObject(e, "data_offsets", off);
            cJSON_AddItemToObject(root, t[i].name, e);
        } else {
            cJSON_Delete(e);
            cJSON_Delete(shape);
            cJSON_Delete(off);
            cJSON_Delete(root);
            return rt_fail(err, errlen, "out of memory for a safetensors header");
        }
        at += (uint64_t)bytes;
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!json)
        return rt_fail(err, errlen, "out of memory for a safetensors header");
    size_t len = strlen(json), padded = (len + 7) / 8 * 8;
    unsigned char size[8];
    for (int k = 0; k < 8; k++)
        size[k] = (unsigned char)((uint64_t)padded >> (8 * k));
    (void)fwrite(size, 1, 8, f);
    (void)fwrite(json, 1, len, f);
    for (size_t k = len; k < padded; k++)
        fputc(' ', f);
    free(json);
    /* The data little-endian, as the format has it, whatever the host. */
    bool little = rt_host_little();
    for (size_t i = 0; i < n; i++) {
        int64_t count = 1;
        for (int32_t k = 0; k < t[i].rank; k++)
            count *= t[i].shape[k];
        if (little) {
            if (count > 0)
                (void)fwrite(t[i].data, sizeof(float), (size_t)count, f);
            continue;
        }
        for (int64_t k = 0; k < count; k++) {
            unsigned char b[4];
            uint32_t u;
            memcpy(&u, &t[i].data[k], 4);
            for (int j = 0; j < 4; j++)
                b[j] = (unsigned char)(u >> (8 * j));
            (void)fwrite(b, 1, 4, f);
        }
    }
    return 0;
}
