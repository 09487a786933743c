/* The diagnostics sink: every user-facing error, warning and note goes through
 * here and comes out as SPEC section 7 says (FILE:LINE:COL, the line, a caret). */
#ifndef CNNC_IR_DIAG_H
#define CNNC_IR_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A place in the source: byte offset, 1-based line and column (bytes), length. */
typedef struct SrcSpan {
    size_t off;
    uint32_t line, col, len;
} SrcSpan;

typedef struct IrDiag {
    const char *file; /* printed as given */
    const char *src;
    size_t len;
    FILE *out;
    bool color;
    int errors, warnings;
    int limit; /* stop printing after this many errors; 0 = no limit */
    bool stopped;
    bool mute; /* the last error was not shown, so neither are its notes */
    /* A source with no lines (an ONNX model): a span with line 0 names
     * places[off] ("node 'conv1' (Conv)") instead of a line and a column. */
    const char *const *places;
    size_t nplaces;
} IrDiag;

void ir_diag_init(IrDiag *d, const char *file, const char *src, size_t len, FILE *out);
void ir_diag_error(IrDiag *d, SrcSpan at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ir_diag_warning(IrDiag *d, SrcSpan at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ir_diag_note(IrDiag *d, SrcSpan at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An error about the file as a whole (unreadable, too big): FILE: error: MSG. */
void ir_diag_file_error(IrDiag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True once the error limit is reached: callers stop looking for more. */
bool ir_diag_full(const IrDiag *d);

/* The known word nearest to word (edit distance), or NULL when none is close. */
const char *ir_nearest_word(const char *word, const char *const *known, size_t n);

#endif
