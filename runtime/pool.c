/* The thread pool (see pool.h). Each call of cnnrt_parallel_for bumps a
 * generation number, wakes the workers that went to sleep, takes chunks of
 * the work itself like any worker and waits until every worker is done.
 * Waiting threads poll for up to 1 ms before they sleep on a condition
 * variable. Chunks are taken in order from a shared counter, each half of
 * what is left over the threads (at least one item), so a thread slowed by
 * the machine's other work does not hold the others back. */
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

int cnnrt_pool_threads(void)
{
    return 1;
}

void cnnrt_pool_stop(void)
{
}

bool cnnrt_pool_in_task(void)
{
    return false;
}
#else

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "runtime/rtio.h"

/* How long a thread that waits (a worker for the next layer, the caller for
 * the workers) polls before it sleeps. Layers follow each other within
 * microseconds, and a wake-up through the kernel costs tens of them here, at
 * times hundreds: CIFAR-10's small convs were slower on two threads than on
 * one with sleeping workers. With 100 us, the slides' net at batch 8 (two
 * threads, 40 us a call) fell now and then into a regime where each side
 * slept before the other's late wake-up and every call cost 0.28 ms instead
 * of 0.048; 1 ms outlasts those wake-ups. Bounded: after it the threads
 * sleep, so an idle pool costs nothing. */
#define CNNRT_SPIN_NS 1000000

static struct {
    pthread_mutex_t lock;
    pthread_cond_t go, done;
    pthread_t *workers;
    int threads; /* including the caller's */
    atomic_ulong generation;
    atomic_int pending;
    atomic_int sleeping;    /* workers waiting on go */
    atomic_bool caller_sleeps; /* the caller waits on done */
    atomic_bool stop;
    CnnrtTask task;
    void *ctx;
    int64_t n;
    atomic_llong next; /* the first item no thread has taken */
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .go = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER,
          .threads = 1};

/* Set while this thread runs a chunk: a parallel_for from inside one runs
 * serially (the pool's threads are all busy with the outer one). */
static _Thread_local bool in_task;

/* Takes chunks of [0, n) until none is left. Guided: big chunks first,
 * for locality (a conv's consecutive items share input rows), smaller ones
 * at the end, for balance. VGG-16's convs at batch 8 on two threads, with a
 * fixed half each: the worker spent 7% of its time waiting for the caller
 * (perf). */
static void run_chunks(CnnrtTask task, void *ctx, int64_t n, int threads)
{
    in_task = true;
    for (;;) {
        long long begin = atomic_load(&pool.next), size;
        do {
            if (begin >= n) {
                in_task = false;
                return;
            }
            size = (n - begin) / (2 * threads);
            if (size < 1)
                size = 1;
        } while (!atomic_compare_exchange_weak(&pool.next, &begin, begin + size));
        task(ctx, begin, begin + size);
    }
}

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* Polls until done(arg) holds or CNNRT_SPIN_NS pass; returns done(arg). */
static bool spin(bool (*done)(const void *), const void *arg)
{
    int64_t start = 0;
    for (unsigned i = 0;; i++) {
        if (done(arg))
            return true;
        if ((i & 63) == 0) {
            int64_t t = rt_now_ns();
            if (start == 0)
                start = t;
            else if (t - start > CNNRT_SPIN_NS)
                return false;
        }
        relax();
    }
}

static bool new_work(const void *seen)
{
    return atomic_load(&pool.generation) != *(const unsigned long *)seen || atomic_load(&pool.stop);
}

static bool all_done(const void *unused)
{
    (void)unused;
    return atomic_load(&pool.pending) == 0;
}

static void *worker(void *arg)
{
    (void)arg;
    unsigned long seen = 0;
    for (;;) {
        if (!spin(new_work, &seen)) {
            /* Sleep. The caller bumps the generation before it reads
             * `sleeping`, and this thread counts itself before it reads the
             * generation (both sequentially consistent), so one of the two
             * sees the other: no wake-up is lost. */
            pthread_mutex_lock(&pool.lock);
            atomic_fetch_add(&pool.sleeping, 1);
            while (!new_work(&seen))
                pthread_cond_wait(&pool.go, &pool.lock);
            atomic_fetch_sub(&pool.sleeping, 1);
            pthread_mutex_unlock(&pool.lock);
        }
        if (atomic_load(&pool.stop))
            break;
        seen = atomic_load(&pool.generation);
        run_chunks(pool.task, pool.ctx, pool.n, pool.threads);
        if (atomic_fetch_sub(&pool.pending, 1) == 1 && atomic_load(&pool.caller_sleeps)) {
            pthread_mutex_lock(&pool.lock);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.lock);
        }
    }
    return NULL;
}

int cnnrt_pool_start(int threads)
{
    if (threads <= 1 || pool.workers)
        return pool.threads;
    pool.workers = calloc((size_t)threads - 1, sizeof *pool.workers);
    if (!pool.workers)
        return 1;
    /* The first failure stops the loop: pool.threads counts the workers
     * that exist (the caller waits for that many), and is set before any
     * work is posted; the workers read it only after. */
    int started = 0;
    for (int i = 1; i < threads; i++) {
        if (pthread_create(&pool.workers[i - 1], NULL, worker, NULL) != 0)
            break;
        started++;
    }
    pool.threads = started + 1;
    return pool.threads;
}

void cnnrt_pool_stop(void)
{
    if (!pool.workers)
        return;
    pthread_mutex_lock(&pool.lock);
    atomic_store(&pool.stop, true);
    pthread_cond_broadcast(&pool.go);
    pthread_mutex_unlock(&pool.lock);
    for (int i = 0; i < pool.threads - 1; i++)
        pthread_join(pool.workers[i], NULL);
    free(pool.workers);
    pool.workers = NULL;
    pool.threads = 1;
    atomic_store(&pool.stop, false);
}

int cnnrt_pool_threads(void)
{
    return pool.threads;
}

bool cnnrt_pool_in_task(void)
{
    return in_task;
}

void cnnrt_parallel_for(CnnrtTask task, void *ctx, int64_t n)
{
    if (pool.threads <= 1 || n < 2 || in_task) {
        task(ctx, 0, n);
        return;
    }
    /* The task is published before the generation that announces it
     * (the atomic increment orders the plain stores before it). */
    pool.task = task;
    pool.ctx = ctx;
    pool.n = n;
    atomic_store(&pool.next, 0);
    atomic_store(&pool.pending, pool.threads - 1);
    atomic_fetch_add(&pool.generation, 1);
    if (atomic_load(&pool.sleeping) > 0) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.go);
        pthread_mutex_unlock(&pool.lock);
    }
    run_chunks(task, ctx, n, pool.threads);
    if (!spin(all_done, NULL)) {
        pthread_mutex_lock(&pool.lock);
        atomic_store(&pool.caller_sleeps, true);
        while (atomic_load(&pool.pending) > 0)
            pthread_cond_wait(&pool.done, &pool.lock);
        atomic_store(&pool.caller_sleeps, false);
        pthread_mutex_unlock(&pool.lock);
    }
}
#endif
