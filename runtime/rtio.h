/* Internal file helpers of libcnnrt: whole-file reads that refuse directories,
 * formatted error messages into a caller's buffer, overflow-checked sizes, and
 * outputs written through a temporary file renamed on success (SPEC section 7:
 * an error leaves no partial output behind); and beside them the runtime's
 * clock and the memory its weights live in. Not part of the public API. */
#ifndef CNNC_RUNTIME_RTIO_H
#define CNNC_RUNTIME_RTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Formats a message into err (errlen bytes, may be 0); returns -1 so callers
 * can write `return rt_fail(...)`. */
int rt_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* a * b and a + b for non-negative sizes; false on overflow (or negatives). */
bool rt_mul_i64(int64_t a, int64_t b, int64_t *out);
bool rt_mul_size(size_t a, size_t b, size_t *out);

/* Reads a regular file whole into a malloc'd buffer (NUL-terminated, not
 * counted in *len). Refuses directories with a message naming the path. */
int rt_read_file(const char *path, unsigned char **data, size_t *len, char *err, size_t errlen);

/* A file being written: a temporary beside the target, renamed over it by
 * rt_out_commit, removed by rt_out_abort. */
typedef struct RtOut {
    FILE *f;
    char *tmp;
    int slot; /* rt_tmp_track's */
    const char *path;
} RtOut;

/* path.tmp.XXXXXX (malloc'd) for mkstemp, with path's last component cut
 * where the whole would pass the file system's name limit (NAME_MAX); in
 * /tmp when path is a device or a FIFO. */
char *rt_temp_name(const char *path);

int rt_out_open(RtOut *out, const char *path, char *err, size_t errlen);
/* Flushes, closes and renames; on any failure removes the temporary. */
int rt_out_commit(RtOut *out, char *err, size_t errlen);
/* Puts the finished temporary file tmp in path's place: renamed over it,
 * or, when path is a device, a FIFO or a socket (-o /dev/null), copied into
 * it and removed, since a rename would replace the device itself. 0, or
 * an errno. */
int rt_commit_into(const char *tmp, const char *path);
void rt_out_abort(RtOut *out);

/* Temporary files that a fatal signal (INT, TERM, HUP, QUIT, PIPE, XFSZ)
 * must not leave behind: rt_tmp_track registers a path (copied; at most
 * RT_TMP_SLOTS at once, returns a slot or -1), rt_tmp_untrack forgets it once
 * renamed or removed. The first track installs the handlers, which unlink
 * every tracked path and re-raise the signal. */
#define RT_TMP_SLOTS 8
int rt_tmp_track(const char *path);
void rt_tmp_untrack(int slot);
/* Unlinks and forgets every tracked path: for an exit that no signal
 * announces (a library's fatal error). */
void rt_tmp_remove_all(void);

/* True when paths a and b both exist and are one file (device and inode,
 * through symbolic and hard links alike): an output must not replace an
 * input, whatever names it was given by. */
bool rt_same_file(const char *a, const char *b);

/* The process's umask (umask has no read-only query: set and restored). */
mode_t rt_current_umask(void);

/* True on a little-endian host. */
bool rt_host_little(void);

/* CLOCK_MONOTONIC in nanoseconds: the pool's polling, the profile, --bench. */
int64_t rt_now_ns(void);

/* Memory that kernels stream (weights, packed or not, and the workspace),
 * released with free(): 64-byte aligned, and on Linux in transparent huge
 * pages where the kernel grants them (2 MiB aligned, madvise). Streaming
 * hundreds of MB through 4 KiB pages costs a page walk every 4 KiB, and on
 * this VM (nested paging) VGG-16's fc6 with run-time weights, batch 8, one
 * thread, took 143-203 ms from 4 KiB pages (malloc'd, or 64-byte aligned),
 * 53-56 ms from huge pages; its first conv at batch 8, writing 104 MB of
 * workspace, 18.7-46.8 ms against 15.8-16.0. NULL when out of memory. */
void *rt_alloc_big(size_t bytes);

/* Gives back the whole pages inside [p, p + bytes) that will not be read
 * again (madvise DONTNEED): of the program's file mapping (embedded
 * weights, once copied), read again from the file if touched, or of
 * anonymous memory (a weights file's values, once packed), zeros if
 * touched. They no longer count in this process's memory. */
void rt_release_pages(const void *p, size_t bytes);

#endif
