/* Unit tests of runtime/npy.c: write/read round trips, every header version,
 * dtype, byte order and Fortran order the reader takes (files built here
 * byte by byte), and a table of bad files with their messages. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/npy.h"
#include "tests/runtime/rt_testutil.h"

/* A .npy file: version, header dict (padded with spaces and '\n' to 64) and data. */
static size_t build(unsigned char *buf, int version, const char *dict, const void *data, size_t dlen)
{
    size_t pre = version == 1 ? 10 : 12, n = strlen(dict);
    size_t hlen = n + 1 + (64 - (pre + n + 1) % 64) % 64;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)version;
    buf[7] = 0;
    for (size_t i = 0; i < pre - 8; i++)
        buf[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(buf + pre, dict, n);
    memset(buf + pre + n, ' ', hlen - n - 1);
    buf[pre + hlen - 1] = '\n';
    memcpy(buf + pre + hlen, data, dlen);
    return pre + hlen + dlen;
}

START_TEST(test_round_trip)
{
    float v[24];
    for (int i = 0; i < 24; i++)
        v[i] = (float)i * 0.5f - 3.0f;
    static const int64_t shapes[][4] = {{2, 12}, {2, 3, 2, 2}, {24}};
    static const int32_t ranks[] = {2, 4, 1};
    for (int k = 0; k < 3; k++) {
        char err[256];
        const char *p = rt_test_path("rt.npy");
        ck_assert_int_eq(cnnrt_npy_write(p, v, ranks[k], shapes[k], err, sizeof err), 0);
        CnnrtArray a;
        ck_assert_msg(cnnrt_npy_read(p, &a, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(a.rank, ranks[k]);
        for (int i = 0; i < ranks[k]; i++)
            ck_assert_int_eq(a.shape[i], shapes[k][i]);
        ck_assert_int_eq(a.count, 24);
        ck_assert_mem_eq(a.data, v, sizeof v);
        cnnrt_array_free(&a);
    }
    /* The header numpy expects: version 1.0, padded so data starts at a multiple of 64. */
    unsigned char *bytes;
    FILE *f = fopen(rt_test_path("rt.npy"), "rb");
    bytes = calloc(1, 300);
    ck_assert_uint_eq(fread(bytes, 1, 300, f), 128 + 96);
    fclose(f);
    ck_assert_mem_eq(bytes, "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (24,), }", 67);
    ck_assert_int_eq(bytes[127], '\n');
    free(bytes);
    ck_assert(!rt_test_exists(rt_test_path("rt.npy.tmp")));
}
END_TEST

/* One variant per row: version, dict, raw data, expected floats (C order). */
static const struct {
    int version;
    const char *dict;
    unsigned char data[48];
    size_t dlen;
    int32_t rank;
    int64_t shape[3];
    float want[6];
} good[] = {
    /* float32 little-endian, 1.0 = 0x3F800000, -2.5 = 0xC0200000 */
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", {0, 0, 0x80, 0x3F, 0, 0, 0x20, 0xC0}, 8, 1,
     {2}, {1.0f, -2.5f}},
    /* the same, big-endian, version 2 */
    {2, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", {0x3F, 0x80, 0, 0, 0xC0, 0x20, 0, 0}, 8, 1,
     {2}, {1.0f, -2.5f}},
    /* float64 little-endian, version 3: 0.5 = 0x3FE0000000000000 */
    {3, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }", {0, 0, 0, 0, 0, 0, 0xE0, 0x3F}, 8, 2,
     {1, 1}, {0.5f}},
    /* float64 big-endian: -4 = 0xC010000000000000 */
    {1, "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", {0xC0, 0x10, 0, 0, 0, 0, 0, 0}, 8, 1, {1},
     {-4.0f}},
    /* uint8, converted not scaled */
    {1, "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", {0, 7, 255}, 3, 1, {3}, {0, 7, 255}},
    /* Fortran order 2x3: the file holds columns, [[1,2,3],[4,5,6]] -> 1 4 2 5 3 6 */
    {1, "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }", {1, 4, 2, 5, 3, 6}, 6, 2, {2, 3},
     {1, 2, 3, 4, 5, 6}},
    /* keys in another order, no trailing comma, a 0-d array */
    {1, "{'shape': (), 'fortran_order': False, 'descr': '<f4'}", {0, 0, 0x80, 0x3F}, 4, 0, {0}, {1.0f}},
};

START_TEST(test_variants)
{
    unsigned char buf[256];
    size_t n = build(buf, good[_i].version, good[_i].dict, good[_i].data, good[_i].dlen);
    CnnrtArray a;
    char err[256];
    ck_assert_msg(cnnrt_npy_parse("v.npy", buf, n, &a, err, sizeof err) == 0, "row %d: %s", _i, err);
    ck_assert_int_eq(a.rank, good[_i].rank);
    for (int i = 0; i < a.rank; i++)
        ck_assert_int_eq(a.shape[i], good[_i].shape[i]);
    for (int64_t i = 0; i < a.count; i++)
        ck_assert_msg(a.data[i] == good[_i].want[i], "row %d elt %d: %g", _i, (int)i, (double)a.data[i]);
    cnnrt_array_free(&a);
}
END_TEST

static const struct {
    const char *dict; /* NULL: raw bytes */
    const char *raw;
    size_t rawlen, dlen;
    const char *msg;
} bad[] = {
    {NULL, "", 0, 0, "v.npy: the file is empty"},
    {NULL, "\x93NUMPX\x01\x00\x10\x00{}", 12, 0, "v.npy: not a .npy file (bad magic"},
    {NULL, "PK\x03\x04 zip file...", 17, 0, "bad magic"},
    {NULL, "\x93NUMPY\x01", 7, 0, "v.npy: truncated .npy header (7 bytes)"},
    {NULL, "\x93NUMPY\x04\x00\x10\x00\x00\x00", 12, 0, "unsupported .npy version 4.0"},
    {NULL, "\x93NUMPY\x01\x00\xff\x00{'descr'", 18, 0, "truncated .npy header (255 bytes announced, 8 present)"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", NULL, 0, 8,
     "truncated .npy data: 8 bytes for 3 elements need 12"},
    {"{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", NULL, 0, 4,
     "unsupported .npy dtype '<i4': use float32, float64 or uint8"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", NULL, 0, 0,
     "shape's element count overflows 64 bits"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", NULL, 0, 0,
     "shape entry overflows 64 bits"},
    {"{'descr': '<f4', 'shape': (1,), }", NULL, 0, 4, "missing 'fortran_order'"},
    {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }", NULL, 0, 4, "'fortran_order' is not True or False"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, x), }", NULL, 0, 4, "'shape' holds a non-integer"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", NULL, 0, 4, "unknown key 'extra'"},
    {"['descr']", NULL, 0, 0, "not a dictionary"},
};

START_TEST(test_bad)
{
    unsigned char buf[512] = {0};
    static const unsigned char zeros[64];
    size_t n = bad[_i].dict ? build(buf, 1, bad[_i].dict, zeros, bad[_i].dlen) : bad[_i].rawlen;
    if (!bad[_i].dict)
        memcpy(buf, bad[_i].raw, n);
    CnnrtArray a;
    char err[256] = "";
    ck_assert_int_eq(cnnrt_npy_parse("v.npy", buf, n, &a, err, sizeof err), -1);
    ck_assert_msg(strstr(err, bad[_i].msg) != NULL, "row %d: '%s' lacks '%s'", _i, err, bad[_i].msg);
    ck_assert_ptr_null(a.data);
}
END_TEST

START_TEST(test_files)
{
    char err[256];
    CnnrtArray a;
    ck_assert_int_eq(cnnrt_npy_read(rt_test_dir, &a, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "is a directory"));
    ck_assert_int_eq(cnnrt_npy_read(rt_test_path("none.npy"), &a, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "No such file"));
    /* A write into a missing directory fails and leaves nothing. */
    float v = 1;
    int64_t shape = 1;
    ck_assert_int_eq(cnnrt_npy_write(rt_test_path("no/dir.npy"), &v, 1, &shape, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "cannot write"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("npy");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, rt_test_setup, rt_test_teardown);
    tcase_add_test(tc, test_round_trip);
    tcase_add_loop_test(tc, test_variants, 0, (int)(sizeof good / sizeof good[0]));
    tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, test_files);
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
