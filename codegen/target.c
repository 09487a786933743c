/* What a target is (SPEC section 5, --target): its triple resolved once, by
 * LLVM's normalisation, into the fields and facts the driver (which toolchain
 * links, whether there is a program at all) and codegen (the target machine,
 * its defaults, its vectors) read. Nothing else parses a triple. */
#include <stdio.h>
#include <string.h>

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "cg.h"

/* arch-vendor-os[-env], normalised: the first field, the third and the
 * fourth, each cut to its buffer (n bytes). */
static void triple_fields(const char *norm, char *arch, char *os, char *env, size_t n)
{
    char *dst[4] = {arch, NULL, os, env};
    size_t i = 0;
    arch[0] = os[0] = env[0] = '\0';
    for (int field = 0; *norm && field < 4; norm++) {
        if (*norm == '-') {
            field++;
            i = 0;
            continue;
        }
        if (dst[field] && i + 1 < n) {
            dst[field][i++] = *norm;
            dst[field][i] = '\0';
        }
    }
}

/* With --cpu and --features silent, a cross target gets the CPU and
 * features its usual OS distribution or board assumes, the ABI that goes
 * with them, and position-independent code where there is a loader. This
 * machine's own triple assumes nothing: its CPU is asked instead. */
static void target_defaults(CgTarget *t)
{
    t->cpu = "generic";
    t->features = "";
    t->abi = NULL;
    t->pic = true;
    if (t->native)
        return;
    if (strcmp(t->arch, "riscv64") == 0 && strcmp(t->os, "linux") == 0) {
        /* Debian's riscv64 is RV64GC with the lp64d ABI; LLVM's default
         * would be soft-float objects its linker refuses to mix. */
        t->cpu = "generic-rv64";
        t->features = "+m,+a,+f,+d,+c";
        t->abi = "lp64d";
    } else if (t->wasm) {
        /* SIMD128 is in every engine since 2021 (Node 16, Chrome 91,
         * Firefox 89, Safari 16.4); --features=-simd128 turns it off. */
        t->features = "+simd128";
        t->pic = false;
    } else if (strcmp(t->arch, "thumbv7em") == 0) {
        t->cpu = "cortex-m4"; /* the FPU the eabihf ABI needs */
    }
    /* Bare metal has no dynamic loader: absolute addresses, no GOT. */
    if (t->bare_metal)
        t->pic = false;
}

bool cg_target_resolve(const char *triple, CgTarget *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    char *host = LLVMGetDefaultTargetTriple();
    char *norm = LLVMNormalizeTargetTriple(triple ? triple : host);
    /* The triple handed to LLVM: this machine's as LLVM gives it, or the
     * user's normalised. */
    const char *given = triple ? norm : host;
    bool fits = strlen(given) < sizeof t->triple;
    if (!fits) {
        snprintf(err, errlen, "the target triple '%.40s...' is too long (%zu characters; at most %zu)", given,
                 strlen(given), sizeof t->triple - 1);
    } else {
        strcpy(t->triple, given);
        triple_fields(norm, t->arch, t->os, t->env, sizeof t->arch);
        char harch[sizeof t->arch], hos[sizeof t->os], henv[sizeof t->env];
        char *hnorm = LLVMNormalizeTargetTriple(host);
        triple_fields(hnorm, harch, hos, henv, sizeof harch);
        LLVMDisposeMessage(hnorm);
        t->native = !triple || strcmp(norm, host) == 0;
        t->runs_here = strcmp(t->arch, harch) == 0 && strcmp(t->os, hos) == 0;
        t->bare_metal = !*t->os || strcmp(t->os, "none") == 0 || strcmp(t->os, "unknown") == 0;
        const char *a = t->arch;
        t->x86_64 = strncmp(a, "x86_64", 6) == 0 || strcmp(a, "amd64") == 0;
        t->x86 = strcmp(a, "x86_64") == 0 || strcmp(a, "amd64") == 0 ||
                 (a[0] == 'i' && a[1] >= '3' && a[1] <= '6' && strcmp(a + 2, "86") == 0);
        t->aarch64 = strncmp(a, "aarch64", 7) == 0 || strncmp(a, "arm64", 5) == 0;
        t->wasm = strncmp(a, "wasm", 4) == 0;
        snprintf(t->key, sizeof t->key, "%s-%s%s%s", t->arch, t->os, *t->env ? "-" : "", t->env);
        target_defaults(t);
    }
    LLVMDisposeMessage(norm);
    LLVMDisposeMessage(host);
    return fits;
}

const char *cg_portable_cpu(const char *triple)
{
    /* x86-64-v2 (SSE4.2, POPCNT: every x86-64 CPU since 2009) rather than
     * v3, which Celerons and Atoms without AVX lack. */
    if (strncmp(triple, "x86_64", 6) == 0 || strncmp(triple, "amd64", 5) == 0)
        return "x86-64-v2";
    return "generic";
}
