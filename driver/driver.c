/* The pipeline behind the command line (SPEC section 5): read the source, run
 * the front end, then the one action asked for. Outputs go through a temporary
 * file and a rename, so a failure never leaves half a file. */
#include "driver.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#include "codegen/cg.h"
#include "frontend/frontend.h"
#include "frontend/onnx/onnx.h"
#include "ir/cnn.h"
#include "ir/fuse.h"
#include "ir/params.h"
#include "ir/plan.h"
#include "ir/report.h"
#include "runtime/rtio.h"
#include "runtime/safetensors.h"

typedef enum { EMIT_EXE, EMIT_OBJ, EMIT_ASM, EMIT_LLVM, EMIT_BC, EMIT_DOT, EMIT_CNN } Emit;
typedef enum { ACT_COMPILE, ACT_CHECK, ACT_REPORT_TEXT, ACT_REPORT_JSON, ACT_DUMP_IR } Action;

typedef struct Options {
    const char *input, *output, *weights, *target, *cpu, *features, *cc;
    Emit emit;
    Action action;
    int opt_level;
    bool no_fuse;
    /* What --target (or, without it, this machine) is: resolved once after
     * parsing, and read wherever the target matters. */
    CgTarget machine;
    /* An ONNX model's initializers, the weights unless --weights is given. */
    const FeOnnxWeights *onnx;
} Options;

static const char *const usage_text =
    "usage: cnnc [options] FILE.cnn|FILE.onnx\n"
    "\n"
    "Compiles a convolutional network described in the .cnn language, or an ONNX\n"
    "model (as torch.onnx.export writes it; its initializers are the weights), or\n"
    "reports its shapes, parameters and multiply-accumulates (MACs).\n"
    "\n"
    "  --check            parse and shape-check only\n"
    "  --report[=json]    print the per-layer report (a table, or JSON) and stop;\n"
    "                     with --target, also the object's flash and RAM there\n"
    "  --emit=KIND        exe (default) | obj | asm | llvm | bc | dot | cnn\n"
    "                     (cnn: the network as .cnn source, and its weights\n"
    "                     beside it as NAME.safetensors, for NAME.cnn)\n"
    "  -c / -S            same as --emit=obj / --emit=asm\n"
    "  -o PATH            output path (default: the network's file name, in .);\n"
    "                     '-' is standard output, for asm, llvm, bc, dot and reports\n"
    "  --weights FILE     safetensors weights to embed (for an ONNX model: instead\n"
    "                     of its initializers)\n"
    "  -O0 -O1 -O2 -O3    optimisation level (default -O2)\n"
    "  --target=TRIPLE    LLVM target triple (default: this machine)\n"
    "  --cpu=NAME         target CPU, as LLVM names it (skylake, znver4, ...;\n"
    "                     default, and native: this machine's; for other targets\n"
    "                     the usual one: generic-rv64, cortex-m4 for thumbv7em)\n"
    "  --features=LIST    target features, e.g. +simd128 or -avx512f,+avx2\n"
    "  --cc=PROGRAM       C compiler that links an executable for --target\n"
    "                     (default: cc, or TRIPLE-gcc, or clang-19 for wasm32-wasi)\n"
    "  --no-fuse          compile every layer on its own\n"
    "  --dump=ir          print the shaped IR graph, one node a line (debugging)\n"
    "  --version, --help\n"
    "\n"
    "The language, by example (one layer per line; '#' or '//' comments):\n"
    "\n"
    "  network lenet {                      # NAME prefixes the C symbols\n"
    "      input 28x28x1                    # width x height x depth; first, once\n"
    "      conv1: conv filters=6 size=5 pad=2   # NAME: is optional (default conv1..)\n"
    "      relu\n"
    "      pool max size=2                  # stride defaults to size\n"
    "      conv filters=16 size=5 stride=1  # stride=S pad=P bias=false round=floor|ceil\n"
    "      relu; pool avg size=2            # ';' separates layers too\n"
    "      fc 120                           # fully connected, 120 outputs\n"
    "      dropout p=0.5                    # identity at inference\n"
    "      fc 10\n"
    "      softmax\n"
    "  }\n"
    "\n"
    "Shapes follow W2 = (W1 - F + 2P)/S + 1 (and the same for H); D2 = K for conv.\n"
    "The division must be exact unless the layer says round=floor or round=ceil.\n"
    "input also takes mean=... and std=... (one value or one per channel); conv and\n"
    "fc take inline weights=[...] and biases=[...] in PyTorch's layout.\n"
    "\n"
    "Graphs (ResNet, MobileNet, GoogLeNet): a layer reads the one before it, or\n"
    "from=NAME; add A B ... sums layers of one shape, concat A B ... stacks depths.\n"
    "\n"
    "  network block round=floor {         # the default rounding of conv and pool\n"
    "      input 56x56x64\n"
    "      stem: relu\n"
    "      c1: conv filters=64 size=3 pad=1 bias=false\n"
    "      bn1: batchnorm                   # eps=1e-5; folded into c1\n"
    "      relu6                            # leakyrelu slope=0.01, sigmoid, tanh\n"
    "      dw: conv filters=64 size=3 pad=1 groups=64   # depthwise; dilation=2\n"
    "      sum: add dw stem                 # a residual connection\n"
    "      \"1x3\": conv filters=8 size=3x1 pad=1x0 from=stem  # WxH; quoted names\n"
    "      concat sum \"1x3\"\n"
    "      pool avg global                  # 1 x 1 x D\n"
    "  }\n"
    "\n"
    "Exit status: 0 success, 1 an error in the input, 2 a bad command line.\n";

static int usage_error(FILE *err, const char *fmt, const char *arg)
{
    fputs("cnnc: error: ", err);
    fprintf(err, fmt, arg);
    fputs("\ncnnc: try 'cnnc --help'\n", err);
    return 2;
}

/* --key=VALUE or --key VALUE; NULL when argv[*i] is not --key. */
static const char *long_value(int argc, char **argv, int *i, const char *key, bool *missing)
{
    size_t n = strlen(key);
    const char *a = argv[*i];
    if (strncmp(a, key, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

static int parse_options(int argc, char **argv, Options *o, FILE *out, FILE *err, bool *done)
{
    static const char *const emits[] = {"exe", "obj", "asm", "llvm", "bc", "dot", "cnn"};
    o->opt_level = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool missing = false;
        const char *v;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, out);
            *done = true;
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            fprintf(out, "cnnc %s\n", CNNC_VERSION);
            *done = true;
            return 0;
        } else if (strcmp(a, "--check") == 0) {
            o->action = ACT_CHECK;
        } else if (strcmp(a, "--report") == 0 || strcmp(a, "--report=text") == 0) {
            o->action = ACT_REPORT_TEXT;
        } else if (strcmp(a, "--report=json") == 0) {
            o->action = ACT_REPORT_JSON;
        } else if (strncmp(a, "--report=", 9) == 0) {
            return usage_error(err, "unknown report format '%s' (use --report or --report=json)", a + 9);
        } else if (strcmp(a, "--dump=ir") == 0) {
            o->action = ACT_DUMP_IR;
        } else if (strncmp(a, "--dump", 6) == 0) {
            return usage_error(err, "unknown dump '%s' (use --dump=ir)", a);
        } else if (strcmp(a, "-c") == 0) {
            o->emit = EMIT_OBJ;
        } else if (strcmp(a, "-S") == 0) {
            o->emit = EMIT_ASM;
        } else if (strcmp(a, "--no-fuse") == 0) {
            o->no_fuse = true;
        } else if (a[0] == '-' && a[1] == 'O') {
            if (a[2] < '0' || a[2] > '3' || a[3] != '\0')
                return usage_error(err, "unknown optimisation level '%s' (use -O0, -O1, -O2 or -O3)", a);
            o->opt_level = a[2] - '0';
        } else if (strcmp(a, "-o") == 0) {
            if (i + 1 >= argc)
                return usage_error(err, "%s needs a path", a);
            o->output = argv[++i];
        } else if ((v = long_value(argc, argv, &i, "--emit", &missing)) != NULL) {
            size_t k = 0;
            while (k < sizeof emits / sizeof *emits && strcmp(v, emits[k]) != 0)
                k++;
            if (k == sizeof emits / sizeof *emits)
                return usage_error(err, "unknown --emit kind '%s' (exe, obj, asm, llvm, bc, dot or cnn)", v);
            o->emit = (Emit)k;
        } else if ((v = long_value(argc, argv, &i, "--weights", &missing)) != NULL) {
            o->weights = v;
        } else if ((v = long_value(argc, argv, &i, "--features", &missing)) != NULL) {
            o->features = v;
        } else if ((v = long_value(argc, argv, &i, "--cc", &missing)) != NULL) {
            o->cc = v;
        } else if ((v = long_value(argc, argv, &i, "--target", &missing)) != NULL) {
            o->target = v;
        } else if ((v = long_value(argc, argv, &i, "--cpu", &missing)) != NULL) {
            o->cpu = v;
        } else if (missing) {
            return usage_error(err, "%s needs a value", a);
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error(err, "unknown option '%s'", a);
        } else if (o->input) {
            return usage_error(err, "one source file at a time ('%s' is a second one)", a);
        } else {
            o->input = a;
        }
    }
    if (!o->input)
        return usage_error(err, "%s", "no input file");
    /* An executable must be a file to run, an object comes with its
     * header and .cnn with its weights: none has one stream to go to. */
    if (o->output && strcmp(o->output, "-") == 0 && o->action == ACT_COMPILE &&
        (o->emit == EMIT_EXE || o->emit == EMIT_OBJ || o->emit == EMIT_CNN))
        return usage_error(err, "-o - (standard output) takes asm, llvm, bc or dot, not %s",
                           o->emit == EMIT_EXE   ? "an executable"
                           : o->emit == EMIT_OBJ ? "an object and its header"
                                                 : ".cnn source and its weights");
    /* A triple too long to hold is a bad command line, like any option. */
    char msg[256];
    if (!cg_target_resolve(o->target, &o->machine, msg, sizeof msg))
        return usage_error(err, "%s", msg);
    return 0;
}

/* The whole file, NUL-terminated (the scanner does not need it; messages do). */
static char *read_source(const char *path, size_t *len, FILE *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(err, "cnnc: error: cannot open '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(err, "cnnc: error: '%s' is a directory, not a .cnn source\n", path);
        fclose(f);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            if (cap > ((size_t)1 << 31)) {
                fprintf(err, "cnnc: error: '%s' is larger than 2 GiB\n", path);
                free(buf);
                fclose(f);
                return NULL;
            }
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    if (!buf || ferror(f)) {
        fprintf(err, "cnnc: error: cannot read '%s': %s\n", path, buf ? strerror(errno) : "out of memory");
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Refuses to write what at path when it is one of the inputs, compared as
 * files (rt_same_file), so that a link or a second name cannot slip past: a
 * C compiler's "input file is the same as output file". Nothing has been
 * written when this runs. */
static int refuse_input_as_output(const Options *o, const char *what, const char *path, FILE *err)
{
    if (!path || strcmp(path, "-") == 0)
        return 0;
    const char *inputs[] = {o->input, o->weights}, *kinds[] = {"source", "weights file"};
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        if (!rt_same_file(path, inputs[i]))
            continue;
        fprintf(err,
                "cnnc: error: the %s '%s' is the %s '%s'%s; cnnc will not write over an input: give -o another "
                "path\n",
                what, path, kinds[i], inputs[i],
                strcmp(path, inputs[i]) != 0 ? " (the same file by another name)" : "");
        return 1;
    }
    return 0;
}

/* What a file given as the source is, when it is not text: a NUL byte in
 * its first 8 KiB (as grep and git decide), or the start of a format cnnc
 * knows. NULL for text; "" for a binary file of no known kind. */
static const char *binary_kind(const char *src, size_t len)
{
    const unsigned char *b = (const unsigned char *)src;
    if (len >= 4 && memcmp(b, "\x7f" "ELF", 4) == 0)
        return "it looks like an ELF executable or object";
    int ckpt = cnnrt_looks_like_checkpoint(b, len);
    if (ckpt == 1)
        return "it is a zip archive, as a PyTorch checkpoint (torch.save) is: weights go in --weights as "
               "safetensors (the README's 'From PyTorch' shows how)";
    if (ckpt == 2)
        return "it is a Python pickle, as an old PyTorch checkpoint is: weights go in --weights as safetensors "
               "(the README's 'From PyTorch' shows how)";
    if (len >= 9 && b[8] == '{' && b[6] == 0 && b[7] == 0)
        return "it looks like a safetensors weights file: give it with --weights";
    /* A NUL, or control bytes for more than one byte in ten (text has
     * tabs, newlines and carriage returns; UTF-8 is not counted). */
    size_t head = len < 8192 ? len : 8192, control = 0;
    for (size_t i = 0; i < head; i++) {
        if (b[i] == 0)
            return "";
        control += (b[i] < 0x20 && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' && b[i] != '\f') || b[i] == 0x7f;
    }
    return control * 10 > head ? "" : NULL;
}

/* A report's printer (ir/report.h). */
typedef void (*Writer)(const IrGraph *g, FILE *out);

/* Writes size bytes to path through the runtime's atomic writer (a
 * temporary beside it, renamed on success, removed on a fatal signal). */
static int write_file_atomic(const char *path, const void *data, size_t size, FILE *err)
{
    RtOut o;
    char msg[1024];
    if (rt_out_open(&o, path, msg, sizeof msg) != 0) {
        fprintf(err, "cnnc: error: %s\n", msg);
        return 1;
    }
    /* A short write shows in the stream's error flag, which commit checks. */
    if (size > 0)
        (void)fwrite(data, 1, size, o.f);
    if (rt_out_commit(&o, msg, sizeof msg) != 0) {
        fprintf(err, "cnnc: error: %s\n", msg);
        return 1;
    }
    return 0;
}

/* A report to out, or to path through the atomic writer. */
static int write_output(const Options *o, const char *path, Writer fn, const IrGraph *g, FILE *out, FILE *err)
{
    if (refuse_input_as_output(o, "output", path, err) != 0)
        return 1;
    if (!path || strcmp(path, "-") == 0) {
        fn(g, out);
        fflush(out);
        return ferror(out) ? 1 : 0;
    }
    RtOut ro;
    char msg[1024];
    if (rt_out_open(&ro, path, msg, sizeof msg) != 0) {
        fprintf(err, "cnnc: error: %s\n", msg);
        return 1;
    }
    fn(g, ro.f);
    if (rt_out_commit(&ro, msg, sizeof msg) != 0) {
        fprintf(err, "cnnc: error: %s\n", msg);
        return 1;
    }
    return 0;
}

/* A runtime archive: beside the cnnc binary, in ../lib/cnnc, or where the
 * build put it. $CNNC_RUNTIME overrides the host's libcnnrt.a. */
static char *find_runtime(const char *name)
{
    const char *env = getenv("CNNC_RUNTIME");
    if (env && *env && strcmp(name, "libcnnrt.a") == 0)
        return strdup(env);
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            char *path = malloc(strlen(self) + strlen(name) + 16);
            if (!path)
                return NULL;
            sprintf(path, "%s/%s", self, name);
            if (access(path, R_OK) == 0)
                return path;
            sprintf(path, "%s/../lib/cnnc/%s", self, name);
            if (access(path, R_OK) == 0)
                return path;
            free(path);
        }
    }
    char *path = malloc(strlen(CNNC_RUNTIME_DIR) + strlen(name) + 2);
    if (path)
        sprintf(path, "%s/%s", CNNC_RUNTIME_DIR, name);
    return path;
}

/* True when prog (a path, or a name looked up in $PATH) can be run. */
static bool can_run(const char *prog)
{
    if (strchr(prog, '/'))
        return access(prog, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    size_t plen = strlen(prog);
    for (const char *p = path;;) {
        const char *colon = strchr(p, ':');
        size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
        char *full = malloc(dlen + plen + 3);
        if (!full)
            return false;
        sprintf(full, "%.*s/%s", (int)(dlen ? dlen : 1), dlen ? p : ".", prog);
        bool ok = access(full, X_OK) == 0;
        free(full);
        if (ok)
            return true;
        if (!colon)
            return false;
        p = colon + 1;
    }
}

/* Runs argv, waiting for it; true when it exits 0. */
static bool run_command(char *const argv[], FILE *err)
{
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    if (rc != 0) {
        fprintf(err, "cnnc: error: cannot run '%s': %s\n", argv[0], strerror(rc));
        return false;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return false;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* How a program is linked: the C compiler and its arguments around
 * "-o OUT OBJECT RUNTIME". */
typedef struct Link {
    const char *cc;
    const char *before[2]; /* flags the compiler needs first (--target=...) */
    const char *after[8];  /* libraries and link flags */
    char *runtime;
    char gcc[220]; /* TRIPLE-gcc, when that is the compiler */
} Link;

/* Whether the build knows a runtime for the machine key (a Debian
 * triplet), built or not: CNNC_CROSS_KEYS, a list written "a, b, c". */
static bool cross_runtime_known(const char *key)
{
    static const char keys[] = CNNC_CROSS_KEYS;
    size_t n = strlen(key);
    for (const char *p = keys; n > 0 && (p = strstr(p, key)) != NULL; p += n)
        if ((p == keys || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

/* The link for --target: this machine's C compiler and libcnnrt.a, or a
 * cross C compiler and libcnnrt-KEY.a, which the build makes for each cross
 * toolchain it finds (runtime/CMakeLists.txt). Explains what is missing and
 * returns the exit status when there is no way to link. */
static int plan_link(const Options *o, Link *l, FILE *err)
{
    memset(l, 0, sizeof *l);
    if (o->machine.runs_here) {
        const char *cc = getenv("CC");
        l->cc = o->cc ? o->cc : cc && *cc ? cc : CNNC_LINK_CC;
        /* libpng and libjpeg: the runtime reads PNG and JPEG inputs. */
        const char *after[] = {"-lcjson", "-lpng", "-ljpeg", "-lm", "-lpthread",
                               *CNNC_LINK_EXTRA ? CNNC_LINK_EXTRA : NULL};
        memcpy(l->after, after, sizeof after);
        /* With the default compiler, LLVM's linker when it is installed:
         * side by side it linked VGG-16's 553 MB object in 0.3-1.2 s, GNU ld
         * in 2.8-3.2 s (whole compiles 4.5-4.9 s against 7.3-9.5 s). A
         * compiler the user names gets no flags. */
        if (!o->cc && !(cc && *cc) && can_run("ld.lld"))
            l->before[0] = "-fuse-ld=lld";
        l->runtime = find_runtime("libcnnrt.a");
        if (!l->runtime || access(l->runtime, R_OK) != 0) {
            fprintf(err, "cnnc: error: cannot find the runtime library '%s' (set CNNC_RUNTIME)\n",
                    l->runtime ? l->runtime : "libcnnrt.a");
            return 1;
        }
        return 0;
    }
    const char *key = o->machine.key;
    if (o->machine.bare_metal) {
        fprintf(err,
                "cnnc: error: '%s' is bare metal: with no operating system to run a program, cnnc makes "
                "an object, not an executable. Use -c for NAME.o and NAME.h and link them into your "
                "firmware (examples/cortex-m/ shows how)\n"
                "cnnc: try 'cnnc --help'\n",
                o->target);
        return 2;
    }
    if (!cross_runtime_known(key)) {
        fprintf(err,
                "cnnc: error: cannot link a program for '%s': cnnc links programs for this machine and for %s "
                "only; "
                "-c makes the object and its header for '%s', to link with a main of your own (NAME.h "
                "shows the calls)\n",
                o->target, CNNC_CROSS_KEYS, o->target);
        return 1;
    }
    bool wasm = o->machine.wasm;
    /* Debian's packages for each toolchain, named in the messages. */
    char package[256];
    if (wasm)
        snprintf(package, sizeof package, "clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32");
    else
        snprintf(package, sizeof package, "gcc-%s", key);
    snprintf(l->gcc, sizeof l->gcc, "%s-gcc", key);
    l->cc = o->cc ? o->cc : wasm ? "clang-19" : l->gcc;
    if (!can_run(l->cc)) {
        fprintf(err,
                "cnnc: error: cannot link a program for '%s': its C compiler '%s' is not installed. On "
                "Debian: apt-get install %s (or name another compiler with --cc); -c makes the object and "
                "header without linking\n",
                o->target, l->cc, package);
        return 1;
    }
    char name[240];
    snprintf(name, sizeof name, "libcnnrt-%s.a", key);
    l->runtime = find_runtime(name);
    if (!l->runtime || access(l->runtime, R_OK) != 0) {
        fprintf(err,
                "cnnc: error: cannot link a program for '%s': this cnnc has no runtime for it (%s). The "
                "build makes one for each cross toolchain installed when it is configured: apt-get install "
                "%s, then configure and build cnnc again; -c makes the object and header without linking\n",
                o->target, name, package);
        free(l->runtime);
        l->runtime = NULL;
        return 1;
    }
    if (wasm) {
        /* The runtime's cJSON is inside the archive. A wasm stack is 64 KiB
         * unless asked for; ask for Linux's 8 MiB. */
        l->before[0] = "--target=wasm32-wasi";
        const char *after[] = {"-lm", "-Wl,-z,stack-size=8388608", NULL};
        memcpy(l->after, after, sizeof after);
    } else {
        /* Static: one file to copy to the device, and it runs under
         * qemu-user without a sysroot. */
        const char *after[] = {"-static", "-lm", "-lpthread", NULL};
        memcpy(l->after, after, sizeof after);
    }
    return 0;
}

/* A new empty file beside path (path.tmp.XXXXXX), or in /tmp when path is
 * NULL, tracked (rt_tmp_track) so that a signal removes it; NULL after
 * printing the error. The caller unlinks, untracks and frees it. */
static char *temp_file(const char *path, int *slot, FILE *err)
{
    /* The C compiler driver takes a file without a known suffix as an object. */
    char *tmp = path ? rt_temp_name(path) : strdup("/tmp/cnnc-object-XXXXXX");
    if (!tmp) {
        fprintf(err, "cnnc: error: out of memory\n");
        return NULL;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(err, "cnnc: error: cannot write '%s': %s\n", path ? path : tmp, strerror(errno));
        free(tmp);
        return NULL;
    }
    close(fd);
    *slot = rt_tmp_track(tmp);
    return tmp;
}

/* Removes a temporary file of temp_file, unless it is NULL (committed). */
static void temp_done(char *tmp, int slot)
{
    if (!tmp)
        return;
    unlink(tmp);
    rt_tmp_untrack(slot);
    free(tmp);
}

/* Gives the temporary file *tmp the mode less the umask and renames it to
 * path; then it is no longer temporary: *tmp is freed and set to NULL. */
static int commit_temp(char **tmp, int slot, const char *path, mode_t mode, FILE *err)
{
    int e = chmod(*tmp, mode & ~rt_current_umask()) != 0 ? errno : rt_commit_into(*tmp, path);
    if (e != 0) {
        fprintf(err, "cnnc: error: cannot write '%s': %s\n", path, strerror(e));
        return 1;
    }
    rt_tmp_untrack(slot);
    free(*tmp);
    *tmp = NULL;
    return 0;
}

/* Links the object file objpath with the runtime into path, through a
 * temporary name. */
static int link_executable(const char *path, const char *objpath, const Link *l, FILE *err)
{
    int tmpslot = -1;
    char *tmp = temp_file(path, &tmpslot, err);
    if (!tmp)
        return 1;
    const char *argv[16];
    int k = 0;
    argv[k++] = l->cc;
    for (int i = 0; i < 2 && l->before[i]; i++)
        argv[k++] = l->before[i];
    argv[k++] = "-o";
    argv[k++] = tmp;
    argv[k++] = objpath;
    argv[k++] = l->runtime;
    for (size_t i = 0; i < sizeof l->after / sizeof l->after[0] && l->after[i]; i++)
        argv[k++] = l->after[i];
    argv[k] = NULL;
    int rc = 1;
    if (!run_command((char *const *)argv, err))
        fprintf(err, "cnnc: error: linking '%s' with the C compiler '%s' failed\n", path, l->cc);
    else
        rc = commit_temp(&tmp, tmpslot, path, 0777, err);
    temp_done(tmp, tmpslot);
    return rc;
}

/* The input's base name without directories or .cnn, plus suffix: default
 * outputs go to the current directory (SPEC section 8). */
static char *default_output(const char *input, const char *suffix)
{
    const char *base = strrchr(input, '/');
    base = base ? base + 1 : input;
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".cnn") == 0)
        n -= 4;
    else if (n > 5 && strcmp(base + n - 5, ".onnx") == 0)
        n -= 5;
    char *path = malloc(n + strlen(suffix) + 1);
    if (path) {
        memcpy(path, base, n);
        strcpy(path + n, suffix);
    }
    return path;
}

/* NAME.h beside the object at obj_path. */
static char *header_path(const char *obj_path, const char *name)
{
    const char *slash = strrchr(obj_path, '/');
    size_t dir = slash ? (size_t)(slash - obj_path) + 1 : 0;
    char *path = malloc(dir + strlen(name) + 3);
    if (path) {
        memcpy(path, obj_path, dir);
        sprintf(path + dir, "%s.h", name);
    }
    return path;
}

/* NAME.h must be a name the file system takes (NAME_MAX, 255 on Linux); a
 * network's name may be longer, and then -c must say so before writing. */
static int check_header_name(const Options *o, const char *hpath, FILE *err)
{
    const char *slash = strrchr(hpath, '/');
    const char *base = slash ? slash + 1 : hpath;
    char *dir = slash ? strndup(hpath, (size_t)(slash - hpath) + 1) : strdup(".");
    long max = dir ? pathconf(dir, _PC_NAME_MAX) : -1;
    free(dir);
    if (max <= 0 || strlen(base) <= (size_t)max)
        return 0;
    fprintf(err,
            "cnnc: error: %s: the header for -c is NAME.h, here %zu bytes, but file names here are at most "
            "%ld; give the network a shorter name\n",
            o->input, strlen(base), max);
    return 1;
}

static void weights_diag(void *ctx, int severity, const char *text)
{
    fprintf((FILE *)ctx, "cnnc: %s: %s\n", severity == CNNRT_ERROR ? "error" : "warning", text);
}

/* Before the runtime's reader checks every tensor by name and shape, the
 * two mistakes that need the source to explain, reported at the layer: an
 * fc whose weights were made for another number of inputs (a conv stack
 * that differs upstream), and a layer with a bias where PyTorch's had none.
 * Returns the number of errors. */
static int check_layers_against(const CnnrtSt *st, const IrGraph *g, const IrParam *params, size_t nparams,
                                IrDiag *diag)
{
    int errors = 0;
    for (size_t i = 0; i < nparams; i++) {
        const IrParam *p = &params[i];
        const IrNode *n = &g->nodes[p->node];
        if (p->inline_data)
            continue;
        const CnnrtStTensor *t = cnnrt_st_find(st, p->name);
        if (t && n->op == IR_OP_FC && p->role == IR_ROLE_WEIGHT && t->rank == 2 && n->ninputs == 1 &&
            t->shape[1] != p->shape[1]) {
            const IrNode *up = &g->nodes[n->inputs[0]];
            ir_diag_error(diag, n->span,
                          "fc '%s' gets %" PRId64 " inputs, %" PRId64 "x%" PRId64 "x%" PRId64
                          " from '%s' on line %u, but %s has '%s' of shape [%lld, %lld], made for %lld inputs",
                          n->name, p->shape[1], up->out.w, up->out.h, up->out.d, up->name, up->span.line,
                          cnnrt_st_path(st), p->name, (long long)t->shape[0], (long long)t->shape[1],
                          (long long)t->shape[1]);
            errors++;
        } else if (!t && p->role == IR_ROLE_BIAS && (n->op == IR_OP_CONV || n->op == IR_OP_FC)) {
            int64_t w = ir_param_find(params, nparams, (size_t)p->node, IR_ROLE_WEIGHT);
            if (w >= 0 && cnnrt_st_find(st, params[w].name)) {
                ir_diag_error(diag, n->span,
                              "%s '%s' has a bias, but %s has '%s' and no '%s': if PyTorch made the layer with "
                              "bias=False, write bias=false on it",
                              ir_op_word(n->op), n->name, cnnrt_st_path(st), params[w].name, p->name);
                errors++;
            }
        }
    }
    return errors;
}

/* Reads the safetensors file at path with the runtime's reader, so the
 * compiler and the programs it builds check weights by the same rules. Fills
 * weights[i] for every parameter not written inline; *storage holds them.
 * Returns the number of errors (all reported). */
static int bind_weights(const char *path, const IrGraph *g, const IrParam *params, size_t nparams,
                        const float **weights, float **storage, IrDiag *diag, FILE *err)
{
    char msg[512];
    CnnrtSt *st = cnnrt_st_open(path, msg, sizeof msg);
    if (!st) {
        fprintf(err, "cnnc: error: %s\n", msg);
        return 1;
    }
    int wrong = check_layers_against(st, g, params, nparams, diag);
    if (wrong) {
        cnnrt_st_close(st);
        return wrong;
    }
    CnnrtParam *rp = calloc(nparams ? nparams : 1, sizeof *rp);
    if (!rp) {
        cnnrt_st_close(st);
        fprintf(err, "cnnc: error: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < nparams; i++) {
        rp[i].name = params[i].name;
        rp[i].rank = params[i].rank;
        memcpy(rp[i].shape, params[i].shape, sizeof rp[i].shape);
        rp[i].count = params[i].count;
        rp[i].embedded = params[i].inline_data;
        rp[i].fixed = params[i].inline_data != NULL;
    }
    int bad = nparams > INT32_MAX ? 1
                                  : cnnrt_st_bind(st, rp, (int32_t)nparams, weights, storage,
                                                  weights_diag, err);
    if (bad < 0)
        bad = 1;
    free(rp);
    cnnrt_st_close(st);
    return bad;
}

/* The parameters, and the values of those written inline or in --weights
 * (NULL for the rest; storage holds what was read). */
typedef struct Weights {
    IrParam *params;
    size_t nparams, missing;
    const float **values;
    float *storage;
} Weights;

static int load_weights(const Options *o, IrGraph *g, IrArena *arena, Weights *w, IrDiag *diag, FILE *err)
{
    w->params = ir_graph_params(g, arena, &w->nparams);
    w->values = ir_arena_alloc(arena, w->nparams ? w->nparams : 1, sizeof *w->values);
    w->missing = 0;
    w->storage = NULL;
    for (size_t i = 0; i < w->nparams; i++) {
        w->values[i] = w->params[i].inline_data;
        w->missing += w->values[i] == NULL;
    }
    if (o->onnx && !o->weights) {
        for (size_t i = 0; i < w->nparams; i++)
            for (size_t k = 0; k < o->onnx->count && !w->values[i]; k++)
                if (strcmp(o->onnx->v[k].name, w->params[i].name) == 0 && o->onnx->v[k].count == w->params[i].count) {
                    w->values[i] = o->onnx->v[k].data;
                    w->missing--;
                }
    }
    if (o->weights) {
        if (bind_weights(o->weights, g, w->params, w->nparams, w->values, &w->storage, diag, err) != 0)
            return 1;
        w->missing = 0;
    }
    return 0;
}

/* Fills g's target figures for a report: the AOT object for --target, as
 * cnnc -c would make it when every weight is known, else estimated without
 * the weights (their bytes are known all the same). */
static int measure_target(const Options *o, IrGraph *g, IrArena *arena, IrDiag *diag, FILE *err)
{
    CgSizes sizes;
    Weights w;
    if (load_weights(o, g, arena, &w, diag, err) != 0)
        return 1;
    CgOptions co = {.opt_level = o->opt_level, .target = &o->machine, .cpu = o->cpu, .features = o->features};
    char msg[512];
    bool ok = cg_measure(g, w.params, w.nparams, w.missing ? NULL : w.values, &co, &sizes, msg, sizeof msg);
    free(w.storage);
    if (!ok) {
        fprintf(err, "cnnc: error: %s\n", msg);
        return 1;
    }
    g->target = ir_arena_strndup(arena, sizes.triple, strlen(sizes.triple));
    g->target_cpu = ir_arena_strndup(arena, sizes.cpu, strlen(sizes.cpu));
    g->code_bytes = sizes.code;
    g->constant_bytes = sizes.constants;
    g->data_bytes = sizes.data;
    g->target_exact = w.missing == 0;
    return 0;
}

/* SPEC section 8: refuse what cannot fit this machine's memory, by name. A
 * run holds the weights, one image's workspace and its input and output (the
 * caller's buffers, but memory all the same). */
static int check_memory(const Options *o, const IrGraph *g, FILE *err)
{
    int64_t need, in_elems = ir_shape_elems(g->nodes[0].out), out_elems = ir_shape_elems(g->nodes[g->count - 1].out);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (__builtin_add_overflow(g->weights_bytes, g->workspace_bytes, &need) ||
        in_elems > INT64_MAX / 8 || out_elems > INT64_MAX / 8 ||
        __builtin_add_overflow(need, 4 * (in_elems + out_elems), &need))
        need = INT64_MAX;
    if (pages <= 0 || page <= 0 || need / page <= pages)
        return 0;
    char a[32], b[32], c[32];
    fprintf(err,
            "cnnc: error: %s: network '%s' needs %s bytes (%s bytes of weights plus one "
            "image's input, output and workspace), more than this machine's %s bytes of memory\n",
            o->input, g->name, ir_fmt_thousands(need, a), ir_fmt_thousands(g->weights_bytes, b),
            ir_fmt_thousands((int64_t)pages * page, c));
    return 1;
}

/* The emitted text or bytes to out (-o -), from the temporary file emitted
 * (assembly goes to a file even then, rather than hold a network's weights
 * as text in memory) or from memory. */
static int write_stdout(const CgOutput *result, const char *emitted, FILE *out, FILE *err)
{
    if (emitted) {
        FILE *f = fopen(emitted, "rb");
        if (!f) {
            fprintf(err, "cnnc: error: cannot read '%s': %s\n", emitted, strerror(errno));
            return 1;
        }
        char buf[1 << 16];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            (void)fwrite(buf, 1, n, out);
        fclose(f);
    } else if (result->size > 0) {
        (void)fwrite(result->data, 1, result->size, out);
    }
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(err, "cnnc: error: cannot write to standard output: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

/* Writes the emitted output: linked into a program, or as it is (an object
 * with its header beside it). An object or assembly is in the temporary
 * file *emitted already (CgOptions.emit_path; committed here), the rest in
 * result; -o - sends it to out. */
static int write_result(const Options *o, const IrGraph *g, const CgOutput *result, char **emitted, int slot,
                        const Link *link, const char *path, FILE *out, FILE *err)
{
    if (o->emit == EMIT_EXE)
        return link_executable(path, *emitted, link, err);
    if (strcmp(path, "-") == 0)
        return write_stdout(result, *emitted, out, err);
    int rc = *emitted ? commit_temp(emitted, slot, path, 0666, err)
                      : write_file_atomic(path, result->data, result->size, err);
    if (rc == 0 && o->emit == EMIT_OBJ) {
        /* An object without its header is half an output, after an error or
         * a signal alike. */
        int objslot = rt_tmp_track(path);
        char *hpath = header_path(path, g->name);
        char *text = cg_header_text(g, &result->machine);
        rc = write_file_atomic(hpath, text, strlen(text), err);
        if (rc != 0)
            unlink(path);
        rt_tmp_untrack(objslot);
        free(text);
        free(hpath);
    }
    return rc;
}

/* LLVM's fatal errors (a full disk under the object it writes) end the
 * process with status 1: say why, and leave no temporary file behind. */
static void llvm_fatal(const char *reason)
{
    fprintf(stderr, "cnnc: error: %s\n", reason);
    rt_tmp_remove_all();
}

/* An output that holds the weights needs them all (SPEC section 8). */
static int need_every_weight(const Options *o, const Weights *w, FILE *err)
{
    if (!w->missing)
        return 0;
    size_t first = 0;
    while (w->values[first])
        first++;
    fprintf(err,
            "cnnc: error: %s: this output needs every parameter, but %zu of %zu tensors have no "
            "values (the first is '%s'); give them with --weights FILE\n",
            o->input, w->missing, w->nparams, w->params[first].name);
    return 1;
}

/* The comment lines that open the emitted .cnn: those that open a .cnn
 * source, carried over as they are, so that emitting from an emitted file
 * gives the same text; else where the network came from. malloc'ed. */
static char *cnn_header(const Options *o, const char *src, size_t len, bool onnx)
{
    size_t end = 0;
    while (!onnx && end < len && (src[end] == '#' || (src[end] == '/' && end + 1 < len && src[end + 1] == '/'))) {
        const char *nl = memchr(src + end, '\n', len - end);
        if (!nl)
            break;
        end = (size_t)(nl - src) + 1;
    }
    if (end > 0)
        return strndup(src, end);
    /* The path as given, but on one line. */
    char *input = strdup(o->input);
    if (!input)
        return NULL;
    for (char *p = input; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    const char *fmt = "# Written by cnnc --emit=cnn from %s\n"
                      "# Its weights are in the .safetensors file of the same name beside it.\n";
    size_t size = strlen(fmt) + strlen(input);
    char *text = malloc(size);
    if (text)
        snprintf(text, size, fmt, input);
    free(input);
    return text;
}

/* The weights beside the .cnn at path: NAME.safetensors for NAME.cnn, else
 * the path with .safetensors after it. malloc'ed. */
static char *cnn_weights_path(const char *path)
{
    size_t n = strlen(path);
    if (has_suffix(path, ".cnn") && n > 4 && path[n - 5] != '/')
        n -= 4;
    char *w = malloc(n + sizeof ".safetensors");
    if (w) {
        memcpy(w, path, n);
        strcpy(w + n, ".safetensors");
    }
    return w;
}

/* --emit=cnn (SPEC section 10): the graph as .cnn source, and beside it the
 * values of every parameter not written inline, as the compiled program
 * would have them. Both are written to temporary files first; the weights
 * are put in place before the source, and removed again if the source
 * cannot follow, so an error leaves neither half of a pair. */
static int emit_cnn(const Options *o, IrGraph *g, IrArena *arena, IrDiag *diag, const char *src, size_t len,
                    bool onnx, FILE *err)
{
    if (!ir_cnn_check(g, diag))
        return 1;
    char *path = o->output ? strdup(o->output) : default_output(o->input, ".cnn");
    char *wpath = path ? cnn_weights_path(path) : NULL;
    char *header = cnn_header(o, src, len, onnx);
    if (!path || !wpath || !header) {
        free(path);
        free(wpath);
        free(header);
        fprintf(err, "cnnc: error: out of memory\n");
        return 1;
    }
    Weights w = {0};
    RtOut text = {0}, data = {0};
    char msg[1024] = "";
    int rc = refuse_input_as_output(o, "output", path, err);
    if (rc == 0)
        rc = refuse_input_as_output(o, "weights output", wpath, err);
    if (rc == 0)
        rc = load_weights(o, g, arena, &w, diag, err);
    if (rc == 0)
        rc = need_every_weight(o, &w, err);
    CnnrtStOut *tensors = rc == 0 ? calloc(w.nparams ? w.nparams : 1, sizeof *tensors) : NULL;
    size_t ntensors = 0;
    if (rc == 0 && !tensors) {
        fprintf(err, "cnnc: error: out of memory\n");
        rc = 1;
    }
    for (size_t i = 0; rc == 0 && i < w.nparams; i++)
        if (!w.params[i].inline_data)
            tensors[ntensors++] = (CnnrtStOut){w.params[i].name, w.params[i].rank, w.params[i].shape, w.values[i]};
    if (rc == 0 && rt_out_open(&data, wpath, msg, sizeof msg) != 0)
        rc = 1;
    else if (rc == 0 && cnnrt_st_write(data.f, tensors, ntensors, msg, sizeof msg) != 0)
        rc = 1;
    else if (rc == 0 && rt_out_open(&text, path, msg, sizeof msg) != 0)
        rc = 1;
    if (rc == 0) {
        ir_cnn_write(g, header, text.f);
        /* A full disk shows here, before either file is put in place. */
        const char *bad = fflush(data.f) != 0 || ferror(data.f)   ? wpath
                          : fflush(text.f) != 0 || ferror(text.f) ? path
                                                                  : NULL;
        if (bad) {
            snprintf(msg, sizeof msg, "cannot write '%s': %s", bad, strerror(errno ? errno : EIO));
            rc = 1;
        }
    }
    if (rc == 0 && rt_out_commit(&data, msg, sizeof msg) != 0) {
        rc = 1;
    } else if (rc == 0) {
        int slot = rt_tmp_track(wpath);
        if (rt_out_commit(&text, msg, sizeof msg) != 0) {
            unlink(wpath);
            rc = 1;
        }
        rt_tmp_untrack(slot);
    }
    if (rc != 0 && msg[0])
        fprintf(err, "cnnc: error: %s\n", msg);
    if (data.tmp)
        rt_out_abort(&data);
    if (text.tmp)
        rt_out_abort(&text);
    free(tensors);
    free(w.storage);
    free(header);
    free(wpath);
    free(path);
    return rc;
}

static int compile(const Options *o, IrGraph *g, IrArena *arena, IrDiag *diag, FILE *out, FILE *err)
{
    static const char *const suffixes[] = {[EMIT_EXE] = "", [EMIT_OBJ] = ".o", [EMIT_ASM] = ".s",
                                           [EMIT_LLVM] = ".ll", [EMIT_BC] = ".bc"};
    static const CgEmit kinds[] = {[EMIT_EXE] = CG_EMIT_OBJ, [EMIT_OBJ] = CG_EMIT_OBJ,
                                   [EMIT_ASM] = CG_EMIT_ASM, [EMIT_LLVM] = CG_EMIT_LLVM,
                                   [EMIT_BC] = CG_EMIT_BC};
    /* What the link needs is checked first: before reading the weights and
     * before minutes of code generation. */
    Link link = {0};
    Weights w = {0};
    char *path = o->output ? strdup(o->output) : default_output(o->input, suffixes[o->emit]);
    if (!path) {
        fprintf(err, "cnnc: error: out of memory\n");
        return 1;
    }
    int rc = refuse_input_as_output(o, "output", path, err);
    if (rc == 0 && o->emit == EMIT_OBJ && strcmp(path, "-") != 0) {
        char *hpath = header_path(path, g->name);
        rc = !hpath ? 1 : check_header_name(o, hpath, err) || refuse_input_as_output(o, "header", hpath, err);
        /* The header would replace the object just written. */
        if (rc == 0 && (strcmp(hpath, path) == 0 || rt_same_file(hpath, path))) {
            fprintf(err,
                    "cnnc: error: -o %s is where -c writes the header, %s.h, beside the object; name the object "
                    "another way, such as %.*s%s.o\n",
                    path, g->name, (int)(strrchr(path, '/') ? strrchr(path, '/') - path + 1 : 0), path, g->name);
            rc = 1;
        }
        free(hpath);
    }
    if (rc == 0)
        rc = o->emit == EMIT_EXE ? plan_link(o, &link, err) : 0;
    if (rc == 0)
        rc = load_weights(o, g, arena, &w, diag, err);
    if (rc == 0 && o->emit != EMIT_EXE)
        rc = need_every_weight(o, &w, err);
    if (rc == 0)
        rc = check_memory(o, g, err);
    if (rc == 0) {
        CgOptions co = {.opt_level = o->opt_level, .target = &o->machine, .cpu = o->cpu, .features = o->features,
                        .executable = o->emit == EMIT_EXE};
        /* Objects and assembly go straight to a file: a temporary one that
         * is linked from, or renamed into place. */
        int slot = -1;
        char *emitted = NULL;
        bool to_file = o->emit == EMIT_EXE || o->emit == EMIT_OBJ || o->emit == EMIT_ASM;
        CgOutput result = {0};
        char msg[512];
        if (to_file &&
                   !(emitted = temp_file(o->emit == EMIT_EXE || strcmp(path, "-") == 0 ? NULL : path, &slot, err))) {
            rc = 1;
        } else {
            co.emit_path = emitted;
            cg_on_fatal_error(llvm_fatal);
            if (!cg_compile(g, w.params, w.nparams, w.values, &co, kinds[o->emit], &result, msg, sizeof msg)) {
                fprintf(err, "cnnc: error: %s\n", msg);
                rc = 1;
            } else {
                rc = write_result(o, g, &result, &emitted, slot, &link, path, out, err);
                /* An object or assembly outlives this machine: one word
                 * when it was made for this CPU only because nothing else
                 * was asked. */
                if (rc == 0 && !o->cpu && result.machine.host_cpu && (o->emit == EMIT_OBJ || o->emit == EMIT_ASM))
                    fprintf(err,
                            "cnnc: note: %s is made for this machine's CPU (%s) and may not run on another; "
                            "--cpu=%s makes a portable one\n",
                            strcmp(path, "-") == 0 ? "the assembly" : path, result.machine.cpu,
                            cg_portable_cpu(result.machine.triple));
            }
        }
        temp_done(emitted, slot);
        cg_output_free(&result);
    }
    free(path);
    free(link.runtime);
    free(w.storage);
    return rc;
}

int cnnc_main(int argc, char **argv, FILE *out, FILE *err)
{
    Options o = {0};
    bool done = false;
    int rc = parse_options(argc, argv, &o, out, err, &done);
    if (rc != 0 || done)
        return rc;

    size_t len = 0;
    char *src = read_source(o.input, &len, err);
    if (!src)
        return 1;
    /* The content says what the file is, whatever its name: an ONNX model
     * (SPEC section 10), or else .cnn text; one message for another binary
     * file, not its bytes as syntax errors. */
    bool onnx = fe_onnx_sniff(src, len);
    const char *kind = onnx ? NULL : binary_kind(src, len);
    if (kind) {
        fprintf(err, "cnnc: error: %s: this is a binary file, not a .cnn source%s%s\n", o.input, *kind ? "; " : "",
                kind);
        free(src);
        return 1;
    }
    IrArena *arena = ir_arena_new();
    IrDiag diag;
    ir_diag_init(&diag, o.input, onnx ? NULL : src, onnx ? 0 : len, err);
    diag.color = err == stderr && isatty(fileno(err)) && !getenv("NO_COLOR");
    if (onnx && !has_suffix(o.input, ".onnx"))
        fprintf(err, "cnnc: note: '%s' is an ONNX model (a protobuf ModelProto), not .cnn source; read as one\n",
                o.input);
    else if (!onnx && has_suffix(o.input, ".onnx"))
        fprintf(err, "cnnc: note: '%s' does not start like an ONNX model (a protobuf ModelProto); read as .cnn "
                     "source text\n",
                o.input);
    FeOnnxWeights onnx_weights = {0};
    IrGraph *g;
    if (onnx) {
        char *name = default_output(o.input, "");
        g = name ? fe_onnx_compile(arena, &diag, src, len, name, &onnx_weights) : NULL;
        free(name);
        o.onnx = &onnx_weights;
    } else {
        g = fe_compile(arena, &diag, src, len);
    }
    /* The passes after checking (STYLE.md): fuse, unless told not to, and
     * plan memory; reports and code generation read the same result. */
    if (g && !o.no_fuse)
        ir_graph_fuse(g);
    /* The plan chooses each conv's kernel for the machine the code is for
     * (ir/kernel.h), so the report's memory is what that code uses. */
    if (g) {
        CgOptions co = {.opt_level = o.opt_level, .target = &o.machine, .cpu = o.cpu, .features = o.features};
        char msg[512];
        if (!cg_machine(&co, &g->machine, msg, sizeof msg)) {
            fprintf(err, "cnnc: error: %s\n", msg);
            g = NULL;
        }
    }
    if (g && !ir_graph_plan(g)) {
        fprintf(err, "cnnc: error: %s: the network's activation memory overflows 64 bits\n", o.input);
        g = NULL;
    }

    /* A report for another target says what its object costs there. */
    if (g && o.target && (o.action == ACT_REPORT_TEXT || o.action == ACT_REPORT_JSON) &&
        measure_target(&o, g, arena, &diag, err) != 0)
        g = NULL;
    if (!g) {
        rc = 1;
    } else if (o.action == ACT_CHECK) {
        rc = 0;
    } else if (o.action == ACT_REPORT_TEXT) {
        rc = write_output(&o, o.output, ir_report_text, g, out, err);
    } else if (o.action == ACT_DUMP_IR) {
        rc = write_output(&o, o.output, ir_graph_dump, g, out, err);
    } else if (o.action == ACT_REPORT_JSON) {
        rc = write_output(&o, o.output, ir_report_json, g, out, err);
    } else if (o.emit == EMIT_DOT) {
        rc = write_output(&o, o.output, ir_report_dot, g, out, err);
    } else if (o.emit == EMIT_CNN) {
        rc = emit_cnn(&o, g, arena, &diag, src, len, onnx, err);
    } else {
        rc = compile(&o, g, arena, &diag, out, err);
    }
    ir_arena_free(arena);
    free(src);
    return rc;
}
