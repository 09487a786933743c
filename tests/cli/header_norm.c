/* A C program against an AOT header (run_header.sh): it normalises a PPM the
 * way NORM.h says, with its NORM_MEAN and NORM_STD, runs norm_infer, and
 * compares the result with what the program cnnc builds wrote for the same
 * image (an .npy of float32). Pixel / maxval alone, without the header's
 * values, must differ from it, or the check would prove nothing.
 *
 *     header_norm IMAGE.ppm EXPECTED.npy */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "norm.h"
#include "tolerance.h"

static float image[NORM_INPUT_SIZE], out[NORM_OUTPUT_SIZE], raw[NORM_INPUT_SIZE], out_raw[NORM_OUTPUT_SIZE];
static float expected[NORM_OUTPUT_SIZE];

static int read_expected(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char head[10];
    if (!f || fread(head, 1, 10, f) != 10 || memcmp(head, "\x93NUMPY\x01", 7) != 0)
        return -1;
    long skip = head[8] | head[9] << 8;
    int ok = fseek(f, skip, SEEK_CUR) == 0 && fread(expected, sizeof(float), NORM_OUTPUT_SIZE, f) == NORM_OUTPUT_SIZE;
    fclose(f);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    FILE *f = fopen(argv[1], "rb");
    int w, h, maxval;
    if (!f || fscanf(f, "P6 %d %d %d", &w, &h, &maxval) != 3 || fgetc(f) == EOF || w != NORM_INPUT_WIDTH ||
        h != NORM_INPUT_HEIGHT || NORM_INPUT_DEPTH != 3 || maxval != 255) {
        printf("FAIL: cannot read %s as a %dx%d PPM\n", argv[1], NORM_INPUT_WIDTH, NORM_INPUT_HEIGHT);
        return 1;
    }
    unsigned char pixels[NORM_INPUT_SIZE];
    if (fread(pixels, 1, sizeof pixels, f) != sizeof pixels)
        return 1;
    fclose(f);
    if (read_expected(argv[2]) != 0) {
        printf("FAIL: cannot read %s\n", argv[2]);
        return 1;
    }
    /* PPM pixels are interleaved, H x W x D; the network takes D x H x W. */
    static const float mean[] = NORM_MEAN, sd[] = NORM_STD;
    for (int c = 0; c < NORM_INPUT_DEPTH; c++)
        for (int y = 0; y < NORM_INPUT_HEIGHT; y++)
            for (int x = 0; x < NORM_INPUT_WIDTH; x++) {
                int p = pixels[(y * NORM_INPUT_WIDTH + x) * NORM_INPUT_DEPTH + c];
                image[(c * NORM_INPUT_HEIGHT + y) * NORM_INPUT_WIDTH + x] =
                    (float)(((double)p / maxval - mean[c]) / sd[c]);
                raw[(c * NORM_INPUT_HEIGHT + y) * NORM_INPUT_WIDTH + x] = (float)((double)p / maxval);
            }
    static _Alignas(64) unsigned char ws[1 << 16];
    if (norm_workspace_size(1) > sizeof ws || norm_infer(image, out, 1, ws) != 0 ||
        norm_infer(raw, out_raw, 1, ws) != 0) {
        printf("FAIL: norm_infer\n");
        return 1;
    }
    double same = cnnc_error_ratio(out, expected, NORM_OUTPUT_SIZE);
    double unnormalised = cnnc_error_ratio(out_raw, expected, NORM_OUTPUT_SIZE);
    printf("normalised with the header's values: error %.3g of the tolerance; pixel / maxval: %.3g\n", same,
           unnormalised);
    return same <= 1 && unnormalised > 1 ? 0 : 1;
}
