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

static bool infer(IrInfer *cx, IrNode *n, const IrShape *in)
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

static void hyper(const IrNode *n, char *buf, size_t size)
{
    const IrInputAttr *a = &n->attr.input;
    snprintf(buf, size, "%s", a->mean || a->std ? "normalised" : "");
}

static void json_doubles(FILE *out, const double *v, size_t n)
{
    fputc('[', out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%.9g", i ? ", " : "", v[i]);
    fputc(']', out);
}

static void json(const IrNode *n, FILE *out)
{
    if (n->attr.input.mean) {
        fprintf(out, ", \"mean\": ");
        json_doubles(out, n->attr.input.mean, n->attr.input.nmean);
    }
    if (n->attr.input.std) {
        fprintf(out, ", \"std\": ");
        json_doubles(out, n->attr.input.std, n->attr.input.nstd);
    }
}

const IrOpDef ir_op_def_input = {.min_inputs = 0, .max_inputs = 0, .infer = infer, .hyper = hyper, .json = json};
