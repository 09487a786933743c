/* From syntax to IR: layer kinds, names (explicit and default), keys and their
 * values, and the rules on where the input layer goes (SPEC sections 1, 8).
 * Every independent error is reported; the graph is returned only when none. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ast.h"
#include "frontend.h"

typedef struct Build {
    IrArena *arena;
    IrDiag *diag;
    IrGraph *g;
    const AstLayer *layer; /* the layer being built */
    const char *const *keys; /* its known keys, NULL-terminated */
    const char *suggested[8]; /* keys offered for misspellings: not also "missing" */
    int nsuggested;
    bool ok;
    /* Names claimed so far (open addressing over node indices, so 100,000
     * layers do not cost n^2 compares) and the default-name ordinals. */
    int32_t *names; /* node index + 1; 0 = empty */
    size_t names_mask;
    int64_t ordinal[IR_OP_COUNT];
    IrRound round;               /* the network's round=, each conv's and pool's default */
    const AstNetwork *net;
    size_t layer_index;          /* of b->layer in net, to tell a later layer from a missing one */
} Build;

/* ---- looking up arguments ---------------------------------------------- */

static const AstArg *find_arg(const Build *b, const char *key)
{
    for (size_t i = 0; i < b->layer->nargs; i++) {
        const AstArg *a = &b->layer->args[i];
        if (a->key && strcmp(a->key, key) == 0)
            return a;
    }
    return NULL;
}

static const AstArg *positional(const Build *b)
{
    for (size_t i = 0; i < b->layer->nargs; i++)
        if (!b->layer->args[i].key)
            return &b->layer->args[i];
    return NULL;
}

static void fail(Build *b, SrcSpan at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(Build *b, SrcSpan at, const char *fmt, ...)
{
    /* Sized to the message: names in it may be any length. */
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *msg = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!msg)
        IR_DIE("out of memory for a message");
    vsnprintf(msg, (size_t)n + 1, fmt, again);
    va_end(again);
    ir_diag_error(b->diag, at, "%s", msg);
    free(msg);
    b->ok = false;
}

static size_t count_words(const char *const *words)
{
    size_t n = 0;
    while (words[n])
        n++;
    return n;
}

/* ---- PyTorch's words --------------------------------------------------- */

/* PyTorch's keyword arguments that users carry over, and what cnnc writes
 * instead: a key of its own (ours), or nothing (ours NULL: the value comes
 * from the graph, or does not matter at inference). */
typedef struct TorchKey {
    const char *torch, *ours, *why;
} TorchKey;

static const TorchKey torch_keys[] = {
    {"padding", "pad", NULL},
    {"kernel_size", "size", NULL},
    {"out_channels", "filters", NULL},
    {"negative_slope", "slope", NULL},
    {"in_channels", NULL, "cnnc takes the input channels from the layer before"},
    {"in_features", NULL, "cnnc takes the input size from the layer before"},
    {"num_features", NULL, "cnnc takes the channels from the layer before"},
    {"out_features", NULL, "fc takes its outputs as a value, 'fc K'"},
    {"inplace", NULL, "it does not change what a layer computes"},
    {"momentum", NULL, "it only matters while training"},
    {"affine", NULL, "a batchnorm's weight and bias come from the weights file"},
    {"track_running_stats", NULL, "a batchnorm uses its running statistics"},
    {"padding_mode", NULL, "cnnc pads with zeros, PyTorch's default"},
};

/* The message for a key PyTorch has and cnnc does not, if a is one:
 * "did you mean 'pad=2'? (PyTorch's padding)", or why to leave it out. */
static bool torch_key_hint(Build *b, const AstArg *a, const char *const *keys)
{
    const AstLayer *l = b->layer;
    if (strcmp(a->key, "ceil_mode") == 0 && a->value->kind == AST_WORD) {
        bool ceil = strcasecmp(a->value->text, "true") == 0;
        bool takes = false;
        for (size_t k = 0; keys[k]; k++)
            takes |= strcmp(keys[k], "round") == 0;
        if (takes && (ceil || strcasecmp(a->value->text, "false") == 0)) {
            fail(b, a->key_span, "unknown key 'ceil_mode' for %s; did you mean 'round=%s'? (PyTorch's ceil_mode=%s)",
                 l->kind, ceil ? "ceil" : "floor", a->value->text);
            return true;
        }
    }
    for (size_t i = 0; i < sizeof torch_keys / sizeof *torch_keys; i++) {
        const TorchKey *t = &torch_keys[i];
        if (strcmp(a->key, t->torch) != 0)
            continue;
        if (!t->ours) {
            fail(b, a->key_span, "unknown key '%s' for %s (a PyTorch argument); leave it out: %s", a->key, l->kind,
                 t->why);
            return true;
        }
        for (size_t k = 0; keys[k]; k++) {
            if (strcmp(keys[k], t->ours) != 0)
                continue;
            if (b->nsuggested < 8)
                b->suggested[b->nsuggested++] = keys[k];
            const AstValue *v = a->value;
            bool simple = v->text && (v->kind == AST_NUM || v->kind == AST_DIMS || v->kind == AST_WORD);
            fail(b, a->key_span, "unknown key '%s' for %s; did you mean '%s%s%s'? (PyTorch's %s)", a->key, l->kind,
                 t->ours, simple ? "=" : "", simple ? v->text : "", a->key);
            return true;
        }
    }
    return false;
}

/* A layer kind as PyTorch names it (MaxPool2d, maxpool, Linear ...), and
 * how cnnc writes that layer, from the layer's own numbers where it has
 * them ('maxpool 2' -> 'pool max size=2'); NULL when kind is none. */
static const char *torch_kind(IrArena *arena, const AstLayer *l, const char **torch)
{
    /* Lower case without '_', so MaxPool2d, maxpool2d and max_pool2d meet. */
    size_t n = strlen(l->kind), k = 0;
    char *w = ir_arena_alloc(arena, n + 1, 1);
    for (size_t i = 0; i < n; i++)
        if (l->kind[i] != '_')
            w[k++] = (char)tolower((unsigned char)l->kind[i]);
    w[k] = '\0';
    /* The last whole number written as a value or as kernel_size= or
     * out_features=: the window, or the outputs. */
    const char *number = NULL;
    for (size_t i = 0; i < l->nargs; i++) {
        const AstArg *a = &l->args[i];
        if ((!a->key || strcmp(a->key, "kernel_size") == 0 || strcmp(a->key, "out_features") == 0) &&
            a->value->kind == AST_NUM && a->value->is_int)
            number = a->value->text;
    }
    if (strcmp(w, "maxpool") == 0 || strcmp(w, "maxpool2d") == 0 || strcmp(w, "avgpool") == 0 ||
        strcmp(w, "avgpool2d") == 0) {
        *torch = w[0] == 'm' ? "MaxPool2d" : "AvgPool2d";
        return ir_arena_printf(arena, "pool %s size=%s", w[0] == 'm' ? "max" : "avg", number ? number : "F");
    }
    if (strcmp(w, "adaptiveavgpool2d") == 0 || strcmp(w, "adaptivemaxpool2d") == 0) {
        *torch = w[8] == 'a' ? "AdaptiveAvgPool2d(1)" : "AdaptiveMaxPool2d(1)";
        return w[8] == 'a' ? "pool avg global" : "pool max global";
    }
    if (strcmp(w, "linear") == 0) {
        *torch = "Linear";
        return ir_arena_printf(arena, "fc %s", number ? number : "K");
    }
    if (strcmp(w, "batchnorm2d") == 0) {
        *torch = "BatchNorm2d";
        return "batchnorm";
    }
    if (strcmp(w, "conv2d") == 0) {
        *torch = "Conv2d";
        return "conv filters=K size=F";
    }
    /* One of cnnc's own kinds in other letters: ReLU, LeakyReLU, Softmax. */
    IrOp op;
    if (ir_op_from_word(w, &op) && strcmp(w, l->kind) != 0) {
        *torch = l->kind;
        return ir_op_word(op);
    }
    return NULL;
}

/* Whether the layer being built is of a one-input kind, which may read an
 * earlier layer with from=NAME (SPEC section 9). */
static bool takes_from(const Build *b)
{
    IrOp op;
    return ir_op_from_word(b->layer->kind, &op) && ir_op_defs[op]->max_inputs == 1;
}

/* Unknown and repeated keys, and positional values the kind does not take
 * (from= is known to every one-input kind). */
static void check_keys(Build *b, const char *const *keys, int positionals, const char *usage)
{
    const AstLayer *l = b->layer;
    int seen_positional = 0;
    b->keys = keys;
    b->nsuggested = 0;
    for (size_t i = 0; i < l->nargs; i++) {
        const AstArg *a = &l->args[i];
        if (!a->key) {
            if (++seen_positional > positionals)
                fail(b, a->value->span, "unexpected value '%s' for %s; %s",
                     a->value->text ? a->value->text : "[...]", l->kind, usage);
            continue;
        }
        bool known = strcmp(a->key, "from") == 0 && takes_from(b);
        for (size_t k = 0; keys[k]; k++)
            known |= strcmp(keys[k], a->key) == 0;
        if (!known && strcmp(a->key, "from") == 0) {
            fail(b, a->key_span, "from= is for layers with one input; %s reads the layers it names", l->kind);
            continue;
        }
        if (!known && torch_key_hint(b, a, keys))
            continue;
        if (!known) {
            const char *near = ir_nearest_word(a->key, keys, count_words(keys));
            if (near && b->nsuggested < 8)
                b->suggested[b->nsuggested++] = near;
            if (near)
                fail(b, a->key_span, "unknown key '%s' for %s; did you mean '%s'?", a->key, l->kind, near);
            else if (keys[0])
                fail(b, a->key_span, "unknown key '%s' for %s; %s", a->key, l->kind, usage);
            else
                fail(b, a->key_span, "%s takes no keys", l->kind);
            continue;
        }
        for (size_t j = 0; j < i; j++) {
            const AstArg *prev = &l->args[j];
            if (prev->key && strcmp(prev->key, a->key) == 0) {
                fail(b, a->key_span, "key '%s' given twice", a->key);
                ir_diag_note(b->diag, prev->key_span, "first given here");
                break;
            }
        }
    }
    if (positionals > 0 && seen_positional == 0)
        fail(b, l->kind_span, "%s is missing its value; %s", l->kind, usage);
}

static const char *shown(const AstValue *v)
{
    return v->text ? v->text : "[...]";
}

/* key=INTEGER >= min; *out keeps its default when the key is absent. */
static void int_value(Build *b, const AstValue *v, const char *what, int64_t min, int64_t *out)
{
    if (v->kind != AST_NUM || !v->is_int) {
        if (v->kind == AST_NUM && v->f >= (double)min && strchr(v->text, '-') == NULL &&
            v->f == floor(v->f))
            fail(b, v->span, "%s takes a whole number written with digits only, got '%s'", what, shown(v));
        else if (v->kind == AST_NUM && v->f < (double)min)
            fail(b, v->span, "%s=%s is out of range; it must be at least %" PRId64, what, shown(v), min);
        else
            fail(b, v->span, "%s takes a whole number, got '%s'", what, shown(v));
        return;
    }
    if (v->too_big) {
        fail(b, v->span, "%s=%s is too large (the limit is 2^63-1)", what, v->text);
        return;
    }
    if (v->i < min) {
        fail(b, v->span, "%s=%s is out of range; it must be at least %" PRId64, what, v->text, min);
        return;
    }
    *out = v->i;
}

static void int_arg(Build *b, const char *key, bool required, const char *hint, int64_t min, int64_t *out)
{
    const AstArg *a = find_arg(b, key);
    if (!a) {
        bool suggested = false;
        for (int i = 0; i < b->nsuggested; i++)
            suggested |= strcmp(b->suggested[i], key) == 0;
        if (required && !suggested)
            fail(b, b->layer->kind_span, "%s needs %s", b->layer->kind, hint);
        return;
    }
    int_value(b, a->value, key, min, out);
}

/* key=N or key=WxH (width x height, SPEC section 9), each part an integer
 * >= min; one number sets both. *w and *h keep their defaults when the key
 * is absent. */
static void pair_arg(Build *b, const char *key, bool required, const char *hint, int64_t min, int64_t *w, int64_t *h)
{
    const AstArg *a = find_arg(b, key);
    if (a && a->value->kind == AST_LIST && a->value->nitems == 2 && a->value->items[0]->kind == AST_NUM &&
        a->value->items[1]->kind == AST_NUM) {
        /* [H, W] as PyTorch's lists are; cnnc writes width x height. */
        const char *h0 = a->value->items[0]->text, *w0 = a->value->items[1]->text;
        if (strcmp(h0, w0) == 0)
            fail(b, a->value->span, "%s takes a number or a pair WxH, not a list; write %s=%s", key, key, h0);
        else
            fail(b, a->value->span,
                 "%s takes a number or a pair WxH, not a list; write %s=%sx%s (width x height: PyTorch's [%s, %s] "
                 "is height, width)",
                 key, key, w0, h0, h0, w0);
        return;
    }
    if (!a || a->value->kind != AST_DIMS) {
        int_arg(b, key, required, hint, min, w);
        if (a && a->value->kind == AST_NUM && a->value->is_int && !a->value->too_big && a->value->i >= min)
            *h = *w;
        return;
    }
    const AstValue *v = a->value;
    if (v->ndims != 2) {
        fail(b, v->span, "%s=%s has %d parts; write %s=N, or %s=WxH for a width and height that differ", key,
             v->text, v->ndims, key, key);
    } else if (v->too_big) {
        fail(b, v->span, "%s=%s is too large (the limit is 2^63-1)", key, v->text);
    } else if (v->dims[0] < min || v->dims[1] < min) {
        fail(b, v->span, "%s=%s is out of range; width and height must each be at least %" PRId64, key, v->text,
             min);
    } else {
        *w = v->dims[0];
        *h = v->dims[1];
    }
}

static void bool_arg(Build *b, const char *key, bool *out)
{
    const AstArg *a = find_arg(b, key);
    if (!a)
        return;
    const AstValue *v = a->value;
    if (v->kind == AST_WORD && strcmp(v->text, "true") == 0)
        *out = true;
    else if (v->kind == AST_WORD && strcmp(v->text, "false") == 0)
        *out = false;
    else if (v->kind == AST_WORD && (strcasecmp(v->text, "true") == 0 || strcasecmp(v->text, "false") == 0))
        fail(b, v->span, "%s takes true or false, got '%s'; did you mean '%s'? (lower case, not Python's)", key,
             v->text, tolower((unsigned char)v->text[0]) == 't' ? "true" : "false");
    else
        fail(b, v->span, "%s takes true or false, got '%s'", key, shown(v));
}

/* A word from a fixed set; returns its index, or -1 after an error. */
static int word_value(Build *b, const AstValue *v, const char *what, const char *const *choices)
{
    if (v->kind == AST_WORD) {
        for (int i = 0; choices[i]; i++)
            if (strcmp(v->text, choices[i]) == 0)
                return i;
        const char *near = ir_nearest_word(v->text, choices, count_words(choices));
        if (near) {
            fail(b, v->span, "unknown %s '%s'; did you mean '%s'?", what, v->text, near);
            return -1;
        }
    }
    char list[128] = "";
    for (int i = 0; choices[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                 i == 0 ? "" : choices[i + 1] ? ", " : " or ", choices[i]);
    fail(b, v->span, "%s must be %s, got '%s'", what, list, shown(v));
    return -1;
}

static void round_arg(Build *b, IrRound *out)
{
    static const char *const choices[] = {"floor", "ceil", NULL};
    const AstArg *a = find_arg(b, "round");
    *out = b->round;
    if (!a)
        return;
    int i = word_value(b, a->value, "round", choices);
    if (i >= 0)
        *out = i == 0 ? IR_ROUND_FLOOR : IR_ROUND_CEIL;
}

/* A number where a float is expected, finite. */
static bool float_value(Build *b, const AstValue *v, const char *what, double *out)
{
    if (v->kind != AST_NUM) {
        fail(b, v->span, "%s takes a number, got '%s'", what, shown(v));
        return false;
    }
    if (!isfinite(v->f) || fabs(v->f) > 3.4028234663852886e38) {
        fail(b, v->span, "%s value %s is out of the range of float32", what, v->text);
        return false;
    }
    *out = v->f;
    return true;
}

/* One number, a,b,c or [a, b, c]: the items of v as a flat array. */
static const AstValue *const *items_of(const AstValue *const *one, const AstValue *v, size_t *n)
{
    if (v->kind == AST_LIST) {
        *n = v->nitems;
        return (const AstValue *const *)v->items;
    }
    *n = 1;
    return one;
}

static void float_list_arg(Build *b, const char *key, double **out, size_t *count, SrcSpan *span,
                           bool positive)
{
    const AstArg *a = find_arg(b, key);
    if (!a)
        return;
    const AstValue *one[1] = {a->value};
    size_t n;
    const AstValue *const *items = items_of(one, a->value, &n);
    *span = a->value->span;
    if (n == 0) {
        fail(b, a->value->span, "%s= needs at least one value", key);
        return;
    }
    double *vals = ir_arena_alloc(b->arena, n, sizeof *vals);
    for (size_t i = 0; i < n; i++) {
        if (!float_value(b, items[i], key, &vals[i]))
            return;
        if (positive && !(vals[i] > 0)) {
            fail(b, items[i]->span, "%s values must be greater than 0, got %s", key, items[i]->text);
            return;
        }
    }
    *out = vals;
    *count = n;
}

static void params_arg(Build *b, const char *key, IrParamList *out)
{
    const AstArg *a = find_arg(b, key);
    if (!a)
        return;
    const AstValue *one[1] = {a->value};
    size_t n;
    const AstValue *const *items = items_of(one, a->value, &n);
    float *vals = ir_arena_alloc(b->arena, n ? n : 1, sizeof *vals);
    /* Given even when a value is bad, so the weights=/biases= pairing rule
     * does not echo the error as "biases= given without weights=". */
    *out = (IrParamList){.given = true, .data = vals, .count = n, .span = a->value->span};
    for (size_t i = 0; i < n; i++) {
        double d;
        if (!float_value(b, items[i], key, &d))
            return;
        vals[i] = (float)d;
    }
}

/* weights= needs biases= unless bias=false; biases= with bias=false is wrong. */
static void check_inline_pair(Build *b, bool bias, const IrParamList *w, const IrParamList *bs)
{
    if (!bias && bs->given) {
        fail(b, find_arg(b, "biases")->key_span, "biases= given with bias=false");
        return;
    }
    if (w->given && bias && !bs->given)
        fail(b, b->layer->kind_span,
             "inline weights= need biases= as well (or bias=false for a layer without bias)");
    if (bs->given && !w->given)
        fail(b, find_arg(b, "biases")->key_span, "biases= given without weights=");
}

/* ---- references to earlier layers --------------------------------------- */

static uint64_t hash_name(const char *s);

/* The node named name among those built so far, or -1. */
static int32_t find_node(const Build *b, const char *name)
{
    for (size_t i = hash_name(name) & b->names_mask;; i = (i + 1) & b->names_mask) {
        int32_t slot = b->names[i];
        if (slot == 0)
            return -1;
        if (strcmp(b->g->nodes[slot - 1].name, name) == 0)
            return slot - 1;
    }
}

/* The earlier layer a name refers to, or -1 after an error that says
 * whether it comes later or does not exist (with the nearest name). */
static int32_t resolve_ref(Build *b, const AstValue *v)
{
    if (v->kind != AST_WORD) {
        fail(b, v->span, "expected the name of an earlier layer, got '%s'", v->text ? v->text : "[...]");
        return -1;
    }
    int32_t i = find_node(b, v->text);
    /* The node being built has claimed its own name already. */
    if (i >= 0 && (size_t)i + 1 < b->g->count)
        return i;
    if (i >= 0) {
        fail(b, v->span, "layer '%s' cannot read its own output", v->text);
        return -1;
    }
    for (size_t k = b->layer_index + 1; k < b->net->nlayers; k++) {
        const AstLayer *l = &b->net->layers[k];
        if (l->name && strcmp(l->name, v->text) == 0) {
            fail(b, v->span, "layer '%s' comes later, at line %u; a layer reads only earlier layers", v->text,
                 l->name_span.line);
            return -1;
        }
    }
    size_t n = b->g->count - 1;
    const char **names = malloc((n ? n : 1) * sizeof *names);
    IR_ASSERT(names);
    for (size_t k = 0; k < n; k++)
        names[k] = b->g->nodes[k].name;
    const char *near = ir_nearest_word(v->text, names, n);
    if (near)
        fail(b, v->span, "no layer named '%s' before this one; did you mean '%s'?", v->text, near);
    else
        fail(b, v->span, "no layer named '%s' before this one", v->text);
    free(names);
    return -1;
}

/* The positional values of add and concat: two or more earlier layers, by
 * name, separated by spaces or commas. */
static void build_merge(Build *b, IrNode *n, const char *usage)
{
    static const char *const keys[] = {NULL};
    check_keys(b, keys, INT32_MAX, usage);
    int32_t *in = NULL;
    size_t count = 0, cap = 0;
    bool ok = true;
    for (size_t i = 0; i < b->layer->nargs; i++) {
        const AstArg *a = &b->layer->args[i];
        if (a->key)
            continue;
        const AstValue *one[1] = {a->value};
        size_t k;
        const AstValue *const *items = items_of(one, a->value, &k);
        for (size_t j = 0; j < k; j++) {
            int32_t r = resolve_ref(b, items[j]);
            ok = ok && r >= 0;
            in = ir_arena_grow(b->arena, in, count, &cap, count + 1, sizeof *in);
            in[count++] = r;
        }
    }
    if (count == 1)
        fail(b, b->layer->kind_span, "%s needs two or more layers to %s; %s", b->layer->kind,
             n->op == IR_OP_ADD ? "sum" : "stack", usage);
    if (ok && count >= 2)
        ir_node_set_inputs(b->g, n, in, (uint32_t)count);
    else
        n->ninputs = 0, b->ok = false;
}

static void build_add(Build *b, IrNode *n)
{
    build_merge(b, n, "write 'add A B ...' with the names of earlier layers of the same shape");
}

static void build_concat(Build *b, IrNode *n)
{
    build_merge(b, n, "write 'concat A B ...' with the names of earlier layers of the same width and height");
}

/* ---- one builder per op ------------------------------------------------- */

static void build_input(Build *b, IrNode *n)
{
    static const char *const keys[] = {"mean", "std", NULL};
    check_keys(b, keys, 1, "write the input's shape as WxHxD, e.g. 'input 28x28x1'");
    const AstArg *a = positional(b);
    IrInputAttr *in = &n->attr.input;
    if (a) {
        const AstValue *v = a->value;
        if (v->kind != AST_DIMS || v->ndims != 3) {
            fail(b, v->span, "input shape must be WxHxD (width x height x depth, e.g. 32x32x3), got '%s'",
                 shown(v));
        } else if (v->too_big) {
            fail(b, v->span, "input shape %s has a size past 2^63-1", v->text);
        } else if (v->dims[0] < 1 || v->dims[1] < 1 || v->dims[2] < 1) {
            fail(b, v->span, "input sizes must be at least 1, got %s", v->text);
        } else {
            in->shape = (IrShape){v->dims[0], v->dims[1], v->dims[2]};
        }
    }
    float_list_arg(b, "mean", &in->mean, &in->nmean, &in->mean_span, false);
    float_list_arg(b, "std", &in->std, &in->nstd, &in->std_span, true);
}

static void build_conv(Build *b, IrNode *n)
{
    static const char *const keys[] = {"filters", "size",  "stride",  "pad",    "groups", "dilation",
                                       "bias",    "round", "weights", "biases", NULL};
    check_keys(b, keys, 0, "conv takes filters=K size=F [stride=S] [pad=P] [groups=G] [dilation=R] "
                           "[bias=true|false] [round=floor|ceil] [weights=[...]] [biases=[...]]");
    IrConvAttr *c = &n->attr.conv;
    c->stride = c->stride_h = 1;
    c->groups = 1;
    c->dilation = c->dilation_h = 1;
    c->bias = true;
    int_arg(b, "filters", true, "filters=K, the number of filters", 1, &c->filters);
    pair_arg(b, "size", true, "size=F, the filters' width and height", 1, &c->size, &c->size_h);
    pair_arg(b, "stride", false, NULL, 1, &c->stride, &c->stride_h);
    pair_arg(b, "pad", false, NULL, 0, &c->pad, &c->pad_h);
    int_arg(b, "groups", false, NULL, 1, &c->groups);
    pair_arg(b, "dilation", false, NULL, 1, &c->dilation, &c->dilation_h);
    bool_arg(b, "bias", &c->bias);
    round_arg(b, &c->round);
    params_arg(b, "weights", &c->weights);
    params_arg(b, "biases", &c->biases);
    check_inline_pair(b, c->bias, &c->weights, &c->biases);
}

static void build_pool(Build *b, IrNode *n)
{
    static const char *const keys[] = {"size", "stride", "pad", "round", NULL};
    static const char *const modes[] = {"max", "avg", NULL};
    static const char *const globals[] = {"global", NULL};
    const char *usage = "write 'pool max size=F' or 'pool avg size=F' [stride=S] [pad=P] [round=floor|ceil], "
                        "or 'pool max|avg global'";
    check_keys(b, keys, 2, usage);
    IrPoolAttr *p = &n->attr.pool;
    const AstArg *a = positional(b), *second = NULL;
    for (const AstArg *k = a ? a + 1 : NULL; k && k < b->layer->args + b->layer->nargs && !second; k++)
        if (!k->key)
            second = k;
    if (a) {
        int mode = word_value(b, a->value, "pool mode", modes);
        p->mode = mode == 1 ? IR_POOL_AVG : IR_POOL_MAX;
    }
    /* A second word that is not 'global' was meant to be: after its error,
     * a missing size= would only echo it. */
    if (second && word_value(b, second->value, "pool window", globals) != 0)
        return;
    if (second) {
        /* The window is the map's, known once the shapes are (ir/ops/pool.c). */
        p->global = true;
        for (size_t k = 0; keys[k]; k++) {
            const AstArg *given = find_arg(b, keys[k]);
            if (given)
                fail(b, given->key_span, "pool global takes no %s=: its window is the whole map", keys[k]);
        }
        return;
    }
    pair_arg(b, "size", true, "size=F, the window's width and height", 1, &p->size,
             &p->size_h);
    p->stride = p->size;
    p->stride_h = p->size_h;
    pair_arg(b, "stride", false, NULL, 1, &p->stride, &p->stride_h);
    pair_arg(b, "pad", false, NULL, 0, &p->pad, &p->pad_h);
    round_arg(b, &p->round);
}

static void build_fc(Build *b, IrNode *n)
{
    static const char *const keys[] = {"bias", "weights", "biases", NULL};
    check_keys(b, keys, 1, "write 'fc K' with K the number of outputs [bias=true|false] [weights=[...]] [biases=[...]]");
    IrFcAttr *f = &n->attr.fc;
    f->bias = true;
    const AstArg *a = positional(b);
    if (a)
        int_value(b, a->value, "fc K", 1, &f->outputs);
    bool_arg(b, "bias", &f->bias);
    params_arg(b, "weights", &f->weights);
    params_arg(b, "biases", &f->biases);
    check_inline_pair(b, f->bias, &f->weights, &f->biases);
}

/* key=FLOAT: *out keeps its default when the key is absent or its value is
 * bad (reported); returns the argument when a number was read, so the
 * caller can check its range and point at it. */
static const AstArg *float_arg(Build *b, const char *key, double *out)
{
    const AstArg *a = find_arg(b, key);
    double v;
    if (!a || !float_value(b, a->value, key, &v))
        return NULL;
    *out = v;
    return a;
}

static void build_dropout(Build *b, IrNode *n)
{
    static const char *const keys[] = {"p", NULL};
    check_keys(b, keys, 0, "dropout takes [p=0.5], the drop probability");
    double p = 0.5;
    const AstArg *a = float_arg(b, "p", &p);
    if (a && (p < 0 || p >= 1)) {
        fail(b, a->value->span, "dropout p=%s is out of range; it must be in [0, 1)", a->value->text);
        p = 0.5;
    }
    n->attr.dropout.p = p;
}

/* eps is added to the variance under a square root: zero would divide by
 * zero for a channel whose running variance is 0, so it must be > 0. */
static void build_batchnorm(Build *b, IrNode *n)
{
    static const char *const keys[] = {"eps", NULL};
    check_keys(b, keys, 0, "batchnorm takes [eps=1e-5], added to the variance");
    double eps = 1e-5;
    const AstArg *a = float_arg(b, "eps", &eps);
    if (a && !(eps > 0)) {
        fail(b, a->value->span, "batchnorm eps=%s is out of range; it must be > 0", a->value->text);
        eps = 1e-5;
    }
    n->attr.batchnorm.eps = eps;
}

/* slope may be any finite float: PyTorch's LeakyReLU takes negative slopes
 * and slopes above 1 as they are. */
static void build_leakyrelu(Build *b, IrNode *n)
{
    static const char *const keys[] = {"slope", NULL};
    check_keys(b, keys, 0, "leakyrelu takes [slope=0.01], the factor for x <= 0");
    n->attr.leakyrelu.slope = 0.01;
    float_arg(b, "slope", &n->attr.leakyrelu.slope);
}

static void build_plain(Build *b, IrNode *n)
{
    static const char *const keys[] = {NULL};
    char usage[64];
    snprintf(usage, sizeof usage, "%s takes no arguments", ir_op_word(n->op));
    check_keys(b, keys, 0, usage);
}

/* The kinds that take keys or values; every other kind takes none
 * (build_plain), so an op without arguments needs no entry. */
typedef void (*BuildFn)(Build *, IrNode *);
static const BuildFn builders[IR_OP_COUNT] = {
    [IR_OP_INPUT] = build_input, [IR_OP_CONV] = build_conv,       [IR_OP_POOL] = build_pool,
    [IR_OP_FC] = build_fc,       [IR_OP_DROPOUT] = build_dropout, [IR_OP_ADD] = build_add,
    [IR_OP_CONCAT] = build_concat, [IR_OP_BATCHNORM] = build_batchnorm, [IR_OP_LEAKYRELU] = build_leakyrelu,
};

/* ---- names --------------------------------------------------------------- */

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* Gives the node just added its name (the written one, or kind + ordinal
 * counting every layer of that kind) and reports a clash with an earlier one. */
static void claim_name(Build *b, IrNode *n)
{
    IrGraph *g = b->g;
    int32_t index = (int32_t)(g->count - 1);
    b->ordinal[n->op]++;
    if (!n->named) {
        /* relu6_1, not relu61: a kind word that ends in a digit keeps it apart. */
        const char *word = ir_op_word(n->op);
        bool digit = word[strlen(word) - 1] >= '0' && word[strlen(word) - 1] <= '9';
        n->name = n->op == IR_OP_INPUT ? "input"
                                       : ir_arena_printf(b->arena, "%s%s%" PRId64, word, digit ? "_" : "",
                                                         b->ordinal[n->op]);
    }
    for (size_t i = hash_name(n->name) & b->names_mask;; i = (i + 1) & b->names_mask) {
        int32_t slot = b->names[i];
        if (slot == 0) {
            b->names[i] = index + 1;
            return;
        }
        const IrNode *f = &g->nodes[slot - 1];
        if (strcmp(f->name, n->name) != 0)
            continue;
        if (n->named)
            fail(b, n->name_span, "layer name '%s' is already used", n->name);
        else
            fail(b, n->span, "this layer's default name '%s' is already used; give it a name of its own",
                 n->name);
        ir_diag_note(b->diag, f->named ? f->name_span : f->span, "'%s' is %s here", f->name,
                     f->named ? "first used" : "the default name of the layer");
        return;
    }
}

/* ---- the network ---------------------------------------------------------- */

/* "input, conv, ... and dropout", from the op table. */
static const char *kinds_list(IrArena *a)
{
    size_t len = 1;
    for (int i = 0; i < IR_OP_COUNT; i++)
        len += strlen(ir_op_words[i]) + 5;
    char *s = ir_arena_alloc(a, len, 1), *at = s;
    for (int i = 0; i < IR_OP_COUNT; i++)
        at += sprintf(at, "%s%s", i == 0 ? "" : i == IR_OP_COUNT - 1 ? " and " : ", ", ir_op_words[i]);
    return s;
}

/* network NAME round=floor|ceil {: the default rounding of convs and pools. */
static void network_args(Build *b, const AstNetwork *net)
{
    static const char *const choices[] = {"floor", "ceil", NULL};
    for (size_t i = 0; i < net->nargs; i++) {
        const AstArg *a = &net->args[i];
        if (strcmp(a->key, "round") != 0) {
            static const char *const keys[] = {"round", NULL};
            const char *near = ir_nearest_word(a->key, keys, 1);
            fail(b, a->key_span, "unknown key '%s' for network%s%s%s", a->key, near ? "; did you mean '" : "; network takes [round=floor|ceil]",
                 near ? near : "", near ? "'?" : "");
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(net->args[j].key, a->key) == 0) {
                fail(b, a->key_span, "key '%s' given twice", a->key);
                ir_diag_note(b->diag, net->args[j].key_span, "first given here");
            }
        int k = word_value(b, a->value, "round", choices);
        if (k >= 0)
            b->round = k == 0 ? IR_ROUND_FLOOR : IR_ROUND_CEIL;
    }
}

/* A layer whose output no later layer reads is computed for nothing: a
 * warning (SPEC section 9). The last layer is the network's output. */
static void warn_unread(Build *b)
{
    IrGraph *g = b->g;
    bool *read = calloc(g->count ? g->count : 1, sizeof *read);
    IR_ASSERT(read);
    for (size_t i = 0; i < g->count; i++)
        for (uint32_t k = 0; k < g->nodes[i].ninputs; k++)
            read[g->nodes[i].inputs[k]] = true;
    for (size_t i = 0; i + 1 < g->count; i++)
        if (!read[i])
            ir_diag_warning(b->diag, g->nodes[i].name_span,
                            "the output of layer '%s' is never read; only the last layer's is the network's output",
                            g->nodes[i].name);
    free(read);
}

IrGraph *fe_build(IrArena *a, IrDiag *diag, const AstNetwork *net)
{
    Build b = {.arena = a, .diag = diag, .ok = true, .net = net};
    b.g = ir_graph_new(a, net->name);
    b.g->name_span = net->name_span;
    if (strchr(net->name, '.'))
        fail(&b, net->name_span, "network name '%s' may not contain dots; it prefixes C symbols",
             net->name);

    size_t cap = 16;
    while (cap < 2 * net->nlayers)
        cap *= 2;
    b.names = ir_arena_alloc(a, cap, sizeof *b.names);
    b.names_mask = cap - 1;
    network_args(&b, net);

    /* An input layer further down is reported there, as misplaced, rather
     * than also as missing at the first layer. */
    bool has_input = false;
    for (size_t i = 0; i < net->nlayers; i++)
        has_input |= !net->layers[i].broken && strcmp(net->layers[i].kind, "input") == 0;

    const AstLayer *first_input = NULL;
    bool any_layer = false;
    for (size_t i = 0; i < net->nlayers && !ir_diag_full(diag); i++) {
        const AstLayer *l = &net->layers[i];
        if (l->broken)
            continue;
        any_layer = true;
        IrOp op;
        if (!ir_op_from_word(l->kind, &op)) {
            const char *near = ir_nearest_word(l->kind, ir_op_words, IR_OP_COUNT), *torch = NULL;
            const char *ours = torch_kind(a, l, &torch);
            if (ours)
                fail(&b, l->kind_span, "unknown layer kind '%s'; did you mean '%s'? (PyTorch's %s)", l->kind, ours,
                     torch);
            else if (near)
                fail(&b, l->kind_span, "unknown layer kind '%s'; did you mean '%s'?", l->kind, near);
            else
                fail(&b, l->kind_span, "unknown layer kind '%s'; the kinds are %s", l->kind, kinds_list(a));
            continue;
        }
        bool second_input = false;
        if (op == IR_OP_INPUT) {
            if (first_input) {
                fail(&b, l->kind_span, "a network has one input layer; this is a second one");
                ir_diag_note(diag, first_input->kind_span, "the first input layer is here");
                second_input = true;
            } else if (b.g->count > 0 || i > 0) {
                fail(&b, l->kind_span, "the input layer must come first");
                ir_diag_note(diag, net->layers[0].kind_span, "the network starts here");
                first_input = l;
            } else {
                first_input = l;
            }
        } else if (!first_input && !has_input && b.g->count == 0 && i == 0) {
            fail(&b, l->kind_span, "the network must start with an input layer, e.g. 'input 28x28x1'");
        }
        IrNode *n = ir_graph_add(b.g, op);
        n->span = l->kind_span;
        n->named = l->name != NULL;
        n->name = l->name;
        n->name_span = l->name ? l->name_span : l->kind_span;
        if (b.g->count > 1) {
            int32_t prev = (int32_t)(b.g->count - 2);
            ir_node_set_inputs(b.g, n, &prev, 1);
        }
        if (second_input)
            n->name = l->name ? l->name : "input"; /* its clash with the first is the error above */
        else
            claim_name(&b, n);
        b.layer = l;
        b.layer_index = i;
        (builders[op] ? builders[op] : build_plain)(&b, n);
        n = &b.g->nodes[b.g->count - 1];
        const AstArg *from = ir_op_defs[op]->max_inputs == 1 ? find_arg(&b, "from") : NULL;
        if (from) {
            int32_t r = resolve_ref(&b, from->value);
            if (r >= 0)
                ir_node_set_inputs(b.g, n, &r, 1);
        }
    }
    if (b.ok && diag->errors == 0)
        warn_unread(&b);
    if (!any_layer && diag->errors == 0)
        fail(&b, net->close_span, "network '%s' has no layers; it must start with 'input WxHxD'", net->name);
    return b.ok && diag->errors == 0 ? b.g : NULL;
}
