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
 *     conv's group or a standalone pool and the reader a plain conv
 *     (ir_conv_plain) of padding P; the writer zeroes the frame on every
 *     run, after its values;
 *     channel blocks of the vector width, [D/v][H'][W'][v], when codegen
 *     runs both convs on the filter-vector kernel (codegen/ops/conv.c,
 *     blocked_width: a choice codegen makes, and only these two kernels see
 *     the buffer). The caller's input and output are always [D][H][W].
 * - Scratch. ir_plan_scratch_bytes at the head's scratch offset, for the
 *   head's step only: a zero-padded copy of the input, or Winograd's tiles
 *   and staged rows (ir_wino_m says which convs qualify; codegen may still
 *   run one directly and leave the scratch unused). */
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
 * gets a zero-padded copy of its input, D1 x (H1 + 2P) x (W1 + 2P) floats,
 * so its inner loops never test an edge (codegen/ops/conv.c), unless its
 * input was planned with that frame already (out_pad); a Winograd conv
 * (ir_wino_rows) gets its tiles and staged rows. 0 for others, -1 when the
 * size overflows (the kernel then does without). */
int64_t ir_plan_scratch_bytes(const IrGraph *g, size_t i);

/* Winograd F(m x m, F x F) (codegen/ops/winograd.c) for a conv of stride
 * 1 with at most its map-keeping padding, whose input was planned with
 * that frame: each m x m output tile comes from a 6x6 input tile with 36
 * multiplies a channel and filter, against m^2 F^2 directly: F(4x4, 3x3)
 * for 3x3 convs (144), F(2x2, 5x5) for 5x5 ones (100). ir_wino_m gives m,
 * or 0 for a conv that runs directly. Its input tiles, transformed, are
 * kept for blocks of tile rows in the conv's scratch: 36 x tiles x D1'
 * floats, D1' = ir_wino_channels. ir_wino_rows returns the tile rows of a
 * block (0 when m is 0). Filters must come in blocks of 16 (any target's
 * vector width), and channels too, or be fewer (transformed 8 at a time,
 * D1' rounding them up to 8) with at least 32 taps a filter, as the
 * filter-vector kernel wants (codegen/ops/conv.c, cg_conv_pack); a fused max pool must be 2x2 of stride 2
 * inside the map (an m x m tile pools to m/2 x m/2). None does with
 * g->wino_off, which the driver sets at -O0 and for a --target other than
 * x86 (NEON, SIMD128 and microcontrollers have at most 4 floats a vector):
 * LeNet-5's object for a Cortex-M4 then needs 8,832 bytes of workspace, not
 * 43,904. Otherwise which convs qualify depends on the graph only, so that
 * the report's memory is the same on every x86 CPU; code generation may
 * still run one directly (a CPU of fewer than 8 floats a vector, too few
 * filters for a vector, plain output planes that would crowd L1 sets),
 * leaving its scratch unused. */
#define IR_WINO_ALPHA 6 /* the input tile, m + F - 1 */
int ir_wino_m(const IrGraph *g, size_t i);
int64_t ir_wino_rows(const IrGraph *g, size_t i);
/* The channels a transformed tile keeps: D1, or under 16 rounded up to 8. */
int64_t ir_wino_channels(const IrGraph *g, size_t i);
/* The bytes of those transformed tiles, 64-byte aligned; after them in the
 * scratch, room for a block's input rows, (rows x m + F - 1) x (W1 + 2P) x D1'
 * floats, where an input not in channel blocks is staged in them. */
int64_t ir_wino_tile_bytes(const IrGraph *g, size_t i);

/* The step at which node i's code runs: its group's first node. */
size_t ir_plan_step(const IrGraph *g, size_t i);

#endif
