/* The compilation context and the steps around lowering: a target machine for
 * the target target.c resolved (this machine by default), the module's triple
 * and data layout set before any code, verification, the new pass manager,
 * and emission to memory. */
#include <inttypes.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/BitWriter.h>
#include <llvm-c/Object.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <llvm/Config/llvm-config.h> /* LLVM_VERSION_MAJOR: a C header */

#include "ctx.h"

static void init_llvm(void)
{
    static bool done;
    if (done)
        return;
    LLVMInitializeAllTargetInfos();
    LLVMInitializeAllTargets();
    LLVMInitializeAllTargetMCs();
    LLVMInitializeAllAsmPrinters();
    done = true;
}

/* The assembly tm makes of one function, p[0..16) += p[0..16) on floats,
 * NUL-terminated (malloc'd), or NULL. Both questions LLVM-C cannot answer
 * directly go through it: how wide the target's vectors are, and whether
 * it knows a CPU or feature name. */
static char *probe_asm(LLVMTargetMachineRef tm)
{
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext("cnnc.probe", ctx);
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMSetTarget(m, triple);
    LLVMDisposeMessage(triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(m, td);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0), vt = LLVMVectorType(LLVMFloatTypeInContext(ctx), 16);
    LLVMValueRef fn = LLVMAddFunction(m, "probe", LLVMFunctionType(LLVMVoidTypeInContext(ctx), &ptr, 1, 0));
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, ""));
    LLVMValueRef x = LLVMBuildLoad2(b, vt, LLVMGetParam(fn, 0), "");
    LLVMSetAlignment(x, 4);
    LLVMSetAlignment(LLVMBuildStore(b, LLVMBuildFAdd(b, x, x, ""), LLVMGetParam(fn, 0)), 4);
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
    char *text = NULL, *msg = NULL;
    LLVMMemoryBufferRef buf = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMAssemblyFile, &msg, &buf) == 0) {
        size_t n = LLVMGetBufferSize(buf);
        if ((text = malloc(n + 1)) != NULL) {
            memcpy(text, LLVMGetBufferStart(buf), n);
            text[n] = '\0';
        }
        LLVMDisposeMemoryBuffer(buf);
    }
    if (msg)
        LLVMDisposeMessage(msg);
    LLVMDisposeTargetData(td);
    LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    return text;
}

/* Whether LLVM knows the CPU and features a user named for t. LLVM-C
 * cannot ask, and an unknown x86-64 CPU ends in a fatal error (no 64-bit
 * support) mid-compile; LLVM only says "'x' is not a recognized processor"
 * on standard error. So a throwaway target machine (with +64bit, so that it
 * gets through) makes the probe's assembly while standard error goes to a
 * temporary file, and its warnings are read back. */
static bool names_known(LLVMTargetRef target, const CgTarget *t, const char *cpu, const char *feat, char *err,
                        size_t errlen)
{
    const char *triple = t->triple;
    char *probe_feat = malloc(strlen(feat) + 8);
    FILE *cap = tmpfile();
    if (!probe_feat || !cap) {
        free(probe_feat);
        if (cap)
            fclose(cap);
        return true; /* cannot check; the compile itself will tell */
    }
    sprintf(probe_feat, "%s%s%s", feat, *feat && t->x86_64 ? "," : "", t->x86_64 ? "+64bit" : "");
    /* In a child: some backends (RISC-V's, for one) end an unknown CPU in a
     * fatal error, which would take cnnc down with it. */
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        if (dup2(fileno(cap), 2) < 0)
            _exit(0);
        LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, cpu, probe_feat, LLVMCodeGenLevelNone,
                                                          LLVMRelocDefault, LLVMCodeModelDefault);
        if (tm) {
            free(probe_asm(tm));
            LLVMDisposeTargetMachine(tm);
        }
        fflush(stderr);
        _exit(0);
    }
    free(probe_feat);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        fclose(cap);
        return true; /* cannot check; the compile itself will tell */
    }
    bool died = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    char said[512] = "";
    rewind(cap);
    size_t n = fread(said, 1, sizeof said - 1, cap);
    said[n] = '\0';
    fclose(cap);
    if (died && !strstr(said, "is not a recognized")) {
        char *nl = strchr(said, '\n');
        if (nl)
            *nl = '\0';
        snprintf(err, errlen, "LLVM %d cannot make code for %s with --cpu=%s%s%s: %s", LLVM_VERSION_MAJOR, triple, cpu,
                 *feat ? " --features=" : "", feat, *said ? said : "it stopped without a word");
        return false;
    }
    /* "'NAME' is not a recognized processor/feature for this target" */
    const char *what = strstr(said, "is not a recognized processor") ? "CPU"
                       : strstr(said, "is not a recognized feature") ? "feature"
                                                                      : NULL;
    if (!what) {
        fputs(said, stderr); /* other warnings pass through */
        return true;
    }
    char *q1 = strchr(said, '\''), *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
    if (q1 && q2)
        *q2 = '\0';
    bool is_cpu = strcmp(what, "CPU") == 0;
    snprintf(err, errlen, "LLVM %d does not know the %s '%s' for %s (%s)", LLVM_VERSION_MAJOR, what,
             q1 && q2 ? q1 + 1 : (is_cpu ? cpu : feat), triple,
             is_cpu ? "--cpu=native is this machine's CPU" : "features read +name or -name, as in -avx512f,+avx2");
    return false;
}

/* Sets c->vec_width and c->vec_regs, floats per vector register and how
 * many registers: NEON 4 x 32, wasm SIMD128 4 x 16, else 1 (scalar); on
 * x86 whatever the widest registers in the probe's assembly are (zmm 16 x
 * 32, ymm 8 x 16, xmm 4 x 16). Asking the backend covers every CPU LLVM
 * knows, where a list of names missed some (cascadelake and rocketlake got
 * SSE's 4, and skylake and broadwell too); it costs one tiny function's
 * code generation. */
static void target_vectors(CgCtx *c, const CgTarget *t)
{
    char *feat = LLVMGetTargetMachineFeatureString(c->tm);
    c->vec_width = 1;
    c->vec_regs = 16;
    if (t->x86) {
        char *text = probe_asm(c->tm);
        c->vec_width = text && strstr(text, "zmm") ? 16 : text && strstr(text, "ymm") ? 8 : 4;
        c->vec_regs = c->vec_width == 16 ? 32 : 16;
        free(text);
    } else if (t->aarch64) {
        c->vec_width = 4;
        c->vec_regs = 32;
    } else if (t->wasm && strstr(feat, "+simd128")) {
        c->vec_width = 4;
    }
    LLVMDisposeMessage(feat);
}

static bool make_target(CgCtx *c, const CgTarget *t, const CgOptions *o, char *err, size_t errlen)
{
    const char *triple = t->triple;
    char *cpu = NULL, *features = NULL;
    /* This machine's CPU and features by default or with --cpu=native (as
     * with clang's -march=native); a named CPU brings its own. */
    bool native_cpu = o->cpu && strcmp(o->cpu, "native") == 0;
    if (native_cpu && !t->native) {
        snprintf(err, errlen, "--cpu=native means this machine's CPU, which does not run %s code", triple);
        return false;
    }
    bool host_cpu = t->native && (!o->cpu || native_cpu);
    if (host_cpu) {
        cpu = LLVMGetHostCPUName();
        features = o->features ? strdup(o->features) : LLVMGetHostCPUFeatures();
    }
    LLVMTargetRef target;
    char *msg = NULL;
    bool ok = LLVMGetTargetFromTriple(triple, &target, &msg) == 0;
    LLVMCodeGenOptLevel level = o->opt_level == 0   ? LLVMCodeGenLevelNone
                                : o->opt_level == 1 ? LLVMCodeGenLevelLess
                                : o->opt_level == 2 ? LLVMCodeGenLevelDefault
                                                    : LLVMCodeGenLevelAggressive;
    const char *cpu_name = cpu ? cpu : (o->cpu ? o->cpu : t->cpu);
    const char *feat = features ? features : (o->features ? o->features : t->features);
    if (!ok)
        snprintf(err, errlen, "unknown target '%s': %s", triple, msg ? msg : "");
    else if ((o->cpu && !host_cpu) || o->features)
        ok = names_known(target, t, cpu_name, feat, err, errlen);
    if (ok) {
        /* Position-independent where there is a loader, so the object links
         * into PIE programs. */
        c->tm = LLVMCreateTargetMachine(target, triple, cpu_name, feat, level,
                                        t->pic ? LLVMRelocPIC : LLVMRelocStatic, LLVMCodeModelDefault);
        if (!c->tm) {
            snprintf(err, errlen, "cannot create a target machine for '%s' (cpu '%s')", triple, cpu_name);
            ok = false;
        } else {
            c->td = LLVMCreateTargetDataLayout(c->tm);
            LLVMSetTarget(c->mod, triple);
            LLVMSetModuleDataLayout(c->mod, c->td);
            /* The C-API target machine has no ABI option before LLVM 18; the
             * backend reads this module flag as clang's -mabi. */
            bool d_ext = (!o->cpu && !o->features) || (o->features && strstr(o->features, "+d"));
            if (t->abi && d_ext)
                LLVMAddModuleFlag(c->mod, LLVMModuleFlagBehaviorError, "target-abi", 10,
                                  LLVMMDStringInContext2(c->ctx, t->abi, strlen(t->abi)));
        }
    }
    if (msg)
        LLVMDisposeMessage(msg);
    if (host_cpu) {
        LLVMDisposeMessage(cpu);
        if (o->features)
            free(features);
        else
            LLVMDisposeMessage(features);
    }
    return ok;
}

static void dispose(CgCtx *c)
{
    if (c->b)
        LLVMDisposeBuilder(c->b);
    if (c->td)
        LLVMDisposeTargetData(c->td);
    if (c->tm)
        LLVMDisposeTargetMachine(c->tm);
    if (c->mod)
        LLVMDisposeModule(c->mod);
    if (c->ctx)
        LLVMContextDispose(c->ctx);
}

static bool emit(CgCtx *c, CgEmit kind, const char *path, CgOutput *out, char *err, size_t errlen)
{
    if (path && (kind == CG_EMIT_OBJ || kind == CG_EMIT_ASM)) {
        char *msg = NULL, *file = strdup(path);
        LLVMCodeGenFileType ft = kind == CG_EMIT_ASM ? LLVMAssemblyFile : LLVMObjectFile;
        bool failed = !file || LLVMTargetMachineEmitToFile(c->tm, c->mod, file, ft, &msg);
        if (failed)
            snprintf(err, errlen, "LLVM could not emit code to '%s': %s", path, msg ? msg : "out of memory");
        LLVMDisposeMessage(msg);
        free(file);
        *out = (CgOutput){0};
        return !failed;
    }
    if (kind == CG_EMIT_LLVM) {
        char *text = LLVMPrintModuleToString(c->mod);
        *out = (CgOutput){.data = text, .size = strlen(text), .owner = text};
        return true;
    }
    LLVMMemoryBufferRef mb = NULL;
    if (kind == CG_EMIT_BC) {
        mb = LLVMWriteBitcodeToMemoryBuffer(c->mod);
    } else {
        char *msg = NULL;
        LLVMCodeGenFileType ft = kind == CG_EMIT_ASM ? LLVMAssemblyFile : LLVMObjectFile;
        if (LLVMTargetMachineEmitToMemoryBuffer(c->tm, c->mod, ft, &msg, &mb)) {
            snprintf(err, errlen, "LLVM could not emit code: %s", msg ? msg : "");
            LLVMDisposeMessage(msg);
            return false;
        }
    }
    if (!mb) {
        snprintf(err, errlen, "LLVM could not write bitcode");
        return false;
    }
    *out = (CgOutput){.data = LLVMGetBufferStart(mb), .size = LLVMGetBufferSize(mb), .owner = mb,
                      .llvm_buffer = true};
    return true;
}

#if LLVM_VERSION_MAJOR >= 18
#define INSTCOMBINE "instcombine<no-verify-fixpoint>"
#else
#define INSTCOMBINE "instcombine"
#endif

/* The passes for -O<level>. With SIMD, the kernels arrive vectorised,
 * register-blocked and unrolled where it pays, so LLVM's full pipeline (its
 * vectorisers, the inliner's rounds, loop passes that find nothing) costs
 * most of a compile for nothing: LeNet-5 took 0.36 s with default<O2> and
 * takes 0.14 s with this, and the code ran as fast or faster (same run, one
 * thread: LeNet 0.0147 vs 0.0149 ms, CIFAR-10 0.446 vs 0.414 ms, AlexNet
 * 37.6 vs 37.5 ms, VGG-16 323 vs 313 ms). No loop-unroll either: it spent
 * 48 of LeNet-5's 80 ms of passes analysing the kernels' loops only to leave
 * them, and unrolled just copy loops and pool windows, which pool.c now
 * vectorises (side by side, the five bench networks at batch 1 and 8 on one
 * and two threads ran the same with it and without). Scalar targets
 * (Cortex-M) keep LLVM's pipelines: there the loop passes earn their time
 * (the Cortex-M4 firmware running LeNet-5 on one image took 4.76 million
 * instructions with default<O2>, 6.91 million with this one). -O3 is always
 * default<O3>. */
static const char *pipeline(int level, int vec_width)
{
    if (level == 0 || level == 3 || vec_width == 1)
        return level == 0 ? "default<O0>" : level == 1 ? "default<O1>" : level == 2 ? "default<O2>" : "default<O3>";
    if (level == 1)
        return "function(sroa,early-cse<memssa>," INSTCOMBINE ",simplifycfg)";
    return "function(sroa,early-cse<memssa>," INSTCOMBINE ",simplifycfg,loop(loop-rotate),"
           "loop-mssa(licm),gvn," INSTCOMBINE ",simplifycfg)";
}

static bool compile_module(const IrGraph *g, const IrParam *params, size_t nparams, const float *const *weights,
                           const CgOptions *o, CgEmit kind, CgSizes *measure, CgOutput *out, char *err,
                           size_t errlen)
{
    IR_ASSERT(g->shaped && g->count > 0);
    init_llvm();
    CgCtx c = {.g = g, .params = params, .nparams = nparams, .executable = o->executable,
               .opt_level = o->opt_level, .measure = measure != NULL};
    c.ctx = LLVMContextCreate();
    c.mod = LLVMModuleCreateWithNameInContext(g->name, c.ctx);
    c.b = LLVMCreateBuilderInContext(c.ctx);
    c.i1 = LLVMInt1TypeInContext(c.ctx);
    c.i8 = LLVMInt8TypeInContext(c.ctx);
    c.i32 = LLVMInt32TypeInContext(c.ctx);
    c.i64 = LLVMInt64TypeInContext(c.ctx);
    c.f32 = LLVMFloatTypeInContext(c.ctx);
    c.ptr = LLVMPointerTypeInContext(c.ctx, 0);
    c.void_t = LLVMVoidTypeInContext(c.ctx);
    /* Callers that name no target (the tests) get this machine's. */
    CgTarget here;
    const CgTarget *target = o->target ? o->target : &here;
    bool ok = (o->target || cg_target_resolve(NULL, &here, err, errlen)) && make_target(&c, target, o, err, errlen);
    if (ok) {
        c.size = LLVMIntPtrTypeInContext(c.ctx, c.td);
        /* A 32-bit target cannot hold what its size_t cannot count. */
        int64_t in_bytes = ir_shape_elems(g->nodes[0].out) * 4;
        int64_t out_bytes = ir_shape_elems(g->nodes[g->count - 1].out) * 4;
        if (LLVMPointerSize(c.td) < 8 &&
            (g->weights_bytes > INT32_MAX || g->workspace_bytes > INT32_MAX || in_bytes > INT32_MAX ||
             out_bytes > INT32_MAX)) {
            char *t = LLVMGetTargetMachineTriple(c.tm);
            snprintf(err, errlen,
                     "network '%s' does not fit a 32-bit target ('%s'): it needs %" PRId64 " bytes of "
                     "weights, %" PRId64 " of workspace and %" PRId64 " and %" PRId64
                     " of input and output per image, and a 32-bit target addresses 2 GiB per object",
                     g->name, t, g->weights_bytes, g->workspace_bytes, in_bytes, out_bytes);
            LLVMDisposeMessage(t);
            ok = false;
        }
    }
    if (ok && measure) {
        char *t = LLVMGetTargetMachineTriple(c.tm), *cpu = LLVMGetTargetMachineCPU(c.tm);
        snprintf(measure->triple, sizeof measure->triple, "%s", t);
        snprintf(measure->cpu, sizeof measure->cpu, "%s", cpu);
        LLVMDisposeMessage(t);
        LLVMDisposeMessage(cpu);
    }
    if (ok) {
        target_vectors(&c, target);
        /* The kernels were chosen for this machine (cg_machine, ir/kernel.h). */
        IR_ASSERT(g->machine.vec_width == c.vec_width && g->machine.vec_regs == c.vec_regs &&
                  g->machine.opt_level == o->opt_level);
        cg_build_module(&c, weights);
        /* Nothing generated throws: without nounwind, ARM objects ask for
         * the C++ unwinder's personality routines (__aeabi_unwind_cpp_pr0),
         * which drag abort, signal and malloc into a bare-metal image. */
        unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
        for (LLVMValueRef fn = LLVMGetFirstFunction(c.mod); fn; fn = LLVMGetNextFunction(fn))
            LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c.ctx, nounwind, 0));
        char *msg = NULL;
        if (LLVMVerifyModule(c.mod, LLVMReturnStatusAction, &msg))
            IR_DIE("the generated module does not verify: %s", msg);
        LLVMDisposeMessage(msg);
        LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
        LLVMErrorRef e = LLVMRunPasses(c.mod, pipeline(o->opt_level, c.vec_width), c.tm, po);
        LLVMDisposePassBuilderOptions(po);
        if (e) {
            char *em = LLVMGetErrorMessage(e);
            IR_DIE("LLVM passes failed: %s", em);
        }
        ok = emit(&c, kind, measure ? NULL : o->emit_path, out, err, errlen);
        if (ok) {
            char *t = LLVMGetTargetMachineTriple(c.tm), *cpu = LLVMGetTargetMachineCPU(c.tm),
                 *feat = LLVMGetTargetMachineFeatureString(c.tm);
            out->machine = (CgMachine){strdup(t), strdup(cpu), strdup(feat),
                                       target->native && (!o->cpu || strcmp(o->cpu, "native") == 0)};
            LLVMDisposeMessage(t);
            LLVMDisposeMessage(cpu);
            LLVMDisposeMessage(feat);
            if (!out->machine.triple || !out->machine.cpu || !out->machine.features)
                IR_DIE("out of memory");
        }
    }
    dispose(&c);
    return ok;
}

bool cg_machine(const CgOptions *o, IrMachine *m, char *err, size_t errlen)
{
    init_llvm();
    CgCtx c = {.opt_level = o->opt_level};
    c.ctx = LLVMContextCreate();
    c.mod = LLVMModuleCreateWithNameInContext("cnnc.machine", c.ctx);
    CgTarget here;
    const CgTarget *target = o->target ? o->target : &here;
    bool ok = (o->target || cg_target_resolve(NULL, &here, err, errlen)) && make_target(&c, target, o, err, errlen);
    if (ok) {
        target_vectors(&c, target);
        *m = (IrMachine){c.vec_width, c.vec_regs, o->opt_level};
    }
    dispose(&c);
    return ok;
}

bool cg_compile(const IrGraph *g, const IrParam *params, size_t nparams, const float *const *weights,
                const CgOptions *o, CgEmit kind, CgOutput *out, char *err, size_t errlen)
{
    return compile_module(g, params, nparams, weights, o, kind, NULL, out, err, errlen);
}

/* Sections by what they cost on a device: code in flash, constants in flash,
 * writable data in RAM. ELF names, and wasm's CODE and DATA. */
static void count_section(const char *name, uint64_t size, CgSizes *sz)
{
    if (!name)
        return;
    /* Unwind tables (.ARM.exidx, .eh_frame) sit in flash beside the code. */
    if (strncmp(name, ".text", 5) == 0 || strcmp(name, "CODE") == 0 || strncmp(name, ".ARM.ex", 7) == 0 ||
        strcmp(name, ".eh_frame") == 0)
        sz->code += (int64_t)size;
    else if (strncmp(name, ".rodata", 7) == 0 || strncmp(name, ".srodata", 8) == 0 ||
             strncmp(name, ".data.rel.ro", 12) == 0 || strcmp(name, "DATA") == 0)
        sz->constants += (int64_t)size;
    else if (strncmp(name, ".data", 5) == 0 || strncmp(name, ".bss", 4) == 0 || strncmp(name, ".sdata", 6) == 0 ||
             strncmp(name, ".sbss", 5) == 0)
        sz->data += (int64_t)size;
}

bool cg_measure(const IrGraph *g, const IrParam *params, size_t nparams, const float *const *weights,
                const CgOptions *o, CgSizes *sz, char *err, size_t errlen)
{
    /* Without weights, an estimate: they are weights_bytes of raw floats
     * whatever their values, and the rest of the object hardly changes. */
    const float **none = weights ? NULL : calloc(nparams ? nparams : 1, sizeof *none);
    if (!weights && !none) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    CgOptions mo = *o;
    mo.executable = false;
    CgOutput out = {0};
    *sz = (CgSizes){0};
    bool ok = compile_module(g, params, nparams, weights ? weights : none, &mo, CG_EMIT_OBJ, sz, &out, err, errlen);
    free(none);
    if (!ok)
        return false;
    LLVMMemoryBufferRef mb = LLVMCreateMemoryBufferWithMemoryRange(out.data, out.size, "object", 0);
    char *msg = NULL;
    LLVMBinaryRef bin = LLVMCreateBinary(mb, NULL, &msg);
    if (!bin) {
        snprintf(err, errlen, "cannot read back the object LLVM made: %s", msg ? msg : "");
        LLVMDisposeMessage(msg);
        ok = false;
    } else {
        LLVMSectionIteratorRef it = LLVMObjectFileCopySectionIterator(bin);
        for (; !LLVMObjectFileIsSectionIteratorAtEnd(bin, it); LLVMMoveToNextSection(it))
            count_section(LLVMGetSectionName(it), LLVMGetSectionSize(it), sz);
        LLVMDisposeSectionIterator(it);
        LLVMDisposeBinary(bin);
        /* The weights are constants too; the rest is everything else. */
        if (weights)
            sz->constants -= g->weights_bytes;
    }
    LLVMDisposeMemoryBuffer(mb);
    cg_output_free(&out);
    return ok;
}

void cg_on_fatal_error(void (*fn)(const char *reason))
{
    LLVMInstallFatalErrorHandler(fn);
}

void cg_output_free(CgOutput *out)
{
    if (out->owner && out->llvm_buffer)
        LLVMDisposeMemoryBuffer(out->owner);
    else if (out->owner)
        LLVMDisposeMessage(out->owner);
    free(out->machine.triple);
    free(out->machine.cpu);
    free(out->machine.features);
    *out = (CgOutput){0};
}

void cg_transpose(CgCtx *c, int v, LLVMValueRef *r)
{
    for (int b = 1; b < v; b <<= 1) {
        for (int i = 0; i < v; i++) {
            if (i & b)
                continue;
            LLVMValueRef lo[16], hi[16]; /* lanes of r[i] then r[i | b] */
            for (int j = 0; j < v; j++) {
                lo[j] = LLVMConstInt(c->i32, (unsigned long long)((j & b) ? v + (j ^ b) : j), 0);
                hi[j] = LLVMConstInt(c->i32, (unsigned long long)((j & b) ? v + j : (j ^ b)), 0);
            }
            LLVMValueRef a = r[i], z = r[i | b];
            r[i] = LLVMBuildShuffleVector(c->b, a, z, LLVMConstVector(lo, (unsigned)v), "");
            r[i | b] = LLVMBuildShuffleVector(c->b, a, z, LLVMConstVector(hi, (unsigned)v), "");
        }
    }
}
