/* Parameters and multiply-accumulates per layer and in total (SPEC section 2's
 * table), 64-bit sizes and their overflow errors, and the parameter tensors'
 * PyTorch names and shapes (ir/params.c). Every figure is worked by hand from
 * the SPEC's formulas in the comment beside it. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ir/params.h"
#include "unit_util.h"

enum { MAX_LAYERS = 16 };

typedef struct ParamCase {
    const char *what;
    const char *src;
    size_t count;
    IrShape out[MAX_LAYERS];
    int64_t params[MAX_LAYERS], macs[MAX_LAYERS];
    int64_t total_params, total_macs;
} ParamCase;

static const ParamCase param_cases[] = {
    /* conv K=4 F=3 on 8x8x3: W2 = (8-3)/1+1 = 6; params 4*3*3*3 + 4 = 112;
     * MACs 6*6*4*3*3*3 = 3888 */
    {"conv with bias", "network n {\n input 8x8x3\n conv filters=4 size=3\n}", 2,
     {{8, 8, 3}, {6, 6, 4}}, {0, 112}, {0, 3888}, 112, 3888},
    {"conv without bias", "network n {\n input 8x8x3\n conv filters=4 size=3 bias=false\n}", 2,
     {{8, 8, 3}, {6, 6, 4}}, {0, 108}, {0, 3888}, 108, 3888},
    /* W2 = (8-4+2)/2+1 = 4; params 4*4*4*3 + 4 = 196; MACs 4*4*4*48 = 3072 */
    {"conv with stride and pad", "network n {\n input 8x8x3\n conv filters=4 size=4 stride=2 pad=1\n}", 2,
     {{8, 8, 3}, {4, 4, 4}}, {0, 196}, {0, 3072}, 196, 3072},
    /* W2 = (7-2)/2+1 = 3.5, floor 3, ceil 4; K=1 F=2 D1=1: 5 params; MACs W2*H2*4 */
    {"conv round=floor and ceil",
     "network n {\n input 7x7x1\n conv filters=1 size=2 stride=2 round=floor\n}", 2,
     {{7, 7, 1}, {3, 3, 1}}, {0, 5}, {0, 36}, 5, 36},
    {"conv round=ceil", "network n {\n input 7x7x1\n conv filters=1 size=2 stride=2 round=ceil\n}", 2,
     {{7, 7, 1}, {4, 4, 1}}, {0, 5}, {0, 64}, 5, 64},
    /* round= on an exact division changes nothing (SPEC section 8), even
     * with pad >= F: W2 = (1-1+2*1)/1+1 = 3; params 1+1; MACs 3*3*1 */
    {"conv round=ceil, exact", "network n {\n input 1x1x1\n conv filters=1 size=1 pad=1 round=ceil\n}", 2,
     {{1, 1, 1}, {3, 3, 1}}, {0, 2}, {0, 9}, 2, 9},
    /* fc 10 on a 5x4x3 map: N = 60; params 60*10 + 10 = 610; MACs 600 */
    {"fc on a map, flattened", "network n {\n input 5x4x3\n fc 10\n}", 2,
     {{5, 4, 3}, {1, 1, 10}}, {0, 610}, {0, 600}, 610, 600},
    {"fc without bias", "network n {\n input 5x4x3\n fc 10 bias=false\n}", 2,
     {{5, 4, 3}, {1, 1, 10}}, {0, 600}, {0, 600}, 600, 600},
    {"pool, relu and the others are 0",
     "network n {\n input 8x6x3\n pool max size=2\n relu\n pool avg size=3 stride=1\n flatten\n dropout\n softmax\n}", 7,
     {{8, 6, 3}, {4, 3, 3}, {4, 3, 3}, {2, 1, 3}, {1, 1, 6}, {1, 1, 6}, {1, 1, 6}},
     {0}, {0}, 0, 0},
    /* SPEC section 1's LeNet-5:
     *   conv1 6*5*5*1 + 6 = 156,       28*28*6*25 = 117,600 MACs
     *   conv2 16*5*5*6 + 16 = 2,416,   10*10*16*150 = 240,000
     *   fc1 400*120 + 120 = 48,120,    48,000
     *   fc2 120*84 + 84 = 10,164,      10,080
     *   fc3 84*10 + 10 = 850,          840
     * total 61,706 params and 416,520 MACs */
    {"LeNet-5",
     "network lenet {\n input 28x28x1\n conv1: conv filters=6 size=5 pad=2\n relu\n pool max size=2\n"
     " conv2: conv filters=16 size=5\n relu\n pool max size=2\n fc1: fc 120\n relu\n fc2: fc 84\n relu\n"
     " fc3: fc 10\n softmax\n}",
     13,
     {{28, 28, 1}, {28, 28, 6}, {28, 28, 6}, {14, 14, 6}, {10, 10, 16}, {10, 10, 16}, {5, 5, 16}, {1, 1, 120},
      {1, 1, 120}, {1, 1, 84}, {1, 1, 84}, {1, 1, 10}, {1, 1, 10}},
     {0, 156, 0, 0, 2416, 0, 0, 48120, 0, 10164, 0, 850, 0},
     {0, 117600, 0, 0, 240000, 0, 0, 48000, 0, 10080, 0, 840, 0},
     61706, 416520},
    /* The slides' 200x200 input fully connected to 400,000 neurons:
     * N = 40,000; 40,000*400,000 + 400,000 = 16,000,400,000 params */
    {"64-bit sizes", "network big {\n input 200x200x1\n fc 400000\n}", 2,
     {{200, 200, 1}, {1, 1, 400000}}, {0, 16000400000LL}, {0, 16000000000LL}, 16000400000LL, 16000000000LL},
    /* AlexNet's first conv on 227x227: (227-11)/4+1 = 55 (224 with pad=2
     * gives 54.25, which torchvision floors); 96*11*11*3 + 96 = 34,944;
     * MACs 55*55*96*363 = 105,415,200 */
    {"AlexNet conv1", "network a {\n input 227x227x3\n conv filters=96 size=11 stride=4\n}", 2,
     {{227, 227, 3}, {55, 55, 96}}, {0, 34944}, {0, 105415200}, 34944, 105415200},
};

START_TEST(per_layer)
{
    const ParamCase *c = &param_cases[_i];
    Unit u;
    IrGraph *g = unit_compile(&u, c->src);
    ck_assert_msg(g != NULL, "%s: %s", c->what, unit_text(&u));
    ck_assert_str_eq(unit_text(&u), "");
    ck_assert_uint_eq(g->count, c->count);
    for (size_t i = 0; i < g->count; i++) {
        const IrNode *n = &g->nodes[i];
        ck_assert_msg(n->out.w == c->out[i].w && n->out.h == c->out[i].h && n->out.d == c->out[i].d,
                      "%s: layer %zu is %lldx%lldx%lld", c->what, i, (long long)n->out.w, (long long)n->out.h,
                      (long long)n->out.d);
        ck_assert_msg(n->params == c->params[i], "%s: layer %zu params %lld, expected %lld", c->what, i,
                      (long long)n->params, (long long)c->params[i]);
        ck_assert_msg(n->macs == c->macs[i], "%s: layer %zu MACs %lld, expected %lld", c->what, i,
                      (long long)n->macs, (long long)c->macs[i]);
    }
    ck_assert_int_eq(g->total_params, c->total_params);
    ck_assert_int_eq(g->total_macs, c->total_macs);
    ck_assert_int_eq(g->weights_bytes, 4 * c->total_params);
    unit_close(&u);
}
END_TEST

/* ---- overflow: a clear error, not a wrapped number ---------------------------- */

typedef struct OverflowCase {
    const char *src;
    const char *first_line; /* the error's first line, exactly */
} OverflowCase;

static const OverflowCase overflow_cases[] = {
    /* 2e6^3 = 8e18 elements fit; 3.2e19 bytes do not */
    {"network n {\n input 2000000x2000000x2000000\n}",
     "t.cnn:2:2: error: output 2000000x2000000x2000000 of layer 'input' is too large: its size in bytes "
     "overflows 64 bits\n"},
    /* N*K = 1e10 * 1e9 = 1e19 > 2^63 - 1 */
    {"network n {\n input 100000x100000x1\n fc 1000000000\n}",
     "t.cnn:3:2: error: the weight count of layer 'fc1' overflows 64 bits\n"},
    /* 1e6 weights * 4e6 * 4e6 positions = 1.6e19 MACs */
    {"network n {\n input 4000000x4000000x1\n conv filters=1000000 size=1\n}",
     "t.cnn:3:2: error: the MAC count of layer 'conv1' overflows 64 bits\n"},
    /* fc1 8e18 + 2e9 params, then fc2 4e18 + 2e9: the sum passes 2^63 - 1 */
    {"network n {\n input 1x1x4000000000\n fc 2000000000\n fc 2000000000\n}",
     "t.cnn:4:2: error: the network's parameter count overflows 64 bits at layer 'fc2'\n"},
    /* 3e18 + 1e9 params fit; 4 bytes each do not */
    {"network big {\n input 1x1x3000000000\n fc 1000000000\n}",
     "t.cnn:1:9: error: the network's weights overflow 64 bits of bytes\n"},
    /* W1 + 2P past 2^63 - 1 */
    /* 2^61 - 1 + 2*(3*2^60 + 1) = 2^63 + 1; 4 bytes a cell still fit for the input */
    {"network n {\n input 2305843009213693951x1x1\n conv filters=1 size=1 pad=3458764513820540929\n}",
     "t.cnn:3:2: error: width 2305843009213693951 + 2*3458764513820540929 overflows 64 bits\n"},
    /* 2P alone past 2^63 - 1 */
    {"network n {\n input 2x2x1\n conv filters=1 size=1 pad=4611686018427387904\n}",
     "t.cnn:3:2: error: width 2 + 2*4611686018427387904 overflows 64 bits\n"},
};

START_TEST(overflow)
{
    const OverflowCase *c = &overflow_cases[_i];
    Unit u;
    ck_assert_ptr_null(unit_compile(&u, c->src));
    const char *text = unit_text(&u);
    ck_assert_int_eq(u.diag.errors, 1);
    const char *nl = strchr(text, '\n');
    ck_assert_ptr_nonnull(nl);
    ck_assert_msg(strncmp(text, c->first_line, strlen(c->first_line)) == 0, "got\n%s", text);
    unit_close(&u);
}
END_TEST

/* ---- the tensors, named and shaped as PyTorch's state dict -------------------- */

typedef struct ParamRow {
    const char *name;
    int32_t node, rank;
    IrParamRole role;
    int64_t shape[4];
    int64_t count;
} ParamRow;

START_TEST(tensors_lenet)
{
    static const ParamRow rows[] = {
        {"conv1.weight", 1, 4, IR_ROLE_WEIGHT, {6, 1, 5, 5}, 150},    {"conv1.bias", 1, 1, IR_ROLE_BIAS, {6}, 6},
        {"conv2.weight", 4, 4, IR_ROLE_WEIGHT, {16, 6, 5, 5}, 2400},  {"conv2.bias", 4, 1, IR_ROLE_BIAS, {16}, 16},
        {"fc1.weight", 7, 2, IR_ROLE_WEIGHT, {120, 400}, 48000},       {"fc1.bias", 7, 1, IR_ROLE_BIAS, {120}, 120},
        {"fc2.weight", 9, 2, IR_ROLE_WEIGHT, {84, 120}, 10080},        {"fc2.bias", 9, 1, IR_ROLE_BIAS, {84}, 84},
        {"fc3.weight", 11, 2, IR_ROLE_WEIGHT, {10, 84}, 840},          {"fc3.bias", 11, 1, IR_ROLE_BIAS, {10}, 10},
    };
    Unit u;
    const char *lenet = NULL;
    for (size_t i = 0; i < sizeof param_cases / sizeof param_cases[0]; i++)
        if (strcmp(param_cases[i].what, "LeNet-5") == 0)
            lenet = param_cases[i].src;
    ck_assert_ptr_nonnull(lenet);
    IrGraph *g = unit_compile(&u, lenet);
    ck_assert_ptr_nonnull(g);
    size_t n;
    IrParam *p = ir_graph_params(g, u.arena, &n);
    ck_assert_uint_eq(n, sizeof rows / sizeof rows[0]);
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        const ParamRow *r = &rows[i];
        ck_assert_str_eq(p[i].name, r->name);
        ck_assert_int_eq(p[i].node, r->node);
        ck_assert_int_eq(p[i].rank, r->rank);
        ck_assert_int_eq(p[i].role, r->role);
        for (int k = 0; k < r->rank; k++)
            ck_assert_msg(p[i].shape[k] == r->shape[k], "%s dim %d: %lld", r->name, k, (long long)p[i].shape[k]);
        ck_assert_int_eq(p[i].count, r->count);
        ck_assert_ptr_null(p[i].inline_data);
        sum += p[i].count;
    }
    ck_assert_int_eq(sum, 61706); /* the tensors hold every parameter */
    unit_close(&u);
}
END_TEST

/* Explicit dotted names, no bias, inline weights and the flatten order's N. */
START_TEST(tensors_named_inline)
{
    Unit u;
    IrGraph *g = unit_compile(&u, "network n {\n input 3x2x2\n features.0: conv filters=2 size=1 bias=false"
                                  " weights=[1, 2, 3, 4]\n relu\n classifier.1: fc 3\n}");
    ck_assert_msg(g != NULL, "%s", unit_text(&u));
    size_t n;
    IrParam *p = ir_graph_params(g, u.arena, &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(p[0].name, "features.0.weight");
    ck_assert_int_eq(p[0].rank, 4);
    ck_assert_int_eq(p[0].shape[0], 2); /* [K, D1, F, F] */
    ck_assert_int_eq(p[0].shape[1], 2);
    ck_assert_int_eq(p[0].shape[2], 1);
    ck_assert_int_eq(p[0].shape[3], 1);
    ck_assert_ptr_nonnull(p[0].inline_data);
    ck_assert_float_eq(p[0].inline_data[3], 4.0f);
    ck_assert_str_eq(p[1].name, "classifier.1.weight");
    ck_assert_int_eq(p[1].rank, 2);
    ck_assert_int_eq(p[1].shape[0], 3);  /* K */
    ck_assert_int_eq(p[1].shape[1], 12); /* N = 3*2*2 */
    ck_assert_str_eq(p[2].name, "classifier.1.bias");
    ck_assert_int_eq(p[2].shape[0], 3);
    ck_assert_int_eq(g->total_params, 4 + 36 + 3);
    unit_close(&u);
}
END_TEST

static Suite *params_suite(void)
{
    Suite *s = suite_create("params");
    TCase *tc = tcase_create("params");
    tcase_add_loop_test(tc, per_layer, 0, (int)(sizeof param_cases / sizeof param_cases[0]));
    tcase_add_loop_test(tc, overflow, 0, (int)(sizeof overflow_cases / sizeof overflow_cases[0]));
    tcase_add_test(tc, tensors_lenet);
    tcase_add_test(tc, tensors_named_inline);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(params_suite)
