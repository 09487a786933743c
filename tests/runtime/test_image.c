/* Unit tests of runtime/image.c: every PGM/PPM variant (P2, P5, P3, P6; 8
 * and 16 bit; comments), normalisation with mean/std (SPEC section 1), the
 * writer's rounding and clamping, and a table of bad files (PNG and JPEG:
 * test_photos.c). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/image.h"
#include "tests/runtime/rt_testutil.h"

/* 2x1 images; samples in file order (row by row, channels interleaved). */
static const struct {
    const char *bytes;
    size_t len;
    int32_t channels;
    uint32_t maxval;
    uint16_t samples[6];
} good[] = {
    {"P2\n2 1\n255\n0 255\n", 17, 1, 255, {0, 255}},
    {"P2 # c1\n# c2\n2 # w\n1 # h\n9 # m\n3\n9", 34, 1, 9, {3, 9}},
    {"P5\n2 1\n255\n\x10\xff", 13, 1, 255, {16, 255}},
    {"P5 2 1 65535\n\x01\x02\xff\xff", 17, 1, 65535, {258, 65535}},
    {"P3\n2 1\n1000\n1 2 3 4 5 1000\n", 27, 3, 1000, {1, 2, 3, 4, 5, 1000}},
    {"P6\n2 1\n255\n\x01\x02\x03\x04\x05\x06", 17, 3, 255, {1, 2, 3, 4, 5, 6}},
    {"P6\n#x\n2 1\n300\n\x00\x01\x00\x02\x00\x03\x00\x04\x00\x05\x01\x2c", 26, 3, 300, {1, 2, 3, 4, 5, 300}},
};

START_TEST(test_variants)
{
    CnnrtImage img;
    char err[256];
    ck_assert_msg(cnnrt_image_parse("i", (const unsigned char *)good[_i].bytes, good[_i].len, &img, err,
                                    sizeof err) == 0,
                  "row %d: %s", _i, err);
    ck_assert_int_eq(img.width, 2);
    ck_assert_int_eq(img.height, 1);
    ck_assert_int_eq(img.channels, good[_i].channels);
    ck_assert_uint_eq(img.maxval, good[_i].maxval);
    for (int i = 0; i < 2 * good[_i].channels; i++)
        ck_assert_uint_eq(img.pixels[i], good[_i].samples[i]);
    cnnrt_image_free(&img);
}
END_TEST

START_TEST(test_normalise)
{
    /* P6 2x1, maxval 255: pixels (0,51,102) (153,204,255). Planar D x H x W
     * out, x = (p/255 - mean[c]) / std[c] with per-channel mean and std. */
    const unsigned char ppm[] = "P6 2 1 255\n\x00\x33\x66\x99\xcc\xff";
    CnnrtImage img;
    char err[256];
    ck_assert_int_eq(cnnrt_image_parse("p.ppm", ppm, sizeof ppm - 1, &img, err, sizeof err), 0);
    const float mean[3] = {0.5f, 0.25f, 0.0f}, std[3] = {0.5f, 0.25f, 2.0f};
    float out[6];
    ck_assert_int_eq(cnnrt_image_to_input("p.ppm", &img, 2, 1, 3, 3, mean, 3, std, out, err, sizeof err), 0);
    /* R: (0-.5)/.5 = -1, (.6-.5)/.5 = .2; G: (.2-.25)/.25 = -.2, (.8-.25)/.25 = 2.2; B: .4/2, 1/2 */
    const float want[6] = {-1.0f, 0.2f, -0.2f, 2.2f, 0.2f, 0.5f};
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq_tol(out[i], want[i], 1e-6);
    /* No mean/std: pixel / maxval. */
    ck_assert_int_eq(cnnrt_image_to_input("p.ppm", &img, 2, 1, 3, 0, NULL, 0, NULL, out, err, sizeof err), 0);
    ck_assert_float_eq_tol(out[1], 0.6f, 1e-7);
    ck_assert_float_eq_tol(out[5], 1.0f, 1e-7);
    /* Wrong depth and size. */
    ck_assert_int_eq(cnnrt_image_to_input("p.ppm", &img, 2, 1, 1, 0, NULL, 0, NULL, out, err, sizeof err), -1);
    ck_assert_str_eq(err, "p.ppm: a colour (PPM) image (3 channels) for a network whose input is 1 deep: give a "
                          "grayscale image (PGM, PNG or JPEG)");
    ck_assert_int_eq(cnnrt_image_to_input("p.ppm", &img, 1, 2, 3, 0, NULL, 0, NULL, out, err, sizeof err), -1);
    ck_assert_str_eq(err, "p.ppm: image is 2x1, the network's input is 1x2 (width x height); give --resize=2 to "
                          "scale its shorter side to 2 and crop the centre 1x2, as torchvision's Resize(2) and "
                          "CenterCrop do");
    cnnrt_image_free(&img);
    const unsigned char pgm[] = "P5 2 1 255\n\x00\x01";
    ck_assert_int_eq(cnnrt_image_parse("g.pgm", pgm, sizeof pgm - 1, &img, err, sizeof err), 0);
    ck_assert_int_eq(cnnrt_image_to_input("g.pgm", &img, 2, 1, 3, 0, NULL, 0, NULL, out, err, sizeof err), -1);
    ck_assert_str_eq(err, "g.pgm: a grayscale (PGM) image (1 channel) for a network whose input is 3 deep: give a "
                          "colour image (PPM, PNG or JPEG)");
    cnnrt_image_free(&img);
}
END_TEST

START_TEST(test_write)
{
    /* value x 255 rounded (half away from zero) and clamped: -1 -> 0,
     * 0.5 -> 127.5 -> 128, 0.2 -> 51, 2 -> 255, NaN -> 0, 1/255 -> 1. */
    const float grey[6] = {-1.0f, 0.5f, 0.2f, 2.0f, NAN, 1.0f / 255};
    char err[256];
    const char *p = rt_test_path("g.pgm");
    ck_assert_int_eq(cnnrt_image_write(p, grey, 3, 2, 1, err, sizeof err), 0);
    unsigned char buf[64];
    FILE *f = fopen(p, "rb");
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ck_assert_uint_eq(n, 11 + 6);
    ck_assert_mem_eq(buf, "P5\n3 2\n255\n\x00\x80\x33\xff\x00\x01", 17);
    /* PPM: planar in, interleaved out; read back through the reader. */
    const float rgb[6] = {0.0f, 1.0f, 0.4f, 0.6f, 1.0f, 0.0f};
    p = rt_test_path("c.ppm");
    ck_assert_int_eq(cnnrt_image_write(p, rgb, 2, 1, 3, err, sizeof err), 0);
    CnnrtImage img;
    ck_assert_int_eq(cnnrt_image_read(p, &img, err, sizeof err), 0);
    ck_assert_int_eq(img.channels, 3);
    const uint16_t want[6] = {0, 102, 255, 255, 153, 0};
    for (int i = 0; i < 6; i++)
        ck_assert_uint_eq(img.pixels[i], want[i]);
    cnnrt_image_free(&img);
    ck_assert_int_eq(cnnrt_image_write(rt_test_path("x.pgm"), rgb, 1, 1, 2, err, sizeof err), -1);
    ck_assert(!rt_test_exists(rt_test_path("x.pgm")));
}
END_TEST

static const struct {
    const char *bytes;
    size_t len;
    const char *msg;
} bad[] = {
    {"", 0, "i: the file is empty"},
    {"P4\n1 1\n", 7, "i: not a PNG, JPEG, PGM or PPM image: it looks like a PBM bitmap"},
    {"\x89PNG\r\n", 6, "i: bad PNG: "},
    {"P52 1 255\n", 10, "no white space after the magic"},
    {"P5\n2\n", 5, "it ends early"},
    {"P5 2 x 255\n..", 13, "no height"},
    {"P5 2 1 0\n..", 11, "maxval is 0"},
    {"P5 0 1 255\n", 11, "width is 0"},
    {"P5 2 1 65536\n", 13, "maxval too large"},
    {"P5 2000000 1 255\n", 17, "width too large"},
    {"P5 2 1 255\n\x01", 12, "truncated image data: 1 bytes for 2 samples of 1 bytes"},
    {"P5 2 1 256\n\x01\x00\x01", 14, "truncated image data: 3 bytes for 2 samples of 2 bytes"},
    {"P5 2 1 255", 10, "no raster after the header"},
    {"P5 2 1 9\n\x01\x0a", 11, "sample 1 is 10, above maxval 9"},
    {"P2 2 1 9\n1", 10, "truncated image data: 2 bytes cannot hold 2 samples"},
    {"P2 2 1 9\n1  ", 12, "truncated image data: 1 of 2 samples"},
    /* Sizes a tiny file cannot hold are refused before any allocation. */
    {"P5 1000000 1000000 255\n\x00", 24, "truncated image data: 1 bytes for 1000000000000 samples"},
    {"P3 1000000 1000000 255\n1 2 3", 29, "truncated image data: 7 bytes cannot hold 3000000000000 samples"},
    {"P2 2 1 9\n1 10\n", 14, "sample 1 is above maxval 9"},
    {"P3 1 1 9\n1 x 3\n", 15, "bad sample 1: not a decimal number"},
};

START_TEST(test_bad)
{
    CnnrtImage img;
    char err[256] = "";
    ck_assert_int_eq(cnnrt_image_parse("i", (const unsigned char *)bad[_i].bytes, bad[_i].len, &img, err, sizeof err),
                     -1);
    ck_assert_msg(strstr(err, bad[_i].msg) != NULL, "row %d: '%s' lacks '%s'", _i, err, bad[_i].msg);
    ck_assert_ptr_null(img.pixels);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("image");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, rt_test_setup, rt_test_teardown);
    tcase_add_loop_test(tc, test_variants, 0, (int)(sizeof good / sizeof good[0]));
    tcase_add_test(tc, test_normalise);
    tcase_add_test(tc, test_write);
    tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof bad / sizeof bad[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
