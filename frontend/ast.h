/* The syntax tree the parser builds: layers with their raw key=value arguments,
 * every piece with its source span. build.c turns it into the IR. */
#ifndef CNNC_FRONTEND_AST_H
#define CNNC_FRONTEND_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/arena.h"
#include "ir/diag.h"

typedef enum { AST_NUM, AST_DIMS, AST_WORD, AST_LIST } AstValueKind;

typedef struct AstValue {
    AstValueKind kind;
    SrcSpan span;
    const char *text;  /* NUM, DIMS, WORD: as written */
    bool is_int;       /* NUM: digits only (integer keys take nothing else) */
    bool too_big;      /* NUM: an integer past 2^63-1; DIMS: a part that is */
    int64_t i;         /* NUM with is_int */
    double f;          /* NUM */
    int64_t dims[3];   /* DIMS: the first three parts */
    int ndims;         /* DIMS: how many parts were written */
    struct AstValue **items; /* LIST */
    size_t nitems, cap;
    bool bracketed;    /* LIST: [a, b] rather than a,b */
    bool quoted;       /* WORD: written "in quotes", so a name and never a keyword */
} AstValue;

typedef struct AstArg {
    const char *key; /* NULL for a positional value (pool max, fc 10, input 28x28x1) */
    SrcSpan key_span;
    AstValue *value;
} AstArg;

typedef struct AstLayer {
    const char *name; /* NULL when not written */
    SrcSpan name_span;
    const char *kind;
    SrcSpan kind_span;
    AstArg *args;
    size_t nargs, cap;
    bool broken; /* a syntax error inside it: no semantic checks, they would only echo it */
} AstLayer;

typedef struct AstNetwork {
    const char *name;
    SrcSpan name_span, close_span; /* close_span: the '}' */
    AstArg *args; /* network NAME round=floor { */
    size_t nargs, cap_args;
    AstLayer *layers;
    size_t nlayers, cap;
} AstNetwork;

/* State shared by the scanner and the parser of one source. */
typedef struct FeParse {
    IrArena *arena;
    IrDiag *diag;
    const char *src;
    size_t len;
    /* Scanner position: the next byte's offset, line and column. */
    size_t off;
    uint32_t line, col;
    int bracket_depth; /* newlines inside [...] are white space */
    /* Offsets of the last two separators scanned (-1: none), so a syntax error
     * can tell whether it fell inside the layer opened last. */
    long long sep_off[2];
    /* The last '{' and '[' scanned, so "expected '}'" can name the one to close. */
    SrcSpan open_brace, open_bracket;
    AstNetwork *net;
} FeParse;

AstValue *fe_value_new(FeParse *p, AstValueKind kind, SrcSpan span, const char *text, size_t len);
void fe_list_push(FeParse *p, AstValue *list, AstValue *item);
/* Starts a layer; the args that follow are added to it. */
void fe_layer_open(FeParse *p, const char *name, SrcSpan name_span, const char *kind, SrcSpan kind_span);
void fe_layer_push_arg(FeParse *p, AstLayer *l, const char *key, SrcSpan key_span, AstValue *v);
void fe_network_push_arg(FeParse *p, const char *key, SrcSpan key_span, AstValue *v);

#endif
