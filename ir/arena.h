/* One arena per compilation owns the source, the AST, the IR and every string,
 * so a run frees everything at once and sanitizer runs stay clean. */
#ifndef CNNC_IR_ARENA_H
#define CNNC_IR_ARENA_H

#include <stddef.h>

typedef struct IrArena IrArena;

IrArena *ir_arena_new(void);
void ir_arena_free(IrArena *a);
/* Zeroed memory for count objects of size bytes; the product is overflow-checked
 * here, the one gate every allocation of the compiler goes through. */
void *ir_arena_alloc(IrArena *a, size_t count, size_t size);
/* Grows an arena array to at least want elements (doubling); returns the new base. */
void *ir_arena_grow(IrArena *a, void *old, size_t used, size_t *cap, size_t want, size_t size);
char *ir_arena_strndup(IrArena *a, const char *s, size_t n);
char *ir_arena_printf(IrArena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Internal errors only (a broken invariant or no memory): prints and aborts. */
_Noreturn void ir_die(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define IR_DIE(...) ir_die(__FILE__, __LINE__, __VA_ARGS__)
#define IR_ASSERT(c) ((c) ? (void)0 : ir_die(__FILE__, __LINE__, "assertion failed: %s", #c))

#endif
