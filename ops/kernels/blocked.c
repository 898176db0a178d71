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
