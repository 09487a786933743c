/* Code generation's public API: a shaped IR graph in, LLVM-compiled output out
 * (SPEC sections 4 and 5). Only codegen/ includes <llvm-c/...>. */
#ifndef CNNC_CODEGEN_CG_H
#define CNNC_CODEGEN_CG_H

#include <stdbool.h>
#include <stddef.h>

#include "ir/ir.h"
#include "ir/params.h"

typedef enum { CG_EMIT_OBJ, CG_EMIT_ASM, CG_EMIT_LLVM, CG_EMIT_BC } CgEmit;

/* What a target is, resolved once from its triple (cg_target_resolve): the
 * driver and codegen read these fields, and nothing else parses a triple. */
typedef struct CgTarget {
    char triple[256];               /* as LLVM takes it: normalised, or this machine's */
    char arch[64], os[64], env[64]; /* its 1st, 3rd and 4th fields, "" when absent */
    /* The triple as Debian names cross toolchains: without its vendor, and
     * with Debian's arch ("aarch64-linux-gnu" for arm64-linux-gnu,
     * "arm-linux-gnueabihf" for armv7-linux-gnueabihf, "wasm32-wasi"). */
    char key[200];
    bool native;     /* exactly this machine's triple: its CPU and features are asked */
    bool runs_here;  /* this machine's architecture and OS, whatever the vendor field
                      * says: this machine's C compiler and runtime link for it */
    bool bare_metal; /* no operating system: no loader, no program, only objects */
    bool x86;        /* x86_64, amd64, i386-i686: the only targets whose vectors can
                      * hold 8 floats or more (AVX, AVX-512) */
    bool x86_64;     /* x86_64, x86_64h or amd64: the check of a named CPU adds
                      * +64bit, lest LLVM stop for want of it */
    bool aarch64;    /* aarch64... or arm64...: NEON */
    bool wasm;       /* wasm32, wasm64: SIMD128 when its feature is on */
    /* What --cpu and --features default to off this machine, the ABI that
     * goes with them (NULL: LLVM's), and position-independent code. */
    const char *cpu, *features, *abi;
    bool pic;
} CgTarget;

/* Resolves triple (NULL: this machine's) into t; false, with a message in
 * err, when it is too long to hold. A triple LLVM has no backend for
 * resolves all the same: only code generation needs one, and says so. */
__attribute__((warn_unused_result)) bool cg_target_resolve(const char *triple, CgTarget *t, char *err,
                                                           size_t errlen);

/* The --cpu that makes code for every CPU of triple's architecture that
 * its usual systems run on: "x86-64-v2" for x86-64, else "generic". */
const char *cg_portable_cpu(const char *triple);

typedef struct CgOptions {
    int opt_level;          /* 0..3 */
    const CgTarget *target; /* NULL: this machine */
    const char *cpu;        /* NULL: this machine's for its own triple, else CgTarget.cpu */
    const char *features;   /* NULL: this machine's for its own triple, else CgTarget.features */
    /* An executable's object also defines cnnrt_model for the runtime's main;
     * an AOT object defines only NAME_infer and NAME_workspace_size. */
    bool executable;
    /* An object or assembly is written straight to this file, not to memory
     * (out then holds nothing): LLVM's in-memory object grows by doubling
     * and is copied once more, and VGG-16's 553 MB object cost its compile
     * more in fresh pages to zero than in code generation. */
    const char *emit_path;
} CgOptions;

/* What the plan's kernel choices need to know of the machine o compiles for
 * (ir/kernel.h): its vector width and registers, and o's -O level. The
 * graph given to cg_compile and cg_measure must have been planned with it.
 * False, with a message in err, when LLVM cannot make code for o's target
 * or does not know its CPU or features. */
__attribute__((warn_unused_result)) bool cg_machine(const CgOptions *o, IrMachine *m, char *err, size_t errlen);

/* The machine code was made for, as the target machine had it: the triple,
 * the CPU and the features (LLVM's "+a,-b" list; "" when the CPU alone
 * says). host_cpu: this machine's CPU was asked (by default, or
 * --cpu=native), so the code may need what only this CPU has. */
typedef struct CgMachine {
    char *triple, *cpu, *features;
    bool host_cpu;
} CgMachine;

/* What was emitted, in memory, and for which machine; free with
 * cg_output_free. */
typedef struct CgOutput {
    const char *data;
    size_t size;
    void *owner; /* what holds data: LLVM's buffer (no copy of a 500 MB object) or a string */
    bool llvm_buffer;
    CgMachine machine;
} CgOutput;

/* Compiles g. weights[i] holds params[i]'s floats (inline or from a file) or NULL
 * when the program will read them at run time (executables only). On failure
 * writes a message to err and returns false. */
__attribute__((warn_unused_result)) bool cg_compile(const IrGraph *g, const IrParam *params,
                                                    size_t nparams, const float *const *weights,
                                                    const CgOptions *o, CgEmit kind, CgOutput *out,
                                                    char *err, size_t errlen);
void cg_output_free(CgOutput *out);

/* Calls fn with LLVM's reason when LLVM meets an error it cannot return,
 * such as a full disk under an object it writes to a file (emit_path);
 * LLVM then exits with status 1. */
void cg_on_fatal_error(void (*fn)(const char *reason));

/* What the AOT object for o's target costs, in bytes: code (.text and its
 * unwind tables), constants other than the weights (.rodata and the like)
 * and writable data (none is expected); the weights add g->weights_bytes.
 * Exact with weights (as for cg_compile, all present); an estimate, made
 * without them, when weights is NULL. */
typedef struct CgSizes {
    int64_t code, constants, data;
    char triple[128], cpu[64]; /* the target as LLVM normalised it, and its CPU */
} CgSizes;
__attribute__((warn_unused_result)) bool cg_measure(const IrGraph *g, const IrParam *params, size_t nparams,
                                                    const float *const *weights, const CgOptions *o, CgSizes *sz,
                                                    char *err, size_t errlen);

/* The C header of SPEC section 5 for an AOT object made for m, as text. */
char *cg_header_text(const IrGraph *g, const CgMachine *m);

#endif
