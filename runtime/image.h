/* libcnnrt's image readers and PGM/PPM writer (SPEC sections 6 and 8):
 * P2/P5 (grey) and P3/P6 (colour), 8- or 16-bit (maxval up to 65535),
 * comments in headers; PNG and JPEG through libpng and libjpeg where the
 * runtime is built with them (this machine's, not the cross targets').
 * Reads keep the raw samples; cnnrt_image_resize_crop scales and crops as
 * torchvision does; cnnrt_image_to_input checks the size and depth against
 * the network and normalises into D x H x W floats. */
#ifndef CNNC_RUNTIME_IMAGE_H
#define CNNC_RUNTIME_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A status that must not be dropped (STYLE.md); nothing on other compilers. */
#ifndef CNNRT_NODISCARD
#if defined(__GNUC__) || defined(__clang__)
#define CNNRT_NODISCARD __attribute__((warn_unused_result))
#else
#define CNNRT_NODISCARD
#endif
#endif

typedef struct CnnrtImage {
    int64_t width, height;
    int32_t channels;   /* 1 (grey) or 3 (RGB) */
    uint32_t maxval;    /* 1..65535 */
    uint16_t *pixels;   /* height x width x channels samples, row by row, interleaved */
    const char *format; /* "PGM", "PPM", "PNG" or "JPEG", for messages */
} CnnrtImage;

/* Reads path into *img: PNG, JPEG, PGM or PPM, told by the content.
 * Returns 0, or -1 with a message naming the file (and what the file
 * looks like when it is none of these). */
CNNRT_NODISCARD int cnnrt_image_read(const char *path, CnnrtImage *img, char *err, size_t errlen);
CNNRT_NODISCARD
int cnnrt_image_parse(const char *name, const unsigned char *bytes, size_t len, CnnrtImage *img, char *err,
                      size_t errlen);
void cnnrt_image_free(CnnrtImage *img);

/* What bytes look like, for a message about a file that is not what was
 * expected: "a GIF image", "text starting '...'", "binary data starting
 * 00 01 ...". */
void cnnrt_image_describe(const unsigned char *bytes, size_t len, char *out, size_t outlen);

/* torchvision's Resize(shorter) then CenterCrop((h, w)) on a PIL image:
 * the shorter side scaled to `shorter`, the other to int(shorter * long /
 * short), by PIL's antialiased bilinear filter in its 8-bit fixed-point
 * arithmetic (the same samples as PIL for 8-bit images), then the centre
 * w x h kept, its corner at round((size - crop) / 2) as Python rounds.
 * Refuses a scaled image smaller than w x h; name is used in messages. On
 * success *out is a new image (free it) and img is unchanged. */
CNNRT_NODISCARD
int cnnrt_image_resize_crop(const char *name, const CnnrtImage *img, int64_t shorter, int64_t w, int64_t h,
                            CnnrtImage *out, char *err, size_t errlen);

/* Converts img to a network input of width w, height h, depth d, written D x
 * H x W into dst: x = (pixel/maxval - mean[c]) / std[c] (SPEC section 1;
 * nmean/nstd are 0 for none, 1 for all channels, or d). Refuses a size or
 * depth that does not match; name is used in messages. */
CNNRT_NODISCARD
int cnnrt_image_to_input(const char *name, const CnnrtImage *img, int64_t w, int64_t h, int64_t d,
                         int32_t nmean, const float *mean, int32_t nstd, const float *std, float *dst,
                         char *err, size_t errlen);

/* Writes a w x h map of d = 1 (PGM, P5) or d = 3 (PPM, P6) channels given D x
 * H x W, each sample value x 255 rounded and clamped to 0..255. */
CNNRT_NODISCARD
int cnnrt_image_write(const char *path, const float *src, int64_t w, int64_t h, int64_t d, char *err,
                      size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
