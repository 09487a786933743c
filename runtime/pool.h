/* libcnnrt's thread pool: the small C ABI through which the code cnnc
 * generates for an executable splits a kernel's work over threads (issue:
 * speed). AOT objects do not use it and stay single-threaded. */
#ifndef CNNC_RUNTIME_POOL_H
#define CNNC_RUNTIME_POOL_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A chunk of a kernel's work: items [begin, end) of n. */
typedef void (*CnnrtTask)(void *ctx, int64_t begin, int64_t end);

/* Runs task over [0, n) in contiguous chunks that the threads, the calling
 * one among them, take in order as they become free (each item exactly
 * once, by any thread), and returns when all are done (the barrier between
 * a network's layers). Serial before cnnrt_pool_start, with
 * one thread, for n < 2, or when called from inside a task (images that run
 * on threads of their own run their layers serially). One network runs at
 * a time. */
void cnnrt_parallel_for(CnnrtTask task, void *ctx, int64_t n);

/* The threads cnnrt_parallel_for splits over: 1 before cnnrt_pool_start. */
int cnnrt_pool_threads(void);

/* Starts threads - 1 workers; returns the number of threads in use (1 when
 * none could be started). */
int cnnrt_pool_start(int threads);
void cnnrt_pool_stop(void);

/* Whether this thread is running a chunk of a cnnrt_parallel_for that was
 * split over the pool (the runtime's own question, for the profile). */
bool cnnrt_pool_in_task(void);

#ifdef __cplusplus
}
#endif

#endif
