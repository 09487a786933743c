/* Shape inference over the graph in topological order: dispatches to the per-op
 * rules of ops/ and adds up the totals the reports show (SPEC sections 2, 3). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ops/ops.h"
#include "window.h"

const char *ir_round_word(IrRound r)
{
    return r == IR_ROUND_FLOOR ? "floor" : r == IR_ROUND_CEIL ? "ceil" : "exact";
}

const char *ir_pair_text(char *buf, size_t size, int64_t across, int64_t down)
{
    if (across == down)
        snprintf(buf, size, "%" PRId64, across);
    else
        snprintf(buf, size, "%" PRId64 "x%" PRId64, across, down);
    return buf;
}

const char *ir_pair_json(char *buf, size_t size, int64_t across, int64_t down)
{
    if (across == down)
        snprintf(buf, size, "%" PRId64, across);
    else
        snprintf(buf, size, "[%" PRId64 ", %" PRId64 "]", across, down);
    return buf;
}

bool ir_mul_checked(IrInfer *cx, const IrNode *n, int64_t *acc, int64_t factor, const char *what)
{
    if (__builtin_mul_overflow(*acc, factor, acc)) {
        ir_diag_error(cx->diag, n->span, "%s of layer '%s' overflows 64 bits", what, n->name);
        return false;
    }
    return true;
}

bool ir_add_checked(IrInfer *cx, const IrNode *n, int64_t *acc, int64_t v, const char *what)
{
    if (__builtin_add_overflow(*acc, v, acc)) {
        ir_diag_error(cx->diag, n->span, "%s overflows 64 bits at layer '%s'", what, n->name);
        return false;
    }
    return true;
}

bool ir_check_inline(IrInfer *cx, const IrNode *n, const IrParamList *list, int64_t expected,
                     const char *what, const char *formula)
{
    if (!list->given || (uint64_t)expected == list->count)
        return true;
    ir_diag_error(cx->diag, list->span, "layer '%s' needs %" PRId64 " %s (%s), the list has %zu",
                  n->name, expected, what, formula, list->count);
    return false;
}

/* num/den + 1 for a division that is not exact, as a short decimal (12.5,
 * 8.67), or as a whole part and a fraction (1 + 23/5000) when two decimals
 * would round it to a whole number and hide the problem. */
static void fmt_ratio(char *buf, size_t size, int64_t num, int64_t den)
{
    int64_t whole = num / den + 1, rem = num % den;
    double v = (double)num / (double)den + 1.0;
    snprintf(buf, size, "%.2f", v);
    char *end = buf + strlen(buf) - 1;
    while (*end == '0')
        *end-- = '\0';
    if (*end == '.')
        snprintf(buf, size, "%" PRId64 " + %" PRId64 "/%" PRId64, whole, rem, den);
}

/* Both searches below are bounded: a stride of 2^63-1 must not take 2^63
 * steps. */
enum { SEARCH_LIMIT = 4096 };

/* w with pad p and stride s solved exactly: its W2, or -1 when the
 * division is not whole (or p is not a pad the layer may take: a pool's is
 * at most half its window). */
static int64_t exact_out(const IrWindow *w, int64_t p, int64_t s, bool is_pool)
{
    if (p < 0 || s < 1 || (is_pool && p > w->size / 2))
        return -1;
    IrWindow t = *w;
    t.pad = p;
    t.stride = s;
    t.round = IR_ROUND_EXACT;
    return ir_window_solve(&t) == IR_WINDOW_OK ? t.out : -1;
}

/* The pad nearest w's own (the smaller of two as near) that makes w whole,
 * and with both set, other too; -1 when there is none near. */
static int64_t nearest_pad(const IrWindow *w, const IrWindow *other, bool is_pool)
{
    int64_t reach = w->stride;
    if (other && (other->stride > SEARCH_LIMIT || __builtin_mul_overflow(reach, other->stride, &reach)))
        reach = SEARCH_LIMIT;
    for (int64_t delta = 0; delta <= reach && delta <= SEARCH_LIMIT; delta++) {
        int64_t cands[2] = {w->pad - delta, w->pad > INT64_MAX - delta ? -1 : w->pad + delta};
        for (int k = 0; k < (delta ? 2 : 1); k++)
            if (exact_out(w, cands[k], w->stride, is_pool) >= 0 &&
                (!other || exact_out(other, cands[k], other->stride, is_pool) >= 0))
                return cands[k];
    }
    return -1;
}

/* The largest stride up to w's own that makes w whole, and with both set,
 * other too; -1 when there is none near. */
static int64_t nearest_stride(const IrWindow *w, const IrWindow *other, bool is_pool)
{
    IrWindow t = *w;
    t.round = IR_ROUND_EXACT;
    (void)ir_window_solve(&t); /* for num, W1 - F + 2P */
    /* The largest divisor of num below S is num itself. */
    if (t.num > 0 && t.num < w->stride && (!other || exact_out(other, other->pad, t.num, is_pool) >= 0))
        return t.num;
    for (int64_t s = w->stride; s >= 1 && w->stride - s <= SEARCH_LIMIT; s--)
        if (exact_out(w, w->pad, s, is_pool) >= 0 && (!other || exact_out(other, other->pad, s, is_pool) >= 0))
            return s;
    return -1;
}

/* One fix, as the layer would write it (one number when it serves both
 * dimensions of a square layer, width x height otherwise), with the W2 and
 * H2 it gives; the one that changes is named, both when both do. */
static size_t fmt_fix(char *buf, size_t size, const char *key, const IrWindow *other, const char *dim, int64_t v,
                      int64_t v_other, int64_t out, int64_t out_other)
{
    bool across = dim[0] == 'w';
    char value[48], outs[96];
    if (v == v_other)
        snprintf(value, sizeof value, "%" PRId64, v);
    else
        snprintf(value, sizeof value, "%" PRId64 "x%" PRId64, across ? v : v_other, across ? v_other : v);
    if (out_other == other->out)
        snprintf(outs, sizeof outs, "%s %" PRId64, dim, out);
    else if (out == out_other)
        snprintf(outs, sizeof outs, "width and height %" PRId64, out);
    else
        snprintf(outs, sizeof outs, "width %" PRId64 ", height %" PRId64, across ? out : out_other,
                 across ? out_other : out);
    int n = snprintf(buf, size, "%s=%s (%s), ", key, value, outs);
    return n < 0 ? 0 : (size_t)n;
}

/* Looks for the nearest pad and the largest smaller stride that make the
 * whole layer's division exact, so the error can name a fix that works:
 * other is the other dimension's window, square whether the layer writes
 * one number for both. A square layer's fix is one number when one serves
 * both dimensions; otherwise it is written width x height, the other
 * dimension given what it needs (what it has, when that works). */
static void suggest_fix(const IrWindow *w, const IrWindow *other, bool square, bool is_pool, const char *dim,
                        char *buf, size_t size)
{
    /* The other dimension as it is: W2 for comparing, and num. */
    IrWindow o = *other;
    o.round = IR_ROUND_EXACT;
    if (ir_window_solve(&o) != IR_WINDOW_OK)
        o.out = -1;
    size_t used = (size_t)snprintf(buf, size, "try ");
    int64_t p = square ? nearest_pad(w, other, is_pool) : -1, po = p;
    if (p < 0) {
        p = nearest_pad(w, NULL, is_pool);
        po = nearest_pad(other, NULL, is_pool);
    }
    if (p >= 0 && po >= 0 && used < size)
        used += fmt_fix(buf + used, size - used, "pad", &o, dim, p, po, exact_out(w, p, w->stride, is_pool),
                        exact_out(other, po, other->stride, is_pool));
    int64_t s = square ? nearest_stride(w, other, is_pool) : -1, so = s;
    if (s < 0) {
        s = nearest_stride(w, NULL, is_pool);
        so = nearest_stride(other, NULL, is_pool);
    }
    if (s >= 1 && so >= 1 && used < size)
        used += fmt_fix(buf + used, size - used, "stride", &o, dim, s, so, exact_out(w, w->pad, s, is_pool),
                        exact_out(other, other->pad, so, is_pool));
    if (used < size) {
        /* round=floor serves both dimensions; the other changes only if it
         * was not whole either. */
        IrWindow fw = *w, fo = *other;
        fw.round = fo.round = IR_ROUND_FLOOR;
        (void)ir_window_solve(&fw);
        (void)ir_window_solve(&fo);
        char outs[96];
        if (fo.out == o.out)
            snprintf(outs, sizeof outs, "%s %" PRId64, dim, fw.out);
        else if (fo.out == fw.out)
            snprintf(outs, sizeof outs, "width and height %" PRId64, fw.out);
        else
            snprintf(outs, sizeof outs, "width %" PRId64 ", height %" PRId64, dim[0] == 'w' ? fw.out : fo.out,
                     dim[0] == 'w' ? fo.out : fw.out);
        snprintf(buf + used, size - used, "or round=floor to drop the last partial window as PyTorch does (%s)", outs);
    }
}

/* The window's size as the W2 rule takes it: F, or for a dilated window
 * the span's arithmetic, "(2*(3-1)+1)". */
static void fmt_span(char *buf, size_t size, const IrWindow *w)
{
    if (w->dilation == 1)
        snprintf(buf, size, "%" PRId64, w->size);
    else
        snprintf(buf, size, "(%" PRId64 "*(%" PRId64 "-1)+1)", w->dilation, w->size);
}

/* After a window error: an input written in PyTorch's C x H x W order
 * (1x28x28, 3x224x224) reads as 1 or 3 pixels wide here, and no window
 * fits. Says so at the input line, with the shape as cnnc writes it. */
static void chw_note(IrInfer *cx)
{
    const IrNode *in = &cx->g->nodes[0];
    if (in->op != IR_OP_INPUT || in->out.w > 4 || in->out.h < 8 || in->out.d < 8)
        return;
    ir_diag_note(cx->diag, in->span,
                 "the input is %" PRId64 "x%" PRId64 "x%" PRId64 ", width x height x depth: %" PRId64
                 " pixel%s wide and %" PRId64 " channels deep; if that is PyTorch's C x H x W, write 'input %" PRId64
                 "x%" PRId64 "x%" PRId64 "'",
                 in->out.w, in->out.h, in->out.d, in->out.w, in->out.w == 1 ? "" : "s", in->out.d, in->out.d,
                 in->out.h, in->out.w);
}

static bool solve_dim(IrInfer *cx, const IrNode *n, IrWindow *w, const IrWindow *other, bool square,
                      const char *dim)
{
    bool is_pool = n->op == IR_OP_POOL;
    char span[96];
    switch (ir_window_solve(w)) {
    case IR_WINDOW_OK:
        return true;
    case IR_WINDOW_OVERFLOW:
        if (w->dilation > 1 && (__builtin_mul_overflow(w->dilation, w->size - 1, &w->span) ||
                                __builtin_add_overflow(w->span, 1, &w->span)))
            ir_diag_error(cx->diag, n->span, "%s window %" PRId64 "*(%" PRId64 "-1)+1 overflows 64 bits", dim,
                          w->dilation, w->size);
        else
            ir_diag_error(cx->diag, n->span, "%s %" PRId64 " + 2*%" PRId64 " overflows 64 bits", dim, w->in,
                          w->pad);
        return false;
    case IR_WINDOW_TOO_BIG:
        if (w->dilation > 1)
            ir_diag_error(cx->diag, n->span,
                          "filter %s size=%" PRId64 " with dilation=%" PRId64 " spans %" PRId64 "*(%" PRId64
                          "-1)+1 = %" PRId64 " and does not fit: the padded %s is only %" PRId64 " + 2*%" PRId64
                          " = %" PRId64,
                          dim, w->size, w->dilation, w->dilation, w->size, w->span, dim, w->in, w->pad,
                          w->in + 2 * w->pad);
        else
            ir_diag_error(cx->diag, n->span,
                          "%s window size=%" PRId64 " does not fit: the padded %s is only %" PRId64
                          " + 2*%" PRId64 " = %" PRId64,
                          is_pool ? "pooling" : "filter", w->size, dim, w->in, w->pad, w->in + 2 * w->pad);
        chw_note(cx);
        return false;
    case IR_WINDOW_NOT_WHOLE: {
        /* A fix names up to 2 x 3 numbers of 19 digits in 330 bytes of text. */
        char value[64], fix[512];
        fmt_ratio(value, sizeof value, w->num, w->stride);
        fmt_span(span, sizeof span, w);
        suggest_fix(w, other, square, is_pool, dim, fix, sizeof fix);
        ir_diag_error(cx->diag, n->span,
                      "%s (%" PRId64 " - %s + 2*%" PRId64 ")/%" PRId64 " + 1 = %s is not a whole number; %s",
                      dim, w->in, span, w->pad, w->stride, value, fix);
        chw_note(cx);
        return false;
    }
    }
    return false;
}

bool ir_infer_window(IrInfer *cx, const IrNode *n, IrShape in, IrWindow across, IrWindow down, IrShape *out)
{
    across.in = in.w;
    down.in = in.h;
    bool square = across.size == down.size && across.stride == down.stride && across.pad == down.pad &&
                  across.dilation == down.dilation;
    if (!solve_dim(cx, n, &across, &down, square, "width"))
        return false;
    if (!solve_dim(cx, n, &down, &across, square, "height"))
        return false;
    out->w = across.out;
    out->h = down.out;
    return true;
}


/* Floats the node reads from its weights: every tensor its op lists
 * (IrOpDef.params), so a batchnorm's running statistics count although they
 * are not parameters (SPEC section 8, weights_bytes). */
static bool tensor_floats(IrInfer *cx, const IrNode *n, int64_t *floats)
{
    const IrOpDef *def = ir_op_defs[n->op];
    IrParamSpec specs[IR_ROLE_COUNT];
    int ns = def->params ? def->params(cx->g, n, specs) : 0;
    *floats = 0;
    for (int s = 0; s < ns; s++) {
        int64_t count = 1;
        for (int32_t k = 0; k < specs[s].rank; k++)
            if (!ir_mul_checked(cx, n, &count, specs[s].shape[k], "the weight count"))
                return false;
        if (!ir_add_checked(cx, n, floats, count, "the weight count"))
            return false;
    }
    return true;
}

/* The shape, params and MACs of one node whose inputs are shaped. */
static bool infer_node(IrInfer *cx, IrNode *n)
{
    IrGraph *g = cx->g;
    /* The inputs' shapes side by side, for the op's rule. */
    IrShape one, *in = n->ninputs > 1 ? ir_arena_alloc(g->arena, n->ninputs, sizeof *in) : &one;
    for (uint32_t k = 0; k < n->ninputs; k++)
        in[k] = g->nodes[n->inputs[k]].out;
    n->params = n->macs = 0;
    if (!ir_op_defs[n->op]->infer(cx, n, n->ninputs ? in : NULL))
        return false;
    /* Activation memory W2*H2*D2*4 bytes must itself be a 64-bit number. */
    int64_t bytes = ir_shape_elems(n->out);
    if (bytes < 0 || __builtin_mul_overflow(bytes, 4, &bytes)) {
        ir_diag_error(cx->diag, n->span,
                      "output %" PRId64 "x%" PRId64 "x%" PRId64 " of layer '%s' is too large: "
                      "its size in bytes overflows 64 bits",
                      n->out.w, n->out.h, n->out.d, n->name);
        return false;
    }
    return true;
}

bool ir_graph_infer_from(IrGraph *g, size_t first, IrDiag *diag)
{
    IrInfer cx = {.g = g, .diag = diag};
    g->shaped = false;
    for (size_t i = first; i < g->count; i++)
        if (!infer_node(&cx, &g->nodes[i]))
            return false;
    return true;
}

bool ir_graph_infer(IrGraph *g, IrDiag *diag)
{
    if (!ir_graph_infer_from(g, 0, diag))
        return false;
    IrInfer cx = {.g = g, .diag = diag};
    int64_t params = 0, macs = 0, floats = 0;
    for (size_t i = 0; i < g->count; i++) {
        const IrNode *n = &g->nodes[i];
        int64_t read;
        if (!ir_add_checked(&cx, n, &params, n->params, "the network's parameter count") ||
            !ir_add_checked(&cx, n, &macs, n->macs, "the network's MAC count") || !tensor_floats(&cx, n, &read) ||
            !ir_add_checked(&cx, n, &floats, read, "the network's weight count"))
            return false;
    }
    if (__builtin_mul_overflow(floats, 4, &g->weights_bytes)) {
        ir_diag_error(diag, g->name_span, "the network's weights overflow 64 bits of bytes");
        return false;
    }
    g->total_params = params;
    g->total_macs = macs;
    g->shaped = true;
    return true;
}
