/* The .cnn grammar (SPEC section 1): a pure parser with locations. Syntax
 * errors name what was found and what was expected; recovery skips to the end
 * of the layer so errors on later lines are reported too. */
%code requires {
#include "ast.h"
/* A rule's span runs from its first symbol's start to its last symbol's end. */
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                                 \
    do {                                                                            \
        if (N) {                                                                    \
            (Cur) = YYRHSLOC(Rhs, 1);                                               \
            size_t end_ = YYRHSLOC(Rhs, N).off + YYRHSLOC(Rhs, N).len;              \
            (Cur).len = (uint32_t)(end_ - (Cur).off);                               \
        } else {                                                                    \
            (Cur) = YYRHSLOC(Rhs, 0);                                               \
            (Cur).off += (Cur).len;                                                 \
            (Cur).col += (Cur).len;                                                 \
            (Cur).len = 0;                                                          \
        }                                                                           \
    } while (0)
}

%code provides {
int yylex(YYSTYPE *lval, YYLTYPE *lloc, void *scanner);
}

%code {
#include <stdio.h>
#include <string.h>

static void yyerror(YYLTYPE *loc, void *scanner, FeParse *p, const char *msg)
{
    (void)scanner;
    ir_diag_error(p->diag, *loc, "%s", msg);
}
}

%define api.pure full
%define api.location.type {SrcSpan}
%define parse.error custom
%define parse.lac full
%locations
%param {void *scanner}
%parse-param {FeParse *p}

%union {
    char *name;
    AstValue *value;
}

%token NETWORK "'network'"
%token <name> NAME "name"
%token <name> QNAME "quoted name"
%token <value> NUM "number"
%token <value> DIMS "shape"
%token SEP "newline"
%token '{' "'{'" '}' "'}'" ':' "':'" '=' "'='" ',' "','" '[' "'['" ']' "']'"

%type <value> value scalar list items

%%

/* file: [seps] 'network' NAME {NAME '=' value} [seps] '{' body '}' [seps] */
file
    : seps_opt NETWORK NAME net_args seps_opt '{' body '}' seps_opt {
          p->net->name = $3;
          p->net->name_span = @3;
          p->net->close_span = @8;
      }
    ;

/* net_args: the network's own keys (round=floor), kept as a layer's are */
net_args
    : %empty
    | net_args NAME '=' value { fe_network_push_arg(p, $2, @2, $4); }
    ;

/* body: {[layer] SEP} [layer] -- a layer with a syntax error is skipped up to
 * the end of its line, so the next line's errors are found too. */
body
    : lines
    | lines layer
    | lines error /* the '}' ends the skipping too: no second error at the end of file */
    ;

lines
    : %empty
    | lines layer SEP
    | lines SEP
    | lines error SEP {
          yyerrok;
          if (ir_diag_full(p->diag))
              YYABORT;
      }
    ;

seps
    : SEP
    | seps SEP
    ;

seps_opt
    : %empty
    | seps
    ;

/* layer: [(NAME | QNAME) ':'] KIND {arg} */
layer
    : NAME ':' NAME { fe_layer_open(p, $1, @1, $3, @3); } args
    | QNAME ':' NAME { fe_layer_open(p, $1, @1, $3, @3); } args
    | NAME { fe_layer_open(p, NULL, @1, $1, @1); } args
    ;

/* args: {NAME '=' value | value}, appended to the layer just opened (add a, b c) */
args
    : %empty
    | args NAME '=' value {
          fe_layer_push_arg(p, &p->net->layers[p->net->nlayers - 1], $2, @2, $4);
      }
    | args value {
          SrcSpan none = {0};
          fe_layer_push_arg(p, &p->net->layers[p->net->nlayers - 1], NULL, none, $2);
      }
    ;

/* value: scalar {',' scalar} -- mean=0.5,0.5,0.5 */
value
    : scalar
    | value ',' scalar {
          if ($1->kind == AST_LIST && !$1->bracketed) {
              $$ = $1;
          } else {
              $$ = fe_value_new(p, AST_LIST, @1, NULL, 0);
              fe_list_push(p, $$, $1);
          }
          fe_list_push(p, $$, $3);
          $$->span.len = @$.len;
      }
    ;

scalar
    : NUM
    | DIMS
    | NAME { $$ = fe_value_new(p, AST_WORD, @1, $1, strlen($1)); }
    | QNAME {
          $$ = fe_value_new(p, AST_WORD, @1, $1, strlen($1));
          $$->quoted = true;
      }
    | list
    ;

/* list: '[' [NUM {',' NUM}] ']' -- lists may span lines and do not nest */
list
    : '[' ']' {
          $$ = fe_value_new(p, AST_LIST, @$, NULL, 0);
          $$->bracketed = true;
      }
    | '[' items ']' {
          $$ = $2;
          $$->span = @$;
          $$->bracketed = true;
      }
    ;

items
    : NUM {
          $$ = fe_value_new(p, AST_LIST, @1, NULL, 0);
          fe_list_push(p, $$, $1);
      }
    | items ',' NUM {
          $$ = $1;
          fe_list_push(p, $$, $3);
      }
    ;

%%

static const char *symbol_text(yysymbol_kind_t sym, char *buf, size_t size)
{
    /* Aliases come quoted ("\"name\""); print them without the outer quotes. */
    const char *name = yysymbol_name(sym);
    size_t n = strlen(name);
    if (n >= 2 && name[0] == '"' && name[n - 1] == '"') {
        snprintf(buf, size, "%.*s", (int)(n - 2), name + 1);
        return buf;
    }
    return name;
}

static bool is_name_byte(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.';
}

static size_t skip_blanks_back(const char *s, size_t i)
{
    while (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t' || s[i - 1] == '\r'))
        i--;
    return i;
}

/* 'key= other=...': the value was left out, so the next key was read as the
 * value and its '=' is the unexpected token at eq. Finds the start of that
 * next key (where the value should have been) and the key left without one. */
static bool missing_value(const FeParse *p, size_t eq, size_t *word, size_t *key, size_t *key_len)
{
    const char *s = p->src;
    size_t i = eq;
    if (i > 0 && !is_name_byte(s[i - 1]))
        return false; /* 'key=floor =2' is another mistake */
    while (i > 0 && is_name_byte(s[i - 1]))
        i--;
    if (i == eq || !(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
        return false;
    *word = i;
    i = skip_blanks_back(s, i);
    if (i == *word || i == 0 || s[i - 1] != '=')
        return false;
    size_t end = skip_blanks_back(s, i - 1);
    i = end;
    while (i > 0 && is_name_byte(s[i - 1]))
        i--;
    if (i == end)
        return false;
    *key = i;
    *key_len = end - i;
    return true;
}

static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner, FeParse *p)
{
    (void)scanner;
    enum { MAX_EXPECTED = 6 };
    char msg[512], buf[64];
    size_t used = 0;
    yysymbol_kind_t tok = yypcontext_token(ctx);
    const YYLTYPE *loc = yypcontext_location(ctx);
    if (p->net->nlayers > 0) {
        AstLayer *last = &p->net->layers[p->net->nlayers - 1];
        long long sep = p->sep_off[tok == YYSYMBOL_SEP ? 1 : 0];
        if ((long long)last->kind_span.off > sep)
            last->broken = true;
    }
    size_t word, key, key_len;
    if (tok == YYTRANSLATE('=') && missing_value(p, loc->off, &word, &key, &key_len)) {
        SrcSpan at = *loc;
        at.col -= (uint32_t)(loc->off - word);
        at.off = word;
        at.len = (uint32_t)(loc->off - word);
        ir_diag_error(p->diag, at, "missing value after '%.*s='", (int)(key_len > 40 ? 40 : key_len),
                      p->src + key);
        return 0;
    }
    /* 'key=' then the end of the layer: the error goes just after the '='. */
    size_t eq = skip_blanks_back(p->src, loc->off);
    if ((tok == YYSYMBOL_SEP || tok == YYSYMBOL_YYEOF || tok == YYTRANSLATE('}')) && eq > 0 &&
        p->src[eq - 1] == '=') {
        size_t end = skip_blanks_back(p->src, eq - 1);
        size_t start = end;
        while (start > 0 && is_name_byte(p->src[start - 1]))
            start--;
        if (start < end) {
            SrcSpan at = *loc;
            at.col -= (uint32_t)(loc->off - eq);
            at.off = eq;
            at.len = 0;
            ir_diag_error(p->diag, at, "missing value after '%.*s='", (int)(end - start > 40 ? 40 : end - start),
                          p->src + start);
            return 0;
        }
    }
    const char *what = symbol_text(tok, buf, sizeof buf);
    if (tok == YYSYMBOL_SEP && loc->off < p->len && p->src[loc->off] == ';')
        what = "';'";
    used += (size_t)snprintf(msg, sizeof msg, "unexpected %s", what);
    if (tok == YYSYMBOL_NAME || tok == YYSYMBOL_QNAME || tok == YYSYMBOL_NUM || tok == YYSYMBOL_DIMS) {
        unsigned shown = loc->len > 40 ? 40 : loc->len;
        used += (size_t)snprintf(msg + used, sizeof msg - used, " '%.*s%s'", (int)shown,
                                 p->src + loc->off, shown < loc->len ? "..." : "");
    }
    yysymbol_kind_t expected[MAX_EXPECTED];
    int n = yypcontext_expected_tokens(ctx, expected, MAX_EXPECTED);
    if (n > 0) {
        used += (size_t)snprintf(msg + used, sizeof msg - used, "; expected ");
        for (int i = 0; i < n && used < sizeof msg; i++)
            used += (size_t)snprintf(msg + used, sizeof msg - used, "%s%s",
                                     i == 0 ? "" : i == n - 1 ? " or " : ", ",
                                     symbol_text(expected[i], buf, sizeof buf));
        /* Name the bracket to close, as it may be many lines up. */
        bool closes_list = false, closes_body = false;
        for (int i = 0; i < n; i++) {
            closes_list |= expected[i] == YYTRANSLATE(']');
            closes_body |= expected[i] == YYTRANSLATE('}');
        }
        if (closes_list && used < sizeof msg)
            used += (size_t)snprintf(msg + used, sizeof msg - used, " to close the '[' at line %u",
                                     p->open_bracket.line);
        else if (closes_body && tok == YYSYMBOL_YYEOF && used < sizeof msg)
            used += (size_t)snprintf(msg + used, sizeof msg - used, " to close the '{' at line %u",
                                     p->open_brace.line);
        if (tok == YYSYMBOL_NETWORK && expected[0] == YYSYMBOL_YYEOF && used < sizeof msg)
            used += (size_t)snprintf(msg + used, sizeof msg - used, " (a file holds one network)");
        /* The usual slips before the header: a misspelled keyword, or no
         * header (or nothing) at all. */
        if ((tok == YYSYMBOL_NAME || tok == YYSYMBOL_YYEOF) && expected[0] == YYSYMBOL_NETWORK &&
            used < sizeof msg)
            snprintf(msg + used, sizeof msg - used, " (a file starts with 'network NAME {')");
    }
    ir_diag_error(p->diag, *loc, "%s", msg);
    return 0;
}
