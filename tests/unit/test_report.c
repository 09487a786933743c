/* The reports of SPEC section 3 (ir/report.c): the JSON object parsed back
 * with cJSON and every field the SPEC names checked; the text table's header,
 * alignment and thousands separators; the DOT digraph's nodes and edges. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/kernel.h"
#include "ir/plan.h"
#include "ir/report.h"
#include "unit_util.h"

/* SPEC section 1's LeNet-5, one layer a line from line 2. */
static const char lenet_src[] =
    "network lenet {\n"
    "    input  28x28x1\n"
    "    conv1: conv filters=6 size=5 pad=2\n"
    "    relu\n"
    "    pool max size=2\n"
    "    conv2: conv filters=16 size=5\n"
    "    relu\n"
    "    pool avg size=2\n"
    "    fc1: fc 120\n"
    "    relu\n"
    "    fc2: fc 84\n"
    "    relu\n"
    "    fc3: fc 10\n"
    "    softmax\n"
    "}\n";

typedef struct LayerRow {
    const char *name, *op, *pool;
    int line;
    int64_t w, h, d, params, macs;
} LayerRow;

/* Worked by hand (see test_params.c for the arithmetic). */
static const LayerRow lenet_rows[] = {
    {"input", "input", NULL, 2, 28, 28, 1, 0, 0},
    {"conv1", "conv", NULL, 3, 28, 28, 6, 156, 117600},
    {"relu1", "relu", NULL, 4, 28, 28, 6, 0, 0},
    {"pool1", "pool", "max", 5, 14, 14, 6, 0, 0},
    {"conv2", "conv", NULL, 6, 10, 10, 16, 2416, 240000},
    {"relu2", "relu", NULL, 7, 10, 10, 16, 0, 0},
    {"pool2", "pool", "avg", 8, 5, 5, 16, 0, 0},
    {"fc1", "fc", NULL, 9, 1, 1, 120, 48120, 48000},
    {"relu3", "relu", NULL, 10, 1, 1, 120, 0, 0},
    {"fc2", "fc", NULL, 11, 1, 1, 84, 10164, 10080},
    {"relu4", "relu", NULL, 12, 1, 1, 84, 0, 0},
    {"fc3", "fc", NULL, 13, 1, 1, 10, 850, 840},
    {"softmax1", "softmax", NULL, 14, 1, 1, 10, 0, 0},
};
enum { LENET_LAYERS = sizeof lenet_rows / sizeof lenet_rows[0] };

typedef void (*ReportFn)(const IrGraph *, FILE *);

/* One report of g as text; the caller frees it. */
static char *report_of(const IrGraph *g, ReportFn fn)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    ck_assert_ptr_nonnull(f);
    fn(g, f);
    fclose(f);
    return buf;
}

/* Runs one report on LeNet; the caller frees the text. */
static char *report(ReportFn fn)
{
    Unit u;
    IrGraph *g = unit_compile(&u, lenet_src);
    ck_assert_msg(g != NULL, "%s", unit_text(&u));
    char *buf = report_of(g, fn);
    unit_close(&u);
    return buf;
}

/* ---- JSON -------------------------------------------------------------------- */

static void assert_int(const cJSON *obj, const char *key, int64_t want)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", key);
    ck_assert_msg(v->valuedouble == (double)want, "%s = %.17g, expected %lld", key, v->valuedouble, (long long)want);
}

static void assert_shape(const cJSON *obj, const char *key, int64_t w, int64_t h, int64_t d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    ck_assert_msg(cJSON_IsArray(v) && cJSON_GetArraySize(v) == 3, "%s is not [W, H, D]", key);
    const int64_t want[3] = {w, h, d};
    for (int k = 0; k < 3; k++) {
        const cJSON *x = cJSON_GetArrayItem(v, k);
        ck_assert(cJSON_IsNumber(x));
        ck_assert_msg(x->valuedouble == (double)want[k], "%s[%d] = %g", key, k, x->valuedouble);
    }
}

static void assert_str(const cJSON *obj, const char *key, const char *want)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    ck_assert_msg(cJSON_IsString(v), "%s is not a string", key);
    ck_assert_str_eq(v->valuestring, want);
}

START_TEST(json_lenet)
{
    char *text = report(ir_report_json);
    cJSON *root = cJSON_Parse(text);
    ck_assert_msg(root != NULL, "not JSON:\n%s", text);
    ck_assert(cJSON_IsObject(root));
    assert_str(root, "network", "lenet");
    assert_shape(root, "input", 28, 28, 1);
    assert_shape(root, "output", 1, 1, 10);
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
    ck_assert(cJSON_IsArray(layers));
    ck_assert_int_eq(cJSON_GetArraySize(layers), LENET_LAYERS);
    for (int i = 0; i < LENET_LAYERS; i++) {
        const LayerRow *r = &lenet_rows[i];
        const cJSON *l = cJSON_GetArrayItem(layers, i);
        ck_assert(cJSON_IsObject(l));
        assert_str(l, "name", r->name);
        assert_str(l, "op", r->op);
        assert_int(l, "line", r->line);
        assert_shape(l, "output", r->w, r->h, r->d);
        assert_int(l, "params", r->params);
        assert_int(l, "macs", r->macs);
        if (r->pool)
            assert_str(l, "pool", r->pool);
        else
            ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(l, "pool"));
    }
    assert_int(root, "total_params", 61706);
    assert_int(root, "total_macs", 416520);
    assert_int(root, "weights_bytes", 4 * 61706);
    /* The plan, worked by hand (buffers rounded up to 64 bytes, first fit).
     * conv1 (pad 2) gets a padded copy of its input as scratch, 32x32x1 =
     * 4,096 bytes at 0; conv1+relu1+pool1 run as one kernel and write 14x14x6
     * = 4,704 -> 4,736 bytes beside it, at 4,096; conv2+relu2 (the avg pool
     * is not fused) runs as Winograd F(2x2, 5x5) on 6 channels, which
     * ir_wino_channels rounds up to 8: its scratch is 5x5 tiles x 36 points
     * x 8 channels = 28,800 bytes and 5 tile rows' 2 x 5 + 4 = 14 input rows
     * of 14 x 8 = 6,272 bytes, 35,072 in all, placed first, while pool1 is
     * read, so past it at 8,832; then its 10x10x16 = 6,400 output at 43,904;
     * pool2's 1,600 go to 0, fc1+relu3's 480 -> 512 to 1,600, fc2+relu4's
     * 336 -> 384 to 0; fc3 writes the caller's output, where softmax works
     * in place. Workspace 43,904 + 6,400 = 50,304; peak = input 3,136 +
     * output 40 + 50,304 = 53,480. */
    assert_int(root, "workspace_bytes", 50304);
    assert_int(root, "peak_activation_bytes", 53480);
    cJSON *groups = cJSON_GetObjectItemCaseSensitive(root, "fused_groups");
    ck_assert_int_eq(cJSON_GetArraySize(groups), 4);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetArrayItem(groups, 0)), 3); /* conv1 relu1 pool1 */
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetArrayItem(groups, 1), 1)->valuestring, "relu2");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetArrayItem(groups, 1)), 2);
    cJSON_Delete(root);
    free(text);
}
END_TEST

/* Integers are exact JSON integers: no exponent, no fraction, even at 16e9. */
START_TEST(json_exact_integers)
{
    static const char src[] = "network big {\n input 200x200x1\n fc 400000\n}\n";
    Unit u;
    IrGraph *g = unit_compile(&u, src);
    ck_assert_ptr_nonnull(g);
    char *buf = report_of(g, ir_report_json);
    ck_assert_msg(strstr(buf, "\"total_params\": 16000400000,") != NULL, "%s", buf);
    ck_assert_msg(strstr(buf, "\"total_macs\": 16000000000,") != NULL, "%s", buf);
    ck_assert_msg(strstr(buf, "\"weights_bytes\": 64001600000,") != NULL, "%s", buf);
    cJSON *root = cJSON_Parse(buf);
    ck_assert_ptr_nonnull(root);
    assert_int(root, "total_params", 16000400000LL);
    /* input 160,000 bytes + fc's 1,600,000 */
    assert_int(root, "peak_activation_bytes", 1760000);
    cJSON_Delete(root);
    free(buf);
    unit_close(&u);
}
END_TEST

/* SPEC section 9's windows in both reports: size, stride and pad stay
 * integers when square and are [W, H] when not; every conv carries groups
 * and dilation; a global pool carries "global": true and the map as its
 * window. Counts for a grouped conv: K*(D1/G)*Fw*Fh (+K) params, W2*H2
 * times that (without +K) MACs. A conv that is not plain (ir_conv_plain)
 * gets no frame from its writer and no padded copy. */
static const char convx_src[] = "network mb {\n input 13x8x4\n e: conv filters=8 size=1\n"
                                " dw: conv filters=8 size=3 pad=1 groups=8\n"
                                " nsq: conv filters=6 size=3x1 stride=2x1 pad=1x0 dilation=2 groups=2\n"
                                " g: pool avg global\n}\n";

static const cJSON *layer_named(const cJSON *root, const char *name)
{
    const cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(root, "layers"))
    {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(l, "name");
        if (cJSON_IsString(nm) && strcmp(nm->valuestring, name) == 0)
            return l;
    }
    ck_abort_msg("no layer %s", name);
    return NULL;
}

static void assert_pair(const cJSON *obj, const char *key, int64_t w, int64_t h)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    ck_assert_msg(cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2, "%s is not [W, H]", key);
    ck_assert_int_eq((int64_t)cJSON_GetArrayItem(v, 0)->valuedouble, w);
    ck_assert_int_eq((int64_t)cJSON_GetArrayItem(v, 1)->valuedouble, h);
}

START_TEST(json_convx)
{
    Unit u;
    IrGraph *g = unit_compile(&u, convx_src);
    ck_assert_msg(g != NULL, "%s", unit_text(&u));
    char *buf = report_of(g, ir_report_json);
    cJSON *root = cJSON_Parse(buf);
    ck_assert_msg(root != NULL, "not JSON:\n%s", buf);

    /* dw: 8 filters of 1 channel, 3x3: 8*1*3*3 + 8 = 80; 13*8*72 = 7,488 MACs. */
    const cJSON *dw = layer_named(root, "dw");
    assert_int(dw, "size", 3);
    assert_int(dw, "pad", 1);
    assert_int(dw, "groups", 8);
    assert_int(dw, "dilation", 1);
    assert_int(dw, "params", 80);
    assert_int(dw, "macs", 7488);
    /* nsq: width (13 - (2*(3-1)+1) + 2*1)/2 + 1 = 6, height (8 - 1)/1 + 1 = 8;
     * 6 filters of 8/2 = 4 channels, 3x1: 72 + 6 = 78 params, 6*8*72 MACs. */
    const cJSON *nsq = layer_named(root, "nsq");
    assert_shape(nsq, "output", 6, 8, 6);
    assert_pair(nsq, "size", 3, 1);
    assert_pair(nsq, "stride", 2, 1);
    assert_pair(nsq, "pad", 1, 0);
    assert_int(nsq, "groups", 2);
    assert_int(nsq, "dilation", 2);
    assert_int(nsq, "params", 78);
    assert_int(nsq, "macs", 3456);
    const cJSON *gp = layer_named(root, "g");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(gp, "global")));
    assert_pair(gp, "size", 6, 8);
    assert_shape(gp, "output", 1, 1, 6);
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(layer_named(root, "e"), "global"));
    cJSON_Delete(root);
    free(buf);

    /* e's only reader is dw, depthwise with pad 1 across and down: e writes
     * a frame of 1 for it, and dw needs no copy. dw's reader nsq is padded
     * 1x0, which no frame of one P all round can serve: none. */
    ck_assert_int_eq(g->nodes[1].out_pad, 1);
    ck_assert_int_eq(g->nodes[2].scratch, -1);
    ck_assert_int_eq(g->nodes[2].out_pad, 0);

    buf = report_of(g, ir_report_text);
    ck_assert_msg(strstr(buf, " K=8 F=3 S=1 P=1 G=8 ") != NULL, "%s", buf);
    ck_assert_msg(strstr(buf, " K=6 F=3x1 S=2x1 P=1x0 G=2 R=2 ") != NULL, "%s", buf);
    ck_assert_msg(strstr(buf, " avg global F=6x8 ") != NULL, "%s", buf);
    free(buf);
    unit_close(&u);
}
END_TEST

/* The activations of SPEC section 9: their kind words as "op", 0 params
 * and MACs, and leakyrelu's slope in both reports (default 0.01). */
START_TEST(activations)
{
    static const char src[] = "network act {\n input 5x3x2\n relu6\n leakyrelu\n leakyrelu slope=-2.5e-3\n"
                              " sigmoid\n tanh\n relu6\n}\n";
    static const char *const names[] = {"input", "relu6_1", "leakyrelu1", "leakyrelu2", "sigmoid1", "tanh1", "relu6_2"};
    static const char *const ops[] = {"input", "relu6", "leakyrelu", "leakyrelu", "sigmoid", "tanh", "relu6"};
    Unit u;
    IrGraph *g = unit_compile(&u, src);
    ck_assert_msg(g != NULL, "%s", unit_text(&u));
    char *buf = report_of(g, ir_report_json);
    cJSON *root = cJSON_Parse(buf);
    ck_assert_msg(root != NULL, "not JSON:\n%s", buf);
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
    ck_assert_int_eq(cJSON_GetArraySize(layers), 7);
    for (int i = 0; i < 7; i++) {
        const cJSON *l = cJSON_GetArrayItem(layers, i);
        assert_str(l, "name", names[i]);
        assert_str(l, "op", ops[i]);
        assert_shape(l, "output", 5, 3, 2);
        assert_int(l, "params", 0);
        assert_int(l, "macs", 0);
        const cJSON *slope = cJSON_GetObjectItemCaseSensitive(l, "slope");
        if (i == 2 || i == 3)
            ck_assert_msg(cJSON_IsNumber(slope) && slope->valuedouble == (i == 2 ? 0.01 : -2.5e-3), "%s", buf);
        else
            ck_assert_ptr_null(slope);
    }
    cJSON_Delete(root);
    free(buf);
    buf = NULL;
    buf = report_of(g, ir_report_text);
    ck_assert_msg(strstr(buf, "slope=0.01 ") && strstr(buf, "slope=-0.0025 "), "%s", buf);
    free(buf);
    unit_close(&u);
}
END_TEST

/* A conv whose one reader is a padded conv writes its output with that
 * padding as a frame of zeros (ir/plan.h), and the reader gets no scratch. */
START_TEST(json_plan_frames)
{
    static const char src[] = "network framed {\n input 8x8x2\n c1: conv filters=4 size=3 pad=1\n relu\n"
                              " c2: conv filters=4 size=3 pad=1\n fc 10\n}\n";
    Unit u;
    IrGraph *g = unit_compile(&u, src);
    ck_assert_ptr_nonnull(g);
    /* Worked by hand. c1 reads the network input, so it still copies it,
     * 10x10x2 = 800 -> 832 bytes of scratch at 0. c1+relu1 is read by c2
     * (pad 1) only: 4 channels of 10x10 with the frame, 1,600 bytes at 832.
     * c2 needs no scratch; its 8x8x4 = 1,024 bytes (no frame: fc reads it)
     * go past relu1's, at 2,432. fc writes the caller's output. Workspace
     * 3,456; peak = input 512 + output 40 + 3,456 = 4,008. */
    ck_assert_int_eq(g->nodes[1].scratch, 0);
    ck_assert_int_eq(g->nodes[2].out_pad, 1);
    ck_assert_int_eq(g->nodes[2].buffer, 832);
    ck_assert_int_eq(g->nodes[3].scratch, -1);
    ck_assert_int_eq(g->nodes[3].out_pad, 0);
    ck_assert_int_eq(g->nodes[3].buffer, 2432);
    ck_assert_int_eq(g->workspace_bytes, 3456);
    ck_assert_int_eq(g->peak_activation_bytes, 4008);
    unit_close(&u);
}
END_TEST

/* Inputs whose only reader is a concat are written into their slices of
 * its buffer (ir_concat_offset), so the concat copies only the rest. */
START_TEST(plan_concat_slices)
{
    static const char src[] = "network cat {\n input 4x4x2\n a: conv filters=3 size=1\n"
                              " b: conv filters=5 size=1 from=input\n r: relu from=input\n"
                              " cat: concat a b r input\n fc 2\n}\n";
    Unit u;
    IrGraph *g = unit_compile(&u, src);
    ck_assert_ptr_nonnull(g);
    /* Worked by hand. The concat is 4x4x12 = 192 floats, 768 bytes, placed
     * at 0 when a is: a (3 channels of 16) at 0, b at 3*16*4 = 192, r (not
     * in place: it reads the caller's input) at 8*16*4 = 512; the network's
     * input, read by r and by the concat, is copied to 640. fc writes the
     * caller's output. Workspace 768, where copies would take a at 0, b at
     * 192, r at 512 and the concat at 640: 1,408. Peak = input 128 +
     * output 8 + 768 = 904. */
    ck_assert_int_eq(g->nodes[4].buffer, 0);
    ck_assert_int_eq(g->nodes[1].buffer, 0);
    ck_assert_int_eq(g->nodes[2].buffer, 192);
    ck_assert_int_eq(g->nodes[3].buffer, 512);
    ck_assert_int_eq(ir_concat_offset(g, 4, 0), 640);
    ck_assert_int_eq(g->workspace_bytes, 768);
    ck_assert_int_eq(g->peak_activation_bytes, 904);
    unit_close(&u);
}
END_TEST

/* A dropout between two convs runs in place as the identity, so the conv
 * after it reads the first conv's buffer: that buffer gets the frame and
 * records its conv reader, and the dropout shares both. */
START_TEST(json_plan_frame_through_dropout)
{
    static const char src[] = "network dropped {\n input 8x8x2\n c1: conv filters=4 size=3 pad=1\n"
                              " d1: dropout p=0.5\n d2: dropout p=0.5\n c2: conv filters=4 size=3 pad=1\n fc 10\n}\n";
    Unit u;
    IrGraph *g = unit_compile(&u, src);
    ck_assert_ptr_nonnull(g);
    /* Worked by hand, as json_plan_frames: c1's scratch (832 bytes) at 0,
     * its framed output (4 x 10 x 10 floats, 1,600 bytes) at 832, the
     * dropouts in place on it, c2 without scratch, its 1,024 bytes at
     * 2,432. Without the dropouts' see-through c1's output would be 1,024
     * bytes with no frame and c2 would copy it into 1,600 of scratch. */
    ck_assert_int_eq(g->nodes[1].out_pad, 1);
    ck_assert_int_eq(g->nodes[1].conv_reader, 4);
    ck_assert_int_eq(g->nodes[1].buffer, 832);
    for (int i = 2; i <= 3; i++) {
        ck_assert_int_eq(g->nodes[i].buffer, 832);
        ck_assert_int_eq(g->nodes[i].out_pad, 1);
        ck_assert_int_eq(g->nodes[i].conv_reader, 4);
    }
    ck_assert_int_eq(g->nodes[4].scratch, -1);
    ck_assert_int_eq(g->nodes[4].conv_reader, -1);
    ck_assert_int_eq(g->nodes[4].buffer, 2432);
    ck_assert_int_eq(g->workspace_bytes, 3456);
    unit_close(&u);
}
END_TEST

/* Two convs c1, c2 on a map, both Winograd; each case worked by hand. c1
 * reads the network's input, which has no frame, so its scratch holds its
 * transformed tiles (36 x tiles x channels floats), a block's input rows,
 * (tile rows x m + F - 1) x (W + 2P) x channels floats, and after them a
 * copy of its input with its padding; it frames its output for c2 just
 * after. c2's scratch, tiles and rows but no copy, goes to 0, where c1's
 * was, and c2's unframed output (an fc reads it) beside it. */
typedef struct WinoPlanCase {
    const char *src;
    int m;
    int64_t rows, tile_bytes, c1_scratch_bytes, c1_pad, c1_buffer, c2_scratch_bytes, c2_buffer, workspace;
} WinoPlanCase;

static const WinoPlanCase wino_plan_cases[] = {
    /* F(4x4, 3x3) on 16x16x32: 4 x 4 tiles, 36 x 16 x 32 floats (73,728
     * bytes; 4 MiB would hold 227 tile rows, so all 4 go in one block),
     * (4 x 4 + 2) x 18 x 32 floats of rows (41,472) and the copy, 32 x 18
     * x 18 floats (41,472): 156,672; c1's framed output, 41,472 bytes, at
     * 156,672, to 198,144; c2's 115,200 at 0, its 32,768 at 115,200. */
    {"network wino {\n input 16x16x32\n c1: conv filters=32 size=3 pad=1\n"
     " c2: conv filters=32 size=3 pad=1\n fc 10\n}\n",
     4, 4, 73728, 156672, 1, 156672, 115200, 115200, 198144},
    /* F(2x2, 5x5) on 10x10x32: 5 x 5 tiles of 2 x 2, 36 x 25 x 32 floats
     * (115,200 bytes), all 5 tile rows in one block, (5 x 2 + 4) x 14 x 32
     * floats of rows (25,088) and the copy, 32 x 14 x 14 floats (25,088):
     * 165,376; c1's output 25,088 bytes at 165,376, to 190,464; c2's
     * 140,288 at 0, its 12,800 at 140,288. */
    {"network wino5 {\n input 10x10x32\n c1: conv filters=32 size=5 pad=2\n"
     " c2: conv filters=32 size=5 pad=2\n fc 10\n}\n",
     2, 5, 115200, 165376, 2, 165376, 140288, 140288, 190464},
};

START_TEST(json_plan_winograd)
{
    const WinoPlanCase *k = &wino_plan_cases[_i];
    Unit u;
    IrGraph *g = unit_compile(&u, k->src);
    ck_assert_ptr_nonnull(g);
    for (size_t i = 1; i <= 2; i++) {
        ck_assert_int_eq(g->nodes[i].kernel, IR_KERNEL_WINOGRAD);
        ck_assert_int_eq(g->nodes[i].wino_m, k->m);
        ck_assert_int_eq(ir_wino_rows(g, i), k->rows);
        ck_assert_int_eq(ir_wino_tile_bytes(g, i), k->tile_bytes);
    }
    ck_assert_int_eq(ir_plan_scratch_bytes(g, 1), k->c1_scratch_bytes);
    ck_assert_int_eq(g->nodes[1].scratch, 0);
    ck_assert_int_eq(g->nodes[1].out_pad, k->c1_pad);
    ck_assert_int_eq(g->nodes[1].buffer, k->c1_buffer);
    ck_assert_int_eq(ir_plan_scratch_bytes(g, 2), k->c2_scratch_bytes);
    ck_assert_int_eq(g->nodes[2].scratch, 0);
    ck_assert_int_eq(g->nodes[2].buffer, k->c2_buffer);
    ck_assert_int_eq(g->workspace_bytes, k->workspace);
    unit_close(&u);
}
END_TEST

/* ---- text ----------------------------------------------------------------------- */

typedef struct ThousandsCase {
    int64_t v;
    const char *text;
} ThousandsCase;

static const ThousandsCase thousands_cases[] = {
    {0, "0"},
    {999, "999"},
    {1000, "1,000"},
    {61706, "61,706"},
    {416520, "416,520"},
    {1000000, "1,000,000"},
    {16000400000LL, "16,000,400,000"},
    {-1234567, "-1,234,567"},
    {INT64_MAX, "9,223,372,036,854,775,807"},
    {INT64_MIN, "-9,223,372,036,854,775,808"},
};

START_TEST(thousands)
{
    char buf[32];
    ck_assert_str_eq(ir_fmt_thousands(thousands_cases[_i].v, buf), thousands_cases[_i].text);
}
END_TEST

/* The lines of s, split in place; returns how many. */
static size_t split_lines(char *s, char **lines, size_t max)
{
    size_t n = 0;
    for (char *p = s; *p && n < max;) {
        lines[n++] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    return n;
}

START_TEST(text_lenet)
{
    char *text = report(ir_report_text);
    char *lines[64];
    size_t n = split_lines(text, lines, 64);
    ck_assert_uint_ge(n, 2 + 1 + LENET_LAYERS);
    ck_assert_str_eq(lines[0], "network lenet: 28x28x1 -> 1x1x10, 13 layers");
    ck_assert_str_eq(lines[1], "");
    /* The column heads, then a row per layer, every row as wide as the head:
     * words start under their head, numbers end under theirs. */
    const char *head = lines[2];
    const char *layer_col = strstr(head, "layer"), *kind_col = strstr(head, "kind");
    const char *out_col = strstr(head, "output"), *params_end = strstr(head, "params");
    const char *macs_end = strstr(head, "MACs"), *act_end = strstr(head, "activation");
    ck_assert(layer_col && kind_col && out_col && params_end && macs_end && act_end);
    size_t end_act = (size_t)(act_end - head) + strlen("activation");
    size_t at_layer = (size_t)(layer_col - head), at_kind = (size_t)(kind_col - head);
    size_t at_out = (size_t)(out_col - head);
    size_t end_params = (size_t)(params_end - head) + strlen("params");
    size_t end_macs = (size_t)(macs_end - head) + strlen("MACs");
    for (int i = 0; i < LENET_LAYERS; i++) {
        const LayerRow *r = &lenet_rows[i];
        const char *row = lines[3 + i];
        ck_assert_msg(strlen(row) == strlen(head), "row %d is not as wide as the head:\n%s\n%s", i, head, row);
        ck_assert_msg(strncmp(row + at_layer, r->name, strlen(r->name)) == 0 && row[at_layer - 1] == ' ',
                      "row %d: name not under 'layer':\n%s\n%s", i, head, row);
        ck_assert_msg(strncmp(row + at_kind, r->op, strlen(r->op)) == 0, "row %d: kind:\n%s\n%s", i, head, row);
        char shape[64], num[32];
        snprintf(shape, sizeof shape, "%lldx%lldx%lld", (long long)r->w, (long long)r->h, (long long)r->d);
        ck_assert_msg(strncmp(row + at_out, shape, strlen(shape)) == 0, "row %d: output:\n%s\n%s", i, head, row);
        /* SPEC section 2: a layer's activation memory, W2*H2*D2*4 bytes. */
        ir_fmt_thousands(r->w * r->h * r->d * 4, num);
        ck_assert_msg(strncmp(row + end_act - strlen(num), num, strlen(num)) == 0 &&
                          row[end_act - strlen(num) - 1] == ' ',
                      "row %d: activation %s not right-aligned under 'activation':\n%s\n%s", i, num, head, row);
        ir_fmt_thousands(r->params, num);
        ck_assert_msg(strncmp(row + end_params - strlen(num), num, strlen(num)) == 0 &&
                          row[end_params - strlen(num) - 1] == ' ',
                      "row %d: params %s not right-aligned under 'params':\n%s\n%s", i, num, head, row);
        ir_fmt_thousands(r->macs, num);
        ck_assert_msg(strncmp(row + end_macs - strlen(num), num, strlen(num)) == 0 &&
                          row[end_macs - strlen(num) - 1] == ' ',
                      "row %d: MACs %s not right-aligned under 'MACs':\n%s\n%s", i, num, head, row);
    }
    /* fc1's 48,120 and conv2's 240,000 MACs carry separators in the rows. */
    ck_assert_ptr_nonnull(strstr(lines[3 + 7], "48,120"));
    ck_assert_ptr_nonnull(strstr(lines[3 + 4], "240,000"));
    /* The totals. */
    bool params = false, macs = false, weights = false, peak = false, bias_note = false, plan_note = false;
    for (size_t i = 3 + LENET_LAYERS; i < n; i++) {
        /* The MACs line is followed by what they leave out, the peak by why
         * the workspace is this build's own. */
        if (i > 0 && strncmp(lines[i - 1], "MACs", 4) == 0)
            bias_note = strstr(lines[i], "bias adds") != NULL && strstr(lines[i], "not counted") != NULL;
        if (strstr(lines[i], "-O0, --no-fuse and other targets differ") != NULL)
            plan_note = i > 1 && strncmp(lines[i - 2], "peak activation", 15) == 0;
        params |= strncmp(lines[i], "params", 6) == 0 && strstr(lines[i], " 61,706 params") != NULL;
        weights |= strncmp(lines[i], "weights", 7) == 0 && strstr(lines[i], " 246,824 bytes") != NULL;
        macs |= strncmp(lines[i], "MACs", 4) == 0 && strstr(lines[i], " 416,520 MACs") != NULL &&
                strstr(lines[i], "833,040") != NULL; /* FLOPs = 2 x MACs */
        peak |= strncmp(lines[i], "peak activation", 15) == 0 && strstr(lines[i], " 53,480 bytes") != NULL;
    }
    ck_assert_msg(params && macs && weights && peak, "totals missing: params %d MACs %d weights %d peak %d",
                  params, macs, weights, peak);
    ck_assert_msg(bias_note && plan_note, "notes missing: bias adds %d, plan %d\n%s", bias_note, plan_note, text);
    free(text);
}
END_TEST

/* Cells are never cut: a 150-byte layer name and the widest hyper-parameters
 * (19-digit K, S and P, no-bias and ceil: 97 bytes, past the 96 a cell held) show whole, and
 * the rows stay aligned under their heads. */
START_TEST(text_wide_cells)
{
    char name[151];
    memset(name, 'a', 150);
    name[150] = '\0';
    char src[1024];
    snprintf(src, sizeof src,
             "network w {\n input 1x1x1\n %s: relu\n"
             " conv filters=2305843009213693930 size=1 stride=9223372036854775807 pad=4611686018427387903"
             " bias=false round=ceil\n}\n",
             name);
    Unit u;
    IrGraph *g = unit_compile(&u, src);
    ck_assert_msg(g != NULL, "%s", unit_text(&u));
    char *buf = report_of(g, ir_report_text);
    char *lines[16];
    size_t n = split_lines(buf, lines, 16);
    ck_assert_uint_ge(n, 6);
    const char *head = lines[2];
    size_t at_layer = (size_t)(strstr(head, "layer") - head);
    size_t at_hyper = (size_t)(strstr(head, "hyper-parameters") - head);
    /* W2 = (1 - 1 + 2P)/S + 1 = (2^63 - 2)/(2^63 - 1) + 1: ceil makes it 2,
     * but the second window would start at S = 2^63 - 1 >= W1 + P, so 1. */
    static const char hyper[] = "K=2305843009213693930 F=1 S=9223372036854775807 P=4611686018427387903 no-bias ceil";
    ck_assert_msg(strncmp(lines[4] + at_layer, name, 150) == 0 && lines[4][at_layer + 150] == ' ',
                  "the name is cut:\n%s\n%s", head, lines[4]);
    ck_assert_msg(strncmp(lines[5] + at_hyper, hyper, strlen(hyper)) == 0 &&
                      lines[5][at_hyper + strlen(hyper)] == ' ',
                  "the hyper-parameters are cut:\n%s\n%s", head, lines[5]);
    for (int i = 3; i <= 5; i++)
        ck_assert_uint_eq(strlen(lines[i]), strlen(head));
    free(buf);
    unit_close(&u);
}
END_TEST

/* The header line counts layers in English: "1 layer", "2 layers". */
typedef struct HeaderCase {
    const char *src, *header;
} HeaderCase;

static const HeaderCase header_cases[] = {
    {"network one { input 4x4x1 }", "network one: 4x4x1 -> 4x4x1, 1 layer"},
    {"network two { input 4x4x2; fc 3 }", "network two: 4x4x2 -> 1x1x3, 2 layers"},
};

START_TEST(text_header)
{
    const HeaderCase *c = &header_cases[_i];
    Unit u;
    IrGraph *g = unit_compile(&u, c->src);
    ck_assert_msg(g != NULL, "%s", unit_text(&u));
    char *buf = report_of(g, ir_report_text);
    char *lines[16];
    ck_assert_uint_ge(split_lines(buf, lines, 16), 1);
    ck_assert_str_eq(lines[0], c->header);
    free(buf);
    unit_close(&u);
}
END_TEST

/* ---- DOT ------------------------------------------------------------------------ */

START_TEST(dot_lenet)
{
    char *text = report(ir_report_dot);
    ck_assert_msg(strncmp(text, "digraph \"lenet\" {\n", 18) == 0, "%s", text);
    size_t len = strlen(text);
    ck_assert(len > 2 && strcmp(text + len - 2, "}\n") == 0);
    /* a node per layer, labelled with its name and output shape */
    for (int i = 0; i < LENET_LAYERS; i++) {
        const LayerRow *r = &lenet_rows[i];
        char node[96], shape[64];
        snprintf(node, sizeof node, "  n%d [label=\"%s\\n%s", i, r->name, r->op);
        ck_assert_msg(strstr(text, node) != NULL, "no node %s in\n%s", node, text);
        snprintf(shape, sizeof shape, "\\n%lldx%lldx%lld\"];\n", (long long)r->w, (long long)r->h, (long long)r->d);
        const char *at = strstr(text, node);
        const char *end = strchr(at, '\n');
        ck_assert_msg(strncmp(end + 1 - strlen(shape), shape, strlen(shape)) == 0, "node %d's shape in\n%s", i, text);
    }
    char extra[32];
    snprintf(extra, sizeof extra, "  n%d [", LENET_LAYERS);
    ck_assert_ptr_null(strstr(text, extra));
    /* the chain's edges, each once, and no others */
    int edges = 0;
    for (const char *p = text; (p = strstr(p, " -> ")) != NULL; p += 4)
        edges++;
    ck_assert_int_eq(edges, LENET_LAYERS - 1);
    for (int i = 1; i < LENET_LAYERS; i++) {
        char edge[32];
        snprintf(edge, sizeof edge, "  n%d -> n%d;\n", i - 1, i);
        ck_assert_msg(strstr(text, edge) != NULL, "no edge %s", edge);
    }
    free(text);
}
END_TEST

/* Kernel choices (ir/kernel.h), made once by the plan for a machine. a's
 * input is the caller's, with no frame: Winograd on a padded copy, its 32
 * filters packed in two vectors of 16, and its output, read by b on packed
 * filters too, in channel blocks of 16. b's 32x32 output planes are 4 KiB
 * apart and plain (c, a depthwise conv padded 1x0, which no frame serves,
 * reads them): Winograd's stores would crowd the same L1 sets, so b runs
 * on packed filters. d's 8 filters are half an AVX-512 vector (columns)
 * but a whole AVX2 one (filters). In
 * the second network b's planes are 30x30: Winograd F(4x4, 3x3), and a's
 * output in blocks for it. A map of 7x7x512 (4 tiles, 37.7 MB of
 * transformed weights) runs directly; 32 filters (2.4 MB) go to Winograd. */
typedef struct KernelCase {
    const char *src;
    IrMachine machine;
    IrKernel kernel[5]; /* nodes 1 .. 4 */
    int pack[5], wino_m[5], blk[5];
} KernelCase;

#define KERNEL_NET                                                                                   \
    "network k {\n input 32x32x16\n a: conv filters=32 size=3 pad=1\n b: conv filters=32 size=3 pad=1\n" \
    " c: conv filters=32 size=3 pad=1x0 groups=32\n d: conv filters=8 size=1\n fc 10\n}\n"
#define DW_NET                                                                                            \
    "network m {\n input 20x20x16\n a: conv filters=32 size=1\n b: conv filters=32 size=3 pad=1 groups=32\n" \
    " c: conv filters=16 size=1\n fc 10\n}\n"
static const KernelCase kernel_cases[] = {
    {KERNEL_NET, {16, 32, 2},
     {0, IR_KERNEL_WINOGRAD, IR_KERNEL_FILTERS, IR_KERNEL_GROUPED, IR_KERNEL_COLUMNS},
     {0, 32, 32, 0, 0}, {0, 4}, {0, 16, 0, 0, 0}},
    {KERNEL_NET, {8, 16, 3},
     {0, IR_KERNEL_WINOGRAD, IR_KERNEL_FILTERS, IR_KERNEL_GROUPED, IR_KERNEL_FILTERS},
     {0, 16, 16, 0, 8}, {0, 4}, {0, 8, 0, 0, 0}},
    /* -O0, and a machine without SIMD: every conv naive, nothing packed. */
    {KERNEL_NET, {16, 32, 0}, {0, IR_KERNEL_NAIVE, IR_KERNEL_NAIVE, IR_KERNEL_NAIVE, IR_KERNEL_NAIVE}, {0}, {0}, {0}},
    {KERNEL_NET, {1, 16, 2}, {0, IR_KERNEL_NAIVE, IR_KERNEL_NAIVE, IR_KERNEL_NAIVE, IR_KERNEL_NAIVE}, {0}, {0}, {0}},
    /* Vectors of 4 (NEON): no Winograd, which wants 8 or 16. */
    {"network w {\n input 30x30x16\n a: conv filters=32 size=3 pad=1\n b: conv filters=32 size=3 pad=1\n"
     " c: conv filters=16 size=1\n fc 10\n}\n",
     {4, 32, 2}, {0, IR_KERNEL_FILTERS, IR_KERNEL_FILTERS, IR_KERNEL_FILTERS}, {0, 8, 8, 8}, {0}, {0, 4, 4}},
    {"network w {\n input 30x30x16\n a: conv filters=32 size=3 pad=1\n b: conv filters=32 size=3 pad=1\n"
     " c: conv filters=16 size=1\n fc 10\n}\n",
     {16, 32, 2}, {0, IR_KERNEL_WINOGRAD, IR_KERNEL_WINOGRAD, IR_KERNEL_FILTERS}, {0, 32, 32, 16}, {0, 4, 4},
     {0, 16, 16}},
    {"network s {\n input 7x7x512\n a: conv filters=512 size=3 pad=1\n b: conv filters=32 size=3 pad=1\n"
     " fc 10\n}\n",
     {16, 32, 2}, {0, IR_KERNEL_FILTERS, IR_KERNEL_WINOGRAD}, {0, 32, 32}, {0, 0, 4}, {0, 16}},
    /* MobileNetV2's block: the depthwise conv between two convs on packed
     * filters runs on channel blocks, and so its input and output are in
     * blocks; a, read by it, takes packed filters from 16 taps. */
    {DW_NET, {16, 32, 2}, {0, IR_KERNEL_FILTERS, IR_KERNEL_DEPTHWISE, IR_KERNEL_FILTERS}, {0, 32, 0, 16}, {0},
     {0, 16, 16, 0}},
    {DW_NET, {8, 16, 2}, {0, IR_KERNEL_FILTERS, IR_KERNEL_DEPTHWISE, IR_KERNEL_FILTERS}, {0, 16, 0, 16}, {0},
     {0, 8, 8, 0}},
    /* A depthwise conv on the network's input, which is not in blocks: the
     * grouped kernel, its output plain. */
    {"network d {\n input 20x20x32\n a: conv filters=32 size=3 pad=1 groups=32\n b: conv filters=16 size=1\n"
     " fc 10\n}\n",
     {16, 32, 2}, {0, IR_KERNEL_GROUPED, IR_KERNEL_FILTERS}, {0, 0, 16}, {0}, {0, 0, 0}},
};

START_TEST(plan_kernels)
{
    const KernelCase *k = &kernel_cases[_i];
    Unit u;
    IrGraph *g = unit_compile(&u, k->src);
    ck_assert_ptr_nonnull(g);
    g->machine = k->machine;
    ck_assert(ir_graph_plan(g));
    for (size_t i = 1; i < 5 && i < g->count; i++) {
        const IrNode *n = &g->nodes[i];
        ck_assert_msg(n->kernel == k->kernel[i], "%s: kernel %d, expected %d", n->name, n->kernel, k->kernel[i]);
        ck_assert_msg(n->pack == k->pack[i], "%s: pack %d, expected %d", n->name, n->pack, k->pack[i]);
        ck_assert_msg(n->wino_m == k->wino_m[i], "%s: m %d, expected %d", n->name, n->wino_m, k->wino_m[i]);
        ck_assert_msg(n->blk == k->blk[i], "%s: blk %d, expected %d", n->name, n->blk, k->blk[i]);
        /* The scratch is the chosen kernel's: a padded copy only for the
         * micro-kernels' convs whose input has no frame (a's). */
        if (n->op == IR_OP_CONV && n->kernel != IR_KERNEL_WINOGRAD)
            ck_assert_int_eq(ir_plan_scratch_bytes(g, i) > 0,
                             (n->kernel == IR_KERNEL_FILTERS || n->kernel == IR_KERNEL_COLUMNS) &&
                                 n->attr.conv.pad > 0 && g->nodes[n->inputs[0]].out_pad == 0);
    }
    unit_close(&u);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_add_test(tc, json_lenet);
    tcase_add_test(tc, json_exact_integers);
    tcase_add_test(tc, activations);
    tcase_add_test(tc, json_convx);
    tcase_add_test(tc, json_plan_frames);
    tcase_add_test(tc, json_plan_frame_through_dropout);
    tcase_add_test(tc, plan_concat_slices);
    tcase_add_loop_test(tc, plan_kernels, 0, (int)(sizeof kernel_cases / sizeof kernel_cases[0]));
    tcase_add_loop_test(tc, json_plan_winograd, 0, (int)(sizeof wino_plan_cases / sizeof wino_plan_cases[0]));
    tcase_add_loop_test(tc, thousands, 0, (int)(sizeof thousands_cases / sizeof thousands_cases[0]));
    tcase_add_test(tc, text_lenet);
    tcase_add_test(tc, text_wide_cells);
    tcase_add_loop_test(tc, text_header, 0, (int)(sizeof header_cases / sizeof header_cases[0]));
    tcase_add_test(tc, dot_lenet);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(report_suite)
