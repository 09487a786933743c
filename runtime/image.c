/* The PGM/PPM reader and writer (see image.h). Netpbm headers are the magic,
 * then width, height and maxval as decimal numbers separated by white space,
 * where '#' starts a comment to the end of the line; a binary raster starts
 * after exactly one white-space byte, 16-bit samples most significant byte
 * first. The plain (P2/P3) rasters are decimal numbers. */
#include "runtime/image.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rtio.h"

typedef struct Scan {
    const unsigned char *p, *end;
} Scan;

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Skips white space and comments. */
static void skip(Scan *s)
{
    while (s->p < s->end) {
        if (is_space(*s->p)) {
            s->p++;
        } else if (*s->p == '#') {
            while (s->p < s->end && *s->p != '\n')
                s->p++;
        } else {
            break;
        }
    }
}

/* A decimal number up to limit; 0 ok, 1 no number here, 2 too large. */
static int number(Scan *s, uint64_t limit, uint64_t *out)
{
    skip(s);
    if (s->p >= s->end || *s->p < '0' || *s->p > '9')
        return 1;
    uint64_t v = 0;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        v = v * 10 + (uint64_t)(*s->p++ - '0');
        if (v > limit)
            return 2;
    }
    /* "12abc" is not a number followed by something. */
    if (s->p < s->end && !is_space(*s->p) && *s->p != '#')
        return 1;
    *out = v;
    return 0;
}

int cnnrt_image_parse(const char *name, const unsigned char *bytes, size_t len, CnnrtImage *img, char *err,
                      size_t errlen)
{
    memset(img, 0, sizeof *img);
    if (len == 0)
        return rt_fail(err, errlen, "%s: the file is empty, not a PGM/PPM image", name);
    if (len < 2 || bytes[0] != 'P' || (bytes[1] != '2' && bytes[1] != '3' && bytes[1] != '5' && bytes[1] != '6'))
        return rt_fail(err, errlen, "%s: not a PGM/PPM image (expected P2, P3, P5 or P6 at the start)", name);
    bool plain = bytes[1] == '2' || bytes[1] == '3';
    int32_t channels = bytes[1] == '3' || bytes[1] == '6' ? 3 : 1;
    Scan s = {bytes + 2, bytes + len};
    if (s.p < s.end && !is_space(*s.p) && *s.p != '#')
        return rt_fail(err, errlen, "%s: bad PGM/PPM header: no white space after the magic", name);
    static const char *const what[] = {"width", "height", "maxval"};
    uint64_t v[3];
    for (int i = 0; i < 3; i++) {
        int rc = number(&s, i < 2 ? 1000000 : 65535, &v[i]);
        if (rc == 2)
            return rt_fail(err, errlen, "%s: bad PGM/PPM header: %s too large (over %s)", name, what[i],
                           i < 2 ? "1000000" : "65535");
        if (rc != 0)
            return rt_fail(err, errlen, "%s: bad PGM/PPM header: %s", name,
                           s.p >= s.end ? "it ends early" : i == 0 ? "no width" : i == 1 ? "no height" : "no maxval");
        if (v[i] == 0)
            return rt_fail(err, errlen, "%s: bad PGM/PPM header: %s is 0", name, what[i]);
    }
    size_t samples = (size_t)(v[0] * v[1] * (uint64_t)channels); /* < 3e12: no overflow */
    size_t bytes_per = v[2] > 255 ? 2 : 1;
    /* Check that the file can hold the raster before allocating for it: a
     * 20-byte file announcing 1000000x1000000 must be "truncated", not a
     * terabyte malloc. A plain sample takes at least a digit and a space. */
    if (!plain && (s.p >= s.end || !is_space(*s.p)))
        return rt_fail(err, errlen, "%s: truncated image data: no raster after the header", name);
    size_t have = (size_t)(s.end - s.p) - (plain ? 0 : 1);
    if (plain ? (have + 1) / 2 < samples : have / bytes_per < samples) {
        if (plain)
            return rt_fail(err, errlen, "%s: truncated image data: %zu bytes cannot hold %zu samples", name, have,
                           samples);
        return rt_fail(err, errlen, "%s: truncated image data: %zu bytes for %zu samples of %zu bytes", name, have,
                       samples, bytes_per);
    }
    uint16_t *pix = malloc(samples * sizeof *pix);
    if (!pix)
        return rt_fail(err, errlen, "%s: out of memory for a %llux%llu image", name, (unsigned long long)v[0],
                       (unsigned long long)v[1]);
    if (plain) {
        for (size_t i = 0; i < samples; i++) {
            uint64_t x;
            int rc = number(&s, 65535, &x);
            if (rc != 0 || x > v[2]) {
                free(pix);
                if (rc == 0 || rc == 2)
                    return rt_fail(err, errlen, "%s: sample %zu is above maxval %llu", name, i,
                                   (unsigned long long)v[2]);
                if (s.p >= s.end)
                    return rt_fail(err, errlen, "%s: truncated image data: %zu of %zu samples", name, i, samples);
                return rt_fail(err, errlen, "%s: bad sample %zu: not a decimal number", name, i);
            }
            pix[i] = (uint16_t)x;
        }
    } else {
        /* Exactly one white-space byte ends the header of a binary raster
         * (checked above, with the raster's size). */
        s.p++;
        for (size_t i = 0; i < samples; i++) {
            unsigned x = bytes_per == 2 ? (unsigned)s.p[2 * i] << 8 | s.p[2 * i + 1] : s.p[i];
            if (x > v[2]) {
                free(pix);
                return rt_fail(err, errlen, "%s: sample %zu is %u, above maxval %llu", name, i, x,
                               (unsigned long long)v[2]);
            }
            pix[i] = (uint16_t)x;
        }
    }
    img->width = (int64_t)v[0];
    img->height = (int64_t)v[1];
    img->channels = channels;
    img->maxval = (uint32_t)v[2];
    img->pixels = pix;
    return 0;
}

int cnnrt_image_read(const char *path, CnnrtImage *img, char *err, size_t errlen)
{
    unsigned char *bytes;
    size_t len;
    memset(img, 0, sizeof *img);
    if (rt_read_file(path, &bytes, &len, err, errlen) != 0)
        return -1;
    int rc = cnnrt_image_parse(path, bytes, len, img, err, errlen);
    free(bytes);
    return rc;
}

void cnnrt_image_free(CnnrtImage *img)
{
    free(img->pixels);
    img->pixels = NULL;
}

int cnnrt_image_to_input(const char *name, const CnnrtImage *img, int64_t w, int64_t h, int64_t d,
                         int32_t nmean, const float *mean, int32_t nstd, const float *std, float *dst,
                         char *err, size_t errlen)
{
    if (img->channels != d)
        return rt_fail(err, errlen, "%s: a %s image (%d channel%s) for a network whose input is %lld deep%s", name,
                       img->channels == 1 ? "grayscale (PGM)" : "colour (PPM)", img->channels,
                       img->channels == 1 ? "" : "s", (long long)d,
                       d == 1 ? ": give a PGM" : d == 3 ? ": give a PPM" : ": give a .npy");
    if (img->width != w || img->height != h)
        return rt_fail(err, errlen, "%s: image is %lldx%lld, the network's input is %lldx%lld (width x height)",
                       name, (long long)img->width, (long long)img->height, (long long)w, (long long)h);
    size_t plane = (size_t)(w * h);
    for (int64_t c = 0; c < d; c++) {
        double m = nmean == 0 ? 0.0 : mean[nmean == 1 ? 0 : c];
        double sd = nstd == 0 ? 1.0 : std[nstd == 1 ? 0 : c];
        for (size_t i = 0; i < plane; i++) {
            double x = (double)img->pixels[i * (size_t)d + (size_t)c] / img->maxval;
            dst[(size_t)c * plane + i] = (float)((x - m) / sd);
        }
    }
    return 0;
}

int cnnrt_image_write(const char *path, const float *src, int64_t w, int64_t h, int64_t d, char *err,
                      size_t errlen)
{
    if (d != 1 && d != 3)
        return rt_fail(err, errlen, "cannot write '%s': an image needs a 1- or 3-deep map, not %lld", path,
                       (long long)d);
    RtOut out;
    if (rt_out_open(&out, path, err, errlen) != 0)
        return -1;
    fprintf(out.f, "P%c\n%lld %lld\n255\n", d == 1 ? '5' : '6', (long long)w, (long long)h);
    size_t plane = (size_t)(w * h);
    for (size_t i = 0; i < plane; i++) {
        for (int64_t c = 0; c < d; c++) {
            double x = (double)src[(size_t)c * plane + i] * 255.0;
            /* NaN becomes 0: fmax/fmin drop it. */
            x = fmin(fmax(x, 0.0), 255.0);
            fputc((int)(x + 0.5), out.f); /* half away from zero */
        }
    }
    return rt_out_commit(&out, err, errlen);
}
