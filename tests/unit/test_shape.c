/* The W2 rule of SPEC section 2 (ir/window.c): W2 = (W1 - F + 2P)/S + 1, exact,
 * floor or ceil (PyTorch's ceil_mode), windows that do not fit, and 64-bit
 * overflow; with a dilation R (section 9) the window spans R*(F-1)+1. The
 * table is PyTorch's, made by make_shape_table.py. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "ir/window.h"

typedef struct ShapeRow {
    int64_t in, size, stride, pad, dilation;
    IrRound round;
    IrWindowStatus status;
    int64_t num, rem, out;
} ShapeRow;

static const ShapeRow torch_rows[] = {
#include "shape_table.h"
};

/* Sizes whose padded width does not fit 64 bits: no tensor to ask PyTorch
 * about, so these are the rule's own arithmetic. */
static const ShapeRow overflow_rows[] = {
    {INT64_MAX, 1, 1, 1, 1, IR_ROUND_EXACT, IR_WINDOW_OVERFLOW, 0, 0, 0},      /* W1 + 2P */
    {INT64_MAX - 1, 1, 1, 1, 1, IR_ROUND_FLOOR, IR_WINDOW_OVERFLOW, 0, 0, 0},  /* W1 + 2P = 2^63 */
    {1, 1, 1, INT64_MAX / 2 + 1, 1, IR_ROUND_CEIL, IR_WINDOW_OVERFLOW, 0, 0, 0}, /* 2P */
    {1, 1, 1, INT64_MAX, 1, IR_ROUND_EXACT, IR_WINDOW_OVERFLOW, 0, 0, 0},
    /* The largest padded width that fits: 2^63 - 1, one window of that size. */
    {INT64_MAX - 2, INT64_MAX, 1, 1, 1, IR_ROUND_EXACT, IR_WINDOW_OK, 0, 0, 1},
    /* Too big is not overflow: F = 2^63 - 1 over a width of 1. */
    {1, INT64_MAX, 1, 0, 1, IR_ROUND_CEIL, IR_WINDOW_TOO_BIG, 0, 0, 0},
    /* The span R*(F-1)+1: R*(F-1) past 2^63, and R*(F-1) = 2^63 - 1 whose +1 is. */
    {1, INT64_MAX / 2 + 2, 1, 0, 2, IR_ROUND_EXACT, IR_WINDOW_OVERFLOW, 0, 0, 0},
    {1, 2, 1, 0, INT64_MAX, IR_ROUND_FLOOR, IR_WINDOW_OVERFLOW, 0, 0, 0},
    /* A span of 2^63 - 1 that fits exactly: F = 2^62, R = 2, W1 + 2P = 2^63 - 1. */
    {INT64_MAX, INT64_MAX / 2 + 1, 1, 0, 2, IR_ROUND_EXACT, IR_WINDOW_OK, 0, 0, 1},
};

static void check_row(const ShapeRow *r, int i)
{
    IrWindow w = {.in = r->in, .size = r->size, .stride = r->stride, .pad = r->pad, .dilation = r->dilation,
                  .round = r->round};
    IrWindowStatus st = ir_window_solve(&w);
    ck_assert_msg(st == r->status, "row %d: W1=%lld F=%lld S=%lld P=%lld R=%lld round=%d: status %d, expected %d",
                  i, (long long)r->in, (long long)r->size, (long long)r->stride, (long long)r->pad,
                  (long long)r->dilation, (int)r->round, (int)st, (int)r->status);
    if (st == IR_WINDOW_OK || st == IR_WINDOW_NOT_WHOLE) {
        ck_assert_msg(w.num == r->num && w.rem == r->rem, "row %d: num %lld rem %lld, expected %lld %lld", i,
                      (long long)w.num, (long long)w.rem, (long long)r->num, (long long)r->rem);
    }
    if (st == IR_WINDOW_OK)
        ck_assert_msg(w.out == r->out, "row %d: W1=%lld F=%lld S=%lld P=%lld R=%lld round=%d: W2 %lld, expected %lld",
                      i, (long long)r->in, (long long)r->size, (long long)r->stride, (long long)r->pad,
                      (long long)r->dilation, (int)r->round, (long long)w.out, (long long)r->out);
}

START_TEST(torch_table)
{
    check_row(&torch_rows[_i], _i);
}
END_TEST

START_TEST(overflow_table)
{
    check_row(&overflow_rows[_i], _i);
}
END_TEST

/* The table must cover every outcome, or a generator bug could leave a case out. */
START_TEST(table_covers_every_case)
{
    int seen[4] = {0}, ceil_drops = 0, ceil_rounds_up = 0, dilated[4] = {0};
    size_t n = sizeof torch_rows / sizeof torch_rows[0];
    ck_assert_uint_ge(n, 500);
    for (size_t i = 0; i < n; i++) {
        const ShapeRow *r = &torch_rows[i];
        seen[r->status]++;
        if (r->dilation > 1)
            dilated[r->status]++;
        /* SPEC section 8: round= on an exact division changes nothing, even
         * for conv's pad >= F where the last windows lie in the right padding. */
        if (r->round == IR_ROUND_CEIL && r->status == IR_WINDOW_OK && r->rem == 0)
            ck_assert_msg(r->out == r->num / r->stride + 1, "row %zu: ceil changes an exact W2", i);
        if (r->round == IR_ROUND_CEIL && r->status == IR_WINDOW_OK && r->rem != 0) {
            /* ceil either rounds up past floor or, when the extra window would
             * start in the right padding, drops it again. */
            if (r->out == r->num / r->stride + 2)
                ceil_rounds_up++;
            else if (r->out == r->num / r->stride + 1)
                ceil_drops++;
            else
                ck_abort_msg("row %zu: ceil W2 %lld is neither", i, (long long)r->out);
        }
    }
    ck_assert_int_gt(seen[IR_WINDOW_OK], 0);
    ck_assert_int_gt(seen[IR_WINDOW_TOO_BIG], 0);
    ck_assert_int_gt(seen[IR_WINDOW_NOT_WHOLE], 0);
    ck_assert_int_gt(ceil_rounds_up, 0);
    ck_assert_int_gt(ceil_drops, 0);
    /* Dilated windows that fit, do not fit, and do not divide. */
    ck_assert_int_gt(dilated[IR_WINDOW_OK], 0);
    ck_assert_int_gt(dilated[IR_WINDOW_TOO_BIG], 0);
    ck_assert_int_gt(dilated[IR_WINDOW_NOT_WHOLE], 0);
}
END_TEST

/* Worked by hand from the SPEC: LeNet's conv1, the SPEC's 12.5 example, and
 * PyTorch's ceil_mode dropping a window that would start in the right pad. */
START_TEST(by_hand)
{
    IrWindow w = {.in = 28, .size = 5, .stride = 1, .pad = 2, .dilation = 1, .round = IR_ROUND_EXACT};
    ck_assert_int_eq(ir_window_solve(&w), IR_WINDOW_OK);
    ck_assert_int_eq(w.out, 28); /* (28 - 5 + 4)/1 + 1 */

    w = (IrWindow){.in = 28, .size = 5, .stride = 2, .pad = 0, .dilation = 1, .round = IR_ROUND_EXACT};
    ck_assert_int_eq(ir_window_solve(&w), IR_WINDOW_NOT_WHOLE);
    ck_assert_int_eq(w.num, 23); /* 23/2 + 1 = 12.5 */
    ck_assert_int_eq(w.rem, 1);

    w.round = IR_ROUND_FLOOR;
    ck_assert_int_eq(ir_window_solve(&w), IR_WINDOW_OK);
    ck_assert_int_eq(w.out, 12);
    w.round = IR_ROUND_CEIL;
    ck_assert_int_eq(ir_window_solve(&w), IR_WINDOW_OK);
    ck_assert_int_eq(w.out, 13); /* the 13th window starts at 24 < 28 */

    /* W1=4 F=2 S=3 P=1: padded 6, ceil(4/3) + 1 = 3 windows at 0, 3, 6; the
     * one at 6 starts past W1 + P = 5, so 2 remain. */
    w = (IrWindow){.in = 4, .size = 2, .stride = 3, .pad = 1, .dilation = 1, .round = IR_ROUND_CEIL};
    ck_assert_int_eq(ir_window_solve(&w), IR_WINDOW_OK);
    ck_assert_int_eq(w.out, 2);

    /* W1=1 F=1 S=1 P=1 divides exactly: windows at 0, 1, 2 of the padded 3;
     * the one at 2 starts in the right padding, yet ceil keeps it, as exact
     * and floor do (SPEC section 8: round= then changes nothing). */
    w = (IrWindow){.in = 1, .size = 1, .stride = 1, .pad = 1, .dilation = 1, .round = IR_ROUND_CEIL};
    ck_assert_int_eq(ir_window_solve(&w), IR_WINDOW_OK);
    ck_assert_int_eq(w.out, 3);

    /* F = W1 + 2P exactly fits; one more does not. */
    w = (IrWindow){.in = 5, .size = 7, .stride = 3, .pad = 1, .dilation = 1, .round = IR_ROUND_EXACT};
    ck_assert_int_eq(ir_window_solve(&w), IR_WINDOW_OK);
    ck_assert_int_eq(w.out, 1);
    w.size = 8;
    ck_assert_int_eq(ir_window_solve(&w), IR_WINDOW_TOO_BIG);

    /* Dilation 2 spreads a 3-tap window over 2*(3-1)+1 = 5: W1=7 P=0 gives
     * 3 outputs, as a 5-tap window would; 4 does not fit a width of 4. */
    w = (IrWindow){.in = 7, .size = 3, .stride = 1, .pad = 0, .dilation = 2, .round = IR_ROUND_EXACT};
    ck_assert_int_eq(ir_window_solve(&w), IR_WINDOW_OK);
    ck_assert_int_eq(w.span, 5);
    ck_assert_int_eq(w.out, 3);
    w.in = 4;
    ck_assert_int_eq(ir_window_solve(&w), IR_WINDOW_TOO_BIG);
}
END_TEST

static Suite *shape_suite(void)
{
    Suite *s = suite_create("shape");
    TCase *tc = tcase_create("window");
    tcase_add_loop_test(tc, torch_table, 0, (int)(sizeof torch_rows / sizeof torch_rows[0]));
    tcase_add_loop_test(tc, overflow_table, 0, (int)(sizeof overflow_rows / sizeof overflow_rows[0]));
    tcase_add_test(tc, table_covers_every_case);
    tcase_add_test(tc, by_hand);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(shape_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
