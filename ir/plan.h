/* Memory planning, after fusion: where each node's output lives for one image,
 * and so the workspace a run needs and the report's peak activation memory --
 * one computation for both (STYLE.md).
 *
 * What the plan promises the kernels (codegen/), in one place:
 *
 * - Where. A kernel (a node on its own, or a fused group: ir/fuse.h) writes
 *   its tail node's buffer and reads ir_group_inputs' buffers, in that
 *   order as its arguments, and its head's scratch. A buffer is a workspace
 *   offset for one image (64-byte aligned, except a concat's slice, which
 *   is 4-byte aligned), or the caller's input or output; IR_BUF_FUSED nodes
 *   have none. Executables that run images in groups or on threads give
 *   each image an arena of its own (codegen/module.c); offsets are within it.
 * - When. A buffer lives from its writer's step (the group's head) to the
 *   step of its last reader; a kernel's output never shares bytes with its
 *   inputs or its scratch, except where it runs in place: an in-place op
 *   (IrOpDef.in_place) on a workspace buffer that nothing else reads, not
 *   inside a group. A concat's inputs may be slices of its own output
 *   (ir_concat_offset); the concat then copies only the others.
 * - Layout. [D][H][W] floats, C order, unless the buffer's only reader is a
 *   conv (conv_reader; dropouts between run in place and see through):
 *     a frame of out_pad zeros, [D][H + 2P][W + 2P], when the writer is a
 *     conv's group or a standalone pool and the reader a conv padded P
 *     across and down (grouped and depthwise ones too); the writer zeroes
 *     the frame on every run, after its values;
 *     channel blocks of the vector width, [D/v][H'][W'][v], when the
 *     plan runs both convs on packed filters (ir/kernel.h: the node's
 *     blk; only these two kernels see the buffer). The caller's input and
 *     output are always [D][H][W].
 * - Scratch. ir_plan_scratch_bytes at the head's scratch offset, for the
 *   head's step only: a zero-padded copy of the input for the micro-kernels,
 *   or Winograd's tiles and staged rows -- for the kernel the plan chose
 *   (ir/kernel.h), which codegen then runs. */
#ifndef CNNC_IR_PLAN_H
#define CNNC_IR_PLAN_H

#include "ir.h"

/* Sets every node's buffer (a 64-byte aligned workspace offset or IR_BUF_*),
 * g->workspace_bytes and g->peak_activation_bytes (input + output +
 * workspace, one image). Buffers are reused once their last reader has run;
 * relu, dropout, flatten and softmax write over their input when it is a
 * workspace buffer no one else reads. Linear in the number of nodes for a
 * chain. A conv kernel whose output's only reader is a conv with padding P
 * (conv_reader; dropouts between them run in place and do not count)
 * writes it with a frame of P zeros (out_pad), and the reader reads the
 * frame instead of copying its input into a padded scratch: VGG-16's copies
 * came to 36 MB an image (from its shapes), written and read back. Returns
 * false when a size overflows 64 bits (not for a shaped graph, whose every
 * activation fits). */
__attribute__((warn_unused_result)) bool ir_graph_plan(IrGraph *g);

/* Bytes from the start of the concat's output to input i's channels. A
 * concat's input whose only reader it is (and that is not the network's
 * input, nor the concat the network's output) is planned at exactly that
 * offset into the concat's buffer, so its writer fills its slice and the
 * concat copies nothing for it: codegen/ops/concat.c compares the two
 * buffers. */
int64_t ir_concat_offset(const IrGraph *g, size_t concat, size_t i);

/* Bytes of scratch node i's kernel needs while it runs: a conv with padding
 * on the micro-kernels gets a zero-padded copy of its input, D1 x (H1 + 2P)
 * x (W1 + 2P) floats, so its inner loops never test an edge
 * (codegen/ops/conv.c), unless its input was planned with that frame
 * already (out_pad); a Winograd conv (ir/kernel.h) gets its tiles and
 * staged rows. 0 for others, -1 when the
 * size overflows (the kernel then does without). */
int64_t ir_plan_scratch_bytes(const IrGraph *g, size_t i);

/* A byte count rounded up to 64, and the bytes of a D x (H + 2P) x (W + 2P)
 * float buffer so rounded; -1 when that overflows. */
int64_t ir_round64(int64_t bytes);
int64_t ir_framed_bytes(IrShape s, int64_t pad);

/* The step at which node i's code runs: its group's first node. */
size_t ir_plan_step(const IrGraph *g, size_t i);

#endif
