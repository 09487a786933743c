/* ONNX ModelProto -> IR graph. protobuf-c decodes the bytes; this walks the
 * nodes in their (required) topological order, keeps every ONNX value as an
 * activation (an IR node and its rank) or a constant (an initializer, a
 * Constant, or shape arithmetic folded here), and maps each op onto the IR
 * op that computes exactly the same thing, refusing everything else. */
#include "onnx.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

enum {
    DT_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    DT_INT32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
    DT_INT64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
    MAX_RANK = 8,
    OPSET_MAX = 17,
    /* LLVM's optimiser takes more than linear time in the size of the
     * function; torchvision's CNNs have under 1,000 nodes. */
    MAX_NODES = 10000,
    FOLD_MAX = 1 << 16,
    MAX_DEPTH = 64, /* messages inside messages: a model's graph is 5 deep, subgraphs add more */
};
/* Tensors past this many elements are refused before anything is allocated. */
#define MAX_ELEMS ((int64_t)1 << 31)
/* A symbolic batch size inside folded shape arithmetic. */
#define BATCH_SYM (INT64_MIN + 7)

typedef enum { V_ACT = 1, V_CONST } ValueKind;

typedef struct Value {
    const char *name; /* ONNX's, as written */
    ValueKind kind;
    /* V_ACT: the IR node computing it, and the ONNX rank (4: N C H W, 2: N C). */
    int32_t node;
    int rank;
    /* V_CONST */
    int32_t dtype; /* DT_FLOAT or DT_INT64 after reading; other types refuse on use */
    int ndims;
    int64_t dims[MAX_RANK];
    int64_t count;
    float *f;
    int64_t *i;
    /* V_ACT: a zero Pad of H and W not yet applied, which only a Conv or an
     * AveragePool reading the value takes, as its own padding. */
    int64_t pad_h, pad_w;
} Value;

typedef struct Im {
    IrArena *a;
    IrDiag *diag;
    IrGraph *g;
    int64_t opset;
    Value **vals; /* each on its own, so a pointer to one outlives the array's growth */
    size_t nvals, cap;
    int32_t *table; /* open addressing over vals, index + 1 */
    size_t mask;
    int64_t batch; /* N, or BATCH_SYM */
    FeOnnxWeights *w;
    size_t wcap;
    size_t cur; /* the ONNX node being imported, + 1 (0: the graph) */
    const Onnx__NodeProto *node;
    const Onnx__GraphProto *gp;
    bool take_pad; /* the input being read may carry a pending Pad */
    const char **names; /* the layers' names, open addressing */
    size_t names_mask, nnames;
    struct {
        const char *name;
        int count;
    } *reads; /* how many times each name is read, open addressing */
    size_t reads_mask;
    size_t shaped; /* the IR nodes shaped so far */
} Im;

/* memcpy, for protobuf-c's empty arrays, which are NULL. */
static void copy_bytes(void *dst, const void *src, size_t n)
{
    if (n > 0)
        memcpy(dst, src, n);
}

/* ---- names and messages ----------------------------------------------- */

/* Printable ASCII as it is, anything else as \xNN: names reach terminals,
 * reports and JSON, and a model's bytes are not to be trusted. */
static const char *shown_name(IrArena *a, const char *s)
{
    if (!s)
        return "";
    size_t n = strlen(s), extra = 0;
    for (size_t k = 0; k < n; k++)
        extra += ((unsigned char)s[k] < 0x20 || (unsigned char)s[k] >= 0x7f || s[k] == '\\' || s[k] == '"') ? 3 : 0;
    if (extra == 0)
        return ir_arena_strndup(a, s, n); /* the model's strings are freed after the import */
    char *out = ir_arena_alloc(a, n + extra + 1, 1), *p = out;
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        if (c < 0x20 || c >= 0x7f || c == '\\' || c == '"')
            p += sprintf(p, "\\x%02x", c);
        else
            *p++ = (char)c;
    }
    *p = '\0';
    return out;
}

static SrcSpan here(const Im *im)
{
    return (SrcSpan){.off = im->cur, .line = 0, .col = 0, .len = 0};
}

static bool fail(Im *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(Im *im, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ir_diag_error(im->diag, here(im), "%s", msg);
    return false;
}

/* ---- values ------------------------------------------------------------- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static Value *find(Im *im, const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = hash_str(name) & im->mask;; i = (i + 1) & im->mask) {
        int32_t slot = im->table[i];
        if (slot == 0)
            return NULL;
        if (strcmp(im->vals[slot - 1]->name, name) == 0)
            return im->vals[slot - 1];
    }
}

/* A new value, or NULL (reported) when the name is taken: ONNX names each
 * value once. */
static Value *define(Im *im, const char *name)
{
    if (find(im, name)) {
        fail(im, "value '%s' is defined twice (ONNX graphs are single-assignment)", shown_name(im->a, name));
        return NULL;
    }
    if ((im->nvals + 1) * 2 > im->mask + 1) {
        size_t size = (im->mask + 1) * 2;
        im->table = ir_arena_alloc(im->a, size, sizeof *im->table);
        im->mask = size - 1;
        for (size_t k = 0; k < im->nvals; k++) {
            size_t i = hash_str(im->vals[k]->name) & im->mask;
            while (im->table[i])
                i = (i + 1) & im->mask;
            im->table[i] = (int32_t)k + 1;
        }
    }
    im->vals = ir_arena_grow(im->a, im->vals, im->nvals, &im->cap, im->nvals + 1, sizeof *im->vals);
    Value *v = ir_arena_alloc(im->a, 1, sizeof *v);
    im->vals[im->nvals++] = v;
    v->name = name;
    size_t i = hash_str(name) & im->mask;
    while (im->table[i])
        i = (i + 1) & im->mask;
    im->table[i] = (int32_t)im->nvals;
    return v;
}

/* ---- tensors ------------------------------------------------------------ */

/* Elements of dims, or -1 (with why in msg) when negative or too many. */
static int64_t dims_count(const int64_t *dims, size_t n, char *msg, size_t size)
{
    int64_t count = 1;
    for (size_t k = 0; k < n; k++) {
        if (dims[k] < 0) {
            snprintf(msg, size, "dimension %zu is %" PRId64 ", negative", k, dims[k]);
            return -1;
        }
        if (__builtin_mul_overflow(count, dims[k], &count) || count > MAX_ELEMS) {
            snprintf(msg, size, "its dimensions claim more than 2^31 elements; cnnc reads tensors up to 2^31");
            return -1;
        }
    }
    return count;
}

/* Decodes t into a constant: floats or int64s, checked against its shape
 * before anything is copied. false with msg on a tensor cnnc cannot read. */
static bool read_tensor(IrArena *a, const Onnx__TensorProto *t, Value *v, char *msg, size_t size)
{
    if (t->n_external_data > 0 ||
        (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)) {
        snprintf(msg, size,
                 "its data is in an external file, which cnnc does not read; save the model with "
                 "the weights inside (onnx.save_model(m, path, save_as_external_data=False))");
        return false;
    }
    if (t->segment) {
        snprintf(msg, size, "it is a segment of a larger tensor, which cnnc does not read");
        return false;
    }
    if (t->n_dims > MAX_RANK) {
        snprintf(msg, size, "it has %zu dimensions; cnnc reads at most %d", t->n_dims, MAX_RANK);
        return false;
    }
    int64_t count = dims_count(t->dims, t->n_dims, msg, size);
    if (count < 0)
        return false;
    v->kind = V_CONST;
    v->ndims = (int)t->n_dims;
    copy_bytes(v->dims, t->dims, t->n_dims * sizeof *t->dims);
    v->count = count;
    int32_t dt = t->has_data_type ? t->data_type : 0;
    size_t raw = t->has_raw_data ? t->raw_data.len : 0;
    /* Every size is checked against the data the file holds before anything
     * is allocated: the shape alone may claim gigabytes. */
    if (dt == DT_FLOAT) {
        v->dtype = DT_FLOAT;
        if (t->has_raw_data && t->n_float_data == 0) {
            if (raw != (uint64_t)count * 4) {
                snprintf(msg, size,
                         "its shape holds %" PRId64 " floats (%" PRId64 " bytes) but its raw data is %zu bytes", count,
                         count * 4, raw);
                return false;
            }
            v->f = ir_arena_alloc(a, (size_t)(count ? count : 1), sizeof *v->f);
            copy_bytes(v->f, t->raw_data.data, raw); /* little-endian, as ONNX stores it and as this host is */
        } else {
            if (t->n_float_data != (size_t)count) {
                snprintf(msg, size, "its shape holds %" PRId64 " floats but it has %zu", count, t->n_float_data);
                return false;
            }
            v->f = ir_arena_alloc(a, (size_t)(count ? count : 1), sizeof *v->f);
            copy_bytes(v->f, t->float_data, (size_t)count * sizeof *v->f);
        }
        return true;
    }
    if (dt == DT_INT64 || dt == DT_INT32) {
        v->dtype = DT_INT64;
        size_t width = dt == DT_INT64 ? 8 : 4;
        size_t have = t->has_raw_data && raw > 0 ? raw / width : dt == DT_INT64 ? t->n_int64_data : t->n_int32_data;
        if ((t->has_raw_data && raw > 0 && raw % width != 0) || have != (size_t)count) {
            snprintf(msg, size, "its shape holds %" PRId64 " integers but its data holds %zu", count, have);
            return false;
        }
        v->i = ir_arena_alloc(a, (size_t)(count ? count : 1), sizeof *v->i);
        for (int64_t k = 0; k < count; k++) {
            if (t->has_raw_data && raw > 0) {
                if (dt == DT_INT64) {
                    copy_bytes(&v->i[k], t->raw_data.data + k * 8, 8);
                } else {
                    int32_t x;
                    copy_bytes(&x, t->raw_data.data + k * 4, 4);
                    v->i[k] = x;
                }
            } else {
                v->i[k] = dt == DT_INT64 ? t->int64_data[k] : t->int32_data[k];
            }
        }
        return true;
    }
    v->dtype = dt; /* kept: an op that needs it says what it is */
    return true;
}

static bool tensor_value(Im *im, const Onnx__TensorProto *t, Value *v, const char *what)
{
    char msg[512];
    if (read_tensor(im->a, t, v, msg, sizeof msg))
        return true;
    return fail(im, "%s '%s' cannot be read: %s", what, shown_name(im->a, v->name), msg);
}

/* ---- attributes --------------------------------------------------------- */

static const Onnx__AttributeProto *attr(const Im *im, const char *name)
{
    for (size_t k = 0; k < im->node->n_attribute; k++)
        if (im->node->attribute[k]->name && strcmp(im->node->attribute[k]->name, name) == 0)
            return im->node->attribute[k];
    return NULL;
}

/* Every attribute of the node must be one of known (NULL-terminated). */
static bool known_attrs(Im *im, const char *const *known)
{
    for (size_t k = 0; k < im->node->n_attribute; k++) {
        const char *name = im->node->attribute[k]->name ? im->node->attribute[k]->name : "";
        bool ok = false;
        for (size_t j = 0; known[j] && !ok; j++)
            ok = strcmp(known[j], name) == 0;
        if (!ok)
            return fail(im, "attribute '%s' is not supported", shown_name(im->a, name));
    }
    return true;
}

static int64_t attr_int(const Im *im, const char *name, int64_t dflt)
{
    const Onnx__AttributeProto *at = attr(im, name);
    return at && at->has_i ? at->i : dflt;
}

static double attr_float(const Im *im, const char *name, double dflt)
{
    const Onnx__AttributeProto *at = attr(im, name);
    return at && at->has_f ? at->f : dflt;
}

/* ints attribute of exactly n entries into out (left as it is when absent). */
static bool attr_ints(Im *im, const char *name, size_t n, int64_t *out)
{
    const Onnx__AttributeProto *at = attr(im, name);
    if (!at)
        return true;
    if (at->n_ints != n)
        return fail(im, "attribute '%s' has %zu values; cnnc takes 2-D windows (%zu values)", name, at->n_ints, n);
    copy_bytes(out, at->ints, n * sizeof *out);
    return true;
}

static const char *attr_string(const Im *im, const char *name, char *buf, size_t size)
{
    const Onnx__AttributeProto *at = attr(im, name);
    if (!at || !at->has_s)
        return NULL;
    size_t n = at->s.len < size - 1 ? at->s.len : size - 1;
    copy_bytes(buf, at->s.data, n);
    buf[n] = '\0';
    return buf;
}

/* ---- inputs ------------------------------------------------------------- */

static const char *in_name(const Im *im, size_t k)
{
    return k < im->node->n_input && im->node->input[k] && im->node->input[k][0] ? im->node->input[k] : NULL;
}

/* Input k, or NULL: reported when required and missing or never defined. */
static Value *input(Im *im, size_t k, bool required)
{
    const char *name = in_name(im, k);
    if (!name) {
        if (required)
            fail(im, "input %zu is missing", k);
        return NULL;
    }
    Value *v = find(im, name);
    if (!v) {
        fail(im,
             "input '%s' is not the graph's input, an initializer or the output of an earlier node "
             "(a dangling name, or a cycle)",
             shown_name(im->a, name));
        return NULL;
    }
    if (v->kind == V_ACT && (v->pad_h || v->pad_w) && !im->take_pad) {
        fail(im, "input '%s' is a zero Pad, which cnnc folds only into the Conv or AveragePool reading it",
             shown_name(im->a, name));
        return NULL;
    }
    return v;
}

/* The input's shape with its pending Pad applied. */
static IrShape padded_shape(const Im *im, const Value *v)
{
    IrShape s = im->g->nodes[v->node].out;
    s.h += 2 * v->pad_h;
    s.w += 2 * v->pad_w;
    return s;
}

static Value *act_input(Im *im, size_t k, int rank_want)
{
    Value *v = input(im, k, true);
    if (!v)
        return NULL;
    if (v->kind != V_ACT) {
        fail(im, "input '%s' is a constant; cnnc computes ops on the network's input only", shown_name(im->a, v->name));
        return NULL;
    }
    if (rank_want && v->rank != rank_want) {
        fail(im, "input '%s' has rank %d; this op takes rank %d here", shown_name(im->a, v->name), v->rank, rank_want);
        return NULL;
    }
    return v;
}

static Value *const_input(Im *im, size_t k, bool required, int32_t dtype, const char *role)
{
    Value *v = input(im, k, required);
    if (!v)
        return NULL;
    if (v->kind != V_CONST) {
        fail(im, "%s '%s' is computed at run time; cnnc needs it constant (an initializer)", role,
             shown_name(im->a, v->name));
        return NULL;
    }
    if (v->dtype != dtype) {
        fail(im, "%s '%s' has ONNX data type %d; cnnc takes %s here", role, shown_name(im->a, v->name), v->dtype,
             dtype == DT_FLOAT ? "float (1)" : "int64 (7)");
        return NULL;
    }
    return v;
}

/* The output ONNX node output k names, as a new value. */
static Value *output(Im *im, size_t k)
{
    if (k >= im->node->n_output || !im->node->output[k] || !im->node->output[k][0]) {
        fail(im, "output %zu is missing", k);
        return NULL;
    }
    return define(im, im->node->output[k]);
}

/* Only the first output may be used: the others (an index, a mask, running
 * statistics) are what cnnc does not compute. */
static bool one_output(Im *im)
{
    for (size_t k = 1; k < im->node->n_output; k++)
        if (im->node->output[k] && im->node->output[k][0])
            return fail(im, "output %zu ('%s') is not supported: cnnc computes only the first output", k,
                        shown_name(im->a, im->node->output[k]));
    return true;
}

/* ---- IR nodes ----------------------------------------------------------- */

/* Claims name among the layers' names; false when it is taken. */
static bool claim_name(Im *im, const char *name)
{
    if ((im->nnames + 1) * 2 > im->names_mask + 1) {
        size_t size = (im->names_mask + 1) * 2;
        const char **old = im->names;
        size_t old_size = im->names_mask + 1;
        im->names = ir_arena_alloc(im->a, size, sizeof *im->names);
        im->names_mask = size - 1;
        for (size_t k = 0; k < old_size; k++) {
            if (!old[k])
                continue;
            size_t i = hash_str(old[k]) & im->names_mask;
            while (im->names[i])
                i = (i + 1) & im->names_mask;
            im->names[i] = old[k];
        }
    }
    size_t i = hash_str(name) & im->names_mask;
    for (; im->names[i]; i = (i + 1) & im->names_mask)
        if (strcmp(im->names[i], name) == 0)
            return false;
    im->names[i] = name;
    im->nnames++;
    return true;
}

/* The layer's name: the node's, else its output's, made unique with the
 * node's index (ONNX does not require unique node names). */
static const char *node_name(Im *im)
{
    const char *base = im->node->name && im->node->name[0]         ? im->node->name
                       : im->node->n_output && im->node->output[0] ? im->node->output[0]
                                                                   : "layer";
    base = shown_name(im->a, base);
    if (claim_name(im, base))
        return base;
    const char *name = ir_arena_printf(im->a, "%s_%zu", base, im->cur);
    for (int k = 2; !claim_name(im, name); k++)
        name = ir_arena_printf(im->a, "%s_%zu_%d", base, im->cur, k);
    return name;
}

/* Appends an IR node for the current ONNX node, reading the activations
 * ins; NULL after an error. */
static IrNode *add_node(Im *im, IrOp op, Value *const *ins, uint32_t nins)
{
    int32_t idx[64];
    if (nins > 64) {
        fail(im, "%u inputs; cnnc takes at most 64", nins);
        return NULL;
    }
    for (uint32_t k = 0; k < nins; k++)
        idx[k] = ins[k]->node;
    const char *name = node_name(im);
    IrNode *n = ir_graph_add(im->g, op);
    n->name = name;
    n->named = true;
    n->span = n->name_span = here(im);
    ir_node_set_inputs(im->g, n, idx, nins);
    return n;
}

/* Shapes the nodes added since the last call, so that the next op sees this
 * one's output; each node is shaped once. */
static bool shape_last(Im *im)
{
    if (!ir_graph_infer_from(im->g, im->shaped, im->diag))
        return false;
    im->shaped = im->g->count;
    return true;
}

static bool bind_param(Im *im, const IrNode *n, const char *role, const float *data, int64_t count)
{
    im->w->v = ir_arena_grow(im->a, im->w->v, im->w->count, &im->wcap, im->w->count + 1, sizeof *im->w->v);
    im->w->v[im->w->count++] = (FeOnnxTensor){ir_arena_printf(im->a, "%s.%s", n->name, role), data, count};
    return true;
}

static Value *act_out(Im *im, int rank)
{
    Value *v = output(im, 0);
    if (!v)
        return NULL;
    v->kind = V_ACT;
    v->node = (int32_t)im->g->count - 1;
    v->rank = rank;
    return v;
}

static bool alias(Im *im, const Value *from)
{
    Value copy = *from;
    Value *v = output(im, 0);
    if (!v)
        return false;
    const char *name = v->name;
    *v = copy;
    v->name = name;
    return true;
}

static const IrShape *shape_of(const Im *im, const Value *v)
{
    return &im->g->nodes[v->node].out;
}

/* ---- ops ---------------------------------------------------------------- */

/* The pads of a 2-D window, symmetric, from pads or auto_pad. */
static bool window_pads(Im *im, const IrShape *in, const int64_t *k, const int64_t *s, const int64_t *d, int64_t *ph,
                        int64_t *pw)
{
    int64_t pads[4] = {0, 0, 0, 0};
    char buf[32];
    const char *autopad = attr_string(im, "auto_pad", buf, sizeof buf);
    if (!attr_ints(im, "pads", 4, pads))
        return false;
    if (autopad && strcmp(autopad, "NOTSET") != 0) {
        if (attr(im, "pads"))
            return fail(im, "attribute 'pads' is given with auto_pad=%s", autopad);
        if (strcmp(autopad, "VALID") == 0) {
            *ph = *pw = 0;
            return true;
        }
        if (strcmp(autopad, "SAME_UPPER") != 0 && strcmp(autopad, "SAME_LOWER") != 0)
            return fail(im, "attribute 'auto_pad' is '%s'; cnnc takes NOTSET, VALID, SAME_UPPER and SAME_LOWER",
                        shown_name(im->a, autopad));
        int64_t dims[2] = {in->h, in->w}, out[2];
        for (int j = 0; j < 2; j++) {
            int64_t o = (dims[j] + s[j] - 1) / s[j];
            int64_t total = (o - 1) * s[j] + (k[j] - 1) * d[j] + 1 - dims[j];
            if (total < 0)
                total = 0;
            if (total % 2 != 0)
                return fail(
                    im, "attribute 'auto_pad' %s pads the %s by %" PRId64 ", unevenly; cnnc takes symmetric padding",
                    autopad, j ? "width" : "height", total);
            out[j] = total / 2;
        }
        *ph = out[0];
        *pw = out[1];
        return true;
    }
    for (int j = 0; j < 4; j++)
        if (pads[j] < 0)
            return fail(im, "attribute 'pads' has a negative value %" PRId64, pads[j]);
    if (pads[0] != pads[2] || pads[1] != pads[3])
        return fail(im,
                    "attribute 'pads' [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
                    "] is not symmetric; cnnc takes the same padding on both sides",
                    pads[0], pads[1], pads[2], pads[3]);
    *ph = pads[0];
    *pw = pads[1];
    return true;
}

static bool positive(Im *im, const char *what, const int64_t *v, int n)
{
    for (int j = 0; j < n; j++)
        if (v[j] < 1 || v[j] > INT32_MAX)
            return fail(im, "attribute '%s' has the value %" PRId64 "; it must be from 1 to 2^31-1", what, v[j]);
    return true;
}

static bool op_conv(Im *im)
{
    static const char *const keys[] = {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides", NULL};
    if (!known_attrs(im, keys))
        return false;
    im->take_pad = true;
    Value *x = act_input(im, 0, 4);
    im->take_pad = false;
    Value *w = x ? const_input(im, 1, true, DT_FLOAT, "weight") : NULL;
    if (!w)
        return false;
    Value *b = in_name(im, 2) ? const_input(im, 2, true, DT_FLOAT, "bias") : NULL;
    if (in_name(im, 2) && !b)
        return false;
    IrShape padded = padded_shape(im, x);
    const IrShape *in = &padded;
    if (w->ndims != 4)
        return fail(im, "weight '%s' has %d dimensions; cnnc takes 2-D convolutions (4-D weights)",
                    shown_name(im->a, w->name), w->ndims);
    int64_t group = attr_int(im, "group", 1);
    int64_t k[2] = {w->dims[2], w->dims[3]}, s[2] = {1, 1}, d[2] = {1, 1}, ks[2] = {k[0], k[1]};
    if (!attr_ints(im, "strides", 2, s) || !attr_ints(im, "dilations", 2, d) || !attr_ints(im, "kernel_shape", 2, ks))
        return false;
    if (!positive(im, "strides", s, 2) || !positive(im, "dilations", d, 2) || !positive(im, "group", &group, 1) ||
        !positive(im, "kernel_shape", k, 2))
        return false;
    if (ks[0] != k[0] || ks[1] != k[1])
        return fail(im, "attribute 'kernel_shape' does not match the weight's %" PRId64 "x%" PRId64, k[0], k[1]);
    int64_t K = w->dims[0];
    if (K < 1 || K % group != 0 || w->dims[1] * group != in->d)
        return fail(im,
                    "weight '%s' is %" PRId64 "x%" PRId64 "x%" PRId64 "x%" PRId64 " with group=%" PRId64
                    ", which does not fit an input of %" PRId64 " channels",
                    shown_name(im->a, w->name), w->dims[0], w->dims[1], w->dims[2], w->dims[3], group, in->d);
    if (b && (b->count != K))
        return fail(im, "bias '%s' has %" PRId64 " values for %" PRId64 " filters", shown_name(im->a, b->name),
                    b->count, K);
    int64_t ph, pw;
    if (!window_pads(im, in, k, s, d, &ph, &pw))
        return false;
    ph += x->pad_h;
    pw += x->pad_w;
    IrNode *n = add_node(im, IR_OP_CONV, &x, 1);
    if (!n)
        return false;
    IrConvAttr *c = &n->attr.conv;
    *c = (IrConvAttr){.filters = K,
                      .size = k[1],
                      .size_h = k[0],
                      .stride = s[1],
                      .stride_h = s[0],
                      .pad = pw,
                      .pad_h = ph,
                      .groups = group,
                      .dilation = d[1],
                      .dilation_h = d[0],
                      .bias = b != NULL,
                      .round = IR_ROUND_FLOOR};
    bind_param(im, n, "weight", w->f, w->count);
    if (b)
        bind_param(im, n, "bias", b->f, b->count);
    return shape_last(im) && act_out(im, 4);
}

static bool op_pool(Im *im, IrPoolMode mode)
{
    static const char *const keys[] = {"auto_pad", "ceil_mode",     "count_include_pad", "dilations", "kernel_shape",
                                       "pads",     "storage_order", "strides",           NULL};
    if (!known_attrs(im, keys) || !one_output(im))
        return false;
    im->take_pad = mode == IR_POOL_AVG; /* a max pool pads with -inf, not zeros */
    Value *x = act_input(im, 0, 4);
    im->take_pad = false;
    if (!x)
        return false;
    IrShape padded = padded_shape(im, x);
    const IrShape *in = &padded;
    int64_t k[2] = {0, 0}, s[2] = {1, 1}, d[2] = {1, 1};
    if (!attr(im, "kernel_shape"))
        return fail(im, "attribute 'kernel_shape' is missing");
    if (!attr_ints(im, "kernel_shape", 2, k) || !attr_ints(im, "strides", 2, s) || !attr_ints(im, "dilations", 2, d))
        return false;
    if (!positive(im, "kernel_shape", k, 2) || !positive(im, "strides", s, 2))
        return false;
    if (d[0] != 1 || d[1] != 1)
        return fail(im, "attribute 'dilations' is not 1: cnnc's pools take adjacent windows");
    int64_t ceil_mode = attr_int(im, "ceil_mode", 0), cip = attr_int(im, "count_include_pad", 0);
    int64_t ph, pw;
    if (!window_pads(im, in, k, s, d, &ph, &pw))
        return false;
    if (mode == IR_POOL_AVG && (ph || pw) && cip != 1)
        return fail(im,
                    "attribute 'count_include_pad' is %" PRId64 " with padding; cnnc's average pool counts "
                    "the padding (count_include_pad=1)",
                    cip);
    if (ph > k[0] / 2 || pw > k[1] / 2)
        return fail(im,
                    "attribute 'pads' pads by %" PRId64 "x%" PRId64 " (height x width), more than half the "
                    "%" PRId64 "x%" PRId64 " window; cnnc's pools take at most half",
                    ph, pw, k[0], k[1]);
    /* A Pad before it is zeros counted like any value, as its padding is. */
    int64_t own_h = ph, own_w = pw;
    ph += x->pad_h;
    pw += x->pad_w;
    if (ceil_mode) {
        /* cnnc's ceil mode is PyTorch's (no window starting in the right
         * padding); take it only where ONNX's plain ceil gives the same
         * windows, and for an average only where no window overhangs, as
         * the two divide an overhanging window differently. */
        int64_t dims[2] = {in->h, in->w}, p[2] = {own_h, own_w};
        for (int j = 0; j < 2; j++) {
            int64_t num = dims[j] + 2 * p[j] - k[j];
            if (num < 0)
                continue; /* the shape check reports it */
            int64_t onnx = (num + s[j] - 1) / s[j] + 1, torch = num / s[j] + 1;
            if (num % s[j] != 0 && torch * s[j] < dims[j] + p[j])
                torch++;
            if (onnx != torch || (mode == IR_POOL_AVG && num % s[j] != 0))
                return fail(im,
                            "attribute 'ceil_mode' is 1 where the last window overhangs the %s; cnnc takes "
                            "ceil_mode only where it changes no window",
                            j ? "width" : "height");
        }
    }
    IrNode *n = add_node(im, IR_OP_POOL, &x, 1);
    if (!n)
        return false;
    n->attr.pool = (IrPoolAttr){.mode = mode,
                                .size = k[1],
                                .size_h = k[0],
                                .stride = s[1],
                                .stride_h = s[0],
                                .pad = pw,
                                .pad_h = ph,
                                .round = ceil_mode ? IR_ROUND_CEIL : IR_ROUND_FLOOR};
    return shape_last(im) && act_out(im, 4);
}

static bool op_global_pool(Im *im, IrPoolMode mode)
{
    static const char *const keys[] = {NULL};
    Value *x = known_attrs(im, keys) ? act_input(im, 0, 4) : NULL;
    if (!x)
        return false;
    IrNode *n = add_node(im, IR_OP_POOL, &x, 1);
    if (!n)
        return false;
    /* The whole map divides exactly: no rounding, as 'pool avg global' in
     * a .cnn has none, so --emit=cnn writes what reports of this show. */
    n->attr.pool = (IrPoolAttr){.mode = mode, .global = true, .round = IR_ROUND_EXACT};
    return shape_last(im) && act_out(im, 4);
}

static bool op_batchnorm(Im *im)
{
    static const char *const keys[] = {"epsilon",       "momentum",        "spatial", "is_test",
                                       "training_mode", "consumed_inputs", NULL};
    if (!known_attrs(im, keys) || !one_output(im))
        return false;
    if (attr_int(im, "spatial", 1) != 1)
        return fail(im, "attribute 'spatial' is 0; cnnc normalises per channel (spatial=1)");
    if (attr_int(im, "training_mode", 0) != 0)
        return fail(im, "attribute 'training_mode' is 1; cnnc runs inference (training_mode=0)");
    Value *x = act_input(im, 0, 0);
    if (!x)
        return false;
    const IrShape *in = shape_of(im, x);
    static const char *const roles[4] = {"weight", "bias", "running_mean", "running_var"};
    static const char *const what[4] = {"scale", "B", "mean", "var"};
    Value *p[4];
    for (int j = 0; j < 4; j++) {
        if (!(p[j] = const_input(im, (size_t)j + 1, true, DT_FLOAT, what[j])))
            return false;
        if (p[j]->count != in->d)
            return fail(im, "%s '%s' has %" PRId64 " values for %" PRId64 " channels", what[j],
                        shown_name(im->a, p[j]->name), p[j]->count, in->d);
    }
    double eps = attr_float(im, "epsilon", 1e-5);
    if (!(eps > 0) || !isfinite(eps))
        return fail(im, "attribute 'epsilon' is %g; cnnc takes a positive epsilon", eps);
    IrNode *n = add_node(im, IR_OP_BATCHNORM, &x, 1);
    if (!n)
        return false;
    n->attr.batchnorm.eps = eps;
    for (int j = 0; j < 4; j++)
        bind_param(im, n, roles[j], p[j]->f, p[j]->count);
    return shape_last(im) && act_out(im, x->rank);
}

static bool op_unary(Im *im, IrOp op, const char *const *keys)
{
    if (!known_attrs(im, keys))
        return false;
    /* The IR's slope is finite, as a .cnn's is (ir/ir.h). */
    double alpha = attr_float(im, "alpha", 0.01);
    if (op == IR_OP_LEAKYRELU && !isfinite((float)alpha))
        return fail(im, "attribute 'alpha' is %g; cnnc takes a finite slope", alpha);
    Value *x = act_input(im, 0, 0);
    if (!x)
        return false;
    int rank = x->rank;
    IrNode *n = add_node(im, op, &x, 1);
    if (!n)
        return false;
    if (op == IR_OP_LEAKYRELU)
        n->attr.leakyrelu.slope = (float)alpha;
    return shape_last(im) && act_out(im, rank);
}

/* A scalar bound of Clip: its attribute before opset 11, its input after. */
static bool clip_bound(Im *im, const char *name, size_t k, double dflt, double *out)
{
    *out = dflt;
    if (im->opset < 11) {
        *out = attr_float(im, name, dflt);
        return true;
    }
    if (!in_name(im, k))
        return true;
    Value *v = const_input(im, k, true, DT_FLOAT, name);
    if (!v)
        return false;
    if (v->count != 1)
        return fail(im, "input '%s' (%s) has %" PRId64 " values; Clip takes a scalar", shown_name(im->a, v->name), name,
                    v->count);
    *out = v->f[0];
    return true;
}

static bool op_clip(Im *im)
{
    static const char *const keys[] = {"min", "max", NULL};
    if (!known_attrs(im, keys))
        return false;
    double lo, hi;
    if (!clip_bound(im, "min", 1, -INFINITY, &lo) || !clip_bound(im, "max", 2, INFINITY, &hi))
        return false;
    IrOp op;
    if (lo == 0 && hi == 6)
        op = IR_OP_RELU6;
    else if (lo == 0 && (hi == INFINITY || hi >= 3.4028234663852886e38))
        op = IR_OP_RELU;
    else
        return fail(im,
                    "clips to [%g, %g]; cnnc takes Clip to [0, 6] (relu6) or [0, inf) (relu), attribute or "
                    "input 'min'/'max'",
                    lo, hi);
    return op_unary(im, op, keys);
}

/* How many node inputs and graph outputs read v. */
/* How many node inputs and graph outputs read the name: counted for every
 * name once, before the nodes are imported (reads_count). */
static int count_uses(const Im *im, const Value *v)
{
    for (size_t i = hash_str(v->name) & im->reads_mask; im->reads[i].name; i = (i + 1) & im->reads_mask)
        if (strcmp(im->reads[i].name, v->name) == 0)
            return im->reads[i].count;
    return 0;
}

static void reads_add(Im *im, const char *name)
{
    if (!name || !name[0])
        return;
    size_t i = hash_str(name) & im->reads_mask;
    for (; im->reads[i].name; i = (i + 1) & im->reads_mask)
        if (strcmp(im->reads[i].name, name) == 0) {
            im->reads[i].count++;
            return;
        }
    im->reads[i].name = name;
    im->reads[i].count = 1;
}

static void reads_count(Im *im)
{
    size_t total = im->gp->n_output, size = 64;
    for (size_t a = 0; a < im->gp->n_node; a++)
        total += im->gp->node[a]->n_input;
    while (size < 2 * total)
        size *= 2;
    im->reads = ir_arena_alloc(im->a, size, sizeof *im->reads);
    im->reads_mask = size - 1;
    for (size_t a = 0; a < im->gp->n_node; a++)
        for (size_t j = 0; j < im->gp->node[a]->n_input; j++)
            reads_add(im, im->gp->node[a]->input[j]);
    for (size_t a = 0; a < im->gp->n_output; a++)
        reads_add(im, im->gp->output[a]->name);
}

/* Reads of IR node n's output under any of its names (Identity and
 * Dropout give it more than one), by every node and graph output. */
static int node_uses(const Im *im, int32_t n)
{
    int uses = 0;
    for (size_t k = 0; k < im->nvals; k++)
        if (im->vals[k]->kind == V_ACT && im->vals[k]->node == n)
            uses += count_uses(im, im->vals[k]);
    return uses;
}

static bool op_add(Im *im)
{
    static const char *const keys[] = {"broadcast", "axis", "consumed_inputs", NULL};
    if (!known_attrs(im, keys))
        return false;
    Value *a = input(im, 0, true), *b = a ? input(im, 1, true) : NULL;
    if (!b)
        return false;
    if (a->kind == V_ACT && b->kind == V_ACT) {
        if (a->rank != b->rank || memcmp(shape_of(im, a), shape_of(im, b), sizeof(IrShape)) != 0)
            return fail(im, "adds tensors of different shapes; cnnc adds same-shaped tensors only (no broadcasting)");
        Value *ins[2] = {a, b};
        int rank = a->rank;
        return add_node(im, IR_OP_ADD, ins, 2) && shape_last(im) && act_out(im, rank);
    }
    /* MatMul + Add: the constant is the fc's bias. */
    Value *act = a->kind == V_ACT ? a : b, *c = a->kind == V_ACT ? b : a;
    if (act->kind != V_ACT)
        return fail(im, "adds two constants; cnnc computes on the network's input only");
    IrNode *fc = &im->g->nodes[act->node];
    if (c->dtype != DT_FLOAT)
        return fail(im, "adds a constant of ONNX data type %d; cnnc takes float", c->dtype);
    if (attr(im, "axis"))
        return fail(im, "attribute 'axis' is given; cnnc adds a bias along the last axis only");
    if (fc->op != IR_OP_FC || fc->attr.fc.bias || node_uses(im, act->node) != 1 || c->count != fc->attr.fc.outputs ||
        (c->ndims == 2 && c->dims[0] != 1) || c->ndims > 2 || act->node != (int32_t)im->g->count - 1)
        return fail(im,
                    "adds a constant; cnnc takes that only as the bias of a MatMul just before it, "
                    "a constant of its %s outputs read by nothing else",
                    fc->op == IR_OP_FC ? "K" : "K (this is not after a MatMul)");
    fc->attr.fc.bias = true;
    bind_param(im, fc, "bias", c->f, c->count);
    return shape_last(im) && alias(im, act);
}

static bool op_concat(Im *im)
{
    static const char *const keys[] = {"axis", NULL};
    if (!known_attrs(im, keys))
        return false;
    size_t n = im->node->n_input;
    if (n == 0)
        return fail(im, "has no inputs");
    Value **ins = ir_arena_alloc(im->a, n, sizeof *ins);
    size_t nact = 0;
    for (size_t k = 0; k < n; k++) {
        if (!(ins[k] = input(im, k, true)))
            return false;
        nact += ins[k]->kind == V_ACT;
    }
    int64_t axis = attr_int(im, "axis", im->opset < 4 ? 1 : INT64_MIN);
    if (axis == INT64_MIN)
        return fail(im, "attribute 'axis' is missing");
    if (nact == 0) {
        /* Shape arithmetic: 1-D int64 pieces joined. */
        int64_t total = 0;
        for (size_t k = 0; k < n; k++) {
            if (ins[k]->dtype != DT_INT64 || ins[k]->ndims != 1)
                return fail(im, "joins constants other than 1-D int64 shapes; cnnc folds only shape arithmetic");
            total += ins[k]->count;
        }
        if ((axis != 0 && axis != -1) || total > MAX_RANK)
            return fail(im, "joins shape constants other than along axis 0 into at most %d values", MAX_RANK);
        Value *v = output(im, 0);
        if (!v)
            return false;
        v->kind = V_CONST;
        v->dtype = DT_INT64;
        v->ndims = 1;
        v->dims[0] = v->count = total;
        v->i = ir_arena_alloc(im->a, (size_t)total + 1, sizeof *v->i);
        for (size_t k = 0, at = 0; k < n; k++)
            for (int64_t j = 0; j < ins[k]->count; j++)
                v->i[at++] = ins[k]->i[j];
        return true;
    }
    if (nact != n)
        return fail(im, "joins the network's tensors with constants; cnnc joins tensors computed from the input only");
    int rank = ins[0]->rank;
    for (size_t k = 1; k < n; k++)
        if (ins[k]->rank != rank)
            return fail(im, "joins tensors of different ranks");
    if (axis != 1 && axis != 1 - rank)
        return fail(im, "attribute 'axis' is %" PRId64 "; cnnc joins along the channels (axis 1)", axis);
    /* One tensor joined with nothing is itself; an IR concat takes two. */
    if (n == 1)
        return alias(im, ins[0]);
    return add_node(im, IR_OP_CONCAT, ins, (uint32_t)n) && shape_last(im) && act_out(im, rank);
}

static bool fc_node(Im *im, Value *x, const float *weight, int64_t K, int64_t N, const Value *bias)
{
    if (N != shape_of(im, x)->d)
        return fail(im, "weight takes %" PRId64 " inputs but the input has %" PRId64, N, shape_of(im, x)->d);
    IrNode *n = add_node(im, IR_OP_FC, &x, 1);
    if (!n)
        return false;
    n->attr.fc = (IrFcAttr){.outputs = K, .bias = bias != NULL};
    bind_param(im, n, "weight", weight, K * N);
    if (bias)
        bind_param(im, n, "bias", bias->f, bias->count);
    return shape_last(im) && act_out(im, 2);
}

/* [rows, cols] -> [cols, rows] in the arena. */
static float *transpose(IrArena *a, const float *m, int64_t rows, int64_t cols)
{
    int64_t n = rows * cols; /* at most MAX_ELEMS: it is a tensor read */
    float *t = ir_arena_alloc(a, (size_t)(n > 0 ? n : 1), sizeof *t);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            t[c * rows + r] = m[r * cols + c];
    return t;
}

static bool op_gemm(Im *im)
{
    static const char *const keys[] = {"alpha", "beta", "transA", "transB", "broadcast", NULL};
    if (!known_attrs(im, keys))
        return false;
    Value *x = act_input(im, 0, 2), *w = x ? const_input(im, 1, true, DT_FLOAT, "B") : NULL;
    if (!w)
        return false;
    Value *c = in_name(im, 2) ? const_input(im, 2, true, DT_FLOAT, "C") : NULL;
    if (in_name(im, 2) && !c)
        return false;
    if (attr_float(im, "alpha", 1.0) != 1.0)
        return fail(im, "attribute 'alpha' is %g; cnnc takes alpha=1", attr_float(im, "alpha", 1.0));
    if (c && attr_float(im, "beta", 1.0) != 1.0)
        return fail(im, "attribute 'beta' is %g; cnnc takes beta=1", attr_float(im, "beta", 1.0));
    if (attr_int(im, "transA", 0) != 0)
        return fail(im, "attribute 'transA' is 1; cnnc takes the batch along the rows (transA=0)");
    if (w->ndims != 2)
        return fail(im, "B '%s' has %d dimensions; Gemm takes 2", shown_name(im->a, w->name), w->ndims);
    bool tb = attr_int(im, "transB", 0) != 0;
    int64_t K = tb ? w->dims[0] : w->dims[1], N = tb ? w->dims[1] : w->dims[0];
    if (c && (c->count != K || c->ndims > 2 || (c->ndims == 2 && c->dims[0] != 1)))
        return fail(im, "C '%s' is not a vector of the %" PRId64 " outputs; cnnc takes a bias of shape [K] or [1, K]",
                    shown_name(im->a, c->name), K);
    const float *weight = tb ? w->f : transpose(im->a, w->f, N, K);
    return fc_node(im, x, weight, K, N, c);
}

static bool op_matmul(Im *im)
{
    static const char *const keys[] = {NULL};
    if (!known_attrs(im, keys))
        return false;
    Value *x = act_input(im, 0, 2), *w = x ? const_input(im, 1, true, DT_FLOAT, "B") : NULL;
    if (!w)
        return false;
    if (w->ndims != 2)
        return fail(im, "B '%s' has %d dimensions; cnnc takes a 2-D MatMul of the input by a weight",
                    shown_name(im->a, w->name), w->ndims);
    return fc_node(im, x, transpose(im->a, w->f, w->dims[0], w->dims[1]), w->dims[1], w->dims[0], NULL);
}

static bool flatten_to_2d(Im *im, Value *x)
{
    if (x->rank == 2)
        return alias(im, x);
    return add_node(im, IR_OP_FLATTEN, &x, 1) && shape_last(im) && act_out(im, 2);
}

static bool op_flatten(Im *im)
{
    static const char *const keys[] = {"axis", NULL};
    Value *x = known_attrs(im, keys) ? act_input(im, 0, 0) : NULL;
    if (!x)
        return false;
    int64_t axis = attr_int(im, "axis", 1);
    if (axis != 1 && axis != 1 - x->rank)
        return fail(im, "attribute 'axis' is %" PRId64 "; cnnc flattens after the batch axis (axis=1)", axis);
    return flatten_to_2d(im, x);
}

/* The ONNX shape of an activation: N C H W or N C. */
static int act_dims(const Im *im, const Value *v, int64_t *dims)
{
    const IrShape *s = shape_of(im, v);
    dims[0] = im->batch;
    dims[1] = s->d;
    dims[2] = s->h;
    dims[3] = s->w;
    return v->rank;
}

/* A constant of either type, for the index arithmetic PyTorch writes
 * around a Pad or a Reshape (ConstantOfShape, Slice, Transpose, Cast). At
 * most FOLD_MAX elements: it is shapes that get folded, not data. */
static Value *const_typed(Im *im, int32_t dtype, int ndims, const int64_t *dims)
{
    char msg[160];
    int64_t count = dims_count(dims, (size_t)ndims, msg, sizeof msg);
    if (count < 0 || count > FOLD_MAX) {
        fail(im, "makes a constant of %s; cnnc folds constants up to %d elements", count < 0 ? msg : "more elements",
             FOLD_MAX);
        return NULL;
    }
    Value *v = output(im, 0);
    if (!v)
        return NULL;
    v->kind = V_CONST;
    v->dtype = dtype;
    v->ndims = ndims;
    copy_bytes(v->dims, dims, (size_t)ndims * sizeof *dims);
    v->count = count;
    if (dtype == DT_FLOAT)
        v->f = ir_arena_alloc(im->a, (size_t)count + 1, sizeof *v->f);
    else
        v->i = ir_arena_alloc(im->a, (size_t)count + 1, sizeof *v->i);
    return v;
}

static void copy_elem(Value *dst, int64_t di, const Value *src, int64_t si)
{
    if (dst->dtype == DT_FLOAT)
        dst->f[di] = src->f[si];
    else
        dst->i[di] = src->i[si];
}

/* The target shape of a Reshape: its attribute before opset 5, its input after. */
static bool reshape_target(Im *im, int64_t *t, int *nt)
{
    if (im->opset < 5) {
        const Onnx__AttributeProto *at = attr(im, "shape");
        if (!at || at->n_ints > MAX_RANK)
            return fail(im, "attribute 'shape' is missing or longer than %d", MAX_RANK);
        *nt = (int)at->n_ints;
        copy_bytes(t, at->ints, at->n_ints * sizeof *t);
        return true;
    }
    Value *s = const_input(im, 1, true, DT_INT64, "shape");
    if (!s)
        return false;
    if (s->ndims != 1 || s->count > MAX_RANK)
        return fail(im, "shape '%s' is not a 1-D list of at most %d sizes", shown_name(im->a, s->name), MAX_RANK);
    *nt = (int)s->count;
    copy_bytes(t, s->i, (size_t)*nt * sizeof *t);
    return true;
}

static bool reshape_const(Im *im, Value *x)
{
    int64_t t[MAX_RANK];
    int nt, infer = -1;
    if ((x->dtype != DT_FLOAT && x->dtype != DT_INT64) || !reshape_target(im, t, &nt))
        return x->dtype == DT_FLOAT || x->dtype == DT_INT64 ? false
                                                            : fail(im, "reshapes a constant of ONNX type %d", x->dtype);
    int64_t known = 1;
    bool allowzero = attr_int(im, "allowzero", 0) != 0;
    for (int j = 0; j < nt; j++) {
        if (t[j] == 0 && !allowzero) {
            if (j >= x->ndims)
                return fail(im, "shape entry %d is 0 past the input's %d dimensions", j, x->ndims);
            t[j] = x->dims[j];
        }
        if (t[j] == -1 && infer < 0) {
            infer = j;
            continue;
        }
        if (t[j] < 0 || (t[j] > 0 && known > FOLD_MAX / t[j]))
            return fail(im, "shape entry %d is %" PRId64, j, t[j]);
        known *= t[j];
    }
    if (infer >= 0) {
        if (known == 0 || x->count % known != 0)
            return fail(im, "cannot infer the -1 of the shape for %" PRId64 " values", x->count);
        t[infer] = x->count / known;
        known = x->count;
    }
    if (known != x->count)
        return fail(im, "reshapes %" PRId64 " values into %" PRId64, x->count, known);
    Value *v = const_typed(im, x->dtype, nt, t);
    if (!v)
        return false;
    for (int64_t k = 0; k < x->count; k++)
        copy_elem(v, k, x, k);
    return true;
}

static bool op_reshape(Im *im)
{
    static const char *const keys[] = {"shape", "allowzero", "consumed_inputs", NULL};
    if (!known_attrs(im, keys))
        return false;
    Value *x = input(im, 0, true);
    if (!x)
        return false;
    if (x->kind == V_CONST)
        return reshape_const(im, x);
    int64_t t[MAX_RANK];
    int nt;
    if (!reshape_target(im, t, &nt))
        return false;
    int64_t d[4];
    int rank = act_dims(im, x, d);
    bool allowzero = attr_int(im, "allowzero", 0) != 0;
    for (int j = 0; j < nt; j++)
        if (t[j] == 0 && !allowzero && j < rank)
            t[j] = d[j];
    int64_t per_image = ir_shape_elems(*shape_of(im, x));
    bool batch_first = nt >= 1 && t[0] == im->batch;
    if (nt == 2 && batch_first && (t[1] == -1 || t[1] == per_image))
        return flatten_to_2d(im, x);
    if (nt == 2 && t[0] == -1 && t[1] == per_image) /* -1 is the batch */
        return flatten_to_2d(im, x);
    if (nt == rank && batch_first) {
        bool same = true;
        for (int j = 1; j < nt; j++)
            same = same && t[j] == d[j];
        if (same)
            return alias(im, x);
    }
    char text[160];
    size_t used = 0;
    for (int j = 0; j < nt && used < sizeof text; j++)
        used += (size_t)snprintf(text + used, sizeof text - used, "%s%" PRId64, j ? ", " : "",
                                 t[j] == BATCH_SYM ? (int64_t)-2 : t[j]);
    return fail(im, "reshapes to [%s]; cnnc takes a Reshape to (N, -1) (x.view(x.size(0), -1)) only", text);
}

static bool op_softmax(Im *im)
{
    static const char *const keys[] = {"axis", NULL};
    Value *x = known_attrs(im, keys) ? act_input(im, 0, 0) : NULL;
    if (!x)
        return false;
    int64_t axis = attr_int(im, "axis", im->opset < 13 ? 1 : -1);
    const IrShape *s = shape_of(im, x);
    bool ok;
    if (x->rank == 2)
        ok = axis == 1 || axis == -1;
    else if (im->opset < 13)
        ok = axis == 1 && s->w == 1 && s->h == 1; /* flattens C x H x W */
    else
        ok = axis == 1 || axis == -3;
    if (!ok)
        return fail(im,
                    "attribute 'axis' is %" PRId64 " on a rank-%d input at opset %" PRId64
                    "; cnnc's softmax is over the channels",
                    axis, x->rank, im->opset);
    int rank = x->rank;
    return add_node(im, IR_OP_SOFTMAX, &x, 1) && shape_last(im) && act_out(im, rank);
}

static bool op_passthrough(Im *im, bool dropout)
{
    static const char *const keys[] = {"ratio", "is_test", "seed", NULL};
    static const char *const none[] = {NULL};
    if (!known_attrs(im, dropout ? keys : none) || !one_output(im))
        return false;
    if (dropout && in_name(im, 2)) {
        Value *tm = input(im, 2, true);
        if (!tm)
            return false;
        if (tm->kind != V_CONST || tm->count != 1 || !(tm->dtype == DT_INT64 ? tm->i[0] == 0 : false))
            return fail(im, "input 'training_mode' is not a constant false; cnnc runs inference");
    }
    Value *x = input(im, 0, true);
    return x && alias(im, x);
}

/* A zero Pad of H and W, symmetric: kept pending for the Conv or the
 * AveragePool that reads it (PyTorch exports a padded average pool so). */
static bool op_pad(Im *im)
{
    static const char *const keys[] = {"mode", "pads", "paddings", "value", NULL};
    if (!known_attrs(im, keys))
        return false;
    char buf[32];
    const char *mode = attr_string(im, "mode", buf, sizeof buf);
    if (mode && strcmp(mode, "constant") != 0)
        return fail(im, "attribute 'mode' is '%s'; cnnc takes zero padding (mode=constant)", shown_name(im->a, mode));
    Value *x = act_input(im, 0, 4);
    if (!x)
        return false;
    int64_t p[8];
    double value = 0;
    if (im->opset < 11) {
        const Onnx__AttributeProto *at = attr(im, im->opset < 2 ? "paddings" : "pads");
        if (!at || at->n_ints != 8)
            return fail(im, "attribute '%s' is missing or not 8 values", im->opset < 2 ? "paddings" : "pads");
        copy_bytes(p, at->ints, sizeof p);
        value = attr_float(im, "value", 0.0);
    } else {
        Value *pads = const_input(im, 1, true, DT_INT64, "pads");
        if (!pads)
            return false;
        if (pads->count != 8)
            return fail(im, "input 'pads' has %" PRId64 " values; a 4-D Pad has 8", pads->count);
        copy_bytes(p, pads->i, sizeof p);
        if (in_name(im, 2)) {
            Value *c = const_input(im, 2, true, DT_FLOAT, "constant_value");
            if (!c)
                return false;
            value = c->count == 1 ? c->f[0] : NAN;
        }
    }
    if (value != 0)
        return fail(im, "pads with the value %g; cnnc takes zero padding", value);
    if (p[0] || p[1] || p[4] || p[5] || p[2] != p[6] || p[3] != p[7] || p[2] < 0 || p[3] < 0 || p[2] > INT32_MAX ||
        p[3] > INT32_MAX)
        return fail(im,
                    "attribute or input 'pads' [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
                    ", %" PRId64 ", %" PRId64 ", %" PRId64 "] is not a symmetric padding of H and W",
                    p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]);
    if (!alias(im, x))
        return false;
    Value *v = find(im, im->node->output[0]);
    v->pad_h += p[2];
    v->pad_w += p[3];
    return true;
}

/* ---- folded shape arithmetic ---------------------------------------------- */

static Value *const_out(Im *im, int ndims, const int64_t *dims, int64_t count)
{
    Value *v = output(im, 0);
    if (!v)
        return NULL;
    v->kind = V_CONST;
    v->dtype = DT_INT64;
    v->ndims = ndims;
    copy_bytes(v->dims, dims, (size_t)ndims * sizeof *dims);
    v->count = count;
    v->i = ir_arena_alloc(im->a, (size_t)count + 1, sizeof *v->i);
    return v;
}

static bool op_shape(Im *im)
{
    static const char *const keys[] = {NULL};
    Value *x = known_attrs(im, keys) ? act_input(im, 0, 0) : NULL;
    if (!x)
        return false;
    int64_t d[4];
    int rank = act_dims(im, x, d);
    int64_t dims[1] = {rank};
    Value *v = const_out(im, 1, dims, rank);
    if (!v)
        return false;
    copy_bytes(v->i, d, (size_t)rank * sizeof *d);
    return true;
}

static bool op_gather(Im *im)
{
    static const char *const keys[] = {"axis", NULL};
    if (!known_attrs(im, keys))
        return false;
    Value *data = const_input(im, 0, true, DT_INT64, "data");
    Value *idx = data ? const_input(im, 1, true, DT_INT64, "indices") : NULL;
    if (!idx)
        return false;
    if (data->ndims != 1 || attr_int(im, "axis", 0) != 0 || idx->ndims > 1)
        return fail(im, "gathers other than from a 1-D shape along axis 0; cnnc folds only shape arithmetic");
    Value *v = const_out(im, idx->ndims, idx->dims, idx->count);
    if (!v)
        return false;
    for (int64_t k = 0; k < idx->count; k++) {
        int64_t j = idx->i[k] < 0 ? idx->i[k] + data->count : idx->i[k];
        if (j < 0 || j >= data->count)
            return fail(im, "index %" PRId64 " is out of range for %" PRId64 " values", idx->i[k], data->count);
        v->i[k] = data->i[j];
    }
    return true;
}

static bool op_unsqueeze(Im *im)
{
    static const char *const keys[] = {"axes", NULL};
    if (!known_attrs(im, keys))
        return false;
    Value *x = input(im, 0, true);
    if (!x)
        return false;
    if (x->kind != V_CONST || x->dtype != DT_INT64)
        return fail(im, "unsqueezes a tensor other than a shape; cnnc folds only shape arithmetic");
    const int64_t *axes;
    size_t naxes;
    if (im->opset < 13) {
        const Onnx__AttributeProto *at = attr(im, "axes");
        if (!at)
            return fail(im, "attribute 'axes' is missing");
        axes = at->ints;
        naxes = at->n_ints;
    } else {
        Value *a = const_input(im, 1, true, DT_INT64, "axes");
        if (!a)
            return false;
        axes = a->i;
        naxes = (size_t)a->count;
    }
    int out_rank = x->ndims + (int)naxes;
    if (out_rank > MAX_RANK)
        return fail(im, "makes a tensor of rank %d; cnnc folds shapes up to rank %d", out_rank, MAX_RANK);
    int64_t dims[MAX_RANK];
    bool one[MAX_RANK] = {false};
    for (size_t k = 0; k < naxes; k++) {
        int64_t ax = axes[k] < 0 ? axes[k] + out_rank : axes[k];
        if (ax < 0 || ax >= out_rank || one[ax])
            return fail(im, "axis %" PRId64 " is out of range or repeated", axes[k]);
        one[ax] = true;
    }
    for (int j = 0, from = 0; j < out_rank; j++)
        dims[j] = one[j] ? 1 : x->dims[from++];
    Value *v = const_out(im, out_rank, dims, x->count);
    if (!v)
        return false;
    copy_bytes(v->i, x->i, (size_t)x->count * sizeof *v->i);
    return true;
}

static bool op_constant(Im *im)
{
    if (im->node->n_attribute != 1)
        return fail(im, "has %zu attributes; a Constant has one", im->node->n_attribute);
    const Onnx__AttributeProto *at = im->node->attribute[0];
    const char *name = at->name ? at->name : "";
    Value *v;
    if (strcmp(name, "value") == 0 && at->t) {
        if (!(v = output(im, 0)))
            return false;
        return tensor_value(im, at->t, v, "constant");
    }
    if (strcmp(name, "value_int") == 0 || strcmp(name, "value_ints") == 0) {
        bool one = strcmp(name, "value_int") == 0;
        int64_t n = one ? 1 : (int64_t)at->n_ints, dims[1] = {n};
        if (n > MAX_ELEMS || !(v = const_out(im, one ? 0 : 1, dims, n)))
            return false;
        copy_bytes(v->i, one ? &at->i : at->ints, (size_t)n * sizeof *v->i);
        return true;
    }
    if (strcmp(name, "value_float") == 0 || strcmp(name, "value_floats") == 0) {
        bool one = strcmp(name, "value_float") == 0;
        int64_t n = one ? 1 : (int64_t)at->n_floats, dims[1] = {n};
        if (n > MAX_ELEMS || !(v = const_out(im, one ? 0 : 1, dims, n)))
            return false;
        v->dtype = DT_FLOAT;
        v->f = ir_arena_alloc(im->a, (size_t)n + 1, sizeof *v->f);
        copy_bytes(v->f, one ? &at->f : at->floats, (size_t)n * sizeof *v->f);
        return true;
    }
    return fail(im, "attribute '%s' is not supported; cnnc reads value, value_int(s) and value_float(s)",
                shown_name(im->a, name));
}

/* ---- constants folded in general ------------------------------------------ */

/* A constant input of either type (float or int64). */
static Value *any_const_input(Im *im, size_t k, const char *role)
{
    Value *v = input(im, k, true);
    if (!v)
        return NULL;
    if (v->kind != V_CONST || (v->dtype != DT_FLOAT && v->dtype != DT_INT64)) {
        fail(im, "%s '%s' is not a float or int64 constant; cnnc folds only constants here", role,
             shown_name(im->a, v->name));
        return NULL;
    }
    return v;
}

static void strides_of(const Value *v, int64_t *st)
{
    int64_t acc = 1;
    for (int j = v->ndims - 1; j >= 0; j--) {
        st[j] = acc;
        acc *= v->dims[j];
    }
}

static bool op_transpose(Im *im)
{
    static const char *const keys[] = {"perm", NULL};
    if (!known_attrs(im, keys))
        return false;
    Value *x = any_const_input(im, 0, "data");
    if (!x)
        return false;
    int r = x->ndims;
    int64_t perm[MAX_RANK], dims[MAX_RANK], st[MAX_RANK];
    const Onnx__AttributeProto *at = attr(im, "perm");
    bool seen[MAX_RANK] = {false};
    for (int j = 0; j < r; j++) {
        perm[j] = at ? (j < (int)at->n_ints ? at->ints[j] : -1) : r - 1 - j;
        if ((at && at->n_ints != (size_t)r) || perm[j] < 0 || perm[j] >= r || seen[perm[j]])
            return fail(im, "attribute 'perm' is not a permutation of %d axes", r);
        seen[perm[j]] = true;
        dims[j] = x->dims[perm[j]];
    }
    strides_of(x, st);
    Value *v = const_typed(im, x->dtype, r, dims);
    if (!v)
        return false;
    for (int64_t o = 0; o < v->count; o++) {
        int64_t rem = o, src = 0;
        for (int j = r - 1; j >= 0; j--) {
            src += (rem % dims[j]) * st[perm[j]];
            rem /= dims[j];
        }
        copy_elem(v, o, x, src);
    }
    return true;
}

/* Slice of a constant, ONNX's clamping rules, any steps. */
static bool op_slice(Im *im)
{
    static const char *const keys[] = {"starts", "ends", "axes", NULL};
    if (!known_attrs(im, keys))
        return false;
    Value *x = any_const_input(im, 0, "data");
    if (!x)
        return false;
    int r = x->ndims;
    const int64_t *starts, *ends, *axes = NULL, *steps = NULL;
    int64_t n;
    if (im->opset < 10) {
        const Onnx__AttributeProto *s0 = attr(im, "starts"), *e0 = attr(im, "ends"), *a0 = attr(im, "axes");
        if (!s0 || !e0 || s0->n_ints != e0->n_ints || (a0 && a0->n_ints != s0->n_ints))
            return fail(im, "attributes 'starts' and 'ends' are missing or of different lengths");
        starts = s0->ints;
        ends = e0->ints;
        axes = a0 ? a0->ints : NULL;
        n = (int64_t)s0->n_ints;
    } else {
        Value *sv = const_input(im, 1, true, DT_INT64, "starts"),
              *ev = sv ? const_input(im, 2, true, DT_INT64, "ends") : NULL;
        if (!ev)
            return false;
        Value *av = in_name(im, 3) ? const_input(im, 3, true, DT_INT64, "axes") : NULL;
        Value *pv = in_name(im, 4) ? const_input(im, 4, true, DT_INT64, "steps") : NULL;
        if ((in_name(im, 3) && !av) || (in_name(im, 4) && !pv))
            return false;
        n = sv->count;
        if (ev->count != n || (av && av->count != n) || (pv && pv->count != n))
            return fail(im, "inputs 'starts', 'ends', 'axes' and 'steps' differ in length");
        starts = sv->i;
        ends = ev->i;
        axes = av ? av->i : NULL;
        steps = pv ? pv->i : NULL;
    }
    int64_t from[MAX_RANK], step[MAX_RANK], dims[MAX_RANK], st[MAX_RANK];
    bool done[MAX_RANK] = {false};
    for (int j = 0; j < r; j++) {
        from[j] = 0;
        step[j] = 1;
        dims[j] = x->dims[j];
    }
    if (n > r)
        return fail(im, "slices %" PRId64 " axes of a rank-%d constant", n, r);
    for (int64_t k = 0; k < n; k++) {
        int64_t ax = axes ? axes[k] : k, sp = steps ? steps[k] : 1;
        if (ax < 0)
            ax += r;
        if (ax < 0 || ax >= r || done[ax] || sp == 0 || sp == INT64_MIN)
            return fail(im, "slice %" PRId64 " has axis %" PRId64 " or step %" PRId64 " out of range", k,
                        axes ? axes[k] : k, sp);
        done[ax] = true;
        /* ONNX's rules: negative ends count from the end, then clamp to
         * [0, d] going forward and to [0, d-1] and [-1, d-1] going back;
         * every difference below is then at most d, so nothing overflows. */
        int64_t d = x->dims[ax], b = starts[k], e = ends[k];
        if (b < 0)
            b += d;
        if (e < 0)
            e += d;
        int64_t len;
        if (sp > 0) {
            b = b < 0 ? 0 : b > d ? d : b;
            e = e < 0 ? 0 : e > d ? d : e;
            len = e > b ? (e - b - 1) / sp + 1 : 0;
        } else {
            b = b < 0 ? 0 : b > d - 1 ? d - 1 : b;
            e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
            len = b > e ? (b - e - 1) / -sp + 1 : 0;
        }
        from[ax] = b;
        step[ax] = sp;
        dims[ax] = len;
    }
    strides_of(x, st);
    Value *v = const_typed(im, x->dtype, r, dims);
    if (!v)
        return false;
    for (int64_t o = 0; o < v->count; o++) {
        int64_t rem = o, src = 0;
        for (int j = r - 1; j >= 0; j--) {
            src += (from[j] + (rem % dims[j]) * step[j]) * st[j];
            rem /= dims[j];
        }
        copy_elem(v, o, x, src);
    }
    return true;
}

static bool op_cast(Im *im)
{
    static const char *const keys[] = {"to", "saturate", NULL};
    if (!known_attrs(im, keys))
        return false;
    int64_t to = attr_int(im, "to", -1);
    if (to != DT_FLOAT && to != DT_INT64 && to != DT_INT32)
        return fail(im, "attribute 'to' is %" PRId64 "; cnnc folds casts to float, int32 and int64 of constants", to);
    Value *x = input(im, 0, true);
    if (!x)
        return false;
    if (x->kind == V_ACT && to == DT_FLOAT)
        return alias(im, x); /* the input is float already */
    if (!(x = any_const_input(im, 0, "input")))
        return false;
    int32_t dt = to == DT_FLOAT ? DT_FLOAT : DT_INT64;
    Value *v = const_typed(im, dt, x->ndims, x->dims);
    if (!v)
        return false;
    for (int64_t k = 0; k < x->count; k++) {
        if (x->dtype == DT_INT64 && x->i[k] == BATCH_SYM)
            return fail(im, "casts the symbolic batch size; cnnc folds only shapes it knows");
        if (dt == DT_FLOAT) {
            v->f[k] = x->dtype == DT_FLOAT ? x->f[k] : (float)x->i[k];
        } else {
            double f = x->dtype == DT_FLOAT ? x->f[k] : 0;
            if (x->dtype == DT_FLOAT && !(f > -9.2e18 && f < 9.2e18))
                return fail(im, "casts %g to an integer", f);
            int64_t val = x->dtype == DT_FLOAT ? (int64_t)f : x->i[k];
            v->i[k] = to == DT_INT32 ? (int64_t)(int32_t)val : val;
        }
    }
    return true;
}

static bool op_constant_of_shape(Im *im)
{
    static const char *const keys[] = {"value", NULL};
    if (!known_attrs(im, keys))
        return false;
    Value *shape = const_input(im, 0, true, DT_INT64, "shape");
    if (!shape)
        return false;
    if (shape->ndims != 1 || shape->count > MAX_RANK)
        return fail(im, "input 'shape' is not a list of at most %d sizes", MAX_RANK);
    Value fill = {.name = "value", .dtype = DT_FLOAT, .count = 1, .f = (float[1]){0}};
    const Onnx__AttributeProto *at = attr(im, "value");
    char msg[256];
    if (at && (!at->t || !read_tensor(im->a, at->t, &fill, msg, sizeof msg) || fill.count != 1 ||
               (fill.dtype != DT_FLOAT && fill.dtype != DT_INT64)))
        return fail(im, "attribute 'value' is not one float or integer");
    Value *v = const_typed(im, fill.dtype, (int)shape->count, shape->i);
    if (!v)
        return false;
    for (int64_t k = 0; k < v->count; k++)
        copy_elem(v, k, &fill, 0);
    return true;
}

/* ---- the graph ------------------------------------------------------------ */

/* The ops whose import takes an argument, each as the table below calls it. */
static bool op_max_pool(Im *im) { return op_pool(im, IR_POOL_MAX); }
static bool op_avg_pool(Im *im) { return op_pool(im, IR_POOL_AVG); }
static bool op_global_avg(Im *im) { return op_global_pool(im, IR_POOL_AVG); }
static bool op_global_max(Im *im) { return op_global_pool(im, IR_POOL_MAX); }
static bool op_dropout(Im *im) { return op_passthrough(im, true); }
static bool op_identity(Im *im) { return op_passthrough(im, false); }

static const char *const legacy_keys[] = {"consumed_inputs", NULL};
static bool op_relu(Im *im) { return op_unary(im, IR_OP_RELU, legacy_keys); }
static bool op_sigmoid(Im *im) { return op_unary(im, IR_OP_SIGMOID, legacy_keys); }
static bool op_tanh(Im *im) { return op_unary(im, IR_OP_TANH, legacy_keys); }

static bool op_leaky_relu(Im *im)
{
    static const char *const alpha[] = {"alpha", NULL}, *const old[] = {"alpha", "consumed_inputs", NULL};
    return op_unary(im, IR_OP_LEAKYRELU, im->opset < 6 ? old : alpha);
}

/* Every op the importer reads, in the order a refusal lists them: layer is
 * how it names the op as a layer (NULL: it only computes constants), and
 * consts says it also computes constants around a Reshape. Adding an op is
 * one line here. */
static const struct {
    const char *op;
    bool (*import)(Im *im);
    const char *layer;
    bool consts;
} onnx_ops[] = {
    {"Conv", op_conv, "Conv", false},
    {"MaxPool", op_max_pool, "MaxPool", false},
    {"AveragePool", op_avg_pool, "AveragePool", false},
    {"GlobalAveragePool", op_global_avg, "GlobalAveragePool", false},
    {"GlobalMaxPool", op_global_max, "GlobalMaxPool", false},
    {"BatchNormalization", op_batchnorm, "BatchNormalization", false},
    {"Relu", op_relu, "Relu", false},
    {"Clip", op_clip, "Clip (to [0, 6])", false},
    {"LeakyRelu", op_leaky_relu, "LeakyRelu", false},
    {"Sigmoid", op_sigmoid, "Sigmoid", false},
    {"Tanh", op_tanh, "Tanh", false},
    {"Add", op_add, "Add", false},
    {"Concat", op_concat, "Concat", true},
    {"Gemm", op_gemm, "Gemm", false},
    {"MatMul", op_matmul, "MatMul (+ Add)", false},
    {"Flatten", op_flatten, "Flatten", false},
    {"Reshape", op_reshape, "Reshape (to N x -1)", true},
    {"Softmax", op_softmax, "Softmax", false},
    {"Dropout", op_dropout, "Dropout", false},
    {"Identity", op_identity, "Identity", false},
    {"Pad", op_pad, "a zero Pad before a Conv or an AveragePool", false},
    {"Constant", op_constant, NULL, true},
    {"ConstantOfShape", op_constant_of_shape, NULL, true},
    {"Shape", op_shape, NULL, true},
    {"Gather", op_gather, NULL, true},
    {"Unsqueeze", op_unsqueeze, NULL, true},
    {"Slice", op_slice, NULL, true},
    {"Transpose", op_transpose, NULL, true},
    {"Cast", op_cast, NULL, true},
};
enum { N_ONNX_OPS = sizeof onnx_ops / sizeof *onnx_ops };

/* "Conv, MaxPool, ..., and Constant, ... and Reshape computing constants",
 * from the table, for a refusal's note. */
static const char *supported_ops(IrArena *a)
{
    const char *layers = "", *consts = "";
    int nconst = 0, k = 0;
    for (size_t i = 0; i < N_ONNX_OPS; i++)
        if (onnx_ops[i].layer)
            layers = ir_arena_printf(a, "%s%s, ", layers, onnx_ops[i].layer);
    for (size_t i = 0; i < N_ONNX_OPS; i++)
        nconst += onnx_ops[i].consts;
    for (size_t i = 0; i < N_ONNX_OPS; i++)
        if (onnx_ops[i].consts) {
            k++;
            consts = ir_arena_printf(a, "%s%s%s", consts, k == 1 ? "" : k == nconst ? " and " : ", ", onnx_ops[i].op);
        }
    return ir_arena_printf(a, "%sand %s computing constants", layers, consts);
}

static bool import_node(Im *im)
{
    const char *op = im->node->op_type ? im->node->op_type : "";
    if (im->node->domain && im->node->domain[0] && strcmp(im->node->domain, "ai.onnx") != 0)
        return fail(im, "the op is in domain '%s'; cnnc takes ONNX's own ops", shown_name(im->a, im->node->domain));
    for (size_t i = 0; i < N_ONNX_OPS; i++)
        if (strcmp(op, onnx_ops[i].op) == 0)
            return onnx_ops[i].import(im);
    fail(im, "op '%s' is not supported", shown_name(im->a, op));
    ir_diag_note(im->diag, here(im), "cnnc compiles %s", supported_ops(im->a));
    return false;
}

static bool graph_input(Im *im, const Onnx__GraphProto *gp)
{
    const Onnx__ValueInfoProto *in = NULL;
    size_t count = 0;
    for (size_t k = 0; k < gp->n_input; k++) {
        const char *n = gp->input[k]->name ? gp->input[k]->name : "";
        Value *v = find(im, n);
        if (v && v->kind == V_CONST)
            continue; /* older exporters list the initializers as inputs too */
        if (count++ == 0)
            in = gp->input[k];
    }
    if (count != 1)
        return fail(im, "the graph has %zu inputs other than initializers; cnnc takes one", count);
    const char *iname = in->name ? in->name : "";
    const Onnx__TypeProto *tp = in->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type ||
        tp->tensor_type->elem_type != DT_FLOAT)
        return fail(im, "input '%s' is not a float tensor; cnnc takes one float input", shown_name(im->a, iname));
    const Onnx__TensorShapeProto *sh = tp->tensor_type->shape;
    if (!sh || (sh->n_dim != 4 && sh->n_dim != 2))
        return fail(im, "input '%s' has %zu dimensions; cnnc takes N x C x H x W or N x C", shown_name(im->a, iname),
                    sh ? sh->n_dim : (size_t)0);
    int64_t d[4] = {0, 0, 1, 1};
    for (size_t k = 0; k < sh->n_dim; k++) {
        const Onnx__TensorShapeProto__Dimension *dim = sh->dim[k];
        bool fixed = dim && dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        if (k == 0) {
            d[0] = fixed ? dim->dim_value : BATCH_SYM;
            if (fixed && (d[0] < 1 || d[0] > INT32_MAX))
                return fail(im, "input '%s' has batch size %" PRId64 "; it must be from 1 to 2^31-1",
                            shown_name(im->a, iname), d[0]);
            continue;
        }
        if (!fixed)
            return fail(im, "input '%s' has a symbolic dimension %zu; cnnc needs C, H and W fixed",
                        shown_name(im->a, iname), k);
        if (dim->dim_value < 1 || dim->dim_value > INT32_MAX)
            return fail(im, "input '%s' has dimension %zu of %" PRId64 "; sizes must be from 1 to 2^31-1",
                        shown_name(im->a, iname), k, dim->dim_value);
        d[k] = dim->dim_value;
    }
    im->batch = d[0];
    IrNode *n = ir_graph_add(im->g, IR_OP_INPUT);
    n->name = "input";
    claim_name(im, n->name);
    n->named = true;
    n->span = n->name_span = here(im);
    n->attr.input.shape = (IrShape){d[3], d[2], d[1]};
    Value *v = define(im, iname);
    if (!v)
        return false;
    v->kind = V_ACT;
    v->node = 0;
    v->rank = (int)sh->n_dim;
    return shape_last(im);
}

bool fe_onnx_sniff(const char *bytes, size_t len)
{
    if (len < 2)
        return false;
    unsigned char c = (unsigned char)bytes[0];
    unsigned field = c >> 3, wire = c & 7;
    /* A tag of ModelProto's fields 1 to 3 (ir_version first, as writers put
     * it), a control byte that starts no text. */
    return field >= 1 && field <= 3 && (wire == 0 || wire == 2) && c != '\t' && c != '\n' && c != '\r';
}

static int64_t default_opset(const Onnx__ModelProto *m)
{
    int64_t v = -1;
    for (size_t k = 0; k < m->n_opset_import; k++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[k];
        if (!o->domain || !o->domain[0] || strcmp(o->domain, "ai.onnx") == 0)
            v = o->has_version ? o->version : v;
    }
    return v;
}

static IrGraph *import_model(Im *im, const Onnx__ModelProto *m)
{
    const Onnx__GraphProto *gp = m->graph;
    if (!gp) {
        ir_diag_file_error(im->diag, "the model has no graph");
        return NULL;
    }
    im->gp = gp;
    im->opset = default_opset(m);
    if (gp->n_node > MAX_NODES) {
        ir_diag_file_error(im->diag, "the graph has %zu nodes; cnnc takes up to %d", gp->n_node, MAX_NODES);
        return NULL;
    }
    if (im->opset < 1 || im->opset > OPSET_MAX) {
        if (im->opset < 0)
            ir_diag_file_error(im->diag, "the model imports no ONNX opset (opset_import has no default domain)");
        else
            ir_diag_file_error(im->diag, "the model imports ONNX opset %" PRId64 "; cnnc takes opsets 1 to %d",
                               im->opset, OPSET_MAX);
        return NULL;
    }
    if (m->n_functions > 0 || gp->n_sparse_initializer > 0) {
        ir_diag_file_error(im->diag, "the model has %s; cnnc does not read them",
                           m->n_functions ? "local functions" : "sparse initializers");
        return NULL;
    }
    /* Places for diagnostics: the graph, then each node. */
    const char **places = ir_arena_alloc(im->a, gp->n_node + 1, sizeof *places);
    places[0] = "graph";
    for (size_t k = 0; k < gp->n_node; k++) {
        const Onnx__NodeProto *n = gp->node[k];
        const char *name = n->name && n->name[0] ? n->name : n->n_output && n->output[0] ? n->output[0] : "";
        places[k + 1] =
            ir_arena_printf(im->a, "node '%s' (%s)", shown_name(im->a, name), shown_name(im->a, n->op_type));
    }
    im->diag->places = places;
    im->diag->nplaces = gp->n_node + 1;

    for (size_t k = 0; k < gp->n_initializer; k++) {
        const Onnx__TensorProto *t = gp->initializer[k];
        Value *v = define(im, t->name ? t->name : "");
        if (!v || !tensor_value(im, t, v, "initializer"))
            return NULL;
    }
    if (!graph_input(im, gp))
        return NULL;
    reads_count(im);
    for (size_t k = 0; k < gp->n_node; k++) {
        im->cur = k + 1;
        im->node = gp->node[k];
        if (!import_node(im))
            return NULL;
    }
    im->cur = 0;
    if (gp->n_output != 1) {
        ir_diag_file_error(im->diag, "the graph has %zu outputs; cnnc takes one", gp->n_output);
        return NULL;
    }
    const char *oname = gp->output[0]->name ? gp->output[0]->name : "";
    Value *out = find(im, oname);
    if (!out || out->kind != V_ACT) {
        ir_diag_file_error(im->diag, "the graph's output '%s' is %s", shown_name(im->a, oname),
                           out ? "a constant; cnnc computes outputs from the input" : "not computed by any node");
        return NULL;
    }
    if (out->pad_h || out->pad_w) {
        ir_diag_file_error(im->diag,
                           "the graph's output '%s' is a zero Pad, which cnnc folds only into a Conv or "
                           "an AveragePool",
                           shown_name(im->a, oname));
        return NULL;
    }
    if (out->node == 0) {
        ir_diag_file_error(im->diag, "the graph's output is its input; there is no layer to compile");
        return NULL;
    }
    if ((size_t)out->node != im->g->count - 1) {
        ir_diag_file_error(im->diag,
                           "the graph computes layers its output '%s' does not read; cnnc takes graphs "
                           "that end at their output",
                           shown_name(im->a, oname));
        return NULL;
    }
    /* Once more over the whole graph, for the totals and the bias a MatMul's
     * Add gave an fc after it was shaped. */
    if (!ir_graph_infer(im->g, im->diag))
        return NULL;
    ir_graph_verify(im->g);
    return im->g;
}

/* The C symbols' prefix: name's letters, digits and underscores. */
static const char *graph_name(IrArena *a, const char *name)
{
    size_t n = strlen(name);
    char *s = ir_arena_alloc(a, n + 2, 1), *p = s;
    if (!(name[0] >= 'a' && name[0] <= 'z') && !(name[0] >= 'A' && name[0] <= 'Z'))
        *p++ = 'm';
    for (size_t k = 0; k < n; k++) {
        char c = name[k];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        *p++ = ok ? c : '_';
    }
    *p = '\0';
    return s;
}

static bool varint(const uint8_t *p, size_t len, size_t *i, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *i < len; shift += 7) {
        uint8_t b = p[(*i)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

/* protobuf-c decodes nested messages by recursion, with no limit: a few
 * bytes a level would overflow the stack. This walks the wire format by
 * the schema and says whether messages nest at most MAX_DEPTH deep;
 * malformed bytes are left for the decoder to refuse. */
static bool depth_ok(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len, int depth)
{
    if (depth > MAX_DEPTH)
        return false;
    size_t i = 0;
    while (i < len) {
        uint64_t tag, n;
        if (!varint(p, len, &i, &tag))
            return true;
        switch (tag & 7) {
        case 0:
            if (!varint(p, len, &i, &n))
                return true;
            break;
        case 1:
            i += 8;
            break;
        case 5:
            i += 4;
            break;
        case 2: {
            if (!varint(p, len, &i, &n) || n > len - i)
                return true;
            const ProtobufCFieldDescriptor *f =
                tag >> 3 <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3)) : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && !depth_ok(f->descriptor, p + i, (size_t)n, depth + 1))
                return false;
            i += (size_t)n;
            break;
        }
        default:
            return true;
        }
    }
    return true;
}

IrGraph *fe_onnx_compile(IrArena *a, IrDiag *diag, const char *bytes, size_t len, const char *name,
                         FeOnnxWeights *weights)
{
    memset(weights, 0, sizeof *weights);
    if (!depth_ok(&onnx__model_proto__descriptor, (const uint8_t *)bytes, len, 0)) {
        ir_diag_file_error(diag, "the model nests messages more than %d deep; cnnc refuses it", MAX_DEPTH);
        return NULL;
    }
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, (const uint8_t *)bytes);
    if (!m) {
        ir_diag_file_error(diag, "not a readable ONNX model: the protobuf is truncated or corrupt");
        return NULL;
    }
    Im im = {.a = a, .diag = diag, .w = weights};
    im.table = ir_arena_alloc(a, 64, sizeof *im.table);
    im.mask = 63;
    im.names = ir_arena_alloc(a, 64, sizeof *im.names);
    im.names_mask = 63;
    im.g = ir_graph_new(a, graph_name(a, name));
    IrGraph *g = import_model(&im, m);
    /* The names the IR keeps are the arena's; the message goes. */
    for (size_t k = 0; g && k < im.nvals; k++)
        im.vals[k]->name = NULL;
    onnx__model_proto__free_unpacked(m, NULL);
    if (g && diag->errors > 0)
        return NULL;
    return g;
}

bool fe_onnx_read_tensor_file(const char *bytes, size_t len, float **data, int64_t *count, int64_t *dims, int *rank,
                              char *msg, size_t msg_size)
{
    Onnx__TensorProto *t = depth_ok(&onnx__tensor_proto__descriptor, (const uint8_t *)bytes, len, 0)
                               ? onnx__tensor_proto__unpack(NULL, len, (const uint8_t *)bytes)
                               : NULL;
    if (!t) {
        snprintf(msg, msg_size, "not a readable TensorProto");
        return false;
    }
    IrArena *a = ir_arena_new();
    Value v = {.name = "tensor"};
    bool ok = read_tensor(a, t, &v, msg, msg_size);
    if (ok && v.dtype != DT_FLOAT) {
        snprintf(msg, msg_size, "ONNX data type %d, not float", v.dtype);
        ok = false;
    }
    if (ok) {
        *data = malloc((size_t)(v.count ? v.count : 1) * sizeof **data);
        ok = *data != NULL;
        if (ok)
            copy_bytes(*data, v.f, (size_t)v.count * sizeof **data);
        *count = v.count;
        *rank = v.ndims;
        copy_bytes(dims, v.dims, (size_t)v.ndims * sizeof *dims);
    }
    ir_arena_free(a);
    onnx__tensor_proto__free_unpacked(t, NULL);
    return ok;
}
