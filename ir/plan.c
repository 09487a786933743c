/* Memory planning (see plan.h). Each written output is a buffer alive from
 * the step that writes it to the last step that reads it; a fused group's
 * kernel runs at its first node's step, so its output is born there, while
 * its input is still being read, and the two never share memory. Buffers are
 * placed first-fit in one arena among those alive at the same time. A buffer
 * whose last reader has run is dropped from the search for good, since steps
 * only grow: a chain of a million layers keeps two or three in play. */
#include "plan.h"

#include <stdlib.h>

#include "fuse.h"
#include "kernel.h"

typedef struct Live {
    int64_t offset, bytes;
    size_t last;  /* last step that reads it */
    size_t owner; /* the latest node living in it; SIZE_MAX for scratch */
} Live;

size_t ir_plan_step(const IrGraph *g, size_t i)
{
    int32_t grp = g->nodes[i].group;
    return grp >= 0 ? (size_t)grp : i;
}

/* The last step that reads node i's output; i's own step when none does. */
static size_t last_reader(const IrGraph *g, const size_t *last, size_t i)
{
    return last[i] ? last[i] : ir_plan_step(g, i);
}

int64_t ir_round64(int64_t bytes)
{
    return (bytes + 63) / 64 * 64;
}

int64_t ir_framed_bytes(IrShape s, int64_t pad)
{
    int64_t p2, w, h, bytes;
    if (__builtin_mul_overflow(pad, 2, &p2) || __builtin_add_overflow(s.w, p2, &w) ||
        __builtin_add_overflow(s.h, p2, &h) || __builtin_mul_overflow(w, h, &bytes) ||
        __builtin_mul_overflow(bytes, s.d, &bytes) || __builtin_mul_overflow(bytes, 4, &bytes) ||
        bytes > INT64_MAX - 63)
        return -1;
    return ir_round64(bytes);
}

int64_t ir_plan_scratch_bytes(const IrGraph *g, size_t i)
{
    const IrNode *n = &g->nodes[i];
    const IrNode *in = &g->nodes[n->inputs[0]];
    /* Winograd's tiles (at most 4 MiB), its staged input rows, and a
     * padded copy of an input without its frame (ir/kernel.h). */
    if (n->kernel == IR_KERNEL_WINOGRAD)
        return ir_wino_copy_offset(g, i) +
               (in->out_pad == n->attr.conv.pad ? 0 : ir_framed_bytes(in->out, n->attr.conv.pad));
    /* Only the micro-kernels read a padded copy (codegen/ops/conv.c). */
    if ((n->kernel != IR_KERNEL_FILTERS && n->kernel != IR_KERNEL_COLUMNS) || n->attr.conv.pad == 0 ||
        in->out_pad == n->attr.conv.pad)
        return 0;
    return ir_framed_bytes(in->out, n->attr.conv.pad);
}

/* The conv that reads node i's buffer as its input and is its only
 * reader, when a conv kernel or a pool that stands alone writes it
 * (codegen/ops/conv.c and pool.c lay such a buffer out for it); else -1.
 * Dropouts between them see through: each is the only reader of the one
 * before, so it runs in place on the buffer, as the identity, and keeps its
 * frame and layout. */
static int32_t conv_reader(const IrGraph *g, const size_t *readers, const size_t *reader, size_t i)
{
    IrOp writer = g->nodes[ir_plan_step(g, i)].op;
    if (writer != IR_OP_CONV && writer != IR_OP_POOL)
        return -1;
    size_t at = i;
    while (readers[at] == 1 && g->nodes[reader[at]].op == IR_OP_DROPOUT && g->nodes[reader[at]].group < 0)
        at = reader[at];
    if (readers[at] != 1)
        return -1;
    const IrNode *r = &g->nodes[reader[at]];
    /* A frame is one P all round: for a conv padded alike across and down
     * (a depthwise one then reads no edge cell one by one). */
    return r->op == IR_OP_CONV && r->attr.conv.pad == r->attr.conv.pad_h && (size_t)r->inputs[0] == at
               ? (int32_t)reader[at]
               : -1;
}

/* The concat that reads node i's buffer as its k-th input and nothing else
 * reads, so that i can write its output straight into its slice of the
 * concat's buffer (the concat then copies nothing); -1 otherwise. Not when
 * i is the network's input or appears twice in the concat, nor when the
 * concat's buffer is the caller's output (the last node). */
static int32_t concat_reader(const IrGraph *g, const size_t *readers, const size_t *reader, const bool *into_output,
                             size_t i)
{
    if (i == 0 || readers[i] != 1)
        return -1;
    const IrNode *c = &g->nodes[reader[i]];
    if (c->op != IR_OP_CONCAT || into_output[reader[i]])
        return -1;
    uint32_t uses = 0;
    for (uint32_t k = 0; k < c->ninputs; k++)
        uses += (size_t)c->inputs[k] == i;
    return uses == 1 ? (int32_t)reader[i] : -1;
}

int64_t ir_concat_offset(const IrGraph *g, size_t concat, size_t i)
{
    const IrNode *c = &g->nodes[concat];
    int64_t at = 0;
    for (uint32_t k = 0; k < c->ninputs && (size_t)c->inputs[k] != i; k++)
        at += ir_shape_elems(g->nodes[c->inputs[k]].out) * 4;
    return at;
}

/* Drops the buffers whose last reader ran before step; returns how many are
 * left. slot[] follows the entries that move. */
static size_t expire(Live *live, size_t nlive, size_t *slot, size_t step)
{
    for (size_t k = 0; k < nlive;) {
        if (live[k].last < step) {
            if (live[k].owner != SIZE_MAX)
                slot[live[k].owner] = SIZE_MAX;
            live[k] = live[--nlive];
            if (k < nlive && live[k].owner != SIZE_MAX)
                slot[live[k].owner] = k;
        } else {
            k++;
        }
    }
    return nlive;
}

/* Appends b, growing the array; returns it (it may move). */
static Live *push_live(Live *live, size_t *nlive, size_t *cap, Live b)
{
    if (*nlive == *cap) {
        *cap *= 2;
        live = realloc(live, *cap * sizeof *live);
        IR_ASSERT(live);
    }
    live[(*nlive)++] = b;
    return live;
}

/* First fit: the lowest offset clear of every live buffer. A linear scan
 * repeated until nothing moves: few buffers are live at once. */
static int64_t first_fit(const Live *live, size_t nlive, int64_t bytes)
{
    int64_t at = 0;
    for (bool moved = true; moved;) {
        moved = false;
        for (size_t k = 0; k < nlive; k++) {
            if (at < live[k].offset + live[k].bytes && live[k].offset < at + bytes) {
                at = live[k].offset + live[k].bytes;
                moved = true;
            }
        }
    }
    return at;
}

bool ir_graph_plan(IrGraph *g)
{
    IR_ASSERT(g->shaped && g->count > 0);
    size_t n = g->count;
    size_t *last = calloc(n, sizeof *last), *readers = calloc(n, sizeof *readers), *reader = calloc(n, sizeof *reader);
    size_t cap = 16, nlive = 0;
    Live *live = malloc(cap * sizeof *live);
    IR_ASSERT(last && readers && reader && live);
    for (size_t j = 0; j < n; j++) {
        for (uint32_t t = 0; t < g->nodes[j].ninputs; t++) {
            size_t i = (size_t)g->nodes[j].inputs[t];
            last[i] = ir_plan_step(g, j);
            readers[i]++;
            reader[i] = j;
        }
    }
    /* The last node's own output is the caller's buffer; when it is an
     * in-place op (softmax after fc, say), the node it overwrites can write
     * straight into the caller's output too, and so on up the chain. */
    bool *into_output = calloc(n, sizeof *into_output);
    IR_ASSERT(into_output);
    for (size_t j = n - 1; j > 0;) {
        into_output[j] = true;
        const IrNode *nd = &g->nodes[j];
        size_t from = nd->ninputs == 1 ? (size_t)nd->inputs[0] : 0;
        if (!ir_op_defs[nd->op]->in_place || nd->group >= 0 || from == 0 || readers[from] != 1)
            break;
        j = from;
    }
    /* Each buffer's conv reader and frame, known before any is placed: the
     * kernel choices (ir/kernel.h) read them, and the placement below
     * gives each node the same. A node that will run in place over its
     * input (a dropout between two convs) shares its input's. */
    int32_t *creader = malloc(n * sizeof *creader);
    int64_t *frame = malloc(n * sizeof *frame);
    IR_ASSERT(creader && frame);
    for (size_t i = 0; i < n; i++) {
        const IrNode *nd = &g->nodes[i];
        size_t from = nd->ninputs == 1 ? (size_t)nd->inputs[0] : 0;
        if (from > 0 && ir_op_defs[nd->op]->in_place && nd->group < 0 && readers[from] == 1 && !into_output[i]) {
            creader[i] = creader[from];
            frame[i] = frame[from];
        } else {
            creader[i] = i == 0 ? -1 : conv_reader(g, readers, reader, i);
            frame[i] = creader[i] >= 0 ? g->nodes[creader[i]].attr.conv.pad : 0;
        }
    }
    ir_kernels_choose(g, creader, frame);
    /* Where a node's buffer was placed, to extend its life when a node
     * writes over it in place: index into live[], or SIZE_MAX. */
    size_t *slot = malloc(n * sizeof *slot);
    /* A concat's buffer, placed early when its first input is written into
     * its slice (concat_reader); -1 until then. */
    int64_t *cat_at = malloc(n * sizeof *cat_at);
    IR_ASSERT(slot && cat_at);
    for (size_t i = 0; i < n; i++)
        cat_at[i] = -1;
    int64_t arena = 0;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        IrNode *nd = &g->nodes[i];
        slot[i] = SIZE_MAX;
        nd->conv_reader = -1;
        if (i == 0) {
            nd->buffer = IR_BUF_INPUT;
            continue;
        }
        /* A kernel's scratch lives while its step runs, beside its input
         * and its output (placed later, at the same step). */
        nd->scratch = -1;
        nd->out_pad = 0;
        for (uint32_t k = 0; k < nd->ninputs; k++) /* as the kernel choices assumed */
            IR_ASSERT(g->nodes[nd->inputs[k]].out_pad == frame[nd->inputs[k]]);
        int64_t scratch = ir_plan_scratch_bytes(g, i);
        if (scratch > 0) { /* < 0: too big to exist; the kernel does without */
            size_t step = ir_plan_step(g, i);
            nlive = expire(live, nlive, slot, step);
            int64_t at = first_fit(live, nlive, scratch);
            live = push_live(live, &nlive, &cap, (Live){at, scratch, step, SIZE_MAX}); /* no node lives in it */
            nd->scratch = at;
            int64_t end;
            if (__builtin_add_overflow(at, scratch, &end)) {
                ok = false;
                break;
            }
            if (end > arena)
                arena = end;
        }
        if (into_output[i] && ir_group_tail(g, i) == i) {
            nd->buffer = IR_BUF_OUTPUT;
            continue;
        }
        if (ir_group_tail(g, i) != i) {
            nd->buffer = IR_BUF_FUSED;
            continue;
        }
        size_t step = ir_plan_step(g, i), until = last_reader(g, last, i);
        /* Drop buffers whose last reader ran before this step. */
        nlive = expire(live, nlive, slot, step);
        size_t from = (size_t)nd->inputs[0];
        if (nd->ninputs == 1 && ir_op_defs[nd->op]->in_place && g->nodes[from].buffer >= 0 && readers[from] == 1 &&
            slot[from] != SIZE_MAX && step == i) {
            nd->buffer = g->nodes[from].buffer;
            nd->out_pad = g->nodes[from].out_pad; /* the same buffer, as the writer laid it out */
            nd->conv_reader = g->nodes[from].conv_reader;
            slot[i] = slot[from];
            live[slot[i]].owner = i;
            if (live[slot[i]].last < until)
                live[slot[i]].last = until;
            continue;
        }
        /* A concat whose first input was written into it already. */
        if (nd->op == IR_OP_CONCAT && cat_at[i] >= 0) {
            nd->buffer = cat_at[i];
            continue;
        }
        /* Into a slice of the concat that reads it: the concat's whole
         * buffer is placed now and lives until the concat's last reader. */
        int32_t cat = concat_reader(g, readers, reader, into_output, i);
        if (cat >= 0) {
            if (cat_at[cat] < 0) {
                int64_t bytes = ir_framed_bytes(g->nodes[cat].out, 0);
                if (bytes < 0) {
                    ok = false;
                    break;
                }
                int64_t at = first_fit(live, nlive, bytes), end;
                slot[cat] = nlive;
                live = push_live(live, &nlive, &cap, (Live){at, bytes, last_reader(g, last, (size_t)cat), (size_t)cat});
                cat_at[cat] = at;
                if (__builtin_add_overflow(at, bytes, &end)) {
                    ok = false;
                    break;
                }
                if (end > arena)
                    arena = end;
            }
            nd->buffer = cat_at[cat] + ir_concat_offset(g, (size_t)cat, i);
            continue;
        }
        /* The frame of zeros (plan.h): the reading conv's padding. */
        nd->conv_reader = creader[i];
        nd->out_pad = frame[i];
        int64_t bytes = ir_framed_bytes(nd->out, nd->out_pad);
        if (bytes < 0) {
            ok = false;
            break;
        }
        int64_t at = first_fit(live, nlive, bytes);
        slot[i] = nlive;
        live = push_live(live, &nlive, &cap, (Live){at, bytes, until, i});
        nd->buffer = at;
        if (__builtin_add_overflow(at, bytes, &at)) {
            ok = false;
            break;
        }
        if (at > arena)
            arena = at;
    }
    free(frame);
    free(creader);
    free(into_output);
    free(cat_at);
    free(slot);
    free(live);
    free(reader);
    free(readers);
    free(last);
    if (!ok)
        return false;
    int64_t in = ir_shape_elems(g->nodes[0].out) * 4, out = ir_shape_elems(g->nodes[n - 1].out) * 4;
    int64_t peak = arena;
    if (__builtin_add_overflow(peak, in, &peak) || (n > 1 && __builtin_add_overflow(peak, out, &peak)))
        return false;
    g->workspace_bytes = arena;
    g->peak_activation_bytes = peak;
    g->planned = true;
    return true;
}
