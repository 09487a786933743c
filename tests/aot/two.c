/* Two AOT networks in one plain C program: each runs through its NAME_infer,
 * and bad arguments are refused (SPEC sections 5, 8). The expected values are
 * worked by hand from the networks' inline weights. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "blur.h"
#include "classify.h"

static int failures;

static void expect(int cond, const char *what)
{
    if (!cond) {
        printf("FAIL: %s\n", what);
        failures++;
    }
}

int main(void)
{
    /* blur: a constant image stays constant inside; at a corner the 3x3 window
     * has 4 of 9 cells inside, so the blur gives 4/9 of the value there. */
    float img[BLUR_INPUT_SIZE], blurred[2 * BLUR_OUTPUT_SIZE];
    for (int i = 0; i < BLUR_INPUT_SIZE; i++)
        img[i] = 1.0f;
    expect(BLUR_INPUT_SIZE == 30 && BLUR_OUTPUT_SIZE == 3 * 3, "blur sizes: 6x5 in, 3x3 out (ceil)");
    void *ws = aligned_alloc(64, blur_workspace_size(1) + 64);
    expect(blur_infer(img, blurred, 1, ws) == 0, "blur runs");
    /* out[0][0] averages the 2x2 corner of the blurred map: 4/9, 6/9, 6/9, 9/9 */
    double want = (4 + 6 + 6 + 9) / 9.0 / 4.0;
    expect(fabs(blurred[0] - want) < 1e-5, "blur corner value");
    /* out[2][2] is the window hanging past the edge: rows 4..5 of 5, cols 4..5 of 6 */
    double bottom_right = (6.0 / 9 + 4.0 / 9) / 2.0; /* row 4, cols 4 and 5: edge and corner */
    expect(fabs(blurred[8] - bottom_right) < 1e-5, "blur overhanging window divides by its cells inside");

    /* classify: logits (x0 - x3, x3 - x0 + 0.5)... per the weights [1,0,0,1] and [-1,0,0,-1] */
    float x[2 * CLASSIFY_INPUT_SIZE] = {1, 0, 0, 1, 0, 0, 0, 0}, p[2 * CLASSIFY_OUTPUT_SIZE];
    void *ws2 = aligned_alloc(64, classify_workspace_size(2) + 64);
    expect(classify_infer(x, p, 2, ws2) == 0, "classify runs on a batch of 2");
    double l0 = 2.0, l1 = -2.0 + 0.5;
    double e = exp(l1 - l0);
    expect(fabs(p[0] - 1 / (1 + e)) < 1e-6 && fabs(p[1] - e / (1 + e)) < 1e-6, "classify image 1");
    e = exp(0.5);
    expect(fabs(p[2] - 1 / (1 + e)) < 1e-6 && fabs(p[3] - e / (1 + e)) < 1e-6, "classify image 2");

    /* SPEC section 8: NULL pointers, batch 0 and a misaligned workspace fail. */
    expect(blur_infer(NULL, blurred, 1, ws) != 0, "NULL input refused");
    expect(blur_infer(img, NULL, 1, ws) != 0, "NULL output refused");
    expect(blur_infer(img, blurred, 0, ws) != 0, "batch 0 refused");
    expect(blur_workspace_size(1) == 0 || blur_infer(img, blurred, 1, (char *)ws + 16) != 0,
           "misaligned workspace refused");
    expect(blur_workspace_size(0) == 0 && classify_workspace_size(0) == 0, "workspace_size(0) is 0");
    free(ws);
    free(ws2);
    if (failures == 0)
        printf("two networks in one program: all checks passed\n");
    return failures != 0;
}
