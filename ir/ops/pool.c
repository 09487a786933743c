/* pool max|avg: F x F windows per channel (SPEC sections 1, 2). Shape by the W2
 * rule with D2 = D1; no params; the MAC count is 0 by the SPEC's table. */
#include <inttypes.h>

#include "ops.h"

static bool infer(IrInfer *cx, IrNode *n, const IrShape *in)
{
    const IrPoolAttr *p = &n->attr.pool;
    /* PyTorch's rule: padding may be at most half the window. */
    if (p->pad > p->size / 2) {
        ir_diag_error(cx->diag, n->span,
                      "pool pad=%" PRId64 " is more than half of size=%" PRId64
                      "; pooling allows pad <= size/2 = %" PRId64,
                      p->pad, p->size, p->size / 2);
        return false;
    }
    if (!ir_infer_window(cx, n, *in, p->size, p->stride, p->pad, p->round, &n->out))
        return false;
    n->out.d = in->d;
    return true;
}

static void hyper(const IrNode *n, char *buf, size_t size)
{
    const IrPoolAttr *p = &n->attr.pool;
    snprintf(buf, size, "%s F=%" PRId64 " S=%" PRId64 " P=%" PRId64 "%s%s", p->mode == IR_POOL_MAX ? "max" : "avg",
             p->size, p->stride, p->pad, p->round ? " " : "", p->round ? ir_round_word(p->round) : "");
}

static void json(const IrNode *n, FILE *out)
{
    const IrPoolAttr *p = &n->attr.pool;
    fprintf(out,
            ", \"pool\": \"%s\", \"size\": %" PRId64 ", \"stride\": %" PRId64 ", \"pad\": %" PRId64
            ", \"round\": \"%s\"",
            p->mode == IR_POOL_MAX ? "max" : "avg", p->size, p->stride, p->pad, ir_round_word(p->round));
}

const IrOpDef ir_op_def_pool = {.min_inputs = 1, .max_inputs = 1, .infer = infer, .hyper = hyper, .json = json};
