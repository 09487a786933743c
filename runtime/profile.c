/* The layer profile (see profile.h). Each thread keeps the time of its last
 * report; a layer's time is what passed on that thread since then, so a
 * layer split over the pool counts its wall time on the thread that waits
 * for the pool, and images on threads of their own count each thread's
 * time. The totals are kept under a spin lock: reports are one a layer, and
 * only when profiling is on. */
#include "runtime/profile.h"

#include <stdatomic.h>
#include <stdlib.h>

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
/* Threads that reported since profiling was turned on: with more than one,
 * images ran on threads of their own and the times add up thread time. */
static atomic_uint epoch = 1, threads_seen;
static _Thread_local int64_t last_ns;
static _Thread_local unsigned thread_epoch;
static _Thread_local size_t hint; /* where this thread's next layer likely is */

void cnnrt_profile_start(void)
{
    if (!atomic_load_explicit(&enabled, memory_order_relaxed))
        return;
    unsigned e = atomic_load(&epoch);
    if (thread_epoch != e) {
        thread_epoch = e;
        atomic_fetch_add(&threads_seen, 1);
    }
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
        atomic_fetch_add(&epoch, 1);
        atomic_store(&threads_seen, 0);
    }
    atomic_store(&enabled, on);
}

bool cnnrt_profile_print(FILE *f, size_t runs)
{
    unsigned threads = atomic_load(&threads_seen);
    double per = runs ? (double)runs : 1, total_ns = 0, total_macs = 0;
    for (size_t i = 0; i < table.count; i++) {
        total_ns += (double)table.entries[i].ns;
        total_macs += (double)table.entries[i].macs;
    }
    if (threads > 1)
        fprintf(f, "profile: %zu runs; thread time by layer, summed over the %u threads that ran images\n", runs,
                threads);
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
