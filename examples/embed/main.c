/* Two networks compiled ahead of time, linked into one plain C program that
 * needs nothing but libc and libm: the digits classifier and the lecture's
 * edge filter. Build it (from the repository's root, cnnc on PATH):
 *
 *     cnnc -c examples/digits/digits.cnn --weights examples/digits/digits.safetensors -o digits.o
 *     cnnc -c examples/edge.cnn -o edge.o
 *     cc -std=c11 -I. examples/embed/main.c digits.o edge.o -lm -o embed
 *
 *     ./embed examples/digits/digit-*.pgm                    top 3 digits of each
 *     ./embed --edge examples/images/ascent.pgm edge.pgm     the filtered photo
 *
 * It prints what the programs cnnc builds print (`./digits --top 3 --labels
 * examples/digits/labels.txt ...`, `./edge --output edge.pgm ...`), which
 * tests/aot/run_embed.sh checks. The image handling is the caller's: the
 * generated code takes floats in D x H x W order, normalised with the
 * header's NAME_MEAN and NAME_STD (for these two networks, which declare no
 * mean or std, that is pixel / maxval). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digits.h"
#include "edge.h"

static const char *const labels[10] = {"zero", "one", "two",   "three", "four",
                                       "five", "six", "seven", "eight", "nine"};

/* The networks' memory, sized at compile time: no allocation at all. The
 * workspace sizes are functions, so a generous static arena is checked
 * against them at run time instead. */
static float image[EDGE_INPUT_SIZE > DIGITS_INPUT_SIZE ? EDGE_INPUT_SIZE : DIGITS_INPUT_SIZE];
static float result[EDGE_OUTPUT_SIZE > DIGITS_OUTPUT_SIZE ? EDGE_OUTPUT_SIZE : DIGITS_OUTPUT_SIZE];
static _Alignas(64) unsigned char workspace[4 << 20];

/* Skips white space and '#' comments in a PGM header. */
static void skip_space(FILE *f)
{
    int c;
    while ((c = getc(f)) != EOF) {
        if (c == '#') {
            while ((c = getc(f)) != EOF && c != '\n')
                ;
        } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            ungetc(c, f);
            return;
        }
    }
}

/* Reads a grayscale PGM (P5 binary or P2 text) of exactly w x h pixels into
 * image[] as (pixel / maxval - mean) / std. Returns 0, or -1 after printing
 * why. */
static int read_pgm(const char *path, long w, long h, float mean, float std)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    char magic[3] = {0};
    long width = 0, height = 0, maxval = 0;
    int ok = fread(magic, 1, 2, f) == 2 && magic[0] == 'P' && (magic[1] == '5' || magic[1] == '2');
    if (ok) {
        skip_space(f);
        ok = fscanf(f, "%ld", &width) == 1;
        skip_space(f);
        ok = ok && fscanf(f, "%ld", &height) == 1;
        skip_space(f);
        ok = ok && fscanf(f, "%ld", &maxval) == 1 && maxval > 0 && maxval < 65536;
        ok = ok && getc(f) != EOF; /* the one white-space byte before the pixels */
    }
    if (!ok) {
        fprintf(stderr, "%s: not a PGM image\n", path);
        fclose(f);
        return -1;
    }
    if (width != w || height != h) {
        fprintf(stderr, "%s: image is %ldx%ld, the network wants %ldx%ld\n", path, width, height, w, h);
        fclose(f);
        return -1;
    }
    for (long i = 0; i < w * h; i++) {
        long v = -1;
        if (magic[1] == '2') {
            if (fscanf(f, "%ld", &v) != 1)
                v = -1;
        } else if (maxval < 256) {
            v = getc(f);
        } else {
            int hi = getc(f), lo = getc(f);
            v = hi == EOF || lo == EOF ? -1 : hi << 8 | lo;
        }
        if (v < 0 || v > maxval) {
            fprintf(stderr, "%s: truncated or bad pixel data\n", path);
            fclose(f);
            return -1;
        }
        image[i] = (float)(((double)v / (double)maxval - mean) / std);
    }
    fclose(f);
    return 0;
}

static int classify(const char *path)
{
    if (digits_workspace_size(1) > sizeof workspace) {
        fprintf(stderr, "digits needs a bigger workspace\n");
        return -1;
    }
    static const float mean[] = DIGITS_MEAN, std[] = DIGITS_STD;
    if (read_pgm(path, 8, 8, mean[0], std[0]) != 0 || digits_infer(image, result, 1, workspace) != 0)
        return -1;
    /* Rank the ten scores: highest first, the lower index on a tie. */
    int order[10];
    for (int i = 0; i < 10; i++) {
        int j = i;
        for (; j > 0 && result[i] > result[order[j - 1]]; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    printf("%s: top 3 of 10 classes\n  %4s %6s %12s  %s\n", path, "#", "index", "score", "label");
    for (int j = 0; j < 3; j++)
        printf("  %4d %6d %12.6g  %s\n", j + 1, order[j], (double)result[order[j]], labels[order[j]]);
    return 0;
}

/* Writes the edge map as an 8-bit PGM: value x 255, clamped, rounded. */
static int write_pgm(const char *path, const float *map, long w, long h)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return -1;
    }
    fprintf(f, "P5\n%ld %ld\n255\n", w, h);
    for (long i = 0; i < w * h; i++) {
        double x = fmin(fmax((double)map[i] * 255.0, 0.0), 255.0);
        putc((int)(x + 0.5), f);
    }
    if (fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

static int filter(const char *in, const char *out)
{
    if (edge_workspace_size(1) > sizeof workspace) {
        fprintf(stderr, "edge needs a bigger workspace\n");
        return -1;
    }
    static const float mean[] = EDGE_MEAN, std[] = EDGE_STD;
    if (read_pgm(in, 512, 512, mean[0], std[0]) != 0 || edge_infer(image, result, 1, workspace) != 0)
        return -1;
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    for (long i = 0; i < EDGE_OUTPUT_SIZE; i++) {
        lo = fmin(lo, result[i]);
        hi = fmax(hi, result[i]);
        sum += result[i];
    }
    printf("%s: output 512x512x1 (W x H x D), min %.6g, max %.6g, mean %.6g\n", in, lo, hi,
           sum / EDGE_OUTPUT_SIZE);
    return write_pgm(out, result, 512, 512);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--edge") == 0)
        return filter(argv[2], argv[3]) == 0 ? 0 : 1;
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: %s DIGIT.pgm...        classify 8x8 digits\n"
                        "       %s --edge IN.pgm OUT.pgm  edge-filter a 512x512 photo\n",
                argv[0], argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (classify(argv[i]) != 0)
            return 1;
    }
    return 0;
}
