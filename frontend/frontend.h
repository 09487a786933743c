/* The front end's public API: .cnn source text in, a shape-checked IR graph out,
 * every problem reported to the diagnostics sink (SPEC sections 1, 2, 7). */
#ifndef CNNC_FRONTEND_FRONTEND_H
#define CNNC_FRONTEND_FRONTEND_H

#include <stddef.h>

#include "ir/ir.h"

typedef struct AstNetwork AstNetwork;

/* Syntax only: the AST, or NULL when the file has no usable network header. */
AstNetwork *fe_parse(IrArena *a, IrDiag *diag, const char *src, size_t len);
/* Names, kinds, keys and values: the IR graph, or NULL after reporting errors. */
IrGraph *fe_build(IrArena *a, IrDiag *diag, const AstNetwork *net);
/* parse, build and ir_graph_infer in one: NULL when any of them found an error. */
IrGraph *fe_compile(IrArena *a, IrDiag *diag, const char *src, size_t len);

#endif
