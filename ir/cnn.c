/* The graph as .cnn source (see cnn.h). Written from the IR after the front
 * end, so a .cnn and an ONNX model go through one writer, and what it writes
 * is what every report of the original showed: each key the IR holds that
 * differs from the language's default, numbers as the shortest decimals that
 * read back to the same bits, names as written or quoted. */
#include "cnn.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- names and numbers -------------------------------------------------- */

static bool name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

/* A name the lexer reads as a NAME token (SPEC section 1): letters, digits
 * and '_' in dot-separated parts, starting with a letter or '_', and not the
 * keyword 'network'. Others are written in double quotes. */
static bool plain_name(const char *s)
{
    if (!name_start(s[0]) || strcmp(s, "network") == 0)
        return false;
    for (const char *p = s; *p; p++) {
        if (*p == '.') {
            if (!name_char(p[1]))
                return false;
        } else if (!name_char(*p)) {
            return false;
        }
    }
    return true;
}

/* A quoted name holds any byte but '"' and newline, and is not empty. */
static bool quotable(const char *s)
{
    return s[0] && !strpbrk(s, "\"\n");
}

static void put_name(FILE *out, const char *s)
{
    fprintf(out, plain_name(s) ? "%s" : "\"%s\"", s);
}

/* 10 rather than %g's 1e+01: whole digits up to 10^16 written out, which
 * reads back the same, being more digits of the same value. */
static const char *no_small_exponent(char *buf, size_t size, double v)
{
    const char *e = strchr(buf, 'e');
    long x = e ? strtol(e + 1, NULL, 10) : -1;
    if (x >= 0 && x < 16)
        snprintf(buf, size, "%.*g", (int)x + 1, v);
    return buf;
}

/* The shortest %g that strtod reads back as v, bit for bit: an ONNX
 * epsilon of float32 1e-5 is the double 9.999999747378752e-06, and the
 * batchnorm fold computes with that double. */
static const char *fmt_double(char *buf, size_t size, double v)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, size, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return no_small_exponent(buf, size, v);
}

/* The shortest %g that the front end (strtod, then a cast) reads back as
 * the float v. */
static const char *fmt_float(char *buf, size_t size, float v)
{
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, size, "%.*g", p, (double)v);
        if ((float)strtod(buf, NULL) == v)
            break;
    }
    return no_small_exponent(buf, size, v);
}

/* A float value of a key, as the front end takes it: finite, within float32. */
static bool writable(double v)
{
    return isfinite(v) && fabs(v) <= 3.4028234663852886e38;
}

/* ---- checks ------------------------------------------------------------- */

static bool check_value(const IrNode *n, IrDiag *diag, const char *key, double v)
{
    if (writable(v))
        return true;
    char buf[32];
    ir_diag_error(diag, n->span,
                  "%s '%s' has %s=%s, which .cnn cannot write (its numbers are finite float32 values); "
                  "--emit=cnn would give another network",
                  ir_op_word(n->op), n->name, key, fmt_double(buf, sizeof buf, v));
    return false;
}

static bool check_list(const IrNode *n, IrDiag *diag, const char *key, const IrParamList *l)
{
    for (size_t i = 0; l->given && i < l->count; i++)
        if (!check_value(n, diag, key, l->data[i]))
            return false;
    return true;
}

bool ir_cnn_check(const IrGraph *g, IrDiag *diag)
{
    int before = diag->errors;
    if (!name_start(g->name[0]) || strcmp(g->name, "network") == 0 || strchr(g->name, '.'))
        ir_diag_file_error(diag,
                           "the network's name '%s' cannot follow 'network' in .cnn (a keyword, or not a plain "
                           "name); give the file another name",
                           g->name);
    for (size_t i = 0; i < g->count; i++) {
        const IrNode *n = &g->nodes[i];
        if (!quotable(n->name))
            ir_diag_error(diag, n->span,
                          "%s '%s' has a name .cnn cannot write, even quoted (it is empty, or holds '\"' or a "
                          "newline)",
                          ir_op_word(n->op), n->name);
        const IrInputAttr *in = &n->attr.input;
        switch (n->op) {
        case IR_OP_INPUT:
            for (size_t k = 0; in->mean && k < in->nmean; k++)
                check_value(n, diag, "mean", in->mean[k]);
            for (size_t k = 0; in->std && k < in->nstd; k++)
                check_value(n, diag, "std", in->std[k]);
            break;
        case IR_OP_CONV:
            if (check_list(n, diag, "weights", &n->attr.conv.weights))
                check_list(n, diag, "biases", &n->attr.conv.biases);
            break;
        case IR_OP_FC:
            if (check_list(n, diag, "weights", &n->attr.fc.weights))
                check_list(n, diag, "biases", &n->attr.fc.biases);
            break;
        case IR_OP_DROPOUT:
            check_value(n, diag, "p", n->attr.dropout.p);
            break;
        case IR_OP_BATCHNORM:
            check_value(n, diag, "eps", n->attr.batchnorm.eps);
            break;
        case IR_OP_LEAKYRELU:
            check_value(n, diag, "slope", n->attr.leakyrelu.slope);
            break;
        default:
            break;
        }
    }
    return diag->errors == before;
}

/* ---- writing ------------------------------------------------------------ */

/* key=N, or key=WxH when they differ (width x height, SPEC section 9). */
static void put_pair(FILE *out, const char *key, int64_t w, int64_t h)
{
    if (w == h)
        fprintf(out, " %s=%" PRId64, key, w);
    else
        fprintf(out, " %s=%" PRId64 "x%" PRId64, key, w, h);
}

static void put_list(FILE *out, const char *key, const IrParamList *l)
{
    char buf[32];
    if (!l->given)
        return;
    fprintf(out, " %s=[", key);
    for (size_t i = 0; i < l->count; i++)
        fprintf(out, "%s%s", i ? ", " : "", fmt_float(buf, sizeof buf, l->data[i]));
    fputc(']', out);
}

static void put_round(FILE *out, IrRound r, IrRound network)
{
    if (r != network)
        fprintf(out, " round=%s", r == IR_ROUND_CEIL ? "ceil" : "floor");
}

static void put_doubles(FILE *out, const char *key, const double *v, size_t n)
{
    char buf[32];
    if (!v)
        return;
    fprintf(out, " %s=", key);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%s", i ? "," : "", fmt_double(buf, sizeof buf, v[i]));
}

/* The network's round=: the layers' own when all agree or most do, but
 * none when any conv or pool divides exactly, which has no key of its own.
 * A global pool's window divides exactly whatever it says. */
static IrRound network_round(const IrGraph *g)
{
    int64_t count[3] = {0, 0, 0};
    for (size_t i = 0; i < g->count; i++) {
        const IrNode *n = &g->nodes[i];
        if (n->op == IR_OP_CONV)
            count[n->attr.conv.round]++;
        else if (n->op == IR_OP_POOL && !n->attr.pool.global)
            count[n->attr.pool.round]++;
    }
    if (count[IR_ROUND_EXACT] > 0 || count[IR_ROUND_FLOOR] + count[IR_ROUND_CEIL] == 0)
        return IR_ROUND_EXACT;
    return count[IR_ROUND_CEIL] > count[IR_ROUND_FLOOR] ? IR_ROUND_CEIL : IR_ROUND_FLOOR;
}

/* The name the front end gives a layer left unnamed (SPEC section 8): its
 * kind and its ordinal among the layers of that kind, or 'input'. */
static bool default_name(const IrNode *n, int64_t ordinal)
{
    if (n->op == IR_OP_INPUT)
        return strcmp(n->name, "input") == 0;
    const char *word = ir_op_word(n->op);
    size_t len = strlen(word);
    if (strncmp(n->name, word, len) != 0)
        return false;
    const char *rest = n->name + len;
    if (word[len - 1] >= '0' && word[len - 1] <= '9' && *rest++ != '_')
        return false;
    char digits[24];
    snprintf(digits, sizeof digits, "%" PRId64, ordinal);
    return strcmp(rest, digits) == 0;
}

static void put_layer(FILE *out, const IrGraph *g, size_t i, IrRound network)
{
    const IrNode *n = &g->nodes[i];
    char buf[32];
    switch (n->op) {
    case IR_OP_INPUT: {
        const IrInputAttr *a = &n->attr.input;
        fprintf(out, "input %" PRId64 "x%" PRId64 "x%" PRId64, a->shape.w, a->shape.h, a->shape.d);
        put_doubles(out, "mean", a->mean, a->nmean);
        put_doubles(out, "std", a->std, a->nstd);
        break;
    }
    case IR_OP_CONV: {
        const IrConvAttr *c = &n->attr.conv;
        fprintf(out, "conv filters=%" PRId64, c->filters);
        put_pair(out, "size", c->size, c->size_h);
        if (c->stride != 1 || c->stride_h != 1)
            put_pair(out, "stride", c->stride, c->stride_h);
        if (c->pad != 0 || c->pad_h != 0)
            put_pair(out, "pad", c->pad, c->pad_h);
        if (c->groups != 1)
            fprintf(out, " groups=%" PRId64, c->groups);
        if (c->dilation != 1 || c->dilation_h != 1)
            put_pair(out, "dilation", c->dilation, c->dilation_h);
        if (!c->bias)
            fputs(" bias=false", out);
        put_round(out, c->round, network);
        put_list(out, "weights", &c->weights);
        put_list(out, "biases", &c->biases);
        break;
    }
    case IR_OP_POOL: {
        const IrPoolAttr *p = &n->attr.pool;
        fprintf(out, "pool %s", p->mode == IR_POOL_MAX ? "max" : "avg");
        if (p->global) {
            fputs(" global", out);
            break;
        }
        put_pair(out, "size", p->size, p->size_h);
        if (p->stride != p->size || p->stride_h != p->size_h)
            put_pair(out, "stride", p->stride, p->stride_h);
        if (p->pad != 0 || p->pad_h != 0)
            put_pair(out, "pad", p->pad, p->pad_h);
        put_round(out, p->round, network);
        break;
    }
    case IR_OP_FC: {
        const IrFcAttr *f = &n->attr.fc;
        fprintf(out, "fc %" PRId64, f->outputs);
        if (!f->bias)
            fputs(" bias=false", out);
        put_list(out, "weights", &f->weights);
        put_list(out, "biases", &f->biases);
        break;
    }
    case IR_OP_DROPOUT:
        fputs("dropout", out);
        if (n->attr.dropout.p != 0.5)
            fprintf(out, " p=%s", fmt_double(buf, sizeof buf, n->attr.dropout.p));
        break;
    case IR_OP_BATCHNORM:
        fputs("batchnorm", out);
        if (n->attr.batchnorm.eps != 1e-5)
            fprintf(out, " eps=%s", fmt_double(buf, sizeof buf, n->attr.batchnorm.eps));
        break;
    case IR_OP_LEAKYRELU:
        fputs("leakyrelu", out);
        if (n->attr.leakyrelu.slope != 0.01)
            fprintf(out, " slope=%s", fmt_double(buf, sizeof buf, n->attr.leakyrelu.slope));
        break;
    case IR_OP_ADD:
    case IR_OP_CONCAT:
        fputs(ir_op_word(n->op), out);
        for (uint32_t k = 0; k < n->ninputs; k++) {
            fputc(' ', out);
            put_name(out, g->nodes[n->inputs[k]].name);
        }
        return;
    default:
        fputs(ir_op_word(n->op), out);
        break;
    }
    /* A one-input layer reads the layer before it unless it says otherwise. */
    if (n->ninputs == 1 && (size_t)n->inputs[0] + 1 != i) {
        fputs(" from=", out);
        put_name(out, g->nodes[n->inputs[0]].name);
    }
}

void ir_cnn_write(const IrGraph *g, const char *header, FILE *out)
{
    IR_ASSERT(g->shaped);
    if (header)
        fputs(header, out);
    IrRound network = network_round(g);
    fprintf(out, "network %s", g->name);
    if (network != IR_ROUND_EXACT)
        fprintf(out, " round=%s", network == IR_ROUND_CEIL ? "ceil" : "floor");
    fputs(" {\n", out);
    int64_t ordinal[IR_OP_COUNT] = {0};
    for (size_t i = 0; i < g->count; i++) {
        const IrNode *n = &g->nodes[i];
        fputs("    ", out);
        /* A name the front end would give anyway is left out, as a person
         * leaves it out. */
        if (!default_name(n, ++ordinal[n->op])) {
            put_name(out, n->name);
            fputs(": ", out);
        }
        put_layer(out, g, i, network);
        fputc('\n', out);
    }
    fputs("}\n", out);
}
