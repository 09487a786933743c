/* Operator fusion, the pass between shape checking and memory planning: marks
 * groups of nodes that code generation runs as one kernel. */
#ifndef CNNC_IR_FUSE_H
#define CNNC_IR_FUSE_H

#include "ir.h"

/* Marks, in a shaped graph, every conv followed by a batchnorm (folded into
 * it), an add of its output and another layer's (a residual connection),
 * an activation (ir_fusable_act) and/or, without an add, a max pool whose
 * windows do not overlap; and every fc followed by such an activation: each
 * node of a group gets group = the index of its first node. Nodes are kept,
 * so reports and --no-fuse read the same graph; call ir_graph_plan
 * afterwards. A group's kernel reads the head's input and the other input
 * of an add in the group (ir_group_inputs). */
void ir_graph_fuse(IrGraph *g);

/* Whether the conv at node i may take a batchnorm after it into its weights
 * (fuse.c says when not). */
bool ir_fold_batchnorm(const IrGraph *g, size_t i);

/* The first node of op in the group headed by node i (i itself when alone),
 * or -1: a conv kernel asks for its batchnorm and its relu so. */
int64_t ir_group_find(const IrGraph *g, size_t i, IrOp op);

/* Whether n is an activation that conv and fc apply as they make each
 * value: relu, relu6 or leakyrelu. */
bool ir_fusable_act(const IrNode *n);

/* The inputs of the kernel of the group headed by node i, in order: the
 * head's inputs, then each input of a later node of the group that comes
 * from outside it (an add's other operand). Writes up to max indices into
 * out and returns how many there are. */
uint32_t ir_group_inputs(const IrGraph *g, size_t i, int32_t *out, uint32_t max);

/* The last node of the group that node i belongs to (i itself when alone). */
size_t ir_group_tail(const IrGraph *g, size_t i);

/* The name of the kernel that node i heads: its group's names joined by
 * " + " ("conv1 + relu1 + pool1"), or its own name; in g's arena. The
 * report lists fused groups by it and a program's --profile names kernels
 * by it. */
const char *ir_group_label(const IrGraph *g, size_t i);

/* Number of fused groups (of two nodes or more). */
size_t ir_graph_group_count(const IrGraph *g);

#endif
