/* libcnnrt's safetensors reader (SPEC section 4), shared by the runtime and
 * the compiler (which embeds weights): open a file once (mmap), find tensors,
 * read them converted to float32, and bind a network's parameters to them
 * with the SPEC's checks. Errors from open/read go into a caller's buffer;
 * cnnrt_st_bind reports through a callback so each caller can route the text
 * to its own diagnostics. */
#ifndef CNNC_RUNTIME_SAFETENSORS_H
#define CNNC_RUNTIME_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "runtime/cnnrt.h"

/* A status that must not be dropped (STYLE.md); nothing on other compilers. */
#ifndef CNNRT_NODISCARD
#if defined(__GNUC__) || defined(__clang__)
#define CNNRT_NODISCARD __attribute__((warn_unused_result))
#else
#define CNNRT_NODISCARD
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Ranks beyond this are refused when the file is opened. */
#define CNNRT_ST_MAX_RANK 16
/* A header longer than this is taken as a corrupt length. */
#define CNNRT_ST_MAX_HEADER (100u * 1024u * 1024u)

/* Every dtype the safetensors format names; only the float ones can be read
 * as float32, the others are validated (sizes) and otherwise only listed. */
typedef enum CnnrtDtype {
    CNNRT_F32, CNNRT_F16, CNNRT_BF16, CNNRT_F64,
    CNNRT_BOOL, CNNRT_U8, CNNRT_I8, CNNRT_I16, CNNRT_U16, CNNRT_I32, CNNRT_U32,
    CNNRT_I64, CNNRT_U64, CNNRT_F8_E4M3, CNNRT_F8_E5M2,
} CnnrtDtype;

typedef struct CnnrtStTensor {
    const char *name;
    CnnrtDtype dtype;
    int32_t rank;
    int64_t shape[CNNRT_ST_MAX_RANK];
    int64_t count;         /* product of shape (1 for rank 0) */
    uint64_t begin, end;   /* byte offsets in the data section */
} CnnrtStTensor;

typedef struct CnnrtSt CnnrtSt; /* an open file */

/* Opens and validates path (header, dtypes, shapes, offsets). Returns NULL
 * with a message naming the file in err on any problem. */
CNNRT_NODISCARD CnnrtSt *cnnrt_st_open(const char *path, char *err, size_t errlen);
void cnnrt_st_close(CnnrtSt *st);

const char *cnnrt_st_path(const CnnrtSt *st);
size_t cnnrt_st_count(const CnnrtSt *st);
/* Tensors in file order of their data (ascending offsets). */
const CnnrtStTensor *cnnrt_st_tensor(const CnnrtSt *st, size_t i);
/* NULL when there is no tensor of that name. */
const CnnrtStTensor *cnnrt_st_find(const CnnrtSt *st, const char *name);

/* Whether the n bytes at b start like an ONNX model (a ModelProto), so a
 * message can say what a wrong file is. */
int cnnrt_looks_like_onnx(const unsigned char *b, size_t n);
/* Whether they start like a PyTorch checkpoint as torch.save writes it: 1
 * for a zip of pickles (PyTorch 1.6 on), 2 for a bare pickle (before), else
 * 0. */
int cnnrt_looks_like_checkpoint(const unsigned char *b, size_t n);

/* "F32", "BF16", ... as the format spells them. */
const char *cnnrt_dtype_name(CnnrtDtype dtype);
/* 1 for F32, F16, BF16 and F64: the dtypes cnnrt_st_read_f32 converts. */
int cnnrt_dtype_is_float(CnnrtDtype dtype);

/* Converts tensor t (of st) to float32 into dst, which holds t->count
 * floats. Returns 0, or -1 with a message for a non-float dtype. */
CNNRT_NODISCARD
int cnnrt_st_read_f32(const CnnrtSt *st, const CnnrtStTensor *t, float *dst, char *err, size_t errlen);

/* A message from cnnrt_st_bind: severity is CNNRT_ERROR or CNNRT_WARNING,
 * text names the file and the tensor (no "error:" prefix, no newline). */
enum { CNNRT_WARNING = 0, CNNRT_ERROR = 1 };
typedef void (*CnnrtDiagFn)(void *ctx, int severity, const char *text);

/* Binds params[0..nparams) to st's tensors. For each param that is not
 * `fixed`, the tensor of its name must exist with its exact shape and a float
 * dtype; its values are converted into one block (*storage, free() it) and
 * values[i] points at them. A fixed param gets values[i] = params[i].embedded
 * and a file tensor of its name is a warning, as is every tensor the network
 * does not name. Every problem is reported; returns the number of errors
 * (0: all bound), or -1 when out of memory (also reported). */
CNNRT_NODISCARD int cnnrt_st_bind(const CnnrtSt *st, const CnnrtParam *params, int32_t nparams,
                  const float **values, float **storage, CnnrtDiagFn diag, void *ctx);

/* One float32 tensor for cnnrt_st_write. */
typedef struct CnnrtStOut {
    const char *name;
    int32_t rank;
    const int64_t *shape; /* rank sizes */
    const float *data;    /* their product of values */
} CnnrtStOut;

/* Writes tensors t[0..n) to f as a safetensors file: the header lists them
 * in the order given, with ascending offsets and {"format": "pt"} as its
 * metadata, padded with spaces to 8 bytes as PyTorch's writer pads it; the
 * values F32 little-endian. The same tensors give the same bytes. 0, or -1
 * with a message in err (short writes show in f's error flag). */
CNNRT_NODISCARD int cnnrt_st_write(FILE *f, const CnnrtStOut *t, size_t n, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
