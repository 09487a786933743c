/* libFuzzer target: source text through parse, shape check and every report.
 * A success must come with no errors and a failure with at least one. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "frontend/frontend.h"
#include "ir/fuse.h"
#include "ir/plan.h"
#include "ir/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    IrArena *a = ir_arena_new();
    IrDiag diag;
    ir_diag_init(&diag, "fuzz.cnn", (const char *)data, size, sink);
    IrGraph *g = fe_compile(a, &diag, (const char *)data, size);
    if (g) {
        ir_graph_fuse(g);
        if (!ir_graph_plan(g))
            abort(); /* a shaped graph always plans */
    }
    if (g) {
        if (diag.errors != 0)
            abort();
        ir_report_text(g, sink);
        ir_report_json(g, sink);
        ir_report_dot(g, sink);
    } else if (diag.errors == 0) {
        abort(); /* a failure that says nothing */
    }
    ir_arena_free(a);
    return 0;
}
