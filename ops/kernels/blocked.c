/* blocked.c -- the blocked layout's portable kernels (conv.h); the
 * x86 ones are ops/kernels/x86/blocked_avx512.c. */
#include <string.h>

#include "kernels.h"

#define BL KL_BLOCK

/* bfrom: positions 16 at a time, a 16 x 16 transpose through t. */
void klk_bfrom_generic(const float *x, int64_t hw, int64_t lanes, float *y)
{
    for (int64_t p0 = 0; p0 < hw; p0 += BL) {
        const int64_t ps = hw - p0 < BL ? hw - p0 : BL;
        float t[BL][BL];
        memcpy(t, x + p0 * BL, (size_t)(ps * BL) * sizeof(float));
        for (int64_t l = 0; l < lanes; l++)
            for (int64_t p = 0; p < ps; p++)
                y[l * hw + p0 + p] = t[p][l];
    }
}

void klk_bscale_generic(float *y, const float *x, const float *s, int64_t n)
{
    for (int64_t p = 0; p < n; p++)
        for (int l = 0; l < BL; l++)
            y[p * BL + l] = x[p * BL + l] * s[l];
}

void klk_bsum_generic(const float *x, int64_t n, float *sum)
{
    float acc[BL] = {0};
    for (int64_t p = 0; p < n; p++)
        for (int l = 0; l < BL; l++)
            acc[l] += x[p * BL + l];
    memcpy(sum, acc, sizeof acc);
}
