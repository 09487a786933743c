/* Helpers shared by the runtime's unit tests: a scratch directory per test
 * binary and files written from bytes. */
#ifndef CNNC_TESTS_RUNTIME_RT_TESTUTIL_H
#define CNNC_TESTS_RUNTIME_RT_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char rt_test_dir[64];

static inline void rt_test_setup(void)
{
    strcpy(rt_test_dir, "/tmp/cnnrt-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(rt_test_dir));
}

static inline void rt_test_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", rt_test_dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* The path of name in the scratch directory (a static buffer per slot). */
static inline const char *rt_test_path(const char *name)
{
    static char buf[4][256];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", rt_test_dir, name);
    return buf[slot];
}

static inline const char *rt_test_write(const char *name, const void *data, size_t len)
{
    const char *p = rt_test_path(name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    return p;
}

static inline int rt_test_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

#endif
