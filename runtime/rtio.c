/* Internal file helpers of libcnnrt (see rtio.h). Every reader and writer of
 * the runtime goes through these, so directory, size and rename handling is
 * written once. */
/* MADV_HUGEPAGE, which _POSIX_C_SOURCE alone hides. */
#define _DEFAULT_SOURCE 1

#include "runtime/rtio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#ifdef __wasi__
#include <sys/random.h>
#else
#include <signal.h>
#endif
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int rt_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

bool rt_mul_i64(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0)
        return false;
    if (a != 0 && b > INT64_MAX / a)
        return false;
    *out = a * b;
    return true;
}

bool rt_mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return false;
    *out = a * b;
    return true;
}

int64_t rt_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

bool rt_host_little(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

int rt_read_file(const char *path, unsigned char **data, size_t *len, char *err, size_t errlen)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return rt_fail(err, errlen, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return rt_fail(err, errlen, "cannot read '%s': %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return rt_fail(err, errlen, "'%s' is a directory, not a file", path);
    }
    /* Grow as we go: a pipe or /proc file has no meaningful st_size. */
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
    size_t n = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return rt_fail(err, errlen, "'%s': out of memory reading %zu bytes", path, cap);
    }
    for (;;) {
        if (n + 1 >= cap) {
            size_t ncap;
            if (!rt_mul_size(cap, 2, &ncap)) {
                free(buf);
                close(fd);
                return rt_fail(err, errlen, "'%s' is too large", path);
            }
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                close(fd);
                return rt_fail(err, errlen, "'%s': out of memory reading it", path);
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            close(fd);
            return rt_fail(err, errlen, "cannot read '%s': %s", path, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

#ifdef __wasi__
/* WASI has no signals: a temporary is removed on every error path, and a
 * killed module leaves its .tmp.XXXXXX file behind, never the output. */
int rt_tmp_track(const char *path)
{
    (void)path;
    return -1;
}

void rt_tmp_untrack(int slot)
{
    (void)slot;
}

void rt_tmp_remove_all(void)
{
}
#else
/* Paths are copied into static slots: the handler may only call
 * async-signal-safe functions, so it reads plain arrays and unlinks. */
static char tmp_paths[RT_TMP_SLOTS][PATH_MAX];
static volatile sig_atomic_t tmp_used[RT_TMP_SLOTS];
static const int fatal_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGXFSZ};

static void remove_tmp_and_die(int sig)
{
    rt_tmp_remove_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

int rt_tmp_track(const char *path)
{
    static bool installed;
    if (!installed) {
        installed = true;
        for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++) {
            struct sigaction sa, old;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = remove_tmp_and_die;
            sigemptyset(&sa.sa_mask);
            /* A signal the caller ignores (nohup, trap '') stays ignored. */
            if (sigaction(fatal_signals[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
                sigaction(fatal_signals[i], &sa, NULL);
        }
    }
    size_t n = strlen(path);
    if (n >= PATH_MAX)
        return -1;
    for (int i = 0; i < RT_TMP_SLOTS; i++) {
        if (!tmp_used[i]) {
            memcpy(tmp_paths[i], path, n + 1);
            tmp_used[i] = 1;
            return i;
        }
    }
    return -1;
}
void rt_tmp_untrack(int slot)
{
    if (slot >= 0 && slot < RT_TMP_SLOTS)
        tmp_used[slot] = 0;
}

/* Async-signal-safe: the signal handler calls it. */
void rt_tmp_remove_all(void)
{
    for (int i = 0; i < RT_TMP_SLOTS; i++) {
        if (tmp_used[i])
            unlink(tmp_paths[i]);
        tmp_used[i] = 0;
    }
}
#endif

bool rt_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

mode_t rt_current_umask(void)
{
#ifdef __wasi__
    return 022; /* WASI files have no permission bits to mask */
#else
    mode_t mask = umask(0);
    umask(mask);
    return mask;
#endif
}

#ifdef __wasi__
/* wasi-libc has no mkstemp: the same, from the entropy WASI does have. */
static int make_temp(char *tmpl)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char *x = tmpl + strlen(tmpl) - 6;
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned char r[6];
        if (getentropy(r, sizeof r) != 0)
            return -1;
        for (int i = 0; i < 6; i++)
            x[i] = chars[r[i] % (sizeof chars - 1)];
        int fd = open(tmpl, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}
#else
#define make_temp mkstemp
#endif

char *rt_temp_name(const char *path)
{
#ifdef NAME_MAX
    const size_t name_max = NAME_MAX;
#else
    const size_t name_max = 255;
#endif
    static const char suffix[] = ".tmp.XXXXXX";
    /* A device or FIFO gets its bytes copied in (rt_commit_into), and its
     * directory (/dev) may not take new files: the temporary goes to /tmp. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return strdup("/tmp/cnnc-out.tmp.XXXXXX");
    const char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash - path) + 1 : 0, base = strlen(path) - dir;
    /* A name near the limit keeps as much of itself as fits, so the
     * temporary is still a legal name beside it. */
    if (base + sizeof suffix - 1 > name_max)
        base = name_max - (sizeof suffix - 1);
    char *tmp = malloc(dir + base + sizeof suffix);
    if (tmp) {
        memcpy(tmp, path, dir + base);
        memcpy(tmp + dir + base, suffix, sizeof suffix);
    }
    return tmp;
}

int rt_out_open(RtOut *out, const char *path, char *err, size_t errlen)
{
    out->f = NULL;
    out->path = path;
    out->slot = -1;
    out->tmp = rt_temp_name(path);
    if (!out->tmp)
        return rt_fail(err, errlen, "cannot write '%s': out of memory", path);
    int fd = make_temp(out->tmp);
    if (fd < 0) {
        int e = errno;
        free(out->tmp);
        out->tmp = NULL;
        return rt_fail(err, errlen, "cannot write '%s': %s", path, strerror(e));
    }
    out->slot = rt_tmp_track(out->tmp);
    /* mkstemp makes the file 0600; the output should look like any other new
     * file, 0666 less the umask. */
#ifndef __wasi__
    (void)fchmod(fd, 0666 & ~rt_current_umask());
#endif
    out->f = fdopen(fd, "wb");
    if (!out->f) {
        int e = errno;
        close(fd);
        unlink(out->tmp);
        rt_tmp_untrack(out->slot);
        out->slot = -1;
        free(out->tmp);
        out->tmp = NULL;
        return rt_fail(err, errlen, "cannot write '%s': %s", path, strerror(e));
    }
    return 0;
}

void rt_out_abort(RtOut *out)
{
    if (out->f)
        fclose(out->f);
    if (out->tmp) {
        unlink(out->tmp);
        free(out->tmp);
    }
    rt_tmp_untrack(out->slot);
    out->slot = -1;
    out->f = NULL;
    out->tmp = NULL;
}

int rt_commit_into(const char *tmp, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
        return rename(tmp, path) == 0 ? 0 : errno;
    int in = open(tmp, O_RDONLY), to = in < 0 ? -1 : open(path, O_WRONLY | O_TRUNC);
    int e = in < 0 || to < 0 ? errno : 0;
    char buf[1 << 16];
    for (ssize_t n; !e && (n = read(in, buf, sizeof buf)) != 0;) {
        if (n < 0) {
            e = errno;
            break;
        }
        for (ssize_t at = 0; at < n && !e;) {
            ssize_t w = write(to, buf + at, (size_t)(n - at));
            if (w < 0)
                e = errno;
            else
                at += w;
        }
    }
    if (to >= 0 && close(to) != 0 && !e)
        e = errno;
    if (in >= 0)
        close(in);
    if (!e)
        unlink(tmp);
    return e;
}

int rt_out_commit(RtOut *out, char *err, size_t errlen)
{
    bool bad = ferror(out->f) != 0;
    int e = errno;
    if (fclose(out->f) != 0 && !bad) {
        bad = true;
        e = errno;
    }
    out->f = NULL;
    if (!bad && (e = rt_commit_into(out->tmp, out->path)) != 0)
        bad = true;
    if (bad) {
        rt_out_abort(out);
        return rt_fail(err, errlen, "cannot write '%s': %s", out->path, strerror(e ? e : EIO));
    }
    rt_tmp_untrack(out->slot);
    out->slot = -1;
    free(out->tmp);
    out->tmp = NULL;
    return 0;
}

void *rt_alloc_big(size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const size_t huge = (size_t)2 << 20;
    if (bytes >= huge && bytes <= SIZE_MAX - huge) {
        size_t size = (bytes + huge - 1) / huge * huge;
        void *p = aligned_alloc(huge, size);
        if (p)
            (void)madvise(p, size, MADV_HUGEPAGE); /* a hint: refused, 4 KiB pages still work */
        return p;
    }
#endif
    if (bytes > SIZE_MAX - 64)
        return NULL;
    return aligned_alloc(64, bytes ? (bytes + 63) / 64 * 64 : 64);
}

void rt_release_pages(const void *p, size_t bytes)
{
#if defined(__linux__)
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || bytes < (size_t)page)
        return;
    uintptr_t lo = ((uintptr_t)p + (uintptr_t)page - 1) / (uintptr_t)page * (uintptr_t)page;
    uintptr_t hi = ((uintptr_t)p + bytes) / (uintptr_t)page * (uintptr_t)page;
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_DONTNEED); /* a hint: refused, the pages merely stay */
#else
    (void)p;
    (void)bytes;
#endif
}
