/* The views of a shape-checked graph that users read: the text table, the JSON
 * object and the Graphviz digraph of SPEC section 3. */
#ifndef CNNC_IR_REPORT_H
#define CNNC_IR_REPORT_H

#include <stdio.h>

#include "ir.h"

void ir_report_text(const IrGraph *g, FILE *out);
void ir_report_json(const IrGraph *g, FILE *out);
void ir_report_dot(const IrGraph *g, FILE *out);

/* The graph in a stable text form, one node a line (cnnc --dump=ir). */
void ir_graph_dump(const IrGraph *g, FILE *out);

/* 1234567 -> "1,234,567"; buf needs 32 bytes. */
const char *ir_fmt_thousands(int64_t v, char *buf);

#endif
