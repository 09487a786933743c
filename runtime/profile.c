/* The layer profile (see profile.h). Each thread keeps the time of its last
 * report; a layer's time is what passed on that thread since then, so a
 * layer split over the pool counts its wall time on the thread that waits
 * for the pool, and images on threads of their own count each thread's
 * time. The totals are kept under a spin lock: reports are one a layer, and
 * only when profiling is on. */
#include "runtime/profile.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "runtime/pool.h"
#include "runtime/rtio.h"

typedef struct Entry {
    const char *name;
    int64_t ns, macs;
} Entry;

static atomic_bool enabled;
static atomic_flag busy = ATOMIC_FLAG_INIT;
static struct {
    Entry *entries;
    size_t count, cap;
    bool dropped;
} table;
/* Whether a sequence of layers started inside a chunk of the pool since
 * profiling was turned on: then the images ran on threads of their own and
 * the times add up thread time. Which of the pool's threads took the
 * chunks is the scheduler's choice; that the run was split is not, so the
 * header follows this, not a count of the threads that happened to run. */
static atomic_bool on_threads;
static _Thread_local int64_t last_ns;
static _Thread_local size_t hint; /* where this thread's next layer likely is */

void cnnrt_profile_start(void)
{
    if (!atomic_load_explicit(&enabled, memory_order_relaxed))
        return;
    if (cnnrt_pool_in_task() && !atomic_load_explicit(&on_threads, memory_order_relaxed))
        atomic_store(&on_threads, true);
    last_ns = rt_now_ns();
}

void cnnrt_profile_layer(const char *name, int64_t macs)
{
    if (!atomic_load_explicit(&enabled, memory_order_relaxed))
        return;
    int64_t t = rt_now_ns(), spent = t - last_ns;
    while (atomic_flag_test_and_set_explicit(&busy, memory_order_acquire))
        ;
    /* Layers report in the same order every run: look from where this
     * thread's last report was, so a run is not quadratic in its layers. */
    size_t i = hint < table.count ? hint : 0, looked = 0;
    while (looked < table.count && table.entries[i].name != name) {
        i = i + 1 < table.count ? i + 1 : 0;
        looked++;
    }
    if (looked == table.count) {
        i = table.count;
        if (table.count == table.cap) {
            size_t cap = table.cap ? 2 * table.cap : 64;
            Entry *grown = realloc(table.entries, cap * sizeof *grown);
            if (!grown) {
                table.dropped = true;
                i = SIZE_MAX;
            } else {
                table.entries = grown;
                table.cap = cap;
            }
        }
        if (i != SIZE_MAX)
            table.entries[table.count++] = (Entry){name, 0, 0};
    }
    if (i != SIZE_MAX) {
        table.entries[i].ns += spent;
        table.entries[i].macs += macs;
        hint = i + 1;
    }
    atomic_flag_clear_explicit(&busy, memory_order_release);
    /* The bookkeeping is not the next layer's time. */
    last_ns = rt_now_ns();
}

void cnnrt_profile_enable(bool on)
{
    if (on) {
        table.count = 0;
        table.dropped = false;
        atomic_store(&on_threads, false);
    }
    atomic_store(&enabled, on);
}

bool cnnrt_profile_print(FILE *f, size_t runs, size_t batch)
{
    /* The generated code splits a batch into min(batch, threads) shares. */
    size_t threads = (size_t)cnnrt_pool_threads();
    if (batch < threads)
        threads = batch;
    double per = runs ? (double)runs : 1, total_ns = 0, total_macs = 0;
    for (size_t i = 0; i < table.count; i++) {
        total_ns += (double)table.entries[i].ns;
        total_macs += (double)table.entries[i].macs;
    }
    if (atomic_load(&on_threads))
        fprintf(f, "profile: %zu runs; thread time by layer, summed over the %zu threads that share the images\n",
                runs, threads);
    else
        fprintf(f, "profile: %zu runs; time by layer, per run\n", runs);
    fprintf(f, "  %-40s %12s %7s %9s\n", "layer", "ms", "%", "GFLOP/s");
    for (size_t i = 0; i < table.count; i++) {
        const Entry *e = &table.entries[i];
        double ms = (double)e->ns / 1e6 / per;
        fprintf(f, "  %-40s %12.5f %6.1f%% ", e->name, ms, total_ns > 0 ? 100.0 * (double)e->ns / total_ns : 0.0);
        if (e->macs > 0 && e->ns > 0)
            fprintf(f, "%9.1f\n", 2.0 * (double)e->macs / (double)e->ns);
        else
            fprintf(f, "%9s\n", "-");
    }
    fprintf(f, "  %-40s %12.5f %6.1f%% ", "all layers", total_ns / 1e6 / per, 100.0);
    if (total_macs > 0 && total_ns > 0)
        fprintf(f, "%9.1f\n", 2.0 * total_macs / total_ns);
    else
        fprintf(f, "%9s\n", "-");
    if (table.dropped)
        fprintf(f, "  (some layers were not counted: out of memory)\n");
    return !table.dropped;
}
