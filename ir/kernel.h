/* Kernel choices: which kernel runs each conv, how its weights are packed
 * and how the buffers between convs are laid out, decided once, by the
 * plan (ir/plan.c), from the graph and the machine the code is for
 * (g->machine). Code generation lowers what is recorded in each node
 * (kernel, pack, wino_m, blk) and the report prints it; neither asks the
 * questions again. The kernels themselves are codegen/ops/conv.c and
 * winograd.c. */
#ifndef CNNC_IR_KERNEL_H
#define CNNC_IR_KERNEL_H

#include "ir.h"

/* The report's word for a kernel ("naive", "columns", "filters",
 * "winograd", "grouped"); NULL for IR_KERNEL_NONE. */
const char *ir_kernel_word(IrKernel k);

/* Sets every node's kernel, pack, wino_m and blk. conv_reader[i] and
 * frame[i] are what the plan will give node i as its conv_reader and
 * out_pad (ir/plan.c works them out before placing any buffer, since a
 * conv's choice depends on its input's frame and its output's reader). */
void ir_kernels_choose(IrGraph *g, const int32_t *conv_reader, const int64_t *frame);

/* The bytes a fused max pool's rows take on the stack for a block of kb
 * filters of a conv whose output rows are conv_w wide (codegen/ops/conv.c):
 * F conv rows, and F rows of their maxima across. The fast kernels take a
 * pool only up to IR_POOL_ROWS_MAX of them. */
#define IR_POOL_ROWS_MAX (256 * 1024)
int64_t ir_pool_rows_bytes(const IrNode *pool, int64_t kb, int64_t conv_w);

/* Winograd F(m x m, F x F) (codegen/ops/winograd.c; Lavin and Gray) for a
 * plain conv of stride 1 with at most its map-keeping padding, on a machine
 * with vectors of 8 floats or more at -O1 and up (an input not planned with
 * that frame is first copied with its padding into the scratch, after the
 * tiles and staged rows): each m x m output tile comes from a 6x6 input tile
 * with 36 multiplies a channel and filter, against m^2 F^2 directly: F(4x4,
 * 3x3) for 3x3 convs (144), F(2x2, 5x5) for 5x5 ones (100). Filters must
 * come in blocks of 16 (any target's vector width), and channels too, or be
 * fewer (transformed 8 at a time, D1' rounding them up to 8) with at least
 * 32 taps a filter, as the filter-vector kernel wants; a fused max pool
 * must be 2x2 of stride 2 inside the map (an m x m tile pools to m/2 x
 * m/2). Its input tiles, transformed, are kept for blocks of tile rows in
 * the conv's scratch: 36 x tiles x D1' floats. */
#define IR_WINO_ALPHA 6 /* the input tile, m + F - 1 */
/* The tile rows of a block (0 unless node i runs as Winograd). */
int64_t ir_wino_rows(const IrGraph *g, size_t i);
/* The channels a transformed tile keeps: D1, or under 16 rounded up to 8. */
int64_t ir_wino_channels(const IrGraph *g, size_t i);
/* The bytes of those transformed tiles, 64-byte aligned; after them in the
 * scratch, room for a block's input rows, (rows x m + F - 1) x (W1 + 2P) x D1'
 * floats, where an input not in channel blocks is staged in them. */
int64_t ir_wino_tile_bytes(const IrGraph *g, size_t i);
/* The bytes of those staged rows, 64-byte aligned, and where the padded
 * copy of an input without its frame starts: after both. */
int64_t ir_wino_stage_bytes(const IrGraph *g, size_t i);
int64_t ir_wino_copy_offset(const IrGraph *g, size_t i);

#endif
