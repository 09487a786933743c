/* The thread pool (see pool.h). Workers sleep on a condition variable; each
 * call of cnnrt_parallel_for bumps a generation number, wakes them, runs the
 * first slice itself and waits until every worker has finished its own. The
 * slices are fixed (worker i takes slice i), so a layer's split is the same
 * on every run. */
#include "runtime/pool.h"

#ifdef __wasi__
/* WASI preview 1 has no threads: the generated code's calls run serially. */
void cnnrt_parallel_for(CnnrtTask task, void *ctx, int64_t n)
{
    task(ctx, 0, n);
}

int cnnrt_pool_start(int threads)
{
    (void)threads;
    return 1;
}

void cnnrt_pool_stop(void)
{
}
#else

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

static struct {
    pthread_mutex_t lock;
    pthread_cond_t go, done;
    pthread_t *workers;
    int threads; /* including the caller's */
    unsigned long generation;
    int pending;
    bool stop;
    CnnrtTask task;
    void *ctx;
    int64_t n;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .go = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER,
          .threads = 1};

static void run_slice(CnnrtTask task, void *ctx, int64_t n, int slice, int slices)
{
    int64_t begin = n * slice / slices, end = n * (slice + 1) / slices;
    if (begin < end)
        task(ctx, begin, end);
}

static void *worker(void *arg)
{
    int slice = (int)(intptr_t)arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (pool.generation == seen && !pool.stop)
            pthread_cond_wait(&pool.go, &pool.lock);
        if (pool.stop)
            break;
        seen = pool.generation;
        CnnrtTask task = pool.task;
        void *ctx = pool.ctx;
        int64_t n = pool.n;
        pthread_mutex_unlock(&pool.lock);
        run_slice(task, ctx, n, slice, pool.threads);
        pthread_mutex_lock(&pool.lock);
        if (--pool.pending == 0)
            pthread_cond_signal(&pool.done);
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

int cnnrt_pool_start(int threads)
{
    if (threads <= 1 || pool.workers)
        return pool.threads;
    pool.workers = calloc((size_t)threads - 1, sizeof *pool.workers);
    if (!pool.workers)
        return 1;
    /* Workers are created in slice order and the first failure stops the
     * loop, so slices 1..started exist with no gap and all of [0, n) is
     * covered by started + 1 threads. */
    int started = 0;
    pthread_mutex_lock(&pool.lock);
    for (int i = 1; i < threads; i++) {
        if (pthread_create(&pool.workers[i - 1], NULL, worker, (void *)(intptr_t)i) != 0)
            break;
        started++;
    }
    pool.threads = started + 1;
    pthread_mutex_unlock(&pool.lock);
    return pool.threads;
}

void cnnrt_pool_stop(void)
{
    if (!pool.workers)
        return;
    pthread_mutex_lock(&pool.lock);
    pool.stop = true;
    pthread_cond_broadcast(&pool.go);
    pthread_mutex_unlock(&pool.lock);
    for (int i = 0; i < pool.threads - 1; i++)
        pthread_join(pool.workers[i], NULL);
    free(pool.workers);
    pool.workers = NULL;
    pool.threads = 1;
    pool.stop = false;
}

void cnnrt_parallel_for(CnnrtTask task, void *ctx, int64_t n)
{
    if (pool.threads <= 1 || n < 2) {
        task(ctx, 0, n);
        return;
    }
    pthread_mutex_lock(&pool.lock);
    pool.task = task;
    pool.ctx = ctx;
    pool.n = n;
    pool.pending = pool.threads - 1;
    pool.generation++;
    pthread_cond_broadcast(&pool.go);
    pthread_mutex_unlock(&pool.lock);
    run_slice(task, ctx, n, 0, pool.threads);
    pthread_mutex_lock(&pool.lock);
    while (pool.pending > 0)
        pthread_cond_wait(&pool.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
}
#endif
