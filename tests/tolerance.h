/* The one tolerance every numerical test uses (issue 3):
 * max |out - ref| <= 1e-4 x max(1, max |ref|). */
#ifndef CNNC_TESTS_TOLERANCE_H
#define CNNC_TESTS_TOLERANCE_H

#include <math.h>
#include <stddef.h>

#define CNNC_TOLERANCE 1e-4

/* The worst error relative to the bound; <= 1 passes. */
static inline double cnnc_error_ratio(const float *out, const float *ref, size_t n)
{
    double max_ref = 1.0, max_err = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(ref[i]) > max_ref)
            max_ref = fabs(ref[i]);
        double e = fabs((double)out[i] - (double)ref[i]);
        if (!(e <= max_err)) /* NaN counts as the worst */
            max_err = isnan(e) ? INFINITY : e;
    }
    return max_err / (CNNC_TOLERANCE * max_ref);
}

#endif
