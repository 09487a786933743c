/* The shaped graph written back as .cnn source (cnnc --emit=cnn, SPEC
 * section 10): one layer a line in the language of sections 1 and 9, so that
 * reading the text builds this same graph again. */
#ifndef CNNC_IR_CNN_H
#define CNNC_IR_CNN_H

#include <stdbool.h>
#include <stdio.h>

#include "ir.h"

/* Reports, at the node, each thing in g that the language cannot write
 * exactly (a name with '"' or a newline, a value past float32); true when
 * there is none. */
__attribute__((warn_unused_result)) bool ir_cnn_check(const IrGraph *g, IrDiag *diag);

/* Writes g, checked by ir_cnn_check, to out: header (comment lines, each
 * ending in a newline; NULL for none) first. Parameters written inline in
 * the source stay inline; the others are named <layer>.<role> as usual. */
void ir_cnn_write(const IrGraph *g, const char *header, FILE *out);

#endif
