/* libFuzzer target: model bytes through the ONNX importer, the shape check
 * and every report. A success must come with no errors and a failure with
 * at least one. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "frontend/onnx/onnx.h"
#include "ir/fuse.h"
#include "ir/plan.h"
#include "ir/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile float weight_sum;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    IrArena *a = ir_arena_new();
    IrDiag diag;
    ir_diag_init(&diag, "fuzz.onnx", NULL, 0, sink);
    FeOnnxWeights w;
    IrGraph *g = fe_onnx_compile(a, &diag, (const char *)data, size, "fuzz", &w);
    if (g) {
        ir_graph_fuse(g);
        if (!ir_graph_plan(g))
            abort(); /* a shaped graph always plans */
        if (diag.errors != 0)
            abort();
        ir_report_text(g, sink);
        ir_report_json(g, sink);
        ir_report_dot(g, sink);
        /* Every tensor the importer hands over is whole (ASan reads it). */
        for (size_t k = 0; k < w.count; k++)
            for (int64_t i = 0; i < w.v[k].count; i++)
                weight_sum += w.v[k].data[i];
    } else if (diag.errors == 0) {
        abort(); /* a failure that says nothing */
    }
    ir_arena_free(a);
    return 0;
}
