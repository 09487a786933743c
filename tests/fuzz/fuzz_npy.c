/* libFuzzer target: bytes as an .npy file (magic, header dict, dtype, shape,
 * order, data). A success must describe exactly the floats it returned. */
#include <stdint.h>
#include <stdlib.h>

#include "runtime/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile float sink; /* keeps the reads below */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    CnnrtArray a;
    if (cnnrt_npy_parse("fuzz.npy", data, size, &a, err, sizeof err) != 0) {
        if (!err[0])
            abort();
        return 0;
    }
    int64_t count = 1;
    int overflow = 0;
    for (int32_t i = 0; i < a.rank; i++)
        overflow |= __builtin_mul_overflow(count, a.shape[i], &count);
    if (overflow && a.count != 0)
        abort(); /* an element count past 64 bits must have been refused */
    if (overflow)
        count = 0;
    if (a.rank < 0 || a.rank > CNNRT_NPY_MAX_RANK || count != a.count || (count > 0 && !a.data))
        abort();
    for (int64_t i = 0; i < a.count; i++)
        sink += a.data[i]; /* every float must be readable */
    cnnrt_array_free(&a);
    return 0;
}
