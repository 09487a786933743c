/* NAME.h, the C header beside an AOT object (SPEC section 5). */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

char *cg_header_text(const IrGraph *g)
{
    /* The network's name has no length limit: the macro prefix is sized to it. */
    size_t n = strlen(g->name);
    char *upper = ir_arena_alloc(g->arena, n + 1, 1);
    for (size_t i = 0; i <= n; i++)
        upper[i] = (char)toupper((unsigned char)g->name[i]);
    const IrShape in = g->nodes[0].out, out = g->nodes[g->count - 1].out;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        IR_DIE("out of memory");
    fprintf(f,
            "/* %s.h: the network '%s' compiled ahead of time by cnnc.\n"
            " * Input %" PRId64 "x%" PRId64 "x%" PRId64 " (W x H x D), output %" PRId64 "x%" PRId64
            "x%" PRId64 ".\n"
            " * Link: cc your.c %s.o (with the target's C compiler). The object calls\n"
            " * nothing but memcpy, memmove and memset (on ARM perhaps as __aeabi_memcpy4\n"
            " * and the like), and allocates nothing. */\n"
            "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n\n"
            "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
            g->name, g->name, in.w, in.h, in.d, out.w, out.h, out.d, g->name, upper, upper);
    fprintf(f, "/* floats per image, in D x H x W order */\n");
    fprintf(f, "#define %s_INPUT_SIZE  %" PRId64 "\n", upper, ir_shape_elems(in));
    fprintf(f, "#define %s_OUTPUT_SIZE %" PRId64 "\n\n", upper, ir_shape_elems(out));
    fprintf(f,
            "/* Bytes of scratch for one call on batch images (0 for batch 0). */\n"
            "size_t %s_workspace_size(size_t batch);\n\n"
            "/* Runs batch images stored one after another, with the embedded weights.\n"
            " * workspace: at least %s_workspace_size(batch) bytes, 64-byte aligned.\n"
            " * Allocates nothing; returns 0, or non-zero for a NULL pointer, batch 0\n"
            " * or a misaligned workspace. */\n"
            "int %s_infer(const float *input, float *output, size_t batch, void *workspace);\n\n"
            "#ifdef __cplusplus\n}\n#endif\n\n#endif\n",
            g->name, g->name, g->name);
    fclose(f);
    return text;
}
