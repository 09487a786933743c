/* The scanner (frontend/lexer.l, SPEC section 1's lexical rules): every token's
 * kind and span (line, column, byte offset, length), driven token by token
 * through the reentrant interface the parser uses. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "parser.h"
#include "lexer.h"
#include "unit_util.h"

/* One token as the scanner returns it. */
typedef struct Tok {
    int kind; /* NAME, NUM, ... or 0 for the end of the file */
    uint32_t line, col;
    size_t off;
    uint32_t len;
} Tok;

enum { MAX_TOKS = 24 };

/* Scans src the way fe_parse sets the scanner up; returns the token count. */
typedef struct Scan {
    Unit u;
    FeParse p;
    Tok toks[MAX_TOKS];
    YYSTYPE vals[MAX_TOKS];
    int n;
} Scan;

static void scan(Scan *s, const char *src, size_t len)
{
    unit_open(&s->u, src);
    s->u.diag.len = len;
    memset(&s->p, 0, sizeof s->p);
    s->p.arena = s->u.arena;
    s->p.diag = &s->u.diag;
    s->p.src = src;
    s->p.len = len;
    s->p.line = 1;
    s->p.col = 1;
    s->p.sep_off[0] = s->p.sep_off[1] = -1;
    s->p.net = ir_arena_alloc(s->u.arena, 1, sizeof *s->p.net);
    yyscan_t scanner;
    ck_assert_int_eq(yylex_init_extra(&s->p, &scanner), 0);
    YY_BUFFER_STATE buf = yy_scan_bytes(src, (int)len, scanner);
    s->n = 0;
    for (;;) {
        ck_assert_int_lt(s->n, MAX_TOKS);
        SrcSpan loc;
        Tok *t = &s->toks[s->n];
        t->kind = yylex(&s->vals[s->n], &loc, scanner);
        t->line = loc.line;
        t->col = loc.col;
        t->off = loc.off;
        t->len = loc.len;
        s->n++;
        if (t->kind == 0)
            break;
    }
    yy_delete_buffer(buf, scanner);
    yylex_destroy(scanner);
}

static void scan_end(Scan *s)
{
    unit_close(&s->u);
}

/* ---- kinds and spans -------------------------------------------------------- */

typedef struct SpanCase {
    const char *what;
    const char *src;
    Tok toks[MAX_TOKS]; /* ends with the end-of-file token, kind 0 */
} SpanCase;

/* Spans worked out by hand: columns and offsets count bytes, a tab is one. */
static const SpanCase span_cases[] = {
    {"header", "network lenet {\n",
     {{NETWORK, 1, 1, 0, 7}, {NAME, 1, 9, 8, 5}, {'{', 1, 15, 14, 1}, {SEP, 1, 16, 15, 1}, {0, 2, 1, 16, 0}}},
    {"dotted name and colon", "features.0: conv",
     {{NAME, 1, 1, 0, 10}, {':', 1, 11, 10, 1}, {NAME, 1, 13, 12, 4}, {0, 1, 17, 16, 0}}},
    {"both comment styles", "block1.conv relu # c\n// d\nx",
     {{NAME, 1, 1, 0, 11}, {NAME, 1, 13, 12, 4}, {SEP, 1, 21, 20, 1}, {SEP, 2, 5, 25, 1}, {NAME, 3, 1, 26, 1},
      {0, 3, 2, 27, 0}}},
    {"comment without a newline at the end", "relu // no newline",
     {{NAME, 1, 1, 0, 4}, {0, 1, 19, 18, 0}}},
    {"semicolons", "a;b ; c",
     {{NAME, 1, 1, 0, 1}, {SEP, 1, 2, 1, 1}, {NAME, 1, 3, 2, 1}, {SEP, 1, 5, 4, 1}, {NAME, 1, 7, 6, 1},
      {0, 1, 8, 7, 0}}},
    {"newlines inside [...] are white space", "w=[1,\n2]\n",
     {{NAME, 1, 1, 0, 1}, {'=', 1, 2, 1, 1}, {'[', 1, 3, 2, 1}, {NUM, 1, 4, 3, 1}, {',', 1, 5, 4, 1},
      {NUM, 2, 1, 6, 1}, {']', 2, 2, 7, 1}, {SEP, 2, 3, 8, 1}, {0, 3, 1, 9, 0}}},
    {"a brace closes a list left open", "[1\n}\n",
     {{'[', 1, 1, 0, 1}, {NUM, 1, 2, 1, 1}, {'}', 2, 1, 3, 1}, {SEP, 2, 2, 4, 1}, {0, 3, 1, 5, 0}}},
    {"tabs, CR and spaces around =", "\tsize =\t3\r\nx",
     {{NAME, 1, 2, 1, 4}, {'=', 1, 7, 6, 1}, {NUM, 1, 9, 8, 1}, {SEP, 1, 11, 10, 1}, {NAME, 2, 1, 11, 1},
      {0, 2, 2, 12, 0}}},
    {"shapes", "input 28x28x1 5x5",
     {{NAME, 1, 1, 0, 5}, {DIMS, 1, 7, 6, 7}, {DIMS, 1, 15, 14, 3}, {0, 1, 18, 17, 0}}},
    {"a shape needs digits after each x", "28x",
     {{NUM, 1, 1, 0, 2}, {NAME, 1, 3, 2, 1}, {0, 1, 4, 3, 0}}},
    {"network is a keyword only on its own", "network networks network.a",
     {{NETWORK, 1, 1, 0, 7}, {NAME, 1, 9, 8, 8}, {NAME, 1, 18, 17, 9}, {0, 1, 27, 26, 0}}},
    {"numbers", "0 42 -1 +2.5 .5 3. 1e3 -2.5E-2 7e+1",
     {{NUM, 1, 1, 0, 1}, {NUM, 1, 3, 2, 2}, {NUM, 1, 6, 5, 2}, {NUM, 1, 9, 8, 4}, {NUM, 1, 14, 13, 2},
      {NUM, 1, 17, 16, 2}, {NUM, 1, 20, 19, 3}, {NUM, 1, 24, 23, 7}, {NUM, 1, 32, 31, 4}, {0, 1, 36, 35, 0}}},
    {"comma lists", "mean=0.5,0.4",
     {{NAME, 1, 1, 0, 4}, {'=', 1, 5, 4, 1}, {NUM, 1, 6, 5, 3}, {',', 1, 9, 8, 1}, {NUM, 1, 10, 9, 3},
      {0, 1, 13, 12, 0}}},
    {"stray bytes are skipped", "a $ b\x01" "c",
     {{NAME, 1, 1, 0, 1}, {NAME, 1, 5, 4, 1}, {NAME, 1, 7, 6, 1}, {0, 1, 8, 7, 0}}},
    {"empty source", "", {{0, 1, 1, 0, 0}}},
};

START_TEST(spans)
{
    const SpanCase *c = &span_cases[_i];
    Scan s;
    scan(&s, c->src, strlen(c->src));
    int want = 0;
    while (c->toks[want].kind != 0)
        want++;
    want++;
    ck_assert_msg(s.n == want, "%s: %d tokens, expected %d", c->what, s.n, want);
    for (int i = 0; i < want; i++) {
        const Tok *g = &s.toks[i], *e = &c->toks[i];
        ck_assert_msg(g->kind == e->kind && g->line == e->line && g->col == e->col && g->off == e->off &&
                          g->len == e->len,
                      "%s: token %d is kind %d at %u:%u off %zu len %u; expected kind %d at %u:%u off %zu len %u",
                      c->what, i, g->kind, g->line, g->col, g->off, g->len, e->kind, e->line, e->col, e->off,
                      e->len);
        if (g->kind == NAME) /* the name's text is the source under its span */
            ck_assert_msg(strlen(s.vals[i].name) == g->len && memcmp(s.vals[i].name, c->src + g->off, g->len) == 0,
                          "%s: token %d name '%s'", c->what, i, s.vals[i].name);
        if (g->kind == NUM || g->kind == DIMS)
            ck_assert_msg(s.vals[i].value->span.off == g->off && s.vals[i].value->span.len == g->len,
                          "%s: token %d's value has another span", c->what, i);
    }
    scan_end(&s);
}
END_TEST

/* ---- number values ---------------------------------------------------------- */

typedef struct NumCase {
    const char *src;
    bool is_int;
    int64_t i;
    double f;
    bool too_big;
} NumCase;

static const NumCase num_cases[] = {
    {"0", true, 0, 0.0, false},
    {"42", true, 42, 42.0, false},
    {"9223372036854775807", true, INT64_MAX, 9223372036854775807.0, false},
    {"9223372036854775808", true, INT64_MAX, 9223372036854775808.0, true}, /* 2^63 */
    {"-1", false, 0, -1.0, false},     /* a sign makes it a float, not an integer key's value */
    {"+2.5", false, 0, 2.5, false},
    {".5", false, 0, 0.5, false},
    {"3.", false, 0, 3.0, false},
    {"1e3", false, 0, 1000.0, false},
    {"-2.5E-2", false, 0, -0.025, false},
    {"7e+1", false, 0, 70.0, false},
    {"5.0", false, 0, 5.0, false},
};

START_TEST(numbers)
{
    const NumCase *c = &num_cases[_i];
    Scan s;
    scan(&s, c->src, strlen(c->src));
    ck_assert_int_eq(s.n, 2);
    ck_assert_int_eq(s.toks[0].kind, NUM);
    const AstValue *v = s.vals[0].value;
    ck_assert_int_eq(v->kind, AST_NUM);
    ck_assert_str_eq(v->text, c->src);
    ck_assert_msg(v->is_int == c->is_int, "%s: is_int %d", c->src, v->is_int);
    ck_assert_msg(v->too_big == c->too_big, "%s: too_big %d", c->src, v->too_big);
    if (c->is_int)
        ck_assert_msg(v->i == c->i, "%s: i = %lld", c->src, (long long)v->i);
    ck_assert_msg(v->f == c->f, "%s: f = %.17g, expected %.17g", c->src, v->f, c->f);
    ck_assert_str_eq(unit_text(&s.u), "");
    scan_end(&s);
}
END_TEST

/* ---- shapes ------------------------------------------------------------------- */

typedef struct DimsCase {
    const char *src;
    int ndims;
    int64_t dims[3];
    bool too_big;
} DimsCase;

static const DimsCase dims_cases[] = {
    {"28x28x1", 3, {28, 28, 1}, false},
    {"224x224x3", 3, {224, 224, 3}, false},
    {"5x5", 2, {5, 5, 0}, false},
    {"1x2x3x4", 4, {1, 2, 3}, false},
    {"200x99999999999999999999x1", 3, {200, INT64_MAX, 1}, true},
};

START_TEST(shapes)
{
    const DimsCase *c = &dims_cases[_i];
    Scan s;
    scan(&s, c->src, strlen(c->src));
    ck_assert_int_eq(s.n, 2);
    ck_assert_int_eq(s.toks[0].kind, DIMS);
    const AstValue *v = s.vals[0].value;
    ck_assert_int_eq(v->kind, AST_DIMS);
    ck_assert_str_eq(v->text, c->src);
    ck_assert_int_eq(v->ndims, c->ndims);
    for (int k = 0; k < (c->ndims < 3 ? c->ndims : 3); k++)
        ck_assert_int_eq(v->dims[k], c->dims[k]);
    ck_assert_int_eq(v->too_big, c->too_big);
    scan_end(&s);
}
END_TEST

/* ---- stray bytes ---------------------------------------------------------------- */

typedef struct StrayCase {
    const char *src;
    size_t len;
    const char *diag;
} StrayCase;

static const StrayCase stray_cases[] = {
    {"a $ b", 5,
     "t.cnn:1:3: error: unexpected character '$'\n"
     "a $ b\n"
     "  ^\n"},
    {"a\x01" "b", 3,
     "t.cnn:1:2: error: stray byte 0x01 in the source\n"
     "a?b\n" /* control bytes are shown as '?' so the caret stays aligned */
     " ^\n"},
    {"x\n\tconv \xff", 9,
     "t.cnn:2:7: error: stray byte 0xff in the source\n"
     "\tconv \xff\n"
     "\t     ^\n"},
    {"a\0b", 3, /* a NUL inside the source is a byte like any other */
     "t.cnn:1:2: error: stray byte 0x00 in the source\n"
     "a?b\n"
     " ^\n"},
    {"@ ! ?", 5,
     "t.cnn:1:1: error: unexpected character '@'\n"
     "@ ! ?\n"
     "^\n"
     "t.cnn:1:3: error: unexpected character '!'\n"
     "@ ! ?\n"
     "  ^\n"
     "t.cnn:1:5: error: unexpected character '?'\n"
     "@ ! ?\n"
     "    ^\n"},
};

START_TEST(stray)
{
    const StrayCase *c = &stray_cases[_i];
    Scan s;
    scan(&s, c->src, c->len);
    ck_assert_str_eq(unit_text(&s.u), c->diag);
    /* The scanner goes on past them: only names or the end are left. */
    for (int i = 0; i < s.n; i++)
        ck_assert(s.toks[i].kind == NAME || s.toks[i].kind == SEP || s.toks[i].kind == 0);
    scan_end(&s);
}
END_TEST

/* Past the error limit the scanner stops with the end of the file. */
START_TEST(stray_limit)
{
    char src[64];
    memset(src, '$', 40);
    Scan s;
    scan(&s, src, 40);
    ck_assert_int_eq(s.n, 1);
    ck_assert_int_eq(s.toks[0].kind, 0);
    ck_assert_int_eq(s.u.diag.errors, 20);
    ck_assert(ir_diag_full(&s.u.diag));
    scan_end(&s);
}
END_TEST

static Suite *lexer_suite(void)
{
    Suite *s = suite_create("lexer");
    TCase *tc = tcase_create("tokens");
    tcase_add_loop_test(tc, spans, 0, (int)(sizeof span_cases / sizeof span_cases[0]));
    tcase_add_loop_test(tc, numbers, 0, (int)(sizeof num_cases / sizeof num_cases[0]));
    tcase_add_loop_test(tc, shapes, 0, (int)(sizeof dims_cases / sizeof dims_cases[0]));
    tcase_add_loop_test(tc, stray, 0, (int)(sizeof stray_cases / sizeof stray_cases[0]));
    tcase_add_test(tc, stray_limit);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(lexer_suite)
