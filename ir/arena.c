/* Bump allocator in chunks; big requests get a chunk of their own. */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CHUNK_MIN = 64 * 1024, ALIGN = 16 };

typedef struct Chunk {
    struct Chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} Chunk;

struct IrArena {
    Chunk *head;
};

_Noreturn void ir_die(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "cnnc: internal error at %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

IrArena *ir_arena_new(void)
{
    IrArena *a = calloc(1, sizeof *a);
    if (!a)
        IR_DIE("out of memory");
    return a;
}

void ir_arena_free(IrArena *a)
{
    if (!a)
        return;
    for (Chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

void *ir_arena_alloc(IrArena *a, size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n) || n > SIZE_MAX - 2 * ALIGN - sizeof(Chunk))
        IR_DIE("allocation of %zu x %zu bytes overflows", count, size);
    n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (n == 0)
        n = ALIGN;
    Chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
        Chunk *fresh = malloc(sizeof(Chunk) + cap);
        if (!fresh)
            IR_DIE("out of memory (asked for %zu bytes)", cap);
        fresh->used = 0;
        fresh->cap = cap;
        /* A big one-off block goes behind the current chunk so the current one
         * keeps serving small requests. */
        if (c && cap == n && c->cap - c->used >= ALIGN) {
            fresh->next = c->next;
            c->next = fresh;
        } else {
            fresh->next = c;
            a->head = fresh;
        }
        c = fresh;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

/* A big array lives alone in its chunk; growing it reallocs that chunk, so a
 * million-layer network does not keep every smaller copy of its node array. */
static void *grow_solo(IrArena *a, void *old, size_t old_bytes, size_t new_bytes)
{
    Chunk **link = &a->head;
    while (*link && (*link)->data != (unsigned char *)old)
        link = &(*link)->next;
    Chunk *c = *link;
    if (!c || c->used != old_bytes || c->cap != old_bytes)
        return NULL;
    Chunk *bigger = realloc(c, sizeof(Chunk) + new_bytes);
    if (!bigger)
        IR_DIE("out of memory (asked for %zu bytes)", new_bytes);
    memset(bigger->data + old_bytes, 0, new_bytes - old_bytes);
    bigger->used = bigger->cap = new_bytes;
    *link = bigger;
    return bigger->data;
}

void *ir_arena_grow(IrArena *a, void *old, size_t used, size_t *cap, size_t want, size_t size)
{
    if (want <= *cap)
        return old;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < want) {
        if (ncap > SIZE_MAX / 2)
            IR_DIE("array too large");
        ncap *= 2;
    }
    size_t old_bytes = *cap * size, new_bytes;
    if (__builtin_mul_overflow(ncap, size, &new_bytes))
        IR_DIE("array too large");
    old_bytes = (old_bytes + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (old && old_bytes >= CHUNK_MIN && new_bytes % ALIGN == 0) {
        void *q = grow_solo(a, old, old_bytes, new_bytes);
        if (q) {
            *cap = ncap;
            return q;
        }
    }
    void *p = ir_arena_alloc(a, ncap, size);
    if (used)
        memcpy(p, old, used * size);
    *cap = ncap;
    return p;
}

char *ir_arena_strndup(IrArena *a, const char *s, size_t n)
{
    char *p = ir_arena_alloc(a, n + 1, 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *ir_arena_printf(IrArena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        IR_DIE("bad format");
    char *p = ir_arena_alloc(a, (size_t)n + 1, 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}
