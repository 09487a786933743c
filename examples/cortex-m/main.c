/* main.c: runs a network that cnnc compiled ahead of time (SPEC section 5) on
 * the images embedded in flash, and prints every output through semihosting.
 *
 * No OS, no allocator, no stdio: the workspace is a static buffer whose size
 * is fixed when the firmware is built (cnnc --report=json's workspace_bytes)
 * and checked against NAME_workspace_size(1) before the first call. Each image
 * is one call with batch 1, so that size holds for any number of images.
 *
 * Output, one line each (tests/cross/run_cortex_m.sh parses the "output" lines):
 *     lenet: 1 image of 784 floats -> 10 floats; workspace 6336 bytes (needs 6336)
 *     output[0][0] = 0x3c2a2880 1.03856325e-02
 *     ...
 *     image 0: class 9 (0x3ef6a22a 4.81705964e-01)
 *     stack: 472 of 8192 bytes used
 * The hex is the float's exact bits; the decimal has nine significant
 * digits, enough to tell any two floats apart. Exit status 0, or 1 after an
 * "error:" line.
 *
 * net.h (written by build.sh) names the network: NET_NAME, NET_INPUT_SIZE,
 * NET_OUTPUT_SIZE, NET_WORKSPACE_BYTES, net_infer, net_workspace_size.
 * input.inc (written by gen_input.py) holds the images: INPUT_FLOATS values
 * in input_data[]. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net.h"
#include "semihost.h"
#include "startup.h"

#include "input.inc"

#define IMAGES (INPUT_FLOATS / NET_INPUT_SIZE)
_Static_assert(INPUT_FLOATS % NET_INPUT_SIZE == 0,
               "the input file does not hold a whole number of the network's images");

/* The header asks for a 64-byte aligned workspace. */
static _Alignas(64) unsigned char workspace[NET_WORKSPACE_BYTES];
static _Alignas(64) float output[IMAGES][NET_OUTPUT_SIZE];

/* --- formatting into a line, then one SYS_WRITE0 per line ------------------ */

static char *put_str(char *p, const char *s)
{
    while (*s)
        *p++ = *s++;
    return p;
}

static char *put_uint(char *p, uint32_t v)
{
    char digits[10];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = digits[--n];
    return p;
}

static char *put_hex32(char *p, uint32_t v)
{
    p = put_str(p, "0x");
    for (int shift = 28; shift >= 0; shift -= 4)
        *p++ = "0123456789abcdef"[v >> shift & 0xf];
    return p;
}

/* x in scientific notation with nine significant digits (d.dddddddde+XX),
 * from its bits with integer arithmetic only: x = m * 2^e * 10^dec with m
 * a 64-bit mantissa kept normalised (top bit set), scaled by ten until
 * m * 2^e is a nine-digit integer, then rounded half to even as printf's
 * "%.8e" does. A step may truncate below 2^-59 of the value (remembered, so
 * a truncated value is never taken for an exact tie); the digits are right
 * unless x lies within about 1e-16 of a half-way point that it is not on. */
static char *put_float(char *p, float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    uint32_t biased = bits >> 23 & 0xff, frac = bits & 0x7fffff;
    if (bits >> 31)
        *p++ = '-';
    if (biased == 0xff)
        return put_str(p, frac ? "nan" : "inf");
    if (biased == 0 && frac == 0)
        return put_str(p, "0.00000000e+00");

    uint64_t m = biased ? (frac | 0x800000u) : frac; /* subnormals have no hidden bit */
    int e = biased ? (int)biased - 150 : -149;
    int dec = 0, inexact = 0;
    while (!(m >> 63)) {
        m <<= 1;
        e--;
    }
    /* m in [2^63, 2^64), so m * 2^e < 10^8 when e <= -38 and >= 10^9 when
     * e >= -33; in between, look at the integer part q. */
    uint64_t q;
    for (;;) {
        int grow = e <= -38, shrink = e >= -33;
        if (!grow && !shrink) {
            q = m >> -e;
            grow = q < 100000000u;
            shrink = q >= 1000000000u;
            if (!grow && !shrink)
                break;
        }
        if (grow) { /* times ten: x5 on m >> 3 (fits 64 bits), x2 in e */
            inexact |= (m & 7) != 0;
            m = (m >> 3) * 5;
            e += 4;
            dec--;
        } else { /* over ten */
            inexact |= m % 10 != 0;
            m /= 10;
            dec++;
        }
        while (!(m >> 63)) {
            m <<= 1;
            e--;
        }
    }
    uint64_t rest = m & ((UINT64_C(1) << -e) - 1), half = UINT64_C(1) << (-e - 1);
    if (rest > half || (rest == half && (inexact || (q & 1))))
        q++;
    if (q == 1000000000u) {
        q = 100000000u;
        dec++;
    }

    char digits[9];
    uint32_t d = (uint32_t)q;
    for (int i = 8; i >= 0; i--) {
        digits[i] = (char)('0' + d % 10);
        d /= 10;
    }
    *p++ = digits[0];
    *p++ = '.';
    for (int i = 1; i < 9; i++)
        *p++ = digits[i];
    int exponent = dec + 8;
    *p++ = 'e';
    *p++ = exponent < 0 ? '-' : '+';
    uint32_t magnitude = (uint32_t)(exponent < 0 ? -exponent : exponent);
    if (magnitude < 10)
        *p++ = '0';
    return put_uint(p, magnitude);
}

static char *put_value(char *p, float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    p = put_hex32(p, bits);
    *p++ = ' ';
    return put_float(p, x);
}

static void emit(char *line, char *end)
{
    *end++ = '\n';
    *end = '\0';
    semihost_write(line);
}

/* --- the run -------------------------------------------------------------- */

int main(void)
{
    char line[128], *p;
    size_t need = net_workspace_size(1);

    p = put_str(line, NET_NAME ": ");
    p = put_uint(p, IMAGES);
    p = put_str(p, IMAGES == 1 ? " image of " : " images of ");
    p = put_uint(p, NET_INPUT_SIZE);
    p = put_str(p, " floats -> ");
    p = put_uint(p, NET_OUTPUT_SIZE);
    p = put_str(p, " floats; workspace ");
    p = put_uint(p, sizeof workspace);
    p = put_str(p, " bytes (needs ");
    p = put_uint(p, need);
    p = put_str(p, ")");
    emit(line, p);
    if (need > sizeof workspace) {
        p = put_str(line, "error: " NET_NAME "_workspace_size(1) is ");
        p = put_uint(p, need);
        p = put_str(p, " bytes, the static workspace ");
        p = put_uint(p, sizeof workspace);
        p = put_str(p, ": build with WORKSPACE_BYTES=");
        p = put_uint(p, need);
        emit(line, p);
        return 1;
    }

    for (uint32_t i = 0; i < IMAGES; i++) {
        int rc = net_infer(input_data + (size_t)i * NET_INPUT_SIZE, output[i], 1, workspace);
        if (rc != 0) {
            p = put_str(line, "error: " NET_NAME "_infer returned ");
            p = put_uint(p, (uint32_t)rc);
            p = put_str(p, " on image ");
            p = put_uint(p, i);
            emit(line, p);
            return 1;
        }
        uint32_t best = 0;
        for (uint32_t k = 0; k < NET_OUTPUT_SIZE; k++) {
            p = put_str(line, "output[");
            p = put_uint(p, i);
            p = put_str(p, "][");
            p = put_uint(p, k);
            p = put_str(p, "] = ");
            p = put_value(p, output[i][k]);
            emit(line, p);
            if (output[i][k] > output[i][best])
                best = k;
        }
        p = put_str(line, "image ");
        p = put_uint(p, i);
        p = put_str(p, ": class ");
        p = put_uint(p, best);
        p = put_str(p, " (");
        p = put_value(p, output[i][best]);
        p = put_str(p, ")");
        emit(line, p);
    }
    p = put_str(line, "stack: ");
    p = put_uint(p, stack_used());
    p = put_str(p, " of ");
    p = put_uint(p, stack_size());
    p = put_str(p, " bytes used");
    emit(line, p);
    return 0;
}
