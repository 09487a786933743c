/* pool max|avg: Fw x Fh windows per channel, or the whole map with global
 * (SPEC sections 1, 2, 9). Shape by the W2 rule in each dimension with D2 =
 * D1; no params; the MAC count is 0 by the SPEC's table. */
#include <inttypes.h>

#include "ops.h"

/* PyTorch's rule, in each dimension: padding may be at most half the window. */
static bool check_pad(IrInfer *cx, const IrNode *n)
{
    const IrPoolAttr *p = &n->attr.pool;
    bool square = ir_pool_square(p);
    for (int k = 0; k < 2; k++) {
        int64_t pad = k ? p->pad_h : p->pad, size = k ? p->size_h : p->size;
        if (pad <= size / 2)
            continue;
        if (square)
            ir_diag_error(cx->diag, n->span,
                          "pool pad=%" PRId64 " is more than half of size=%" PRId64
                          "; pooling allows pad <= size/2 = %" PRId64,
                          pad, size, size / 2);
        else
            ir_diag_error(cx->diag, n->span,
                          "pool %s pad %" PRId64 " is more than half of its size %" PRId64
                          "; pooling allows pad <= size/2 = %" PRId64 " in each dimension",
                          k ? "height" : "width", pad, size, size / 2);
        return false;
    }
    return true;
}

static bool infer(IrInfer *cx, IrNode *n, const IrShape *in)
{
    IrPoolAttr *p = &n->attr.pool;
    if (p->global) {
        /* One window of the whole map, whatever its shape (AdaptiveAvgPool2d(1)). */
        p->size = p->stride = in->w;
        p->size_h = p->stride_h = in->h;
        p->pad = p->pad_h = 0;
    }
    if (!check_pad(cx, n))
        return false;
    IrWindow across = {.size = p->size, .stride = p->stride, .pad = p->pad, .dilation = 1, .round = p->round};
    IrWindow down = {.size = p->size_h, .stride = p->stride_h, .pad = p->pad_h, .dilation = 1, .round = p->round};
    if (!ir_infer_window(cx, n, *in, across, down, &n->out))
        return false;
    n->out.d = in->d;
    return true;
}

static void hyper(const IrNode *n, char *buf, size_t size)
{
    const IrPoolAttr *p = &n->attr.pool;
    const char *mode = p->mode == IR_POOL_MAX ? "max" : "avg";
    char f[48], s[48], pd[48];
    if (p->global) {
        snprintf(buf, size, "%s global F=%" PRId64 "x%" PRId64, mode, p->size, p->size_h);
        return;
    }
    snprintf(buf, size, "%s F=%s S=%s P=%s%s%s", mode, ir_pair_text(f, sizeof f, p->size, p->size_h),
             ir_pair_text(s, sizeof s, p->stride, p->stride_h), ir_pair_text(pd, sizeof pd, p->pad, p->pad_h),
             p->round ? " " : "", p->round ? ir_round_word(p->round) : "");
}

static void json(const IrNode *n, FILE *out)
{
    const IrPoolAttr *p = &n->attr.pool;
    char f[48], s[48], pd[48];
    /* A global pool's window is the map, [W, H] even when square. */
    if (p->global)
        snprintf(f, sizeof f, "[%" PRId64 ", %" PRId64 "]", p->size, p->size_h);
    else
        ir_pair_json(f, sizeof f, p->size, p->size_h);
    fprintf(out, ", \"pool\": \"%s\"%s, \"size\": %s, \"stride\": %s, \"pad\": %s, \"round\": \"%s\"",
            p->mode == IR_POOL_MAX ? "max" : "avg", p->global ? ", \"global\": true" : "", f,
            ir_pair_json(s, sizeof s, p->stride, p->stride_h), ir_pair_json(pd, sizeof pd, p->pad, p->pad_h),
            ir_round_word(p->round));
}

const IrOpDef ir_op_def_pool = {.min_inputs = 1, .max_inputs = 1, .infer = infer, .hyper = hyper, .json = json};
