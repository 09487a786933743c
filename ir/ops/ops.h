/* Shared by the per-op shape rules (the files in ops/) and their driver (infer.c); not
 * part of the IR's public API. */
#ifndef CNNC_IR_OPS_H
#define CNNC_IR_OPS_H

#include "../ir.h"

#include "../params.h"
#include "../window.h"

struct IrInfer {
    IrGraph *g;
    IrDiag *diag;
};

/* One definition per op (IrOpDef), in the op's file. */
#define IR_OP(id, word) extern const IrOpDef ir_op_def_##word;
#include "../ops.def"
#undef IR_OP

/* "floor", "ceil" or "exact", for reports. */
const char *ir_round_word(IrRound r);

/* A width and height for the reports: "3" when equal, else "3x1" (width x
 * height, as the source writes it) for the text and [3, 1] for JSON. */
const char *ir_pair_text(char *buf, size_t size, int64_t across, int64_t down);
const char *ir_pair_json(char *buf, size_t size, int64_t across, int64_t down);

/* The W2 rule in both dimensions, with the SPEC's arithmetic in the errors:
 * across and down give F, S, P, R and the rounding; their W1 is in's. */
bool ir_infer_window(IrInfer *cx, const IrNode *n, IrShape in, IrWindow across, IrWindow down, IrShape *out);
/* *acc *= factor, or an overflow error naming what was being computed. */
bool ir_mul_checked(IrInfer *cx, const IrNode *n, int64_t *acc, int64_t factor, const char *what);
/* *acc += v, or an overflow error naming what was being computed. */
bool ir_add_checked(IrInfer *cx, const IrNode *n, int64_t *acc, int64_t v, const char *what);
/* Inline parameters must number exactly expected (formula says how it is made up). */
bool ir_check_inline(IrInfer *cx, const IrNode *n, const IrParamList *list, int64_t expected,
                     const char *what, const char *formula);

#endif
