/* Shared by the unit tests: compile a source held in a string with its
 * diagnostics caught in memory, so a test can compare them as exact text. */
#ifndef CNNC_TESTS_UNIT_UTIL_H
#define CNNC_TESTS_UNIT_UTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "ir/fuse.h"
#include "ir/plan.h"
#include "ir/arena.h"
#include "ir/diag.h"

typedef struct Unit {
    IrArena *arena;
    IrDiag diag;
    FILE *out;
    char *text; /* the diagnostics, after unit_text */
    size_t size;
    const char *src;
} Unit;

static inline void unit_open(Unit *u, const char *src)
{
    memset(u, 0, sizeof *u);
    u->arena = ir_arena_new();
    u->out = open_memstream(&u->text, &u->size);
    ck_assert_ptr_nonnull(u->out);
    u->src = src;
    ir_diag_init(&u->diag, "t.cnn", src, strlen(src), u->out);
}

/* What was printed so far; valid until the next unit_text or unit_close. */
static inline const char *unit_text(Unit *u)
{
    fflush(u->out);
    return u->text ? u->text : "";
}

static inline IrGraph *unit_compile(Unit *u, const char *src)
{
    unit_open(u, src);
    IrGraph *g = fe_compile(u->arena, &u->diag, src, strlen(src));
    /* The driver's passes after checking, so reports see what cnnc prints. */
    if (g) {
        ir_graph_fuse(g);
        /* The hand-worked plans assume AVX-512 at -O2: 16 floats a vector,
         * 32 registers (the kernels chosen depend on it, ir/kernel.h). */
        g->machine = (IrMachine){16, 32, 2};
        if (!ir_graph_plan(g))
            return NULL;
    }
    return g;
}

static inline void unit_close(Unit *u)
{
    fclose(u->out);
    free(u->text);
    ir_arena_free(u->arena);
}

#define UNIT_MAIN(suite_fn)                                  \
    int main(void)                                           \
    {                                                        \
        SRunner *sr = srunner_create(suite_fn());            \
        srunner_run_all(sr, CK_NORMAL);                      \
        int failed = srunner_ntests_failed(sr);              \
        srunner_free(sr);                                    \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;         \
    }

#endif
