/* NAME.h, the C header beside an AOT object (SPEC section 5): the entry
 * points, what their input must hold (layout and normalisation, as macros a
 * C program can use) and the machine the object was made for. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

/* A float literal that C and C++ read back as the same float the program
 * holds: %.9g, with a point where it printed none ("1" -> "1.0f"). */
static void float_literal(FILE *f, double x)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.9g", (double)(float)x);
    fprintf(f, "%s%sf", buf, strpbrk(buf, ".e") ? "" : ".0");
}

/* One float per input channel, as the runtime's image reader uses them
 * (runtime/image.c): the values given, one value for every channel, or
 * fallback when none was given. */
static void per_channel(FILE *f, const char *upper, const char *what, const double *v, size_t n, int64_t depth,
                        double fallback)
{
    fprintf(f, "#define %s_%s {", upper, what);
    for (int64_t c = 0; c < depth; c++) {
        fputs(c % 8 == 0 && depth > 8 ? (c ? ", \\\n    " : " \\\n    ") : c ? ", " : "", f);
        float_literal(f, n == 0 ? fallback : v[n == 1 ? 0 : c]);
    }
    fprintf(f, "%s}\n", depth > 8 ? " \\\n" : "");
}

/* Whether an LLVM feature name is about vectors: the ones an object built
 * for a newer CPU most often needs (AVX-512 on x86, SVE on ARM). */
static bool vector_feature(const char *name, size_t n)
{
    static const char *const prefixes[] = {"sse", "ssse", "avx", "fma", "f16c", "neon", "sve", "simd", "mve"};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (n >= strlen(prefixes[i]) && strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

/* The features turned on ("+avx2") in LLVM's list, as a comment's words
 * (vector ones only, when vectors_only) or as one string; the count. */
static size_t features_text(FILE *f, const char *features, bool vectors_only)
{
    size_t count = 0, col = 19;
    for (const char *p = features; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (*p == '+' && (!vectors_only || vector_feature(p + 1, n - 1))) {
            if (!vectors_only) {
                fprintf(f, "%s%.*s", count ? "," : "", (int)n, p);
            } else {
                bool wrap = col + n + 1 > 76;
                fprintf(f, "%s%s%.*s", count ? "," : "", wrap ? "\n * " : " ", (int)n - 1, p + 1);
                col = (wrap ? 3 : col + 1) + n;
            }
            count++;
        }
        p += n + (end != NULL);
    }
    return count;
}

char *cg_header_text(const IrGraph *g, const CgMachine *m)
{
    /* The network's name has no length limit: the macro prefix is sized to it. */
    size_t n = strlen(g->name);
    char *upper = ir_arena_alloc(g->arena, n + 1, 1);
    for (size_t i = 0; i <= n; i++)
        upper[i] = (char)toupper((unsigned char)g->name[i]);
    const IrShape in = g->nodes[0].out, out = g->nodes[g->count - 1].out;
    const IrInputAttr *norm = &g->nodes[0].attr.input;
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
            " * and the like), and allocates nothing.\n",
            g->name, g->name, in.w, in.h, in.d, out.w, out.h, out.d, g->name);
    /* The machine: an object made for this machine's CPU dies on an older
     * one (SIGILL) with no word, so the header says what it needs. */
    fprintf(f, " *\n * Made for %s, CPU %s", m->triple, m->cpu);
    if (m->host_cpu)
        fprintf(f,
                ": the CPU of the machine that\n"
                " * compiled it, and other CPUs may lack what it has (for a portable object,\n"
                " * cnnc --cpu=%s)",
                cg_portable_cpu(m->triple));
    if (!strchr(m->features, '+')) {
        fputs(",\n * with the features that CPU has. */\n", f);
    } else {
        fputs(".\n * Vector features:", f);
        if (features_text(f, m->features, true) == 0)
            fputs(" none", f);
        fprintf(f, ".\n * %s_FEATURES lists every feature the code may use. */\n", upper);
    }
    fprintf(f,
            "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n\n"
            "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
            upper, upper);
    fprintf(f, "#define %s_FEATURES \"", upper);
    features_text(f, m->features, false);
    fputs("\"\n", f);
    fprintf(f, "#define %s_TARGET \"%s\"\n#define %s_CPU \"%s\"\n\n", upper, m->triple, upper, m->cpu);
    fprintf(f, "/* floats per image, in D x H x W order */\n");
    fprintf(f, "#define %s_INPUT_SIZE  %" PRId64 "\n", upper, ir_shape_elems(in));
    fprintf(f, "#define %s_OUTPUT_SIZE %" PRId64 "\n\n", upper, ir_shape_elems(out));
    fprintf(f,
            "/* The input, W x H x D, and its normalisation, one value per channel.\n"
            " * %s_infer takes floats already normalised, channel by channel, as\n"
            " * the program cnnc builds makes them from a PGM or PPM: for channel c,\n"
            " * row y and column x of an image whose pixels run 0..maxval (255 for\n"
            " * 8 bits),\n"
            " *     static const float mean[] = %s_MEAN, sd[] = %s_STD;\n"
            " *     input[(c * %s_INPUT_HEIGHT + y) * %s_INPUT_WIDTH + x] =\n"
            " *         (float)(((double)pixel / maxval - mean[c]) / sd[c]);\n"
            " * %s */\n",
            g->name, upper, upper, upper, upper,
            norm->mean || norm->std ? "The values are the mean= and std= of the network's input line:\n"
                                      " * pixel / maxval alone gives other results."
                                    : "The network's input line has no mean= or std=: mean 0 and std 1,\n"
                                      " * so the input is pixel / maxval.");
    fprintf(f, "#define %s_INPUT_WIDTH  %" PRId64 "\n", upper, in.w);
    fprintf(f, "#define %s_INPUT_HEIGHT %" PRId64 "\n", upper, in.h);
    fprintf(f, "#define %s_INPUT_DEPTH  %" PRId64 "\n", upper, in.d);
    per_channel(f, upper, "MEAN", norm->mean, norm->mean ? norm->nmean : 0, in.d, 0.0);
    per_channel(f, upper, "STD", norm->std, norm->std ? norm->nstd : 0, in.d, 1.0);
    fprintf(f,
            "\n/* Bytes of scratch for one call on batch images (0 for batch 0). */\n"
            "size_t %s_workspace_size(size_t batch);\n\n"
            "/* Runs batch images stored one after another, with the embedded weights.\n"
            " * input: batch x %s_INPUT_SIZE normalised floats (above); output: batch x\n"
            " * %s_OUTPUT_SIZE floats, D x H x W. workspace: at least\n"
            " * %s_workspace_size(batch) bytes, 64-byte aligned. Allocates nothing;\n"
            " * returns 0, or non-zero for a NULL pointer, batch 0 or a misaligned\n"
            " * workspace. */\n"
            "int %s_infer(const float *input, float *output, size_t batch, void *workspace);\n\n"
            "#ifdef __cplusplus\n}\n#endif\n\n#endif\n",
            g->name, upper, upper, g->name, g->name);
    fclose(f);
    return text;
}
