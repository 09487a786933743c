/* The diagnostics sink (ir/diag.c, SPEC sections 7 and 8): the exact text of
 * errors, warnings and notes with the source line and the caret, tabs kept
 * before the caret, the window shown for long lines, the error limit, and
 * places named instead of lines (ONNX nodes).
 * Then a few errors the front end reports, through the same sink. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_util.h"

/* The span of the n-th (from 0) occurrence of needle in src, as the scanner
 * would give it: byte offset, 1-based line and byte column. */
static SrcSpan span_of(const char *src, const char *needle, int nth)
{
    const char *at = src;
    for (int i = 0;; i++) {
        at = strstr(at, needle);
        ck_assert_msg(at != NULL, "'%s' not in the source", needle);
        if (i == nth)
            break;
        at++;
    }
    SrcSpan s = {.off = (size_t)(at - src), .line = 1, .col = 1, .len = (uint32_t)strlen(needle)};
    for (const char *p = src; p < at; p++) {
        if (*p == '\n') {
            s.line++;
            s.col = 1;
        } else {
            s.col++;
        }
    }
    return s;
}

/* ---- the sink on its own: a table of reports and their exact text ----------- */

typedef enum { ERR, WARN, NOTE } Kind;

typedef struct Event {
    Kind kind;
    const char *at; /* where: this text's first occurrence in the source */
    const char *msg;
} Event;

typedef struct DiagCase {
    const char *what;
    const char *src;
    Event events[4];
    int nevents;
    const char *text;
    int errors, warnings;
} DiagCase;

static const DiagCase diag_cases[] = {
    {"one error", "network n {\n  conv filters=0\n}\n",
     {{ERR, "0\n", "filters=0 is out of range"}}, 1,
     "t.cnn:2:16: error: filters=0 is out of range\n"
     "  conv filters=0\n"
     "               ^\n",
     1, 0},
    {"tabs before the column are kept in the caret line", "network n {\n\t\tconv  \tsize=x\n}\n",
     {{ERR, "x\n", "bad"}}, 1,
     "t.cnn:2:15: error: bad\n"
     "\t\tconv  \tsize=x\n"
     "\t\t      \t     ^\n",
     1, 0},
    {"an error, its note, a warning, another error",
     "network n {\n  a: relu\n  a: relu\n  dropout p=0.5\n}\n",
     {{ERR, "a: relu\n  d", "layer name 'a' is already used"},
      {NOTE, "a: relu", "'a' is first used here"},
      {WARN, "dropout", "something to say"},
      {ERR, "}", "another"}},
     4,
     "t.cnn:3:3: error: layer name 'a' is already used\n"
     "  a: relu\n"
     "  ^\n"
     "t.cnn:2:3: note: 'a' is first used here\n"
     "  a: relu\n"
     "  ^\n"
     "t.cnn:4:3: warning: something to say\n"
     "  dropout p=0.5\n"
     "  ^\n"
     "t.cnn:5:1: error: another\n"
     "}\n"
     "^\n",
     2, 1},
    {"CR before the newline is not shown", "network n {\r\n  relu x\r\n}\r\n",
     {{ERR, "x", "relu takes no arguments"}}, 1,
     "t.cnn:2:8: error: relu takes no arguments\n"
     "  relu x\n"
     "       ^\n",
     1, 0},
    {"control bytes shown as '?' so the caret stays aligned", "a\x01\x7f" "b c",
     {{ERR, "c", "here"}}, 1,
     "t.cnn:1:6: error: here\n"
     "a??b c\n"
     "     ^\n",
     1, 0},
};

static void report_events(Unit *u, const DiagCase *c)
{
    for (int i = 0; i < c->nevents; i++) {
        const Event *e = &c->events[i];
        SrcSpan at = span_of(c->src, e->at, 0);
        if (e->kind == ERR)
            ir_diag_error(&u->diag, at, "%s", e->msg);
        else if (e->kind == WARN)
            ir_diag_warning(&u->diag, at, "%s", e->msg);
        else
            ir_diag_note(&u->diag, at, "%s", e->msg);
    }
}

START_TEST(sink)
{
    const DiagCase *c = &diag_cases[_i];
    Unit u;
    unit_open(&u, c->src);
    report_events(&u, c);
    ck_assert_msg(strcmp(unit_text(&u), c->text) == 0, "%s: got\n%s\nexpected\n%s", c->what, unit_text(&u),
                  c->text);
    ck_assert_int_eq(u.diag.errors, c->errors);
    ck_assert_int_eq(u.diag.warnings, c->warnings);
    unit_close(&u);
}
END_TEST

/* The end of the file, past the last byte: the caret after the line. */
START_TEST(at_end_of_file)
{
    static const char src[] = "network n {";
    Unit u;
    unit_open(&u, src);
    SrcSpan end = {.off = 11, .line = 1, .col = 12, .len = 0};
    ir_diag_error(&u.diag, end, "unexpected end of file");
    ck_assert_str_eq(unit_text(&u),
                     "t.cnn:1:12: error: unexpected end of file\n"
                     "network n {\n"
                     "           ^\n");
    unit_close(&u);
}
END_TEST

START_TEST(file_error)
{
    Unit u;
    unit_open(&u, "");
    ir_diag_file_error(&u.diag, "cannot read it: %s", "No such file or directory");
    ck_assert_str_eq(unit_text(&u), "t.cnn: error: cannot read it: No such file or directory\n");
    ck_assert_int_eq(u.diag.errors, 1);
    unit_close(&u);
}
END_TEST

/* A source without lines (an ONNX model): a span of line 0 names its place
 * instead of LINE:COL, and no line or caret follows. */
START_TEST(places)
{
    Unit u;
    unit_open(&u, "");
    static const char *const where[] = {"graph", "node '/layer1/Add' (Add)"};
    u.diag.places = where;
    u.diag.nplaces = 2;
    ir_diag_error(&u.diag, (SrcSpan){.off = 1}, "adds tensors of different shapes");
    ir_diag_note(&u.diag, (SrcSpan){.off = 0}, "the graph");
    ck_assert_str_eq(unit_text(&u), "t.cnn: node '/layer1/Add' (Add): error: adds tensors of different shapes\n"
                                    "t.cnn: graph: note: the graph\n");
    ck_assert_int_eq(u.diag.errors, 1);
    unit_close(&u);
}
END_TEST

/* ---- long lines: a window of 70 bytes either side, '...' where cut ---------- */

typedef struct LongCase {
    size_t len;   /* the line's length */
    size_t caret; /* the column - 1 */
    /* What is shown, as ranges of the line, and the caret's indent. */
    bool lead, trail;
    size_t from, to;
} LongCase;

static const LongCase long_cases[] = {
    {160, 150, false, false, 0, 160}, /* 160 bytes: shown whole */
    {161, 100, true, false, 30, 161}, /* from 100 - 70; 131 bytes left, under 140 */
    {300, 100, true, true, 30, 170},  /* 140 bytes from 30 */
    {300, 0, false, true, 0, 140},
    {300, 70, false, true, 0, 140},   /* 70 is not past the context */
    {300, 71, true, true, 1, 141},
    {300, 299, true, false, 229, 300},
    {100000, 50000, true, true, 49930, 50070},
};

START_TEST(long_line)
{
    const LongCase *c = &long_cases[_i];
    /* "network n {\n" then the long line: letters cycling so a misplaced
     * window shows in the text, and a second line after it. */
    static const char head[] = "network n {\n";
    size_t hl = strlen(head);
    char *src = malloc(hl + c->len + 3);
    memcpy(src, head, hl);
    for (size_t i = 0; i < c->len; i++)
        src[hl + i] = (char)('a' + i % 26);
    memcpy(src + hl + c->len, "\n}", 3);
    Unit u;
    unit_open(&u, src);
    SrcSpan at = {.off = hl + c->caret, .line = 2, .col = (uint32_t)(c->caret + 1), .len = 1};
    ir_diag_error(&u.diag, at, "here");

    char *want = malloc(2 * c->len + 200);
    int n = sprintf(want, "t.cnn:2:%zu: error: here\n%s", c->caret + 1, c->lead ? "..." : "");
    memcpy(want + n, src + hl + c->from, c->to - c->from);
    n += (int)(c->to - c->from);
    n += sprintf(want + n, "%s\n%s", c->trail ? "..." : "", c->lead ? "   " : "");
    for (size_t i = c->from; i < c->caret; i++)
        want[n++] = ' ';
    strcpy(want + n, "^\n");
    ck_assert_msg(strcmp(unit_text(&u), want) == 0, "line of %zu, caret at %zu:\ngot\n%s\nexpected\n%s", c->len,
                  c->caret, unit_text(&u), want);
    free(want);
    unit_close(&u);
    free(src);
}
END_TEST

/* ---- the error limit ------------------------------------------------------------ */

START_TEST(error_limit)
{
    static const char src[] = "network n {\n  relu\n}\n";
    Unit u;
    unit_open(&u, src);
    SrcSpan at = span_of(src, "relu", 0);
    char want[8192];
    int n = 0;
    for (int i = 1; i <= 25; i++) {
        ck_assert(!ir_diag_full(&u.diag) == (i <= 20));
        ir_diag_error(&u.diag, at, "error %d", i);
        ir_diag_note(&u.diag, at, "note %d", i);
        if (i <= 20) {
            n += sprintf(want + n, "t.cnn:2:3: error: error %d\n  relu\n  ^\n", i);
            if (i == 20)
                n += sprintf(want + n, "t.cnn: note: stopping after 20 errors\n");
            else /* the 20th error's note comes after the stop and is dropped with it */
                n += sprintf(want + n, "t.cnn:2:3: note: note %d\n  relu\n  ^\n", i);
        }
    }
    ir_diag_warning(&u.diag, at, "not shown either");
    ck_assert(ir_diag_full(&u.diag));
    ck_assert_int_eq(u.diag.errors, 20);
    ck_assert_int_eq(u.diag.warnings, 0);
    ck_assert_str_eq(unit_text(&u), want);
    unit_close(&u);
}
END_TEST

/* 25 bad lines through the whole front end: 20 errors, then it stops. */
START_TEST(error_limit_frontend)
{
    char src[4096];
    int n = sprintf(src, "network n {\n  input 4x4x1\n");
    for (int i = 0; i < 25; i++)
        n += sprintf(src + n, "  relu bad=%d\n", i);
    sprintf(src + n, "}\n");
    Unit u;
    ck_assert_ptr_null(unit_compile(&u, src));
    const char *text = unit_text(&u);
    ck_assert_int_eq(u.diag.errors, 20);
    ck_assert_msg(strstr(text, "t.cnn:22:8: error: relu takes no keys\n"
                               "  relu bad=19\n"
                               "       ^\n"
                               "t.cnn: note: stopping after 20 errors\n") != NULL,
                  "%s", text);
    ck_assert_ptr_null(strstr(text, "t.cnn:23:"));
    unit_close(&u);
}
END_TEST

/* ---- the front end's errors, where SPEC section 8 says they point ----------- */

typedef struct FeCase {
    const char *what;
    const char *src;
    const char *text;
} FeCase;

static const FeCase fe_cases[] = {
    {"the SPEC's 12.5 example points at the kind word; 28 - 5 is odd so no pad helps",
     "network n {\n  input 28x28x1\n  conv filters=6 size=5 stride=2\n}\n",
     "t.cnn:3:3: error: width (28 - 5 + 2*0)/2 + 1 = 12.5 is not a whole number; try stride=1 (width and "
     "height 24), or round=floor to drop the last partial window as PyTorch does (width and height 12)\n"
     "  conv filters=6 size=5 stride=2\n"
     "  ^\n"},
    {"a missing key points at the kind word", "network n {\n  input 8x8x1\n\tconv filters=6\n}\n",
     "t.cnn:3:2: error: conv needs size=F, the filters' width and height\n"
     "\tconv filters=6\n"
     "\t^\n"},
    {"a bad value points at the value", "network n {\n  input 8x8x1\n  conv filters=6 size=3 pad=-1\n}\n",
     "t.cnn:3:29: error: pad=-1 is out of range; it must be at least 0\n"
     "  conv filters=6 size=3 pad=-1\n"
     "                            ^\n"},
    {"a duplicate name at the second use, a note at the first",
     "network n {\n  input 8x8x1\n  x: relu\n  x: relu\n}\n",
     "t.cnn:4:3: error: layer name 'x' is already used\n"
     "  x: relu\n"
     "  ^\n"
     "t.cnn:3:3: note: 'x' is first used here\n"
     "  x: relu\n"
     "  ^\n"},
    {"key errors on different lines are all reported",
     "network n {\n  input 8x8x1\n  conv filters=2 size=3 strid=1\n  pool max size=2 bias=true\n}\n",
     "t.cnn:3:25: error: unknown key 'strid' for conv; did you mean 'stride'?\n"
     "  conv filters=2 size=3 strid=1\n"
     "                        ^\n"
     "t.cnn:4:19: error: unknown key 'bias' for pool; write 'pool max size=F' or 'pool avg size=F' [stride=S] "
     "[pad=P] [round=floor|ceil], or 'pool max|avg global'\n"
     "  pool max size=2 bias=true\n"
     "                  ^\n"},
    {"shape checking stops at the first layer whose shape fails",
     "network n {\n  input 8x8x1\n  conv filters=1 size=9\n  conv filters=1 size=20\n}\n",
     "t.cnn:3:3: error: filter window size=9 does not fit: the padded width is only 8 + 2*0 = 8\n"
     "  conv filters=1 size=9\n"
     "  ^\n"},
};

START_TEST(frontend_errors)
{
    const FeCase *c = &fe_cases[_i];
    Unit u;
    ck_assert_ptr_null(unit_compile(&u, c->src));
    ck_assert_msg(strcmp(unit_text(&u), c->text) == 0, "%s: got\n%s\nexpected\n%s", c->what, unit_text(&u),
                  c->text);
    unit_close(&u);
}
END_TEST

static Suite *diag_suite(void)
{
    Suite *s = suite_create("diag");
    TCase *tc = tcase_create("diag");
    tcase_add_loop_test(tc, sink, 0, (int)(sizeof diag_cases / sizeof diag_cases[0]));
    tcase_add_test(tc, at_end_of_file);
    tcase_add_test(tc, file_error);
    tcase_add_test(tc, places);
    tcase_add_loop_test(tc, long_line, 0, (int)(sizeof long_cases / sizeof long_cases[0]));
    tcase_add_test(tc, error_limit);
    tcase_add_test(tc, error_limit_frontend);
    tcase_add_loop_test(tc, frontend_errors, 0, (int)(sizeof fe_cases / sizeof fe_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(diag_suite)
