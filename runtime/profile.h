/* libcnnrt's layer profile (a program's --profile): the code cnnc generates
 * for an executable reports the end of every layer it runs, and the runtime
 * adds up, per layer, the time since the previous report on that thread.
 * AOT objects do not call it. */
#ifndef CNNC_RUNTIME_PROFILE_H
#define CNNC_RUNTIME_PROFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Called by the generated code: cnnrt_profile_start as a thread starts a
 * sequence of layers (NAME_run, or a thread's share of the images), and
 * cnnrt_profile_layer after each, with the layer's name (a constant string
 * of the program: its address is the key) and the multiply-adds the call
 * made. Both return at once unless profiling is on. */
void cnnrt_profile_start(void);
void cnnrt_profile_layer(const char *name, int64_t macs);

/* Turns profiling on (clearing what was counted) or off (keeping it). */
void cnnrt_profile_enable(bool on);

/* Prints one line per layer, in the order they first ran: time per run
 * (the total over `runs` runs, divided), its share, and GFLOP/s; then the
 * sum. batch is the images of each run: when they ran on threads of their
 * own, the header names the min(batch, pool threads) shares. Returns false
 * if a layer was dropped for want of memory. */
bool cnnrt_profile_print(FILE *f, size_t runs, size_t batch);

#ifdef __cplusplus
}
#endif

#endif
