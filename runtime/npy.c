/* The .npy reader and writer (see npy.h). Format: magic "\x93NUMPY", major
 * and minor version bytes, header length (2 bytes LE in v1, 4 in v2/v3), a
 * Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (N,),}
 * padded with spaces and ended by '\n', then the data. The dict is parsed by
 * hand: it is a Python literal, not JSON, and has exactly these three keys. */
#include "runtime/npy.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rtio.h"

typedef struct Cursor {
    const char *p, *end;
} Cursor;

static void skip_space(Cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool eat(Cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A quoted Python string, 'x' or "x", into buf. */
static bool read_str(Cursor *c, char *buf, size_t len)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return false;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (n + 1 >= len)
            return false;
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return false;
    c->p++;
    buf[n] = '\0';
    return true;
}

static bool starts(Cursor *c, const char *word)
{
    skip_space(c);
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, word, n) == 0) {
        c->p += n;
        return true;
    }
    return false;
}

typedef enum { K_F4, K_F8, K_U1 } Kind;

typedef struct Header {
    Kind kind;
    bool big, fortran;
    int32_t rank;
    int64_t shape[CNNRT_NPY_MAX_RANK];
} Header;

static int parse_dict(const char *name, Cursor *c, Header *h, char *err, size_t errlen)
{
    bool have_descr = false, have_order = false, have_shape = false;
    if (!eat(c, '{'))
        return rt_fail(err, errlen, "%s: bad .npy header: not a dictionary", name);
    for (;;) {
        if (eat(c, '}'))
            break;
        char key[32];
        if (!read_str(c, key, sizeof key) || !eat(c, ':'))
            return rt_fail(err, errlen, "%s: bad .npy header: expected a quoted key and ':'", name);
        if (strcmp(key, "descr") == 0) {
            char d[64];
            if (!read_str(c, d, sizeof d))
                return rt_fail(err, errlen, "%s: bad .npy header: 'descr' is not a string", name);
            char order = d[0];
            const char *t = d + 1;
            if (order != '<' && order != '>' && order != '|' && order != '=') {
                order = '=';
                t = d;
            }
            if (strcmp(t, "f4") == 0)
                h->kind = K_F4;
            else if (strcmp(t, "f8") == 0)
                h->kind = K_F8;
            else if (strcmp(t, "u1") == 0 || strcmp(t, "B") == 0)
                h->kind = K_U1;
            else
                return rt_fail(err, errlen, "%s: unsupported .npy dtype '%s': use float32, float64 or uint8",
                               name, d);
            h->big = order == '>' || (order == '=' && !rt_host_little());
            have_descr = true;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (starts(c, "True"))
                h->fortran = true;
            else if (starts(c, "False"))
                h->fortran = false;
            else
                return rt_fail(err, errlen, "%s: bad .npy header: 'fortran_order' is not True or False", name);
            have_order = true;
        } else if (strcmp(key, "shape") == 0) {
            if (!eat(c, '('))
                return rt_fail(err, errlen, "%s: bad .npy header: 'shape' is not a tuple", name);
            h->rank = 0;
            while (!eat(c, ')')) {
                skip_space(c);
                if (c->p >= c->end || *c->p < '0' || *c->p > '9')
                    return rt_fail(err, errlen, "%s: bad .npy header: 'shape' holds a non-integer", name);
                int64_t v = 0;
                while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
                    if (!rt_mul_i64(v, 10, &v) || v > INT64_MAX - (*c->p - '0'))
                        return rt_fail(err, errlen, "%s: .npy shape entry overflows 64 bits", name);
                    v += *c->p++ - '0';
                }
                /* Python 2 wrote longs as 3L. */
                if (c->p < c->end && *c->p == 'L')
                    c->p++;
                if (h->rank == CNNRT_NPY_MAX_RANK)
                    return rt_fail(err, errlen, "%s: .npy rank above %d", name, CNNRT_NPY_MAX_RANK);
                h->shape[h->rank++] = v;
                if (!eat(c, ',')) {
                    if (!eat(c, ')'))
                        return rt_fail(err, errlen, "%s: bad .npy header: 'shape' tuple not closed", name);
                    break;
                }
            }
            have_shape = true;
        } else {
            return rt_fail(err, errlen, "%s: bad .npy header: unknown key '%s'", name, key);
        }
        if (!eat(c, ',')) {
            if (!eat(c, '}'))
                return rt_fail(err, errlen, "%s: bad .npy header: expected ',' or '}'", name);
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape)
        return rt_fail(err, errlen, "%s: bad .npy header: missing '%s'", name,
                       !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    return 0;
}

static double load(const unsigned char *p, Kind k, bool big)
{
    int n = k == K_F4 ? 4 : k == K_F8 ? 8 : 1;
    uint64_t b = 0;
    for (int i = 0; i < n; i++)
        b = b << 8 | p[big ? i : n - 1 - i];
    if (k == K_U1)
        return (double)b;
    if (k == K_F4) {
        uint32_t u = (uint32_t)b;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    double d;
    memcpy(&d, &b, 8);
    return d;
}

int cnnrt_npy_parse(const char *name, const unsigned char *bytes, size_t len, CnnrtArray *out, char *err,
                    size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (len == 0)
        return rt_fail(err, errlen, "%s: the file is empty, not a .npy file", name);
    if (len < 6 || memcmp(bytes, "\x93NUMPY", 6) != 0)
        return rt_fail(err, errlen, "%s: not a .npy file (bad magic; expected \\x93NUMPY)", name);
    if (len < 10)
        return rt_fail(err, errlen, "%s: truncated .npy header (%zu bytes)", name, len);
    unsigned major = bytes[6];
    size_t hlen, start;
    if (major == 1) {
        hlen = (size_t)bytes[8] | (size_t)bytes[9] << 8;
        start = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            return rt_fail(err, errlen, "%s: truncated .npy header", name);
        hlen = (size_t)bytes[8] | (size_t)bytes[9] << 8 | (size_t)bytes[10] << 16 | (size_t)bytes[11] << 24;
        start = 12;
    } else {
        return rt_fail(err, errlen, "%s: unsupported .npy version %u.%u", name, major, bytes[7]);
    }
    if (hlen > len - start)
        return rt_fail(err, errlen, "%s: truncated .npy header (%zu bytes announced, %zu present)", name, hlen,
                       len - start);
    Header h = {0};
    Cursor c = {(const char *)bytes + start, (const char *)bytes + start + hlen};
    if (parse_dict(name, &c, &h, err, errlen) != 0)
        return -1;
    int64_t count = 1;
    for (int32_t i = 0; i < h.rank; i++)
        if (!rt_mul_i64(count, h.shape[i], &count))
            return rt_fail(err, errlen, "%s: .npy shape's element count overflows 64 bits", name);
    size_t esize = h.kind == K_F4 ? 4 : h.kind == K_F8 ? 8 : 1, need, floats;
    if ((uint64_t)count > SIZE_MAX || !rt_mul_size((size_t)count, esize, &need) ||
        !rt_mul_size((size_t)count, sizeof(float), &floats))
        return rt_fail(err, errlen, "%s: .npy array of %lld elements is too large", name, (long long)count);
    size_t have = len - start - hlen;
    if (have < need)
        return rt_fail(err, errlen, "%s: truncated .npy data: %zu bytes for %lld elements need %zu", name, have,
                       (long long)count, need);
    float *data = malloc(floats ? floats : 1);
    if (!data)
        return rt_fail(err, errlen, "%s: out of memory for %lld elements", name, (long long)count);
    const unsigned char *src = bytes + start + hlen;
    if (!h.fortran || h.rank < 2) {
        for (size_t i = 0; i < (size_t)count; i++)
            data[i] = (float)load(src + i * esize, h.kind, h.big);
    } else {
        /* Fortran order: the first index varies fastest in the file. Walk the
         * C-order index with an odometer and read the matching element. */
        int64_t idx[CNNRT_NPY_MAX_RANK] = {0}, stride[CNNRT_NPY_MAX_RANK];
        stride[0] = 1;
        for (int32_t d = 1; d < h.rank; d++)
            stride[d] = stride[d - 1] * h.shape[d - 1];
        for (size_t i = 0; i < (size_t)count; i++) {
            int64_t off = 0;
            for (int32_t d = 0; d < h.rank; d++)
                off += idx[d] * stride[d];
            data[i] = (float)load(src + (size_t)off * esize, h.kind, h.big);
            for (int32_t d = h.rank - 1; d >= 0; d--) {
                if (++idx[d] < h.shape[d])
                    break;
                idx[d] = 0;
            }
        }
    }
    out->rank = h.rank;
    memcpy(out->shape, h.shape, sizeof h.shape);
    out->count = count;
    out->data = data;
    return 0;
}

int cnnrt_npy_read(const char *path, CnnrtArray *out, char *err, size_t errlen)
{
    unsigned char *bytes;
    size_t len;
    memset(out, 0, sizeof *out);
    if (rt_read_file(path, &bytes, &len, err, errlen) != 0)
        return -1;
    int rc = cnnrt_npy_parse(path, bytes, len, out, err, errlen);
    free(bytes);
    return rc;
}

void cnnrt_array_free(CnnrtArray *a)
{
    free(a->data);
    a->data = NULL;
}

int cnnrt_npy_write(const char *path, const float *data, int32_t rank, const int64_t *shape, char *err,
                    size_t errlen)
{
    char dict[512];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    int64_t count = 1;
    for (int32_t i = 0; i < rank; i++) {
        if (!rt_mul_i64(count, shape[i], &count))
            return rt_fail(err, errlen, "cannot write '%s': element count overflows", path);
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%lld,%s", (long long)shape[i],
                      i + 1 < rank ? " " : "");
    }
    /* (3,) keeps the trailing comma Python needs for a 1-tuple; drop it for more. */
    if (rank > 1)
        n--;
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    /* Pad with spaces so magic + length + dict + '\n' is a multiple of 64,
     * as numpy does, keeping the data aligned. */
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)n + pad + 1;
    RtOut out;
    if (rt_out_open(&out, path, err, errlen) != 0)
        return -1;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    fwrite(pre, 1, sizeof pre, out.f);
    fwrite(dict, 1, (size_t)n, out.f);
    for (size_t i = 0; i < pad; i++)
        fputc(' ', out.f);
    fputc('\n', out.f);
    if (rt_host_little()) {
        fwrite(data, sizeof(float), (size_t)count, out.f);
    } else {
        for (int64_t i = 0; i < count; i++) {
            uint32_t b;
            memcpy(&b, &data[i], 4);
            unsigned char le[4] = {(unsigned char)b, (unsigned char)(b >> 8), (unsigned char)(b >> 16),
                                   (unsigned char)(b >> 24)};
            fwrite(le, 1, 4, out.f);
        }
    }
    return rt_out_commit(&out, err, errlen);
}
