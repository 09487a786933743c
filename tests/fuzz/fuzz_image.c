/* libFuzzer target: bytes as an image (PNG and JPEG through libpng and
 * libjpeg; PGM/PPM: P2, P3, P5, P6, comments, 8- and 16-bit samples), then
 * converted to a network input of its own size and of a wrong one, and
 * resized and cropped (--resize). */
#include <stdint.h>
#include <stdlib.h>

#include "runtime/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    CnnrtImage img;
    if (cnnrt_image_parse("fuzz.pgm", data, size, &img, err, sizeof err) != 0) {
        if (!err[0])
            abort();
        return 0;
    }
    if (img.width <= 0 || img.height <= 0 || (img.channels != 1 && img.channels != 3) || img.maxval == 0 ||
        img.maxval > 65535)
        abort();
    size_t n = (size_t)img.width * (size_t)img.height * (size_t)img.channels;
    for (size_t i = 0; i < n; i++) {
        if (img.pixels[i] > img.maxval)
            abort();
    }
    if (n <= (1u << 22)) {
        float *dst = malloc(n * sizeof *dst);
        const float mean[3] = {0.5f, 0.4f, 0.3f}, sd[3] = {0.2f, 0.25f, 0.3f};
        if (dst && cnnrt_image_to_input("fuzz.pgm", &img, img.width, img.height, img.channels, 3, mean, 3, sd,
                                        dst, err, sizeof err) != 0)
            abort(); /* its own size must convert */
        if (dst && cnnrt_image_to_input("fuzz.pgm", &img, img.width + 1, img.height, img.channels, 0, NULL, 0,
                                        NULL, dst, err, sizeof err) == 0)
            abort(); /* a wrong size must not */
        free(dst);
        /* Scaled (shorter side 1..8) and cropped to a corner-sized input:
         * either a clean refusal or an image of that size within maxval. */
        CnnrtImage cut;
        int64_t s = 1 + (int64_t)(n % 8);
        if (cnnrt_image_resize_crop("fuzz.pgm", &img, s, 1, 1, &cut, err, sizeof err) == 0) {
            if (cut.width != 1 || cut.height != 1 || cut.channels != img.channels || cut.pixels[0] > img.maxval)
                abort();
            cnnrt_image_free(&cut);
        } else if (!err[0] || cut.pixels) {
            abort();
        }
    }
    cnnrt_image_free(&img);
    return 0;
}
