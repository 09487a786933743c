/* The image readers and the PGM/PPM writer (see image.h). PNG and JPEG
 * are decoded by Debian's libpng and libjpeg-turbo, where the runtime is
 * built with them (CNNRT_PHOTO: this machine's runtime, not the cross
 * ones). Netpbm headers are the magic,
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

#ifdef CNNRT_PHOTO
#include <jpeglib.h>
/* After jpeglib.h, which it needs: the message codes. */
#include <jerror.h>
#include <png.h>
#include <setjmp.h>
#endif

/* The most samples a decoded or resized image may hold (512 MiB of them):
 * a small compressed file can claim a huge picture. */
#define MAX_SAMPLES ((size_t)1 << 28)

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

static int parse_pnm(const char *name, const unsigned char *bytes, size_t len, CnnrtImage *img, char *err,
                     size_t errlen)
{
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
    img->format = channels == 1 ? "PGM" : "PPM";
    return 0;
}

void cnnrt_image_describe(const unsigned char *b, size_t len, char *out, size_t outlen)
{
    static const struct {
        size_t at, n;
        const char *magic, *what;
    } known[] = {
        {0, 6, "GIF87a", "a GIF image"},
        {0, 6, "GIF89a", "a GIF image"},
        {0, 4, "II*\0", "a TIFF image"},
        {0, 4, "MM\0*", "a TIFF image"},
        {8, 4, "WEBP", "a WebP image"},
        {4, 8, "ftypheic", "a HEIC image"},
        {4, 8, "ftypheix", "a HEIC image"},
        {4, 8, "ftypmif1", "a HEIF image"},
        {4, 8, "ftypavif", "an AVIF image"},
        {0, 4, "\0\0\0\x0cjP", "a JPEG 2000 image"},
        {0, 4, "%PDF", "a PDF document"},
        {0, 4, "\x7f" "ELF", "an ELF executable"},
        {0, 2, "BM", "a BMP image"},
        {0, 4, "PK\x03\x04", "a zip archive (a PyTorch .pt/.pth checkpoint is one)"},
        {0, 2, "\x1f\x8b", "gzip-compressed data"},
        {0, 6, "\x93NUMPY", "a .npy array"},
        {0, 2, "P1", "a PBM bitmap (1 bit; this program reads PGM P2/P5 and PPM P3/P6)"},
        {0, 2, "P4", "a PBM bitmap (1 bit; this program reads PGM P2/P5 and PPM P3/P6)"},
        {0, 2, "P7", "a PAM image (this program reads PGM P2/P5 and PPM P3/P6)"},
    };
    if (len == 0) {
        snprintf(out, outlen, "an empty file");
        return;
    }
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (len >= known[i].at + known[i].n && memcmp(b + known[i].at, known[i].magic, known[i].n) == 0) {
            snprintf(out, outlen, "%s", known[i].what);
            return;
        }
    /* safetensors: an 8-byte little-endian length, then a JSON header. */
    if (len > 9 && b[8] == '{') {
        snprintf(out, outlen, "a safetensors file (weights, not an input)");
        return;
    }
    /* Text: printable ASCII, white space and whole UTF-8 characters in the
     * first 512 bytes (a character cut by that limit counts). */
    size_t n = len < 512 ? len : 512, i = 0;
    while (i < n) {
        unsigned char c = b[i];
        size_t more = c >= 0xf0 && c < 0xf5 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : 0;
        if (c < 0x80) {
            if (c < 0x20 && c != '\n' && c != '\r' && c != '\t')
                break;
            if (c == 0x7f)
                break;
        } else if (more == 0 || c >= 0xf5) {
            break;
        } else {
            size_t k = 1;
            while (k <= more && i + k < n && (b[i + k] & 0xc0) == 0x80)
                k++;
            if (k <= more && i + k < n)
                break;
            i += k - 1;
        }
        i++;
    }
    if (i >= n) {
        char first[41];
        size_t k = 0;
        for (; k < n && k < 40 && b[k] != '\n' && b[k] != '\r'; k++)
            first[k] = (char)b[k];
        /* Not half a UTF-8 character at the cut. */
        if (k < n && k == 40 && b[k] >= 0x80) {
            while (k > 0 && (b[k - 1] & 0xc0) == 0x80)
                k--;
            if (k > 0 && b[k - 1] >= 0xc0)
                k--;
        }
        first[k] = '\0';
        snprintf(out, outlen, "text starting '%s'", first);
        return;
    }
    size_t at = (size_t)snprintf(out, outlen, "binary data starting");
    for (size_t j = 0; j < 8 && j < len && at < outlen; j++)
        at += (size_t)snprintf(out + at, outlen - at, " %02x", b[j]);
}

#ifdef CNNRT_PHOTO
typedef struct PngRead {
    const unsigned char *bytes;
    size_t len, at;
    char why[200];
} PngRead;

static void png_from_memory(png_structp png, png_bytep out, size_t n)
{
    PngRead *r = png_get_io_ptr(png);
    if (n > r->len - r->at)
        png_error(png, "the file ends early (truncated)");
    memcpy(out, r->bytes + r->at, n);
    r->at += n;
}

static void png_on_error(png_structp png, png_const_charp msg)
{
    PngRead *r = png_get_error_ptr(png);
    snprintf(r->why, sizeof r->why, "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* Samples as the file has them, as PIL's convert("L") / convert("RGB")
 * give them: a palette expanded to RGB, 1-, 2- and 4-bit grey scaled to 8
 * bits, alpha and transparency dropped, gamma and colour profiles not
 * applied; 16-bit samples are kept (maxval 65535). */
static int parse_png(const char *name, const unsigned char *bytes, size_t len, CnnrtImage *img, char *err,
                     size_t errlen)
{
    PngRead r = {bytes, len, 0, ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        return rt_fail(err, errlen, "%s: out of memory reading a PNG", name);
    }
    /* Set after setjmp, read after a longjmp: volatile. */
    unsigned char *volatile raster = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(raster);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return rt_fail(err, errlen, "%s: bad PNG: %s", name, r.why);
    }
    png_set_read_fn(png, &r, png_from_memory);
    png_set_user_limits(png, 1000000, 1000000);
    png_read_info(png, info);
    png_uint_32 w, h;
    int depth, color, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &color, &interlace, NULL, NULL);
    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (color & PNG_COLOR_MASK_ALPHA)
        png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    depth = png_get_bit_depth(png, info);
    if ((channels != 1 && channels != 3) || (depth != 8 && depth != 16))
        png_error(png, "an unexpected layout after conversion");
    size_t samples = (size_t)w * h * (size_t)channels, rowbytes = png_get_rowbytes(png, info);
    if (samples > MAX_SAMPLES) {
        snprintf(r.why, sizeof r.why, "%lux%lu is too large (over %zu samples)", (unsigned long)w,
                 (unsigned long)h, MAX_SAMPLES);
        png_longjmp(png, 1);
    }
    raster = malloc(rowbytes * h);
    rows = malloc(h * sizeof *rows);
    uint16_t *pix = malloc(samples * sizeof *pix);
    if (!raster || !rows || !pix) {
        free(pix);
        snprintf(r.why, sizeof r.why, "out of memory for %lux%lu", (unsigned long)w, (unsigned long)h);
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = raster + (size_t)y * rowbytes;
    /* pix is freed if this longjmps: it is not volatile, so hand it over
     * to img first. */
    img->pixels = pix;
    png_read_image(png, rows);
    for (size_t i = 0; i < samples; i++)
        pix[i] = depth == 16 ? (uint16_t)(raster[2 * i] << 8 | raster[2 * i + 1]) : raster[i];
    free(raster);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    img->width = w;
    img->height = h;
    img->channels = channels;
    img->maxval = depth == 16 ? 65535 : 255;
    img->format = "PNG";
    return 0;
}

typedef struct JpegError {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char why[JMSG_LENGTH_MAX];
} JpegError;

static void jpeg_on_error(j_common_ptr cinfo)
{
    JpegError *e = (JpegError *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->why);
    longjmp(e->jump, 1);
}

/* Warnings: a file that ends early is an error, as PIL makes it; the
 * others (extraneous bytes and the like) are not. */
static void jpeg_on_message(j_common_ptr cinfo, int level)
{
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
        jpeg_on_error(cinfo);
}

/* Grey JPEGs as one channel, the rest as RGB, decoded as PIL decodes them
 * (libjpeg's defaults: the accurate integer IDCT, fancy upsampling). */
static int parse_jpeg(const char *name, const unsigned char *bytes, size_t len, CnnrtImage *img, char *err,
                      size_t errlen)
{
    struct jpeg_decompress_struct cinfo;
    JpegError e;
    cinfo.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = jpeg_on_error;
    e.mgr.emit_message = jpeg_on_message;
    e.why[0] = '\0';
    unsigned char *volatile row = NULL;
    if (setjmp(e.jump)) {
        free(row);
        cnnrt_image_free(img);
        jpeg_destroy_decompress(&cinfo);
        return rt_fail(err, errlen, "%s: bad JPEG: %s", name, e.why);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, bytes, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        snprintf(e.why, sizeof e.why, "a CMYK JPEG; convert it to RGB first");
        longjmp(e.jump, 1);
    }
    cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    size_t w = cinfo.output_width, h = cinfo.output_height, c = (size_t)cinfo.output_components;
    if (w * h * c > MAX_SAMPLES) {
        snprintf(e.why, sizeof e.why, "%zux%zu is too large (over %zu samples)", w, h, MAX_SAMPLES);
        longjmp(e.jump, 1);
    }
    row = malloc(w * c);
    img->pixels = malloc(w * h * c * sizeof *img->pixels);
    if (!row || !img->pixels) {
        snprintf(e.why, sizeof e.why, "out of memory for %zux%zu", w, h);
        longjmp(e.jump, 1);
    }
    while (cinfo.output_scanline < h) {
        size_t y = cinfo.output_scanline;
        JSAMPROW rp = row;
        if (jpeg_read_scanlines(&cinfo, &rp, 1) != 1) {
            snprintf(e.why, sizeof e.why, "no data for row %zu", y);
            longjmp(e.jump, 1);
        }
        for (size_t i = 0; i < w * c; i++)
            img->pixels[y * w * c + i] = row[i];
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    img->width = (int64_t)w;
    img->height = (int64_t)h;
    img->channels = (int32_t)c;
    img->maxval = 255;
    img->format = "JPEG";
    return 0;
}
#endif

int cnnrt_image_parse(const char *name, const unsigned char *bytes, size_t len, CnnrtImage *img, char *err,
                      size_t errlen)
{
    memset(img, 0, sizeof *img);
    if (len == 0)
        return rt_fail(err, errlen, "%s: the file is empty, not an image", name);
    /* Four bytes are enough to call it a PNG: libpng names what is wrong
     * with the rest. */
    bool png = len >= 4 && memcmp(bytes, "\x89PNG", 4) == 0;
    bool jpeg = len >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff;
    if (png || jpeg) {
#ifdef CNNRT_PHOTO
        int rc = png ? parse_png(name, bytes, len, img, err, errlen) : parse_jpeg(name, bytes, len, img, err, errlen);
        if (rc != 0)
            cnnrt_image_free(img);
        return rc;
#else
        return rt_fail(err, errlen,
                       "%s: a %s image, but this runtime was built without libpng and libjpeg (a cross "
                       "target's): convert it to PGM or PPM",
                       name, png ? "PNG" : "JPEG");
#endif
    }
    if (len >= 2 && bytes[0] == 'P' && (bytes[1] == '2' || bytes[1] == '3' || bytes[1] == '5' || bytes[1] == '6'))
        return parse_pnm(name, bytes, len, img, err, errlen);
    char what[128];
    cnnrt_image_describe(bytes, len, what, sizeof what);
    return rt_fail(err, errlen, "%s: not a PNG, JPEG, PGM or PPM image: it looks like %s", name, what);
}

/* One axis of PIL's resampling (Resample.c, precompute_coeffs and
 * normalize_coeffs_8bpc) with its bilinear filter: output sample i reads
 * inputs [first[i], first[i] + count[i]) with weights k[i * ksize + j],
 * fixed point with PRECISION_BITS fraction bits. Downscaling widens the
 * filter by the scale (antialiasing). */
enum { PRECISION_BITS = 32 - 8 - 2 };

typedef struct Axis {
    int64_t ksize;
    int64_t *first, *count;
    int32_t *k;
} Axis;

static void axis_free(Axis *a)
{
    free(a->first);
    free(a->count);
    free(a->k);
}

static bool axis_make(int64_t in, int64_t out, Axis *a)
{
    double scale = (double)in / (double)out, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale;
    a->ksize = (int64_t)ceil(support) * 2 + 1;
    a->first = malloc((size_t)out * sizeof *a->first);
    a->count = malloc((size_t)out * sizeof *a->count);
    a->k = malloc((size_t)(out * a->ksize) * sizeof *a->k);
    double *w = malloc((size_t)a->ksize * sizeof *w);
    if (!a->first || !a->count || !a->k || !w) {
        free(w);
        axis_free(a);
        return false;
    }
    for (int64_t i = 0; i < out; i++) {
        double center = ((double)i + 0.5) * scale, ss = 1.0 / filterscale, sum = 0.0;
        /* (int) truncates toward zero, as in PIL. */
        int64_t lo = (int64_t)(center - support + 0.5), hi = (int64_t)(center + support + 0.5);
        if (lo < 0)
            lo = 0;
        if (hi > in)
            hi = in;
        int64_t n = hi - lo;
        for (int64_t j = 0; j < n; j++) {
            double x = fabs(((double)(j + lo) - center + 0.5) * ss);
            w[j] = x < 1.0 ? 1.0 - x : 0.0;
            sum += w[j];
        }
        int32_t *k = a->k + i * a->ksize;
        for (int64_t j = 0; j < a->ksize; j++) {
            double v = j < n && sum != 0.0 ? w[j] / sum : 0.0;
            v *= (double)(1 << PRECISION_BITS);
            k[j] = (int32_t)(v < 0 ? v - 0.5 : v + 0.5);
        }
        a->first[i] = lo;
        a->count[i] = n;
    }
    free(w);
    return true;
}

/* PIL's clip8 for any maxval: the rounded fixed-point sum, clamped. */
static uint16_t clip(int64_t sum, uint32_t maxval)
{
    int64_t v = sum >> PRECISION_BITS;
    return (uint16_t)(v < 0 ? 0 : v > (int64_t)maxval ? (int64_t)maxval : v);
}

int cnnrt_image_resize_crop(const char *name, const CnnrtImage *img, int64_t shorter, int64_t w, int64_t h,
                            CnnrtImage *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int64_t iw = img->width, ih = img->height, c = img->channels;
    int64_t s = iw < ih ? iw : ih, l = iw < ih ? ih : iw;
    /* torchvision: the long side is int(size * long / short). */
    int64_t nl = (int64_t)((double)(shorter * l) / (double)s);
    int64_t nw = iw <= ih ? shorter : nl, nh = iw <= ih ? nl : shorter;
    if (nw < w || nh < h)
        return rt_fail(err, errlen,
                       "%s: --resize=%lld scales the %lldx%lld image to %lldx%lld, smaller than the network's "
                       "input %lldx%lld: give --resize=%lld or more",
                       name, (long long)shorter, (long long)iw, (long long)ih, (long long)nw, (long long)nh,
                       (long long)w, (long long)h, (long long)(w > h ? w : h));
    if ((size_t)nw * (size_t)nh * (size_t)c > MAX_SAMPLES || (size_t)nw * (size_t)ih * (size_t)c > MAX_SAMPLES)
        return rt_fail(err, errlen, "%s: --resize=%lld makes a %lldx%lld image, too large", name, (long long)shorter,
                       (long long)nw, (long long)nh);
    Axis ax = {0}, ay = {0};
    uint16_t *tmp = NULL, *res = NULL, *crop = NULL;
    bool ok = axis_make(iw, nw, &ax) && axis_make(ih, nh, &ay);
    /* Horizontal first, over the input rows the vertical pass reads. */
    int64_t y0 = ok ? ay.first[0] : 0, y1 = ok ? ay.first[nh - 1] + ay.count[nh - 1] : 0;
    ok = ok && (tmp = malloc((size_t)(nw * (y1 - y0) * c) * sizeof *tmp)) != NULL &&
         (res = malloc((size_t)(nw * nh * c) * sizeof *res)) != NULL &&
         (crop = malloc((size_t)(w * h * c) * sizeof *crop)) != NULL;
    if (!ok) {
        axis_free(&ax);
        axis_free(&ay);
        free(tmp);
        free(res);
        free(crop);
        return rt_fail(err, errlen, "%s: out of memory resizing to %lldx%lld", name, (long long)nw, (long long)nh);
    }
    /* PIL skips a pass whose size does not change (a plain copy). */
    const uint16_t *src = img->pixels;
    int64_t rows = ih;
    if (nw != iw) {
        for (int64_t y = y0; y < y1; y++)
            for (int64_t x = 0; x < nw; x++)
                for (int64_t ch = 0; ch < c; ch++) {
                    const int32_t *k = ax.k + x * ax.ksize;
                    int64_t sum = (int64_t)1 << (PRECISION_BITS - 1);
                    for (int64_t j = 0; j < ax.count[x]; j++)
                        sum += (int64_t)src[(y * iw + ax.first[x] + j) * c + ch] * k[j];
                    tmp[((y - y0) * nw + x) * c + ch] = clip(sum, img->maxval);
                }
        src = tmp;
        rows = y1 - y0;
    } else {
        y0 = 0;
    }
    if (nh != ih || rows != ih) {
        for (int64_t y = 0; y < nh; y++)
            for (int64_t x = 0; x < nw; x++)
                for (int64_t ch = 0; ch < c; ch++) {
                    const int32_t *k = ay.k + y * ay.ksize;
                    int64_t sum = (int64_t)1 << (PRECISION_BITS - 1);
                    for (int64_t j = 0; j < ay.count[y]; j++)
                        sum += (int64_t)src[((ay.first[y] - y0 + j) * nw + x) * c + ch] * k[j];
                    res[(y * nw + x) * c + ch] = clip(sum, img->maxval);
                }
    } else {
        memcpy(res, src, (size_t)(nw * nh * c) * sizeof *res);
    }
    /* torchvision's CenterCrop: int(round((size - crop) / 2.0)), and
     * Python rounds halves to even. */
    int64_t left = (nw - w) / 2, top = (nh - h) / 2;
    if ((nw - w) % 2 && left % 2)
        left++;
    if ((nh - h) % 2 && top % 2)
        top++;
    for (int64_t y = 0; y < h; y++)
        memcpy(crop + y * w * c, res + ((y + top) * nw + left) * c, (size_t)(w * c) * sizeof *crop);
    axis_free(&ax);
    axis_free(&ay);
    free(tmp);
    free(res);
    out->width = w;
    out->height = h;
    out->channels = img->channels;
    out->maxval = img->maxval;
    out->pixels = crop;
    out->format = img->format;
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
    const char *format = img->format ? img->format : img->channels == 1 ? "PGM" : "PPM";
    if (img->channels != d)
        return rt_fail(err, errlen, "%s: a %s (%s) image (%d channel%s) for a network whose input is %lld deep%s",
                       name, img->channels == 1 ? "grayscale" : "colour", format, img->channels,
                       img->channels == 1 ? "" : "s", (long long)d,
                       d == 1   ? ": give a grayscale image (PGM, PNG or JPEG)"
                       : d == 3 ? ": give a colour image (PPM, PNG or JPEG)"
                                : ": give a .npy");
    if (img->width != w || img->height != h) {
        /* torchvision's ImageNet preparation is Resize(256) then
         * CenterCrop(224): suggest the same proportion. */
        int64_t side = w > h ? w : h, n = (side * 8 + 3) / 7;
        return rt_fail(err, errlen,
                       "%s: image is %lldx%lld, the network's input is %lldx%lld (width x height); give --resize=%lld "
                       "to scale its shorter side to %lld and crop the centre %lldx%lld, as torchvision's "
                       "Resize(%lld) and CenterCrop do",
                       name, (long long)img->width, (long long)img->height, (long long)w, (long long)h, (long long)n,
                       (long long)n, (long long)w, (long long)h, (long long)n);
    }
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
