/* The parser (frontend/parser.y) through fe_parse: layers, names, kinds and
 * their arguments as the AST holds them; default names through fe_compile;
 * error recovery that goes on to report the next lines' errors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "unit_util.h"

static AstNetwork *parse(Unit *u, const char *src)
{
    unit_open(u, src);
    return fe_parse(u->arena, &u->diag, src, strlen(src));
}

static const AstArg *arg(const AstLayer *l, size_t i)
{
    ck_assert_uint_lt(i, l->nargs);
    return &l->args[i];
}

static void assert_span(SrcSpan s, uint32_t line, uint32_t col, size_t off, uint32_t len)
{
    ck_assert_msg(s.line == line && s.col == col && s.off == off && s.len == len,
                  "span %u:%u off %zu len %u, expected %u:%u off %zu len %u", s.line, s.col, s.off, s.len,
                  line, col, off, len);
}

/* ---- layers and arguments ------------------------------------------------- */

START_TEST(layers_and_args)
{
    static const char src[] =
        "network net {\n"                                 /* line 1, offsets 0..13 */
        "    input 28x28x1 mean=0.5,0.4,0.3 std=[0.2,\n"  /* line 2, offset 14 */
        "        0.2, 0.2]\n"                             /* line 3, offset 59 */
        "    features.0: conv filters=6 size=5 pad=2\n"   /* line 4, offset 77 */
        "    pool max size=2; relu\n"                     /* line 5, offset 121 */
        "}\n";
    Unit u;
    AstNetwork *net = parse(&u, src);
    ck_assert_str_eq(unit_text(&u), "");
    ck_assert_ptr_nonnull(net);
    ck_assert_str_eq(net->name, "net");
    assert_span(net->name_span, 1, 9, 8, 3);
    assert_span(net->close_span, 6, 1, 147, 1);
    ck_assert_uint_eq(net->nlayers, 4);

    const AstLayer *in = &net->layers[0];
    ck_assert_ptr_null(in->name);
    ck_assert_str_eq(in->kind, "input");
    assert_span(in->kind_span, 2, 5, 18, 5);
    ck_assert_uint_eq(in->nargs, 3);
    ck_assert_ptr_null(arg(in, 0)->key); /* positional */
    ck_assert_int_eq(arg(in, 0)->value->kind, AST_DIMS);
    ck_assert_str_eq(arg(in, 0)->value->text, "28x28x1");
    assert_span(arg(in, 0)->value->span, 2, 11, 24, 7);
    /* mean=0.5,0.4,0.3: a list without brackets, spanning all three values */
    ck_assert_str_eq(arg(in, 1)->key, "mean");
    assert_span(arg(in, 1)->key_span, 2, 19, 32, 4);
    const AstValue *mean = arg(in, 1)->value;
    ck_assert_int_eq(mean->kind, AST_LIST);
    ck_assert(!mean->bracketed);
    ck_assert_uint_eq(mean->nitems, 3);
    assert_span(mean->span, 2, 24, 37, 11);
    ck_assert_double_eq(mean->items[0]->f, 0.5);
    ck_assert_double_eq(mean->items[1]->f, 0.4);
    ck_assert_double_eq(mean->items[2]->f, 0.3);
    /* std=[0.2,\n 0.2, 0.2]: an inline list across lines */
    ck_assert_str_eq(arg(in, 2)->key, "std");
    const AstValue *std = arg(in, 2)->value;
    ck_assert_int_eq(std->kind, AST_LIST);
    ck_assert(std->bracketed);
    ck_assert_uint_eq(std->nitems, 3);
    assert_span(std->span, 2, 40, 53, 23); /* from '[' to ']' on line 3 */
    assert_span(std->items[1]->span, 3, 9, 67, 3);
    assert_span(std->items[2]->span, 3, 14, 72, 3);

    const AstLayer *conv = &net->layers[1];
    ck_assert_str_eq(conv->name, "features.0");
    assert_span(conv->name_span, 4, 5, 81, 10);
    ck_assert_str_eq(conv->kind, "conv");
    assert_span(conv->kind_span, 4, 17, 93, 4);
    ck_assert_uint_eq(conv->nargs, 3);
    static const char *const keys[] = {"filters", "size", "pad"};
    static const int64_t vals[] = {6, 5, 2};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_str_eq(arg(conv, i)->key, keys[i]);
        ck_assert_int_eq(arg(conv, i)->value->kind, AST_NUM);
        ck_assert(arg(conv, i)->value->is_int);
        ck_assert_int_eq(arg(conv, i)->value->i, vals[i]);
    }

    const AstLayer *pool = &net->layers[2];
    ck_assert_str_eq(pool->kind, "pool");
    assert_span(pool->kind_span, 5, 5, 125, 4);
    ck_assert_uint_eq(pool->nargs, 2);
    ck_assert_ptr_null(arg(pool, 0)->key);
    ck_assert_int_eq(arg(pool, 0)->value->kind, AST_WORD);
    ck_assert_str_eq(arg(pool, 0)->value->text, "max");
    ck_assert_str_eq(arg(pool, 1)->key, "size");

    const AstLayer *relu = &net->layers[3];
    ck_assert_str_eq(relu->kind, "relu");
    assert_span(relu->kind_span, 5, 22, 142, 4);
    ck_assert_uint_eq(relu->nargs, 0);
    for (size_t i = 0; i < net->nlayers; i++)
        ck_assert(!net->layers[i].broken);
    unit_close(&u);
}
END_TEST

/* ---- layer counts over the ways of laying a network out --------------------- */

typedef struct LayoutCase {
    const char *src;
    const char *kinds; /* the layers' kinds, space-separated */
} LayoutCase;

static const LayoutCase layout_cases[] = {
    {"network n { input 4x4x1; relu }", "input relu"},
    {"network n {input 4x4x1\nrelu}", "input relu"},
    {"network n {\n}\n", ""},
    {"network n {}", ""},
    {"\n# leading comment\n\nnetwork n\n{\n\n  input 4x4x1 ;\n\n  relu;\n}\n\n", "input relu"},
    {"network n { input 4x4x1 ;; ; relu ; }", "input relu"},
    {"network n {\r\n  input 4x4x1\r\n  relu\r\n}\r\n", "input relu"},
    {"network n { input 4x4x1; fc 10 weights=[1,\n2,\n\n3] bias=false; softmax }", "input fc softmax"},
};

START_TEST(layouts)
{
    const LayoutCase *c = &layout_cases[_i];
    Unit u;
    AstNetwork *net = parse(&u, c->src);
    ck_assert_msg(u.diag.errors == 0, "%s\n%s", c->src, unit_text(&u));
    ck_assert_ptr_nonnull(net);
    char kinds[256] = "";
    for (size_t i = 0; i < net->nlayers; i++)
        snprintf(kinds + strlen(kinds), sizeof kinds - strlen(kinds), "%s%s", i ? " " : "", net->layers[i].kind);
    ck_assert_str_eq(kinds, c->kinds);
    unit_close(&u);
}
END_TEST

/* fc 10 weights=[1,\n2,\n\n3]: one list of three numbers across four lines. */
START_TEST(list_across_lines)
{
    Unit u;
    AstNetwork *net = parse(&u, layout_cases[7].src);
    ck_assert_ptr_nonnull(net);
    const AstLayer *fc = &net->layers[1];
    ck_assert_uint_eq(fc->nargs, 3);
    ck_assert_int_eq(arg(fc, 0)->value->kind, AST_NUM);
    ck_assert_int_eq(arg(fc, 0)->value->i, 10);
    const AstValue *w = arg(fc, 1)->value;
    ck_assert_str_eq(arg(fc, 1)->key, "weights");
    ck_assert_int_eq(w->kind, AST_LIST);
    ck_assert_uint_eq(w->nitems, 3);
    ck_assert_uint_eq(w->items[2]->span.line, 4);
    ck_assert_str_eq(arg(fc, 2)->key, "bias");
    ck_assert_int_eq(arg(fc, 2)->value->kind, AST_WORD);
    ck_assert_str_eq(arg(fc, 2)->value->text, "false");
    ck_assert_uint_eq(net->layers[2].kind_span.line, 4);
    unit_close(&u);
}
END_TEST

/* ---- default names (SPEC section 8) ------------------------------------------- */

typedef struct NameCase {
    const char *src;
    const char *names; /* every layer's name, space-separated */
} NameCase;

static const NameCase name_cases[] = {
    {"network n {\n input 8x8x1\n features.0: conv filters=2 size=3\n conv filters=2 size=3\n}",
     "input features.0 conv2"},
    {"network n {\n input 8x8x1\n relu\n r: relu\n relu\n fc 3\n fc 2\n}", "input relu1 r relu3 fc1 fc2"},
    {"network n {\n data: input 8x8x1\n pool max size=2\n pool avg size=2\n flatten\n dropout\n softmax\n}",
     "data pool1 pool2 flatten1 dropout1 softmax1"},
    /* a name may equal a kind word */
    {"network n {\n input 8x8x1\n conv: conv filters=1 size=1\n relu: relu\n}", "input conv relu"},
    {"network n {\n input 8x8x1\n block1.conv: conv filters=1 size=1\n conv filters=1 size=1\n"
     " conv3: conv filters=1 size=1\n}",
     "input block1.conv conv2 conv3"},
    /* kinds ending in a digit take '_' before the ordinal (SPEC section 9) */
    {"network n {\n input 8x8x1\n relu6\n r: relu6\n relu6\n leakyrelu\n sigmoid\n tanh\n}",
     "input relu6_1 r relu6_3 leakyrelu1 sigmoid1 tanh1"},
};

START_TEST(default_names)
{
    const NameCase *c = &name_cases[_i];
    Unit u;
    IrGraph *g = unit_compile(&u, c->src);
    ck_assert_msg(g != NULL, "%s", unit_text(&u));
    char names[256] = "";
    for (size_t i = 0; i < g->count; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? " " : "", g->nodes[i].name);
    ck_assert_str_eq(names, c->names);
    unit_close(&u);
}
END_TEST

/* conv2 is the second conv's default name whatever the first is called, so
 * a first conv named conv2 makes the second clash (SPEC section 8). */
START_TEST(default_name_clash)
{
    Unit u;
    IrGraph *g = unit_compile(&u, "network n {\n input 8x8x1\n conv2: conv filters=1 size=1\n"
                                  " conv filters=1 size=1\n}");
    ck_assert_ptr_null(g);
    ck_assert_str_eq(unit_text(&u),
                     "t.cnn:4:2: error: this layer's default name 'conv2' is already used; give it a name of its own\n"
                     " conv filters=1 size=1\n"
                     " ^\n"
                     "t.cnn:3:2: note: 'conv2' is first used here\n"
                     " conv2: conv filters=1 size=1\n"
                     " ^\n");
    unit_close(&u);
}
END_TEST

/* ---- error recovery ------------------------------------------------------------- */

START_TEST(recovery)
{
    static const char src[] =
        "network n {\n"
        "  input 8x8x1\n"
        "  conv filters= size=3\n" /* 3:17, the value left out */
        "  relu = 2\n"             /* 4:8 */
        "  fc 10 bias=true\n"
        "  pool max size=2 ]\n"    /* 6:19 */
        "  relu\n"
        "}\n";
    Unit u;
    AstNetwork *net = parse(&u, src);
    ck_assert_ptr_nonnull(net);
    const char *text = unit_text(&u);
    ck_assert_int_eq(u.diag.errors, 3);
    ck_assert_msg(strncmp(text,
                          "t.cnn:3:17: error: missing value after 'filters='\n"
                          "  conv filters= size=3\n"
                          "                ^\n"
                          "t.cnn:4:8: error: unexpected '='",
                          strlen("t.cnn:3:17: error: missing value after 'filters='\n"
                                 "  conv filters= size=3\n"
                                 "                ^\n"
                                 "t.cnn:4:8: error: unexpected '='")) == 0,
                  "%s", text);
    const char *third = strstr(text, "t.cnn:6:19: error: unexpected ']'");
    ck_assert_msg(third != NULL, "%s", text);
    ck_assert_msg(strstr(third, "\n  pool max size=2 ]\n                  ^\n") != NULL, "%s", third);
    /* The layers opened before their error are marked broken, so the builder
     * does not echo it; 'relu =' fails before its layer opens. The layers
     * after each error are there, whole. */
    ck_assert_uint_eq(net->nlayers, 5);
    static const char *const kinds[] = {"input", "conv", "fc", "pool", "relu"};
    static const bool broken[] = {false, true, false, true, false};
    for (size_t i = 0; i < 5; i++)
        ck_assert_str_eq(net->layers[i].kind, kinds[i]);
    ck_assert_uint_eq(net->layers[2].nargs, 2); /* fc 10 bias=true */
    ck_assert_uint_eq(net->layers[4].kind_span.line, 7);
    for (size_t i = 0; i < 5; i++)
        ck_assert_msg(net->layers[i].broken == broken[i], "layer %zu (%s) broken=%d", i, net->layers[i].kind,
                      net->layers[i].broken);
    unit_close(&u);
}
END_TEST

/* A syntax error on one line and key errors on others: all reported, and the
 * broken layer's keys are not checked again (SPEC section 8). */
START_TEST(recovery_with_key_errors)
{
    static const char src[] =
        "network n {\n"
        "  input 8x8x1\n"
        "  conv filters=2 sise=3\n"
        "  relu : :\n"
        "  pool max size=2 stride=2 stride=2\n"
        "}\n";
    Unit u;
    IrGraph *g = unit_compile(&u, src);
    ck_assert_ptr_null(g);
    const char *text = unit_text(&u);
    ck_assert_int_eq(u.diag.errors, 3);
    const char *a = strstr(text, "t.cnn:4:10: error: unexpected ':'");
    const char *b = strstr(text, "t.cnn:3:18: error: unknown key 'sise' for conv; did you mean 'size'?\n"
                                 "  conv filters=2 sise=3\n"
                                 "                 ^\n");
    const char *c = strstr(text, "t.cnn:5:28: error: key 'stride' given twice\n"
                                 "  pool max size=2 stride=2 stride=2\n"
                                 "                           ^\n"
                                 "t.cnn:5:19: note: first given here\n"
                                 "  pool max size=2 stride=2 stride=2\n"
                                 "                  ^\n");
    ck_assert_msg(a && b && c, "%s", text);
    ck_assert_msg(a < b && b < c, "syntax errors come first, then the builder's in order:\n%s", text);
    unit_close(&u);
}
END_TEST

/* Files that have no usable network: NULL and one clear error. */
typedef struct BadCase {
    const char *src;
    const char *diag;
} BadCase;

static const BadCase bad_cases[] = {
    {"", "t.cnn:1:1: error: unexpected end of file; expected 'network' or newline "
         "(a file starts with 'network NAME {')\n\n^\n"},
    {"net n {}", "t.cnn:1:1: error: unexpected name 'net'; expected 'network' or newline "
                 "(a file starts with 'network NAME {')\nnet n {}\n^\n"},
};

START_TEST(bad_files)
{
    const BadCase *c = &bad_cases[_i];
    Unit u;
    ck_assert_ptr_null(parse(&u, c->src));
    ck_assert_str_eq(unit_text(&u), c->diag);
    unit_close(&u);
}
END_TEST

static Suite *parser_suite(void)
{
    Suite *s = suite_create("parser");
    TCase *tc = tcase_create("ast");
    tcase_add_test(tc, layers_and_args);
    tcase_add_loop_test(tc, layouts, 0, (int)(sizeof layout_cases / sizeof layout_cases[0]));
    tcase_add_test(tc, list_across_lines);
    tcase_add_loop_test(tc, default_names, 0, (int)(sizeof name_cases / sizeof name_cases[0]));
    tcase_add_test(tc, default_name_clash);
    tcase_add_test(tc, recovery);
    tcase_add_test(tc, recovery_with_key_errors);
    tcase_add_loop_test(tc, bad_files, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(parser_suite)
