/* libcnnrt's .npy reader and writer (SPEC sections 6 and 8): inputs are read
 * as float32 (float64 and uint8 converted, not scaled; either byte order;
 * Fortran order transposed to C order); outputs are written little-endian
 * float32 in C order, through a temporary file renamed on success. */
#ifndef CNNC_RUNTIME_NPY_H
#define CNNC_RUNTIME_NPY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A status that must not be dropped (STYLE.md); nothing on other compilers. */
#ifndef CNNRT_NODISCARD
#if defined(__GNUC__) || defined(__clang__)
#define CNNRT_NODISCARD __attribute__((warn_unused_result))
#else
#define CNNRT_NODISCARD
#endif
#endif

#define CNNRT_NPY_MAX_RANK 8

typedef struct CnnrtArray {
    int32_t rank;
    int64_t shape[CNNRT_NPY_MAX_RANK];
    int64_t count; /* product of shape */
    float *data;   /* count floats, C order; free with cnnrt_array_free */
} CnnrtArray;

/* Reads path into *out. Returns 0, or -1 with a message naming the file. */
CNNRT_NODISCARD int cnnrt_npy_read(const char *path, CnnrtArray *out, char *err, size_t errlen);
/* The same from bytes in memory (name is used in messages). */
CNNRT_NODISCARD
int cnnrt_npy_parse(const char *name, const unsigned char *bytes, size_t len, CnnrtArray *out, char *err,
                    size_t errlen);
void cnnrt_array_free(CnnrtArray *a);

/* Writes data (the product of shape floats) as a version 1.0 '<f4' array. */
CNNRT_NODISCARD
int cnnrt_npy_write(const char *path, const float *data, int32_t rank, const int64_t *shape, char *err,
                    size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
