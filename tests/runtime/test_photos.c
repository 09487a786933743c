/* runtime/image.c on PNG and JPEG files against what PIL and torchvision
 * make of them (tests/runtime/photos, scripts/make_photo_goldens.py): the
 * decoded samples, and Resize(S) + CenterCrop((H, W)) sample for sample;
 * then bad and foreign files and their messages. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/image.h"
#include "runtime/npy.h"

#ifndef PHOTOS_DIR
#error "PHOTOS_DIR must name tests/runtime/photos"
#endif

/* Every case of cases.tsv; a missing or empty table fails. */
START_TEST(test_goldens)
{
    FILE *f = fopen(PHOTOS_DIR "/cases.tsv", "r");
    ck_assert_msg(f != NULL, "no %s/cases.tsv: run scripts/make_photo_goldens.py", PHOTOS_DIR);
    char line[512];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        char file[128], golden[128], path[512], err[1024];
        long s, w, h;
        ck_assert_int_eq(sscanf(line, "%127s %ld %ld %ld %127s", file, &s, &w, &h, golden), 5);
        snprintf(path, sizeof path, "%s/%s", PHOTOS_DIR, file);
        CnnrtImage img, cut;
        ck_assert_msg(cnnrt_image_read(path, &img, err, sizeof err) == 0, "%s", err);
        if (s > 0) {
            ck_assert_msg(cnnrt_image_resize_crop(file, &img, s, w, h, &cut, err, sizeof err) == 0, "%s", err);
            cnnrt_image_free(&img);
            img = cut;
        }
        snprintf(path, sizeof path, "%s/%s", PHOTOS_DIR, golden);
        CnnrtArray want;
        ck_assert_msg(cnnrt_npy_read(path, &want, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(want.rank, 3);
        ck_assert_msg(want.shape[0] == img.height && want.shape[1] == img.width && want.shape[2] == img.channels,
                      "%s: %lldx%lldx%d, golden (%lld, %lld, %lld)", golden, (long long)img.width,
                      (long long)img.height, img.channels, (long long)want.shape[0], (long long)want.shape[1],
                      (long long)want.shape[2]);
        int64_t n = want.count, differ = 0, first = -1;
        for (int64_t i = 0; i < n; i++)
            if ((float)img.pixels[i] != want.data[i] && differ++ == 0)
                first = i;
        ck_assert_msg(differ == 0, "%s: %lld of %lld samples differ, the first at %lld: %u, PIL %g", golden,
                      (long long)differ, (long long)n, (long long)first, img.pixels[first], want.data[first]);
        ck_assert_uint_eq(img.maxval, strcmp(file, "gray16.png") == 0 ? 65535 : 255);
        cnnrt_array_free(&want);
        cnnrt_image_free(&img);
        cases++;
    }
    fclose(f);
    ck_assert_int_ge(cases, 20);
}
END_TEST

/* A file from the photos, cut or altered, with a piece of its message. */
static unsigned char *slurp(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", PHOTOS_DIR, name);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char *b = malloc(1 << 16);
    *len = fread(b, 1, 1 << 16, f);
    fclose(f);
    return b;
}

START_TEST(test_bad)
{
    static const struct {
        const char *file;
        size_t cut; /* bytes kept (0: all) */
        long flip;  /* a byte to change (-1: none) */
        const char *msg;
    } rows[] = {
        {"rgb8.png", 100, -1, "bad PNG: "},
        {"rgb8.png", 20, -1, "bad PNG: "},
        {"rgb8.png", 0, 16, "bad PNG: "}, /* the width, under the header's CRC */
        {"photo.jpg", 300, -1, "bad JPEG: "},
        {"photo.jpg", 4, -1, "bad JPEG: "},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        size_t len;
        unsigned char *b = slurp(rows[r].file, &len);
        if (rows[r].cut)
            len = rows[r].cut;
        if (rows[r].flip >= 0)
            b[rows[r].flip] ^= 0x40;
        CnnrtImage img;
        char err[1024] = "";
        ck_assert_int_eq(cnnrt_image_parse("x", b, len, &img, err, sizeof err), -1);
        ck_assert_msg(strstr(err, rows[r].msg) != NULL, "row %zu: '%s' lacks '%s'", r, err, rows[r].msg);
        ck_assert_ptr_null(img.pixels);
        free(b);
    }
}
END_TEST

/* Files that are no image it reads: the message says what they look like. */
START_TEST(test_foreign)
{
    static const struct {
        const char *bytes;
        size_t len;
        const char *msg;
    } rows[] = {
        {"GIF89a\x01\x00\x01\x00", 10, "x: not a PNG, JPEG, PGM or PPM image: it looks like a GIF image"},
        {"BM\x36\x00\x00\x00", 6, "it looks like a BMP image"},
        {"RIFF\x10\x00\x00\x00WEBPVP8 ", 16, "it looks like a WebP image"},
        {"\x00\x00\x00\x18" "ftypheic", 12, "it looks like a HEIC image"},
        {"II*\x00\x08\x00", 6, "it looks like a TIFF image"},
        {"PK\x03\x04\x14\x00", 6, "it looks like a zip archive (a PyTorch .pt/.pth checkpoint is one)"},
        {"%PDF-1.4\n", 9, "it looks like a PDF document"},
        {"P4\n1 1\n\x80", 8, "it looks like a PBM bitmap"},
        {"hello, world\nsecond line", 24, "it looks like text starting 'hello, world'"},
        {"\x01\x02\x03\xfe\xff\x00\x10\x20\x30", 9, "it looks like binary data starting 01 02 03 fe ff 00 10 20"},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        CnnrtImage img;
        char err[1024] = "";
        ck_assert_int_eq(cnnrt_image_parse("x", (const unsigned char *)rows[r].bytes, rows[r].len, &img, err,
                                           sizeof err),
                         -1);
        ck_assert_msg(strstr(err, rows[r].msg) != NULL, "row %zu: '%s' lacks '%s'", r, err, rows[r].msg);
    }
}
END_TEST

/* A scaled image smaller than the input is refused, naming the least S. */
START_TEST(test_too_small)
{
    CnnrtImage img, cut;
    char err[1024];
    ck_assert_msg(cnnrt_image_read(PHOTOS_DIR "/rgb8.png", &img, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(cnnrt_image_resize_crop("rgb8.png", &img, 16, 24, 24, &cut, err, sizeof err), -1);
    ck_assert_str_eq(err, "rgb8.png: --resize=16 scales the 41x30 image to 21x16, smaller than the network's "
                          "input 24x24: give --resize=24 or more");
    ck_assert_ptr_null(cut.pixels);
    cnnrt_image_free(&img);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("photos");
    TCase *tc = tcase_create("photos");
    tcase_add_test(tc, test_goldens);
    tcase_add_test(tc, test_bad);
    tcase_add_test(tc, test_foreign);
    tcase_add_test(tc, test_too_small);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
