/* What a target is (SPEC section 5, --target): its triple resolved once, by
 * LLVM's normalisation, into the fields and facts the driver (which toolchain
 * links, whether there is a program at all) and codegen (the target machine,
 * its defaults, its vectors) read. Nothing else parses a triple. */
#include <stdio.h>
#include <string.h>

#include "ir/diag.h"

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

/* The names LLVM's Triple knows for each field (llvm/lib/TargetParser/
 * Triple.cpp), so a typo is an error with the nearest name, not a silent
 * "unknown" that compiles for something else. A name counts when it
 * starts one of these where versions may follow (android21, macosx14). */
static const char *const known_arches[] = {
    "x86_64", "x86_64h", "amd64", "i386", "i486", "i586", "i686", "aarch64", "aarch64_be", "arm64", "arm64e",
    "arm64_32", "arm", "armeb", "thumb", "thumbeb", "riscv32", "riscv64", "wasm32", "wasm64", "powerpc",
    "powerpcle", "powerpc64", "powerpc64le", "ppc", "ppcle", "ppc64", "ppc64le", "s390x", "systemz", "mips",
    "mipsel", "mips64", "mips64el", "loongarch32", "loongarch64", "sparc", "sparcel", "sparcv9", "sparc64",
    "hexagon", "m68k", "msp430", "avr", "bpf", "bpfel", "bpfeb", "nvptx", "nvptx64", "amdgcn", "r600", "xtensa",
    "csky", "ve", "lanai", "xcore", "arc", "spir", "spir64", "spirv", "spirv32", "spirv64", "dxil", NULL};
/* ARM's architecture versions and profiles: armv7, armv7a, armv8.2a,
 * thumbv7em, thumbv8m.main ... and MIPS's mipsisa32r6 and the like. */
static const char *const arch_families[] = {"armv", "armebv", "thumbv", "thumbebv", "mipsisa", NULL};
static const char *const known_vendors[] = {"unknown", "pc", "apple", "scei", "sie", "fsl", "ibm", "img", "mti",
                                            "nvidia", "csr", "amd", "mesa", "suse", "oe", "intel", "w64", NULL};
static const char *const known_oses[] = {
    "linux", "none", "unknown", "wasi", "emscripten", "windows", "win32", "darwin", "macosx", "macos", "ios",
    "tvos", "watchos", "xros", "driverkit", "bridgeos", "freebsd", "kfreebsd", "netbsd", "openbsd", "dragonfly",
    "fuchsia", "haiku", "hurd", "solaris", "aix", "uefi", "zos", "rtems", "cuda", "nvcl", "amdhsa", "amdpal",
    "mesa3d", "hermit", "serenity", "liteos", "ps4", "ps5", "elfiamcu", "lv2", "shadermodel", "vulkan", "nacl",
    "cloudabi", "contiki", "minix", "ananas", "managarm", NULL};
static const char *const known_envs[] = {
    "gnu", "gnuabin32", "gnuabi64", "gnueabi", "gnueabihf", "gnuf32", "gnuf64", "gnusf", "gnux32", "gnu_ilp32",
    "gnut64", "gnueabit64", "gnueabihft64", "gnuabielfv1", "gnuabielfv2", "code16", "eabi", "eabihf", "android",
    "androideabi", "musl", "muslabin32", "muslabi64", "musleabi", "musleabihf", "muslx32", "msvc", "itanium",
    "cygnus", "coreclr", "simulator", "macabi", "ohos", "llvm", "mlibc", "pauthtest", "elf", "macho", "coff",
    "wasm", "xcoff", "goff", "spirv", NULL};

/* Whether name is one of known, or one followed by a version (digits and
 * dots), or for arches one of a family's. */
static bool known_name(const char *name, const char *const *known, const char *const *families)
{
    for (size_t i = 0; known[i]; i++) {
        size_t n = strlen(known[i]);
        if (strncmp(name, known[i], n) == 0 && strspn(name + n, "0123456789.") == strlen(name + n))
            return true;
    }
    for (size_t i = 0; families && families[i]; i++)
        if (strncmp(name, families[i], strlen(families[i])) == 0)
            return true;
    return false;
}

static size_t count_names(const char *const *names)
{
    size_t n = 0;
    while (names[n])
        n++;
    return n;
}

/* An error for a field of the triple LLVM does not know, with the nearest
 * name it does; false when every field is known. */
static bool unknown_field(const char *triple, const char *what, const char *name, const char *const *known,
                          char *err, size_t errlen)
{
    const char *near = ir_nearest_word(name, known, count_names(known));
    snprintf(err, errlen,
             "--target=%s: unknown %s '%s'%s%s%s (a triple is ARCH-[VENDOR-]OS[-ENV], e.g. aarch64-linux-gnu)",
             triple, what, name, near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
    return true;
}

/* Checks the user's triple, normalised into norm, field by field. */
static bool check_fields(const char *triple, const char *norm, char *err, size_t errlen)
{
    char field[4][64] = {"", "", "", ""};
    int k = 0;
    size_t i = 0;
    for (const char *c = norm; *c && k < 4; c++) {
        if (*c == '-') {
            k++;
            i = 0;
        } else if (i + 1 < sizeof field[0]) {
            field[k][i++] = *c;
            field[k][i] = '\0';
        }
    }
    if (k >= 4) {
        const char *extra = norm;
        for (int f = 0; f < 4; f++)
            extra = strchr(extra, '-') + 1;
        snprintf(err, errlen,
                 "--target=%s: '%s' is more than a triple holds (ARCH-[VENDOR-]OS[-ENV]); a C compiler is named "
                 "with --cc",
                 triple, extra);
        return true;
    }
    if (!known_name(field[0], known_arches, arch_families))
        return unknown_field(triple, "architecture", field[0], known_arches, err, errlen);
    /* LLVM places a word it does not know as the vendor and the OS as
     * "unknown" (x86_64-linxu-gnu becomes x86_64-linxu-unknown-gnu): such
     * a word is a misspelt OS, unless the user wrote the OS after it. */
    bool os_known = known_name(field[2], known_oses, NULL);
    if (!known_name(field[1], known_vendors, NULL) && (!os_known || strcmp(field[2], "unknown") == 0) &&
        !strstr(triple, "unknown"))
        return unknown_field(triple, "operating system", field[1], known_oses, err, errlen);
    if (!os_known)
        return unknown_field(triple, "operating system", field[2], known_oses, err, errlen);
    if (*field[3] && !known_name(field[3], known_envs, NULL))
        return unknown_field(triple, "environment", field[3], known_envs, err, errlen);
    return false;
}

/* Debian's name for an architecture in its cross toolchains' triplets:
 * arm for every 32-bit ARM (armv7, thumbv7 ...), i686 for i386 to i686. */
static const char *debian_arch(const char *a)
{
    if (strcmp(a, "amd64") == 0)
        return "x86_64";
    if (strcmp(a, "arm64") == 0)
        return "aarch64";
    if (a[0] == 'i' && a[1] >= '3' && a[1] <= '6' && strcmp(a + 2, "86") == 0)
        return "i686";
    if (strncmp(a, "armv", 4) == 0 || strncmp(a, "thumbv", 6) == 0 || strcmp(a, "thumb") == 0)
        return "arm";
    if (strcmp(a, "ppc64le") == 0)
        return "powerpc64le";
    if (strcmp(a, "ppc64") == 0)
        return "powerpc64";
    if (strcmp(a, "ppc") == 0)
        return "powerpc";
    return a;
}

/* Debian's name for the toolchain of arch-os-env: its cross compiler is
 * TRIPLET-gcc in the package gcc-TRIPLET (arm-linux-gnueabihf for
 * armv7-linux-gnueabihf). */
static void debian_triplet(const CgTarget *t, char *out, size_t n)
{
    snprintf(out, n, "%s-%s%s%s", debian_arch(t->arch), t->os, *t->env ? "-" : "", t->env);
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
    } else if (triple && check_fields(triple, norm, err, errlen)) {
        fits = false;
    } else {
        strcpy(t->triple, given);
        triple_fields(norm, t->arch, t->os, t->env, sizeof t->arch);
        char harch[sizeof t->arch], hos[sizeof t->os], henv[sizeof t->env];
        char *hnorm = LLVMNormalizeTargetTriple(host);
        triple_fields(hnorm, harch, hos, henv, sizeof harch);
        LLVMDisposeMessage(hnorm);
        t->native = !triple || strcmp(norm, host) == 0;
        /* amd64 is x86_64, arm64 aarch64: Debian's names decide. */
        t->runs_here = strcmp(debian_arch(t->arch), debian_arch(harch)) == 0 && strcmp(t->os, hos) == 0;
        t->bare_metal = !*t->os || strcmp(t->os, "none") == 0 || strcmp(t->os, "unknown") == 0;
        const char *a = t->arch;
        t->x86_64 = strncmp(a, "x86_64", 6) == 0 || strcmp(a, "amd64") == 0;
        t->x86 = strcmp(a, "x86_64") == 0 || strcmp(a, "amd64") == 0 ||
                 (a[0] == 'i' && a[1] >= '3' && a[1] <= '6' && strcmp(a + 2, "86") == 0);
        t->aarch64 = strncmp(a, "aarch64", 7) == 0 || strncmp(a, "arm64", 5) == 0;
        t->wasm = strncmp(a, "wasm", 4) == 0;
        debian_triplet(t, t->key, sizeof t->key);
        target_defaults(t);
    }
    LLVMDisposeMessage(norm);
    LLVMDisposeMessage(host);
    return fits;
}

const char *cg_portable_cpu(const char *triple)
{
    /* x86-64-v2 (SSE4.2, POPCNT: Intel's Core since Nehalem, AMD's since
     * Bulldozer) rather than v3, which Celerons and Atoms without AVX lack. */
    if (strncmp(triple, "x86_64", 6) == 0 || strncmp(triple, "amd64", 5) == 0)
        return "x86-64-v2";
    return "generic";
}
