/* Unit tests of runtime/safetensors.c: every dtype conversion against values
 * worked out by hand from the IEEE bit patterns, a table of malformed files
 * with the message each must give, and binding (missing, wrong shape, wrong
 * dtype, unused and inline tensors), and the writer. Files are written by
 * the test. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/safetensors.h"
#include "tests/runtime/rt_testutil.h"

/* A safetensors file from a JSON header (padded to 8 with spaces) and data. */
static const char *st_file(const char *name, const char *json, const void *data, size_t dlen)
{
    size_t hlen = strlen(json), padded = (hlen + 7) / 8 * 8;
    size_t total = 8 + padded + dlen;
    unsigned char *buf = malloc(total);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(buf + 8, json, hlen);
    memset(buf + 8 + hlen, ' ', padded - hlen);
    if (dlen)
        memcpy(buf + 8 + padded, data, dlen);
    const char *p = rt_test_write(name, buf, total);
    free(buf);
    return p;
}

START_TEST(test_f32_and_metadata)
{
    float v[6] = {1.5f, -2.0f, 0.25f, 3e-8f, 1e30f, -0.0f};
    const char *p = st_file("a.safetensors",
                            "{\"__metadata__\":{\"format\":\"pt\"},"
                            "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}",
                            v, sizeof v);
    char err[512];
    CnnrtSt *st = cnnrt_st_open(p, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    ck_assert_uint_eq(cnnrt_st_count(st), 1);
    const CnnrtStTensor *t = cnnrt_st_find(st, "w");
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_null(cnnrt_st_find(st, "__metadata__"));
    ck_assert_int_eq(t->dtype, CNNRT_F32);
    ck_assert_int_eq(t->rank, 2);
    ck_assert_int_eq(t->shape[0], 2);
    ck_assert_int_eq(t->shape[1], 3);
    ck_assert_int_eq(t->count, 6);
    float out[6];
    ck_assert_int_eq(cnnrt_st_read_f32(st, t, out, err, sizeof err), 0);
    ck_assert_mem_eq(out, v, sizeof v);
    cnnrt_st_close(st);
}
END_TEST

/* Little-endian bytes of each dtype and the float each must give. */
START_TEST(test_conversions)
{
    /* F16: 1.0 = 0x3C00, -2 = 0xC000, 65504 = 0x7BFF (largest), 2^-24 =
     * 0x0001 (smallest subnormal), 2^-14 = 0x0400 (smallest normal), 0x03FF
     * = 1023 x 2^-24, +inf = 0x7C00, -0 = 0x8000. */
    const uint16_t h[] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x0400, 0x03FF, 0x7C00, 0x8000, 0x7E00};
    const float hf[] = {1.0f, -2.0f, 65504.0f, 0x1p-24f, 0x1p-14f, 1023 * 0x1p-24f, INFINITY, -0.0f, NAN};
    /* BF16: the top 16 bits of float32: 0x3F80 = 1, 0xC0A0 = -5, 0x3E20 = 0.15625. */
    const uint16_t bf[] = {0x3F80, 0xC0A0, 0x3E20, 0x7F80};
    const float bff[] = {1.0f, -5.0f, 0.15625f, INFINITY};
    const double d[] = {0.1, -3.5, 1e300, 1e-50};
    const float df[] = {0.1f, -3.5f, INFINITY, 0.0f};
    unsigned char data[18 + 8 + 32];
    /* Little-endian serialisation by hand, so the test does not depend on
     * the host's byte order. */
    size_t n = 0;
    for (size_t i = 0; i < 9; i++) {
        data[n++] = (unsigned char)h[i];
        data[n++] = (unsigned char)(h[i] >> 8);
    }
    for (size_t i = 0; i < 4; i++) {
        data[n++] = (unsigned char)bf[i];
        data[n++] = (unsigned char)(bf[i] >> 8);
    }
    for (size_t i = 0; i < 4; i++) {
        uint64_t b;
        memcpy(&b, &d[i], 8);
        for (int k = 0; k < 8; k++)
            data[n++] = (unsigned char)(b >> (8 * k));
    }
    const char *p = st_file("c.safetensors",
                            "{\"h\":{\"dtype\":\"F16\",\"shape\":[9],\"data_offsets\":[0,18]},"
                            "\"b\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[18,26]},"
                            "\"d\":{\"dtype\":\"F64\",\"shape\":[1,1,2,2],\"data_offsets\":[26,58]}}",
                            data, n);
    char err[512];
    CnnrtSt *st = cnnrt_st_open(p, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    float out[9];
    ck_assert_int_eq(cnnrt_st_read_f32(st, cnnrt_st_find(st, "h"), out, err, sizeof err), 0);
    for (int i = 0; i < 8; i++)
        ck_assert_msg(out[i] == hf[i] && signbit(out[i]) == signbit(hf[i]), "F16 %d: %a vs %a", i, out[i], hf[i]);
    ck_assert(isnan(out[8]));
    ck_assert_int_eq(cnnrt_st_read_f32(st, cnnrt_st_find(st, "b"), out, err, sizeof err), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(out[i] == bff[i], "BF16 %d: %a", i, out[i]);
    ck_assert_int_eq(cnnrt_st_read_f32(st, cnnrt_st_find(st, "d"), out, err, sizeof err), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(out[i] == df[i], "F64 %d: %a", i, out[i]);
    cnnrt_st_close(st);
}
END_TEST

/* Malformed files and the piece of the message each must give. */
static const struct {
    const char *json; /* NULL: raw bytes below */
    const char *raw;
    size_t rawlen, dlen;
    const char *msg;
} bad[] = {
    {NULL, "", 0, 0, "the file is empty"},
    {NULL, "\x05\0\0", 3, 0, "3 bytes is too short"},
    {NULL, "\x00\x00\x00\x10\x00\x00\x00\x00{}", 10, 0, "header length 268435456 is over 100 MB"},
    {NULL, "\x40\0\0\0\0\0\0\0{}", 10, 0, "header length 64 runs past the end of the file (10 bytes)"},
    {"{\"w\": {\"dtype\": \"F32\",", NULL, 0, 0, "corrupt JSON header"},
    {"[1, 2]", NULL, 0, 0, "the JSON header is not an object"},
    {"{} x", NULL, 0, 0, "text after the JSON object"},
    {"{\"w\":{\"dtype\":\"F12\",\"shape\":[1],\"data_offsets\":[0,4]}}", NULL, 0, 4, "tensor 'w': unknown dtype 'F12'"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", NULL, 0, 8,
     "tensor 'w': F32 [2] needs 8 bytes, but data_offsets [0, 4] hold 4"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", NULL, 0, 4,
     "data_offsets [0, 8] run past the end of the data (4 bytes)"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", NULL, 0, 4, "end before they begin"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", NULL, 0, 12, "overlap"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", NULL, 0, 4,
     "overflows 64 bits"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2147483648,2147483648],\"data_offsets\":[0,4]}}", NULL, 0, 4,
     "byte size overflows 64 bits"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", NULL, 0, 4, "not a non-negative integer"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", NULL, 0, 4, "not a non-negative integer"},
    {"{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", NULL, 0, 4, "no \"dtype\" string"},
    {"{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", NULL, 0, 4, "no \"shape\" array"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", NULL, 0, 4, "\"data_offsets\" is not [begin, end]"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
     "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", NULL, 0, 8, "tensor 'w' appears twice"},
    {"{\"w\": 3}", NULL, 0, 0, "header entry is not a JSON object"},
    {"{\"__metadata__\": 3}", NULL, 0, 0, "\"__metadata__\" is not a JSON object"},
};

START_TEST(test_bad_files)
{
    const char *p;
    if (bad[_i].json) {
        static const unsigned char zeros[16];
        p = st_file("bad.safetensors", bad[_i].json, zeros, bad[_i].dlen);
    } else {
        p = rt_test_write("bad.safetensors", bad[_i].raw, bad[_i].rawlen);
    }
    char err[512] = "";
    CnnrtSt *st = cnnrt_st_open(p, err, sizeof err);
    ck_assert_msg(st == NULL, "case %d opened", _i);
    ck_assert_msg(strstr(err, bad[_i].msg) != NULL, "case %d: '%s' lacks '%s'", _i, err, bad[_i].msg);
    ck_assert_msg(strncmp(err, p, strlen(p)) == 0, "case %d: '%s' does not name the file", _i, err);
}
END_TEST

START_TEST(test_directory_and_missing)
{
    char err[512];
    ck_assert_ptr_null(cnnrt_st_open(rt_test_dir, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "is a directory"));
    ck_assert_ptr_null(cnnrt_st_open(rt_test_path("none.safetensors"), err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "No such file"));
}
END_TEST

typedef struct Collected {
    char text[4096];
    int errors, warnings;
} Collected;

static void collect(void *ctx, int severity, const char *text)
{
    Collected *c = ctx;
    if (severity == CNNRT_ERROR)
        c->errors++;
    else
        c->warnings++;
    size_t n = strlen(c->text);
    snprintf(c->text + n, sizeof c->text - n, "%s: %s\n", severity == CNNRT_ERROR ? "error" : "warning", text);
}

/* Shape [] is a scalar of one element, so it needs its dtype's bytes. */
START_TEST(test_scalar_size)
{
    static const unsigned char data[8];
    const char *p = st_file("s.safetensors", "{\"x\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,0]}}",
                            data, 8);
    char err[512];
    ck_assert_ptr_null(cnnrt_st_open(p, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "I64 [] needs 8 bytes, but data_offsets [0, 0] hold 0"));
    p = st_file("s.safetensors", "{\"x\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}}", data, 8);
    CnnrtSt *st = cnnrt_st_open(p, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    ck_assert_int_eq(cnnrt_st_tensor(st, 0)->count, 1);
    cnnrt_st_close(st);
}
END_TEST

START_TEST(test_bind_checks)
{
    float w[10] = {1, 2, 3, 4, 5, 6, 7, 8, 0, 0};
    const char *p = st_file("b.safetensors",
                "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                "\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]},"
                "\"conv.bias\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[32,32]},"
                "\"steps\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[32,40]}}",
                w, sizeof w);
    char err[512];
    CnnrtSt *st = cnnrt_st_open(p, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);

    /* All good: fc bound from the file, conv.bias inline (a warning), steps unused (a warning). */
    static const float inline_bias[1] = {9};
    CnnrtParam good[] = {
        {"fc.weight", 2, {2, 3}, 6, NULL, 0, 0, 0},
        {"fc.bias", 1, {2}, 2, NULL, 0, 0, 0},
        {"conv.bias", 1, {1}, 1, inline_bias, 1, 0, 0},
    };
    const float *values[3];
    float *storage;
    Collected c = {0};
    ck_assert_int_eq(cnnrt_st_bind(st, good, 3, values, &storage, collect, &c), 0);
    ck_assert_int_eq(c.errors, 0);
    ck_assert_int_eq(c.warnings, 2);
    char want[1024];
    snprintf(want, sizeof want,
             "warning: %s: tensor 'conv.bias' is not used: the network gives it inline in its source\n"
             "warning: %s: tensor 'steps' is not used by the network\n",
             p, p);
    ck_assert_str_eq(c.text, want);
    ck_assert_float_eq(values[0][5], 6);
    ck_assert_float_eq(values[1][0], 7);
    ck_assert_float_eq(values[1][1], 8);
    ck_assert_ptr_eq(values[2], inline_bias);
    free(storage);

    /* Every problem at once: a wrong shape, a missing tensor, a wrong dtype. */
    CnnrtParam badp[] = {
        {"fc.weight", 2, {3, 2}, 6, NULL, 0, 0, 0},
        {"fc2.weight", 4, {1, 2, 3, 3}, 18, NULL, 0, 0, 0},
        {"steps", 1, {1}, 1, NULL, 0, 0, 0},
        {"fc.bias", 1, {2}, 2, NULL, 0, 0, 0},
        {"conv.bias", 1, {0}, 0, NULL, 0, 0, 0},
    };
    const float *bv[5];
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(cnnrt_st_bind(st, badp, 5, bv, &storage, collect, &c), 3);
    ck_assert_ptr_null(storage);
    snprintf(want, sizeof want,
             "error: %s: tensor 'fc.weight': expected shape [3, 2], found [2, 3]\n"
             "error: %s: missing tensor 'fc2.weight': expected shape [1, 2, 3, 3], found no tensor of that name\n"
             "error: %s: tensor 'steps': expected dtype F32 (or F16, BF16, F64), found I64\n",
             p, p, p);
    ck_assert_str_eq(c.text, want);
    char msg[256];
    ck_assert_int_eq(cnnrt_st_read_f32(st, cnnrt_st_find(st, "steps"), (float[1]){0}, msg, sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "dtype I64"));
    cnnrt_st_close(st);
}
END_TEST

/* cnnrt_st_write: the bytes worked out by hand (header, padding, data),
 * then read back by the reader, names and values bit for bit. */
START_TEST(test_write)
{
    float a[4] = {1.5f, -0.0f, 3e-8f, NAN}, b[2] = {-2.0f, 1e30f};
    int64_t sa[2] = {2, 2}, sb[1] = {2};
    CnnrtStOut t[2] = {{"/conv/Conv.weight", 2, sa, a}, {"x\"y.bias", 1, sb, b}};
    const char *p = rt_test_path("w.safetensors");
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    char err[512];
    ck_assert_int_eq(cnnrt_st_write(f, t, 2, err, sizeof err), 0);
    ck_assert_int_eq(fclose(f), 0);
    /* 167 bytes of JSON, padded with a space to 168. */
    const char json[] = "{\"__metadata__\":{\"format\":\"pt\"},"
                        "\"/conv/Conv.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                        "\"x\\\"y.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}} ";
    ck_assert_uint_eq(sizeof json - 1, 168);
    unsigned char want[8 + 168 + 24] = {168};
    memcpy(want + 8, json, 168);
    memcpy(want + 176, a, sizeof a); /* this host is little-endian, as the format is */
    memcpy(want + 192, b, sizeof b);
    f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char got[sizeof want + 1];
    size_t n = fread(got, 1, sizeof got, f);
    fclose(f);
    ck_assert_uint_eq(n, sizeof want);
    ck_assert_mem_eq(got, want, sizeof want);
    CnnrtSt *st = cnnrt_st_open(p, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    const CnnrtStTensor *ta = cnnrt_st_find(st, "/conv/Conv.weight"), *tb = cnnrt_st_find(st, "x\"y.bias");
    ck_assert_ptr_nonnull(ta);
    ck_assert_ptr_nonnull(tb);
    float out[4];
    ck_assert_int_eq(cnnrt_st_read_f32(st, ta, out, err, sizeof err), 0);
    ck_assert_mem_eq(out, a, sizeof a);
    ck_assert_int_eq(cnnrt_st_read_f32(st, tb, out, err, sizeof err), 0);
    ck_assert_mem_eq(out, b, sizeof b);
    cnnrt_st_close(st);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, rt_test_setup, rt_test_teardown);
    tcase_add_test(tc, test_f32_and_metadata);
    tcase_add_test(tc, test_conversions);
    tcase_add_loop_test(tc, test_bad_files, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, test_directory_and_missing);
    tcase_add_test(tc, test_scalar_size);
    tcase_add_test(tc, test_bind_checks);
    tcase_add_test(tc, test_write);
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
