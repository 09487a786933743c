/* Printing diagnostics like a C compiler: location, message, the source line and
 * a caret. Long lines are shown as a window around the column so a 1 MB line
 * does not flood the terminal. */
#include "diag.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { SHOW_MAX = 160, SHOW_CONTEXT = 70 };

void ir_diag_init(IrDiag *d, const char *file, const char *src, size_t len, FILE *out)
{
    memset(d, 0, sizeof *d);
    d->file = file;
    d->src = src;
    d->len = len;
    d->out = out;
    d->limit = 20;
}

bool ir_diag_full(const IrDiag *d)
{
    return d->stopped;
}

static void put_shown_byte(FILE *out, unsigned char c)
{
    /* Control bytes would move the cursor and break the caret's alignment. */
    fputc(c == '\t' || c >= 0x20 ? (c == 0x7f ? '?' : c) : '?', out);
}

static void show_line(IrDiag *d, SrcSpan at)
{
    if (!d->src || at.off > d->len)
        return;
    size_t start = at.off, end = at.off;
    while (start > 0 && d->src[start - 1] != '\n')
        start--;
    while (end < d->len && d->src[end] != '\n')
        end++;
    if (end > start && d->src[end - 1] == '\r')
        end--;
    size_t caret = at.off - start;
    size_t from = start, to = end;
    bool lead = false, trail = false;
    if (end - start > SHOW_MAX) {
        if (caret > SHOW_CONTEXT) {
            from = at.off - SHOW_CONTEXT;
            lead = true;
        }
        if (to - from > 2 * SHOW_CONTEXT) {
            to = from + 2 * SHOW_CONTEXT;
            trail = true;
        }
    }
    if (lead)
        fputs("...", d->out);
    for (size_t i = from; i < to; i++)
        put_shown_byte(d->out, (unsigned char)d->src[i]);
    if (trail)
        fputs("...", d->out);
    fputc('\n', d->out);
    if (lead)
        fputs("   ", d->out);
    for (size_t i = from; i < at.off && i < to + 1; i++)
        fputc(d->src[i] == '\t' ? '\t' : ' ', d->out);
    if (d->color)
        fputs("\033[1;32m^\033[0m\n", d->out);
    else
        fputs("^\n", d->out);
}

static void report(IrDiag *d, const SrcSpan *at, const char *kind, const char *colour,
                   const char *fmt, va_list ap)
{
    bool place = at && d->places && at->line == 0;
    if (place && at->off < d->nplaces)
        fprintf(d->out, "%s: %s: ", d->file, d->places[at->off]);
    else if (at && !place)
        fprintf(d->out, "%s:%u:%u: ", d->file, at->line, at->col);
    else
        fprintf(d->out, "%s: ", d->file);
    if (d->color)
        fprintf(d->out, "\033[1;%sm%s:\033[0m ", colour, kind);
    else
        fprintf(d->out, "%s: ", kind);
    vfprintf(d->out, fmt, ap);
    fputc('\n', d->out);
    if (at && !place)
        show_line(d, *at);
}

void ir_diag_error(IrDiag *d, SrcSpan at, const char *fmt, ...)
{
    d->mute = d->stopped;
    if (d->stopped)
        return;
    d->errors++;
    va_list ap;
    va_start(ap, fmt);
    report(d, &at, "error", "31", fmt, ap);
    va_end(ap);
    if (d->limit && d->errors >= d->limit) {
        fprintf(d->out, "%s: note: stopping after %d errors\n", d->file, d->errors);
        d->stopped = true;
        /* This error's notes would come after the line above, cut off from
         * it; the line ends the output. */
        d->mute = true;
    }
}

void ir_diag_warning(IrDiag *d, SrcSpan at, const char *fmt, ...)
{
    d->mute = d->stopped;
    if (d->stopped)
        return;
    d->warnings++;
    va_list ap;
    va_start(ap, fmt);
    report(d, &at, "warning", "35", fmt, ap);
    va_end(ap);
}

void ir_diag_note(IrDiag *d, SrcSpan at, const char *fmt, ...)
{
    if (d->mute)
        return;
    va_list ap;
    va_start(ap, fmt);
    report(d, &at, "note", "36", fmt, ap);
    va_end(ap);
}

void ir_diag_file_error(IrDiag *d, const char *fmt, ...)
{
    d->errors++;
    va_list ap;
    va_start(ap, fmt);
    report(d, NULL, "error", "31", fmt, ap);
    va_end(ap);
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            /* Case does not count: 'ReLU' and 'Conv', PyTorch's spellings,
             * still find 'relu' and 'conv'. */
            size_t best = diag + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *ir_nearest_word(const char *word, const char *const *known, size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t dist = edit_distance(word, known[i]);
        if (dist < best_d) {
            best_d = dist;
            best = known[i];
        }
    }
    /* Close enough to be a typo: about a third of the word may differ. */
    size_t len = strlen(word);
    size_t allowed = len <= 3 ? 1 : len / 3 + 1;
    return best && best_d <= allowed ? best : NULL;
}
