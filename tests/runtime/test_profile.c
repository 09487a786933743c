/* Unit tests of runtime/profile.c: the header names how a run was split,
 * whichever of the pool's threads happened to take the images. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/pool.h"
#include "runtime/profile.h"

static const char layer_name[] = "conv1 + relu1";

/* One share of the images: a sequence of layers, as the generated code
 * runs it on a thread of its own. */
static void share(void *ctx, int64_t begin, int64_t end)
{
    (void)ctx;
    for (int64_t i = begin; i < end; i++) {
        cnnrt_profile_start();
        cnnrt_profile_layer(layer_name, 100);
    }
}

/* The first line cnnrt_profile_print writes. */
static char *header(size_t runs, size_t batch)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert(cnnrt_profile_print(f, runs, batch));
    ck_assert_int_eq(fclose(f), 0);
    char *nl = strchr(text, '\n');
    ck_assert_ptr_nonnull(nl);
    *nl = '\0';
    return text;
}

/* Images on threads: the pool's worker is let fall asleep before each run
 * (it polls for 1 ms), so the caller often takes both shares before it
 * wakes. The header must say the same every time. */
START_TEST(test_images_on_threads)
{
    ck_assert_int_eq(cnnrt_pool_start(2), 2);
    for (int round = 0; round < 200; round++) {
        nanosleep(&(struct timespec){0, 3000000}, NULL);
        cnnrt_profile_enable(true);
        cnnrt_parallel_for(share, NULL, 2);
        cnnrt_profile_enable(false);
        char *h = header(1, 7);
        ck_assert_msg(strcmp(h, "profile: 1 runs; thread time by layer, summed over the 2 threads that share the "
                                "images") == 0,
                      "round %d: %s", round, h);
        free(h);
    }
    cnnrt_pool_stop();
}
END_TEST

/* Layers on the calling thread (split over the pool or not): time per run. */
START_TEST(test_layers_on_caller)
{
    ck_assert_int_eq(cnnrt_pool_start(2), 2);
    cnnrt_profile_enable(true);
    share(NULL, 0, 1);
    cnnrt_profile_enable(false);
    char *h = header(3, 7);
    ck_assert_str_eq(h, "profile: 3 runs; time by layer, per run");
    free(h);
    cnnrt_pool_stop();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("profile");
    TCase *tc = tcase_create("profile");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_images_on_threads);
    tcase_add_test(tc, test_layers_on_caller);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
