/* The conformance tests' go-between for ONNX TensorProto files (read with
 * protobuf-c, as the importer reads models) and the .npy files cnnc's
 * programs read and write:
 *   onnx_tensor tonpy IN.pb OUT.npy     N x C x H x W or N x C (as N x C x 1 x 1)
 *   onnx_tensor compare OUT.npy REF.pb  exit 0 within the SPEC's tolerance, 1 not
 * Exit 2 on a file that cannot be read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/onnx.h"
#include "runtime/npy.h"
#include "tests/tolerance.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *b = realloc(buf, cap *= 2);
            if (!b) {
                free(buf);
                buf = NULL;
            }
            buf = b;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static int read_pb(const char *path, float **data, int64_t *count, int64_t *dims, int *rank)
{
    size_t len;
    char msg[512];
    char *bytes = slurp(path, &len);
    if (!bytes) {
        fprintf(stderr, "onnx_tensor: cannot read '%s'\n", path);
        return 2;
    }
    bool ok = fe_onnx_read_tensor_file(bytes, len, data, count, dims, rank, msg, sizeof msg);
    free(bytes);
    if (!ok) {
        fprintf(stderr, "onnx_tensor: %s: %s\n", path, msg);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: onnx_tensor tonpy IN.pb OUT.npy | compare OUT.npy REF.pb\n");
        return 2;
    }
    float *data = NULL;
    int64_t count, dims[8];
    int rank;
    char msg[512];
    if (strcmp(argv[1], "tonpy") == 0) {
        if (read_pb(argv[2], &data, &count, dims, &rank) != 0)
            return 2;
        if (rank != 4 && rank != 2) {
            fprintf(stderr, "onnx_tensor: %s has rank %d\n", argv[2], rank);
            return 2;
        }
        int64_t shape[4] = {dims[0], dims[1], rank == 4 ? dims[2] : 1, rank == 4 ? dims[3] : 1};
        int rc = cnnrt_npy_write(argv[3], data, 4, shape, msg, sizeof msg);
        if (rc != 0)
            fprintf(stderr, "onnx_tensor: %s\n", msg);
        free(data);
        return rc ? 2 : 0;
    }
    if (strcmp(argv[1], "compare") == 0) {
        CnnrtArray out;
        if (cnnrt_npy_read(argv[2], &out, msg, sizeof msg) != 0) {
            fprintf(stderr, "onnx_tensor: %s\n", msg);
            return 2;
        }
        if (read_pb(argv[3], &data, &count, dims, &rank) != 0) {
            cnnrt_array_free(&out);
            return 2;
        }
        int rc;
        if (out.count != count) {
            fprintf(stderr, "onnx_tensor: %lld values, the reference has %lld\n", (long long)out.count,
                    (long long)count);
            rc = 1;
        } else {
            double ratio = cnnc_error_ratio(out.data, data, (size_t)count);
            rc = ratio <= 1.0 ? 0 : 1;
            printf("error/tolerance %.3g\n", ratio);
        }
        cnnrt_array_free(&out);
        free(data);
        return rc;
    }
    fprintf(stderr, "onnx_tensor: unknown command '%s'\n", argv[1]);
    return 2;
}
