/* The graph written back as .cnn (ir/cnn.c, cnnc --emit=cnn): for each
 * source, the text it must give, worked out by hand from SPEC sections 1, 8
 * and 9 (keys at their defaults left out, default names left out, others
 * quoted where the lexer needs it); that text read again must give itself.
 * Then what the language cannot write, each refused at its node. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/cnn.h"
#include "unit_util.h"

typedef struct Case {
    const char *what, *src, *want;
} Case;

static const Case cases[] = {
    /* SPEC section 1's LeNet-5: every name is the default one. */
    {"lenet",
     "# LeNet-5\n"
     "network lenet {\n"
     "    input  28x28x1\n"
     "    conv1: conv filters=6 size=5 pad=2\n"
     "    relu\n"
     "    pool max size=2                # stride defaults to size\n"
     "    conv2: conv filters=16 size=5 stride=1\n"
     "    relu; pool avg size=2\n"
     "    fc1: fc 120\n"
     "    relu\n"
     "    fc2: fc 84\n"
     "    relu\n"
     "    fc3: fc 10\n"
     "    softmax\n"
     "}\n",
     "# h\n"
     "network lenet {\n"
     "    input 28x28x1\n"
     "    conv filters=6 size=5 pad=2\n"
     "    relu\n"
     "    pool max size=2\n"
     "    conv filters=16 size=5\n"
     "    relu\n"
     "    pool avg size=2\n"
     "    fc 120\n"
     "    relu\n"
     "    fc 84\n"
     "    relu\n"
     "    fc 10\n"
     "    softmax\n"
     "}\n"},
    /* Every key away from its default. Shapes: stem (9-3+2)/2+1 = 5 by
     * (7-1)/1+1 = 7; "0" spans 2*(3-1)+1 = 5 across, (5-5+2)+1 = 3 by 7;
     * side (5-2)+1 = 4 by (7-3)/2+1 = 3; "a b" 5x7x2, cat 5x7x6. Most
     * windows floor, so the network says floor and "0" says ceil; the
     * global pool's rounding is no key. */
    {"keys",
     "network keys round=floor {\n"
     "  input 9x7x3 mean=0.485,0.456,0.406 std=0.25\n"
     "  stem: conv filters=4 size=3x1 stride=2x1 pad=1x0 bias=false\n"
     "  relu6\n"
     "  \"0\": conv groups=4 filters=4 size=3 pad=1 dilation=2x1 round=ceil\n"
     "  bn: batchnorm eps=1e-3\n"
     "  leakyrelu slope=-0.5\n"
     "  pool max size=3 stride=1 pad=1x1\n"
     "  side: pool avg size=2x3 stride=1x2 from=stem\n"
     "  \"a b\": conv filters=2 size=1 from=stem\n"
     "  cat: concat stem, \"a b\"\n"
     "  \"network\": relu\n"
     "  sum: add \"network\" cat\n"
     "  pool avg global\n"
     "  flatten\n"
     "  dropout p=0.25\n"
     "  head: fc 3 weights=[0.1, -2, 3.5, 1e-10, 0, -0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0.333333343] "
     "biases=[0.5, -1, 1e-7]\n"
     "  sigmoid\n"
     "  tanh\n"
     "  softmax\n"
     "}\n",
     "# h\n"
     "network keys round=floor {\n"
     "    input 9x7x3 mean=0.485,0.456,0.406 std=0.25\n"
     "    stem: conv filters=4 size=3x1 stride=2x1 pad=1x0 bias=false\n"
     "    relu6\n"
     "    \"0\": conv filters=4 size=3 pad=1 groups=4 dilation=2x1 round=ceil\n"
     "    bn: batchnorm eps=0.001\n"
     "    leakyrelu slope=-0.5\n"
     "    pool max size=3 stride=1 pad=1\n"
     "    side: pool avg size=2x3 stride=1x2 from=stem\n"
     "    \"a b\": conv filters=2 size=1 from=stem\n"
     "    cat: concat stem \"a b\"\n"
     "    \"network\": relu\n"
     "    sum: add \"network\" cat\n"
     "    pool avg global\n"
     "    flatten\n"
     "    dropout p=0.25\n"
     "    head: fc 3 weights=[0.1, -2, 3.5, 1e-10, 0, -0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0.33333334] "
     "biases=[0.5, -1, 1e-07]\n"
     "    sigmoid\n"
     "    tanh\n"
     "    softmax\n"
     "}\n"},
    /* An exact window has no round= of its own: then the network has none. */
    {"exact",
     "network mix {\n"
     "    input 8x8x1\n"
     "    conv filters=1 size=3 round=floor\n"
     "    pool max size=2\n"
     "    pool max size=3 round=floor\n"
     "}\n",
     "# h\n"
     "network mix {\n"
     "    input 8x8x1\n"
     "    conv filters=1 size=3 round=floor\n"
     "    pool max size=2\n"
     "    pool max size=3 round=floor\n"
     "}\n"},
    /* Names: plain where the lexer reads a NAME, else quoted; a written
     * name equal to the default one ("relu5", the fifth relu) is left out. */
    {"names",
     "network names {\n"
     "    pic: input 4x4x1\n"
     "    features.0: relu\n"
     "    \"1\": relu\n"
     "    \"a..b\": relu\n"
     "    \"_x\": relu\n"
     "    relu5: relu\n"
     "    relu\n"
     "    \"/layer1/Conv\": conv filters=1 size=1 from=\"1\"\n"
     "}\n",
     "# h\n"
     "network names {\n"
     "    pic: input 4x4x1\n"
     "    features.0: relu\n"
     "    \"1\": relu\n"
     "    \"a..b\": relu\n"
     "    _x: relu\n"
     "    relu\n"
     "    relu\n"
     "    \"/layer1/Conv\": conv filters=1 size=1 from=\"1\"\n"
     "}\n"},
};

/* g as .cnn with the header "# h"; the caller frees it. */
static char *emit(const IrGraph *g)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    ck_assert_ptr_nonnull(f);
    ir_cnn_write(g, "# h\n", f);
    fclose(f);
    return buf;
}

START_TEST(test_text)
{
    const Case *c = &cases[_i];
    Unit u;
    IrGraph *g = unit_compile(&u, c->src);
    ck_assert_msg(g != NULL, "%s: %s", c->what, unit_text(&u));
    IrDiag diag;
    ir_diag_init(&diag, "t.cnn", c->src, strlen(c->src), u.out);
    ck_assert_msg(ir_cnn_check(g, &diag), "%s: %s", c->what, unit_text(&u));
    char *text = emit(g);
    ck_assert_msg(strcmp(text, c->want) == 0, "%s: got\n%s\nwant\n%s", c->what, text, c->want);
    unit_close(&u);
    /* Read again, it gives itself. */
    Unit again;
    IrGraph *g2 = unit_compile(&again, text);
    ck_assert_msg(g2 != NULL, "%s: the emitted text does not compile: %s", c->what, unit_text(&again));
    char *text2 = emit(g2);
    ck_assert_msg(strcmp(text2, text) == 0, "%s: emitted again, got\n%s", c->what, text2);
    free(text2);
    unit_close(&again);
    free(text);
}
END_TEST

/* What the IR might hold and .cnn cannot write: a graph from a source,
 * then one field set past the language (no front end builds these; the
 * check is what keeps --emit=cnn from writing another network). */
typedef struct Bad {
    const char *what;
    void (*spoil)(IrGraph *g);
    const char *want;
} Bad;

static const char bad_src[] = "network bad {\n"
                              "    input 4x4x1\n"
                              "    leakyrelu\n"
                              "    b: batchnorm\n"
                              "}\n";

static void inf_slope(IrGraph *g)
{
    g->nodes[1].attr.leakyrelu.slope = INFINITY;
}

static void big_eps(IrGraph *g)
{
    g->nodes[2].attr.batchnorm.eps = 1e39;
}

static void quote_name(IrGraph *g)
{
    g->nodes[2].name = "say \"b\"";
}

static void keyword_network(IrGraph *g)
{
    g->name = "network";
}

static const Bad bads[] = {
    {"slope inf", inf_slope,
     "t.cnn:3:5: error: leakyrelu 'leakyrelu1' has slope=inf, which .cnn cannot write (its numbers are finite "
     "float32 values); --emit=cnn would give another network\n"},
    {"eps past float32", big_eps,
     "t.cnn:4:8: error: batchnorm 'b' has eps=1e+39, which .cnn cannot write (its numbers are finite float32 "
     "values); --emit=cnn would give another network\n"},
    {"a name with a quote", quote_name,
     "t.cnn:4:8: error: batchnorm 'say \"b\"' has a name .cnn cannot write, even quoted (it is empty, or holds "
     "'\"' or a newline)\n"},
    {"the keyword as the network's name", keyword_network,
     "t.cnn: error: the network's name 'network' cannot follow 'network' in .cnn (a keyword, or not a plain "
     "name); give the file another name\n"},
};

START_TEST(test_refused)
{
    const Bad *b = &bads[_i];
    Unit u;
    IrGraph *g = unit_compile(&u, bad_src);
    ck_assert_msg(g != NULL, "%s", unit_text(&u));
    b->spoil(g);
    IrDiag diag;
    ir_diag_init(&diag, "t.cnn", bad_src, strlen(bad_src), u.out);
    ck_assert_msg(!ir_cnn_check(g, &diag), "%s: not refused", b->what);
    const char *text = unit_text(&u);
    /* The first line of the message; the source line and caret follow it. */
    ck_assert_msg(strncmp(text, b->want, strlen(b->want)) == 0, "%s: got\n%s\nwant\n%s", b->what, text, b->want);
    ck_assert_int_eq(diag.errors, 1);
    unit_close(&u);
}
END_TEST

static Suite *cnn_suite(void)
{
    Suite *s = suite_create("cnn");
    TCase *tc = tcase_create("cnn");
    tcase_add_loop_test(tc, test_text, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_loop_test(tc, test_refused, 0, (int)(sizeof bads / sizeof bads[0]));
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(cnn_suite)
