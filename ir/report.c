/* Reports (SPEC section 3). All three read the same shaped graph; the text one
 * is for people (aligned, thousands separators, human units beside exact
 * figures), the JSON one for programs (exact integers), DOT for pictures. */
#include "report.h"

#include "kernel.h"

#include "fuse.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const char *ir_fmt_thousands(int64_t v, char *buf)
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%" PRIu64, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
    char *o = buf;
    if (v < 0)
        *o++ = '-';
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            *o++ = ',';
        *o++ = digits[i];
    }
    *o = '\0';
    return buf;
}

/* 247,000 bytes -> "241.2 KiB". */
static const char *fmt_bytes(int64_t v, char *buf, size_t size)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double x = (double)v;
    int u = 0;
    while (x >= 1024 && u < 6) {
        x /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%" PRId64 " bytes", v);
    else
        snprintf(buf, size, "%.1f %s", x, units[u]);
    return buf;
}

/* 15,470,264,320 -> "15.5 G". */
static const char *fmt_count(int64_t v, char *buf, size_t size)
{
    static const char *const units[] = {"", "K", "M", "G", "T", "P", "E"};
    double x = (double)v;
    int u = 0;
    while (x >= 1000 && u < 6) {
        x /= 1000;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%" PRId64, v);
    else
        snprintf(buf, size, "%.1f %s", x, units[u]);
    return buf;
}

static const char *fmt_shape(IrShape s, char *buf, size_t size)
{
    snprintf(buf, size, "%" PRId64 "x%" PRId64 "x%" PRId64, s.w, s.h, s.d);
    return buf;
}

/* The hyper-parameters in the SPEC's letters: K=6 F=5 S=1 P=2. */
static const char *fmt_hyper(const IrNode *n, char *buf, size_t size)
{
    buf[0] = '\0';
    if (ir_op_defs[n->op]->hyper)
        ir_op_defs[n->op]->hyper(n, buf, size);
    return buf;
}

/* ---- text ----------------------------------------------------------------- */

enum { COLS = 9 };

/* The layer's name is shown from the node (names have no length limit); the
 * other cells are formatted into buf, wide enough for four 19-digit numbers. */
typedef struct Row {
    char buf[COLS][128];
    const char *cell[COLS];
} Row;

static void fill_row(const IrGraph *g, size_t i, Row *r)
{
    const IrNode *n = &g->nodes[i];
    for (int k = 0; k < COLS; k++)
        r->cell[k] = r->buf[k];
    snprintf(r->buf[0], sizeof r->buf[0], "%zu", i);
    r->cell[1] = n->name;
    snprintf(r->buf[2], sizeof r->buf[2], "%s", ir_op_word(n->op));
    fmt_hyper(n, r->buf[3], sizeof r->buf[3]);
    fmt_shape(n->out, r->buf[4], sizeof r->buf[4]);
    /* SPEC section 2: a layer's activation memory is its output, W2 x H2 x
     * D2 floats. Shapes are checked to fit 64 bits as elements; as bytes a
     * past-2^61 map says "-". */
    int64_t elems = ir_shape_elems(n->out);
    if (elems <= INT64_MAX / 4)
        ir_fmt_thousands(elems * 4, r->buf[5]);
    else
        snprintf(r->buf[5], sizeof r->buf[5], "-");
    ir_fmt_thousands(n->params, r->buf[6]);
    ir_fmt_thousands(n->macs, r->buf[7]);
    snprintf(r->buf[8], sizeof r->buf[8], "%u", n->span.line);
}

static void print_row(FILE *out, const char *const cells[COLS], const size_t width[COLS])
{
    /* Numbers are right-aligned, words left-aligned. */
    static const bool right[COLS] = {true, false, false, false, false, true, true, true, true};
    for (int k = 0; k < COLS; k++)
        fprintf(out, right[k] ? "%s%*s" : "%s%-*s", k ? "  " : "", (int)width[k], cells[k]);
    fputc('\n', out);
}

/* A device's budget for the target's object: flash holds code and
 * constants, RAM the activations and any writable data. */
static int64_t target_flash(const IrGraph *g)
{
    return g->code_bytes + g->weights_bytes + g->constant_bytes;
}

static int64_t target_ram(const IrGraph *g)
{
    return g->peak_activation_bytes + g->data_bytes;
}

void ir_report_text(const IrGraph *g, FILE *out)
{
    IR_ASSERT(g->shaped && g->planned && g->count > 0);
    static const char *const head[COLS] = {"#",      "layer",      "kind",   "hyper-parameters", "output",
                                           "activation", "params", "MACs",             "line"};
    /* Two passes over the rows, widths then text, so a million layers cost no
     * more memory than one row. */
    size_t width[COLS];
    Row r;
    for (int k = 0; k < COLS; k++)
        width[k] = strlen(head[k]);
    for (size_t i = 0; i < g->count; i++) {
        fill_row(g, i, &r);
        for (int k = 0; k < COLS; k++) {
            size_t len = strlen(r.cell[k]);
            if (len > width[k])
                width[k] = len;
        }
    }
    const IrNode *last = &g->nodes[g->count - 1];
    char a[48], b[48], c[48], d[48], e[48];
    fprintf(out, "network %s: %s -> %s, %zu layer%s\n\n", g->name,
            fmt_shape(g->nodes[0].out, a, sizeof a), fmt_shape(last->out, b, sizeof b), g->count,
            g->count == 1 ? "" : "s");
    print_row(out, head, width);
    for (size_t i = 0; i < g->count; i++) {
        fill_row(g, i, &r);
        print_row(out, r.cell, width);
    }

    int64_t flops = g->total_macs <= INT64_MAX / 2 ? 2 * g->total_macs : -1;
    fprintf(out, "\nparams           %s params (%s as float32)\n", ir_fmt_thousands(g->total_params, a),
            fmt_bytes(g->weights_bytes, b, sizeof b));
    fprintf(out, "weights          %s bytes\n", ir_fmt_thousands(g->weights_bytes, a));
    fprintf(out, "MACs             %s MACs (%s)", ir_fmt_thousands(g->total_macs, a),
            fmt_count(g->total_macs, b, sizeof b));
    if (flops >= 0)
        fprintf(out, "; FLOPs = 2 x MACs = %s (%s)", ir_fmt_thousands(flops, c),
                fmt_count(flops, d, sizeof d));
    fputc('\n', out);
    /* What the figures leave out or depend on, so that they are not taken
     * for torchinfo's (which adds the bias adds) or for every build's. */
    fprintf(out, "                 multiply-accumulates of conv and fc weights: bias adds, pools and "
                 "activations are not counted\n");
    fprintf(out, "peak activation  %s bytes (%s: input, output and a %s workspace, one image)\n",
            ir_fmt_thousands(g->peak_activation_bytes, a), fmt_bytes(g->peak_activation_bytes, b, sizeof b),
            fmt_bytes(g->workspace_bytes, c, sizeof c));
    fprintf(out, "                 activation: a layer's output, W x H x D x 4 bytes; the workspace is this "
                 "build's plan, so\n"
                 "                 -O0, --no-fuse and other targets differ (fused layers share buffers; "
                 "each conv's\n"
                 "                 kernel, and the scratch it needs, is chosen for the target's vectors and the -O "
                 "level)\n");
    if (g->target) {
        int64_t flash = target_flash(g), ram = target_ram(g);
        fprintf(out, "target           %s, cpu %s: the AOT object (cnnc -c)%s\n", g->target, g->target_cpu,
                g->target_exact ? "" : ", estimated without the weights (--weights FILE: exact)");
        fprintf(out, "  flash          %s bytes (%s): code %s, weights %s, other constants %s\n",
                ir_fmt_thousands(flash, a), fmt_bytes(flash, b, sizeof b), ir_fmt_thousands(g->code_bytes, c),
                ir_fmt_thousands(g->weights_bytes, d), ir_fmt_thousands(g->constant_bytes, e));
        fprintf(out, "  RAM            %s bytes (%s): activations %s (input, output, workspace)",
                ir_fmt_thousands(ram, a), fmt_bytes(ram, b, sizeof b),
                ir_fmt_thousands(g->peak_activation_bytes, c));
        if (g->data_bytes)
            fprintf(out, ", data %s", ir_fmt_thousands(g->data_bytes, d));
        fprintf(out, "; plus the caller's stack\n");
    }
    size_t groups = ir_graph_group_count(g);
    if (groups == 0) {
        fprintf(out, "fused groups     none\n");
        return;
    }
    /* One group per line: a million-layer network gets a long list, never a
     * long line. */
    fprintf(out, "fused groups     %zu (each runs as one kernel)\n", groups);
    for (size_t i = 0; i < g->count; i++) {
        if (g->nodes[i].group != (int32_t)i)
            continue;
        fprintf(out, "                 %s\n", ir_group_label(g, i));
    }
}

/* ---- JSON ----------------------------------------------------------------- */

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(out, "\\u%04x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

static void json_shape(FILE *out, IrShape s)
{
    fprintf(out, "[%" PRId64 ", %" PRId64 ", %" PRId64 "]", s.w, s.h, s.d);
}

static void json_attrs(FILE *out, const IrNode *n)
{
    if (ir_op_defs[n->op]->json)
        ir_op_defs[n->op]->json(n, out);
}

/* The kernel the plan chose (ir/kernel.h), for the machine the code is for. */
static void json_kernel(FILE *out, const IrNode *n)
{
    if (n->kernel == IR_KERNEL_NONE)
        return;
    fprintf(out, ", \"kernel\": \"%s\"", ir_kernel_word(n->kernel));
    if (n->wino_m)
        fprintf(out, ", \"winograd_tile\": %d", (int)n->wino_m);
    if (n->pack)
        fprintf(out, ", \"packed_filters\": %d", (int)n->pack);
}

void ir_report_json(const IrGraph *g, FILE *out)
{
    IR_ASSERT(g->shaped && g->planned && g->count > 0);
    fprintf(out, "{\n  \"network\": ");
    json_string(out, g->name);
    fprintf(out, ",\n  \"input\": ");
    json_shape(out, g->nodes[0].out);
    fprintf(out, ",\n  \"output\": ");
    json_shape(out, g->nodes[g->count - 1].out);
    fprintf(out, ",\n  \"layers\": [\n");
    for (size_t i = 0; i < g->count; i++) {
        const IrNode *n = &g->nodes[i];
        fprintf(out, "    {\"name\": ");
        json_string(out, n->name);
        fprintf(out, ", \"op\": \"%s\", \"line\": %u, \"col\": %u, \"output\": ", ir_op_word(n->op),
                n->span.line, n->span.col);
        json_shape(out, n->out);
        fprintf(out, ", \"params\": %" PRId64 ", \"macs\": %" PRId64 ", \"inputs\": [", n->params, n->macs);
        for (uint32_t k = 0; k < n->ninputs; k++) {
            fprintf(out, "%s", k ? ", " : "");
            json_string(out, g->nodes[n->inputs[k]].name);
        }
        fputc(']', out);
        if (n->group >= 0) {
            fputs(", \"fused_with\": ", out);
            json_string(out, g->nodes[n->group].name);
        }
        json_attrs(out, n);
        json_kernel(out, n);
        fprintf(out, "}%s\n", i + 1 < g->count ? "," : "");
    }
    fprintf(out, "  ],\n");
    fprintf(out, "  \"total_params\": %" PRId64 ",\n", g->total_params);
    fprintf(out, "  \"total_macs\": %" PRId64 ",\n", g->total_macs);
    if (g->total_macs <= INT64_MAX / 2)
        fprintf(out, "  \"total_flops\": %" PRId64 ",\n", 2 * g->total_macs);
    fprintf(out, "  \"weights_bytes\": %" PRId64 ",\n", g->weights_bytes);
    fprintf(out, "  \"workspace_bytes\": %" PRId64 ",\n", g->workspace_bytes);
    fprintf(out, "  \"peak_activation_bytes\": %" PRId64 ",\n", g->peak_activation_bytes);
    if (g->target) {
        fprintf(out, "  \"target\": {\"triple\": ");
        json_string(out, g->target);
        fprintf(out, ", \"cpu\": ");
        json_string(out, g->target_cpu);
        fprintf(out,
                ", \"code_bytes\": %" PRId64 ", \"weights_bytes\": %" PRId64 ", \"constant_bytes\": %" PRId64
                ", \"data_bytes\": %" PRId64 ", \"flash_bytes\": %" PRId64 ", \"ram_bytes\": %" PRId64
                ", \"exact\": %s},\n",
                g->code_bytes, g->weights_bytes, g->constant_bytes, g->data_bytes, target_flash(g), target_ram(g),
                g->target_exact ? "true" : "false");
    }
    fprintf(out, "  \"fused_groups\": [");
    bool first = true;
    for (size_t i = 0; i < g->count; i++) {
        if (g->nodes[i].group != (int32_t)i)
            continue;
        fprintf(out, "%s\n    [", first ? "" : ",");
        first = false;
        for (size_t k = i, tail = ir_group_tail(g, i); k <= tail; k++) {
            if (k > i)
                fprintf(out, ", ");
            json_string(out, g->nodes[k].name);
        }
        fputc(']', out);
    }
    fprintf(out, "%s]\n}\n", first ? "" : "\n  ");
}

/* ---- DOT ------------------------------------------------------------------ */

/* Inside a quoted DOT string only '"' and '\' need escaping. */
static void dot_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
}

void ir_report_dot(const IrGraph *g, FILE *out)
{
    IR_ASSERT(g->shaped && g->count > 0);
    char shape[64], hyper[128];
    fprintf(out, "digraph \"");
    dot_text(out, g->name);
    fprintf(out, "\" {\n  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n");
    for (size_t i = 0; i < g->count; i++) {
        const IrNode *n = &g->nodes[i];
        if (n->group == (int32_t)i) {
            fprintf(out, "  subgraph cluster_%zu {\n    label=\"fused\"; style=dashed;\n", i);
        }
        fprintf(out, "  n%zu [label=\"", i);
        dot_text(out, n->name);
        fprintf(out, "\\n%s", ir_op_word(n->op));
        fmt_hyper(n, hyper, sizeof hyper);
        if (hyper[0])
            fprintf(out, " %s", hyper);
        fprintf(out, "\\n%s\"];\n", fmt_shape(n->out, shape, sizeof shape));
        if (n->group >= 0 && ir_group_tail(g, i) == i)
            fprintf(out, "  }\n");
    }
    for (size_t i = 0; i < g->count; i++) {
        const IrNode *n = &g->nodes[i];
        for (uint32_t k = 0; k < n->ninputs; k++)
            fprintf(out, "  n%d -> n%zu;\n", n->inputs[k], i);
    }
    fprintf(out, "}\n");
}

/* ---- dump ----------------------------------------------------------------- */

void ir_graph_dump(const IrGraph *g, FILE *out)
{
    char shape[64], hyper[128];
    fprintf(out, "graph %s (%zu nodes%s", g->name, g->count, g->shaped ? ", shaped" : "");
    if (g->planned)
        fprintf(out, ", planned: workspace %" PRId64 " bytes", g->workspace_bytes);
    fprintf(out, ")\n");
    for (size_t i = 0; i < g->count; i++) {
        const IrNode *n = &g->nodes[i];
        fprintf(out, "  %%%zu %s = %s(", i, n->name, ir_op_word(n->op));
        for (uint32_t k = 0; k < n->ninputs; k++)
            fprintf(out, "%s%%%d", k ? ", " : "", n->inputs[k]);
        fmt_hyper(n, hyper, sizeof hyper);
        fprintf(out, ")%s%s", hyper[0] ? " " : "", hyper);
        if (g->shaped)
            fprintf(out, " -> %s params=%" PRId64 " macs=%" PRId64, fmt_shape(n->out, shape, sizeof shape),
                    n->params, n->macs);
        if (n->group >= 0)
            fprintf(out, " group=%%%d", n->group);
        if (n->kernel != IR_KERNEL_NONE)
            fprintf(out, " kernel=%s", ir_kernel_word(n->kernel));
        if (n->wino_m)
            fprintf(out, "/%dx%d", (int)n->wino_m, (int)n->wino_m);
        if (g->planned) {
            if (n->buffer >= 0)
                fprintf(out, " buf=ws+%" PRId64, n->buffer);
            else
                fprintf(out, " buf=%s", n->buffer == IR_BUF_INPUT ? "input" : n->buffer == IR_BUF_OUTPUT ? "output" : "fused");
        }
        fprintf(out, "  ; line %u\n", n->span.line);
    }
}
