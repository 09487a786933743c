/* input WxHxD [mean=...] [std=...]: the network's first tensor (SPEC section 1). */
#include <inttypes.h>

#include "ops.h"

static bool check_channels(IrInfer *cx, const IrNode *n, size_t count, SrcSpan at, const char *key)
{
    if (count == 1 || (int64_t)count == n->attr.input.shape.d)
        return true;
    ir_diag_error(cx->diag, at, "%s= needs 1 value or one per channel (%" PRId64 "), got %zu", key,
                  n->attr.input.shape.d, count);
    return false;
}

bool ir_infer_input(IrInfer *cx, IrNode *n, const IrShape *in)
{
    (void)in;
    const IrInputAttr *a = &n->attr.input;
    if (a->mean && !check_channels(cx, n, a->nmean, a->mean_span, "mean"))
        return false;
    if (a->std && !check_channels(cx, n, a->nstd, a->std_span, "std"))
        return false;
    n->out = a->shape;
    return true;
}
