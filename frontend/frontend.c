/* Running the scanner and parser over one source, and the small constructors the
 * grammar's actions call. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "frontend.h"
#include "parser.h"
#include "lexer.h"

/* Decimal digits to int64, flagging values past 2^63-1 instead of wrapping. */
static int64_t parse_digits(const char *s, size_t len, bool *too_big)
{
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s[i] - '0', &v)) {
            *too_big = true;
            return INT64_MAX;
        }
    }
    return v;
}

AstValue *fe_value_new(FeParse *p, AstValueKind kind, SrcSpan span, const char *text, size_t len)
{
    AstValue *v = ir_arena_alloc(p->arena, 1, sizeof *v);
    v->kind = kind;
    v->span = span;
    if (text)
        v->text = ir_arena_strndup(p->arena, text, len);
    if (kind == AST_NUM) {
        v->is_int = strspn(v->text, "0123456789") == len;
        if (v->is_int)
            v->i = parse_digits(v->text, len, &v->too_big);
        v->f = strtod(v->text, NULL);
    } else if (kind == AST_DIMS) {
        const char *s = v->text;
        while (*s) {
            size_t n = strspn(s, "0123456789");
            int64_t part = parse_digits(s, n, &v->too_big);
            if (v->ndims < 3)
                v->dims[v->ndims] = part;
            v->ndims++;
            s += n;
            if (*s == 'x')
                s++;
        }
    }
    return v;
}

void fe_list_push(FeParse *p, AstValue *list, AstValue *item)
{
    list->items = ir_arena_grow(p->arena, list->items, list->nitems, &list->cap, list->nitems + 1,
                                sizeof *list->items);
    list->items[list->nitems++] = item;
}

void fe_layer_open(FeParse *p, const char *name, SrcSpan name_span, const char *kind, SrcSpan kind_span)
{
    AstNetwork *net = p->net;
    net->layers = ir_arena_grow(p->arena, net->layers, net->nlayers, &net->cap, net->nlayers + 1,
                                sizeof *net->layers);
    AstLayer *l = &net->layers[net->nlayers++];
    memset(l, 0, sizeof *l);
    l->name = name;
    l->name_span = name_span;
    l->kind = kind;
    l->kind_span = kind_span;
}

void fe_layer_push_arg(FeParse *p, AstLayer *l, const char *key, SrcSpan key_span, AstValue *v)
{
    l->args = ir_arena_grow(p->arena, l->args, l->nargs, &l->cap, l->nargs + 1, sizeof *l->args);
    l->args[l->nargs++] = (AstArg){.key = key, .key_span = key_span, .value = v};
}

void fe_network_push_arg(FeParse *p, const char *key, SrcSpan key_span, AstValue *v)
{
    AstNetwork *net = p->net;
    net->args = ir_arena_grow(p->arena, net->args, net->nargs, &net->cap_args, net->nargs + 1, sizeof *net->args);
    net->args[net->nargs++] = (AstArg){.key = key, .key_span = key_span, .value = v};
}

AstNetwork *fe_parse(IrArena *a, IrDiag *diag, const char *src, size_t len)
{
    if (len > INT32_MAX) {
        ir_diag_file_error(diag, "the source is %zu bytes; cnnc reads sources up to 2 GiB", len);
        return NULL;
    }
    FeParse p = {
        .arena = a, .diag = diag, .src = src, .len = len, .line = 1, .col = 1,
        .sep_off = {-1, -1},
    };
    p.net = ir_arena_alloc(a, 1, sizeof *p.net);
    yyscan_t scanner;
    if (yylex_init_extra(&p, &scanner) != 0)
        IR_DIE("cannot start the scanner");
    YY_BUFFER_STATE buf = yy_scan_bytes(src, (int)len, scanner);
    int rc = yyparse(scanner, &p);
    yy_delete_buffer(buf, scanner);
    yylex_destroy(scanner);
    if (rc != 0 && !p.net->name)
        return NULL;
    return p.net->name ? p.net : NULL;
}

IrGraph *fe_compile(IrArena *a, IrDiag *diag, const char *src, size_t len)
{
    AstNetwork *net = fe_parse(a, diag, src, len);
    if (!net)
        return NULL;
    IrGraph *g = fe_build(a, diag, net);
    if (!g || diag->errors > 0)
        return NULL;
    if (!ir_graph_infer(g, diag))
        return NULL;
    ir_graph_verify(g);
    return g;
}
