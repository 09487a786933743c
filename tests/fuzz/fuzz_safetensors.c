/* libFuzzer target: bytes as a safetensors file, through open (header, JSON,
 * offsets), reading every float tensor and binding a small network's
 * parameters. The reader maps a path, so the bytes go to a memfd first. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "runtime/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(void *ctx, int severity, const char *text)
{
    (void)ctx;
    (void)severity;
    (void)text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    if (fd < 0)
        fd = memfd_create("fuzz.safetensors", 0);
    if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    char path[64], err[512];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    CnnrtSt *st = cnnrt_st_open(path, err, sizeof err);
    if (!st) {
        if (!err[0])
            abort(); /* a refusal must say why */
        return 0;
    }
    for (size_t i = 0; i < cnnrt_st_count(st); i++) {
        const CnnrtStTensor *t = cnnrt_st_tensor(st, i);
        if (t->end < t->begin || cnnrt_st_find(st, t->name) == NULL)
            abort();
        if (!cnnrt_dtype_is_float(t->dtype) || t->count > (1 << 20))
            continue;
        float *dst = malloc(((size_t)t->count + 1) * sizeof *dst);
        if (dst && cnnrt_st_read_f32(st, t, dst, err, sizeof err) != 0)
            abort(); /* float tensors that opened must read */
        free(dst);
    }
    static const float inline_bias[3] = {1, 2, 3};
    static const CnnrtParam params[] = {
        {"conv1.weight", 4, {2, 1, 3, 3}, 18, NULL, 0, 0},
        {"conv1.bias", 1, {2}, 2, NULL, 0, 0},
        {"fc.weight", 2, {3, 8}, 24, NULL, 0, 0},
        {"fc.bias", 1, {3}, 3, inline_bias, 1, 0},
    };
    const float *values[4];
    float *storage = NULL;
    int bad = cnnrt_st_bind(st, params, 4, values, &storage, quiet, NULL);
    if (bad == 0 && (!values[0] || !values[1] || !values[2] || values[3] != params[3].embedded))
        abort();
    free(storage);
    cnnrt_st_close(st);
    return 0;
}
