/* pool max|avg: F x F windows per channel (SPEC sections 1, 2). Shape by the W2
 * rule with D2 = D1; no params; the MAC count is 0 by the SPEC's table. */
#include <inttypes.h>

#include "ops.h"

bool ir_infer_pool(IrInfer *cx, IrNode *n, const IrShape *in)
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
