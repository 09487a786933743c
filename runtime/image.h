/* libcnnrt's PGM/PPM reader and writer (SPEC sections 6 and 8): P2/P5
 * (grey) and P3/P6 (colour), 8- or 16-bit (maxval up to 65535), comments in
 * headers. Reads keep the raw samples; cnnrt_image_to_input checks the size
 * and depth against the network and normalises into D x H x W floats. */
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
    int32_t channels; /* 1 (PGM) or 3 (PPM) */
    uint32_t maxval;  /* 1..65535 */
    uint16_t *pixels; /* height x width x channels samples, row by row, interleaved */
} CnnrtImage;

/* Reads path into *img. Returns 0, or -1 with a message naming the file. */
CNNRT_NODISCARD int cnnrt_image_read(const char *path, CnnrtImage *img, char *err, size_t errlen);
CNNRT_NODISCARD
int cnnrt_image_parse(const char *name, const unsigned char *bytes, size_t len, CnnrtImage *img, char *err,
                      size_t errlen);
void cnnrt_image_free(CnnrtImage *img);

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
