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

/* A value of dimension dim ("width" or "height") with the other
 * dimension's beside it, as the layer would write them: "5" for a square
 * layer, "5x3" (width x height) for one that is not. */
static void fmt_pair(char *buf, size_t size, const IrWindow *other, const char *dim, int64_t v, int64_t v_other)
{
    if (!other)
        snprintf(buf, size, "%" PRId64, v);
    else if (dim[0] == 'w')
        snprintf(buf, size, "%" PRId64 "x%" PRId64, v, v_other);
    else
        snprintf(buf, size, "%" PRId64 "x%" PRId64, v_other, v);
}

/* Looks for the nearest pad and the largest smaller stride that make the
 * division exact, so the error can name a fix that works. other is the
 * other dimension's window when the layer is not square, so that the fix
 * is written width x height and leaves that dimension as it was. */
static void suggest_fix(const IrWindow *w, const IrWindow *other, bool is_pool, const char *dim, char *buf,
                        size_t size)
{
    /* Both searches are bounded: a stride of 2^63-1 must not take 2^63 steps. */
    enum { SEARCH_LIMIT = 4096 };
    int64_t best_pad = -1;
    for (int64_t delta = 1; delta <= w->stride && delta <= SEARCH_LIMIT && best_pad < 0; delta++) {
        int64_t cands[2] = {w->pad - delta, w->pad > INT64_MAX - delta ? -1 : w->pad + delta};
        for (int k = 0; k < 2 && best_pad < 0; k++) {
            int64_t p = cands[k];
            if (p < 0 || (is_pool && p > w->size / 2))
                continue;
            IrWindow t = *w;
            t.pad = p;
            t.round = IR_ROUND_EXACT;
            if (ir_window_solve(&t) == IR_WINDOW_OK)
                best_pad = p;
        }
    }
    int64_t best_stride = -1;
    if (w->num > 0 && w->num < w->stride)
        best_stride = w->num; /* the largest divisor of num below S is num itself */
    for (int64_t s = w->stride - 1; best_stride < 0 && s >= 1 && w->stride - s <= SEARCH_LIMIT; s--) {
        if (w->num % s == 0) {
            best_stride = s;
            break;
        }
    }
    char v[48];
    size_t used = 0;
    used += (size_t)snprintf(buf + used, size - used, "try ");
    if (best_pad >= 0) {
        fmt_pair(v, sizeof v, other, dim, best_pad, other ? other->pad : 0);
        used += (size_t)snprintf(buf + used, size - used, "pad=%s (%s %" PRId64 "), ", v, dim,
                                 (w->in - w->span + 2 * best_pad) / w->stride + 1);
    }
    if (best_stride >= 1 && used < size) {
        fmt_pair(v, sizeof v, other, dim, best_stride, other ? other->stride : 0);
        used += (size_t)snprintf(buf + used, size - used, "stride=%s (%s %" PRId64 "), ", v, dim,
                                 w->num / best_stride + 1);
    }
    if (used < size)
        snprintf(buf + used, size - used,
                 "or round=floor to drop the last partial window as PyTorch does (%s %" PRId64 ")",
                 dim, w->num / w->stride + 1);
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

static bool solve_dim(IrInfer *cx, const IrNode *n, IrWindow *w, const IrWindow *other, const char *dim)
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
        return false;
    case IR_WINDOW_NOT_WHOLE: {
        char value[64], fix[320];
        fmt_ratio(value, sizeof value, w->num, w->stride);
        fmt_span(span, sizeof span, w);
        suggest_fix(w, other, is_pool, dim, fix, sizeof fix);
        ir_diag_error(cx->diag, n->span,
                      "%s (%" PRId64 " - %s + 2*%" PRId64 ")/%" PRId64 " + 1 = %s is not a whole number; %s",
                      dim, w->in, span, w->pad, w->stride, value, fix);
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
    if (!solve_dim(cx, n, &across, square ? NULL : &down, "width"))
        return false;
    if (!solve_dim(cx, n, &down, square ? NULL : &across, "height"))
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

bool ir_graph_infer(IrGraph *g, IrDiag *diag)
{
    IrInfer cx = {.g = g, .diag = diag};
    int64_t params = 0, macs = 0, floats = 0;
    g->shaped = false;
    for (size_t i = 0; i < g->count; i++) {
        IrNode *n = &g->nodes[i];
        /* The inputs' shapes side by side, for the op's rule. */
        IrShape one, *in = n->ninputs > 1 ? ir_arena_alloc(g->arena, n->ninputs, sizeof *in) : &one;
        for (uint32_t k = 0; k < n->ninputs; k++)
            in[k] = g->nodes[n->inputs[k]].out;
        n->params = n->macs = 0;
        if (!ir_op_defs[n->op]->infer(&cx, n, n->ninputs ? in : NULL))
            return false;
        /* Activation memory W2*H2*D2*4 bytes must itself be a 64-bit number. */
        int64_t bytes = ir_shape_elems(n->out);
        if (bytes < 0 || __builtin_mul_overflow(bytes, 4, &bytes)) {
            ir_diag_error(diag, n->span,
                          "output %" PRId64 "x%" PRId64 "x%" PRId64 " of layer '%s' is too large: "
                          "its size in bytes overflows 64 bits",
                          n->out.w, n->out.h, n->out.d, n->name);
            return false;
        }
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
