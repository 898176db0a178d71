/* cvprod.c -- W's layout for the channel-vector products (conv.h,
 * ops/kernels/x86/cvprod_avx512.c): blocks of KL_CV_NB output channels,
 * each step of k one row of KL_CV_NB values. */
#include <string.h>

#include "kernels.h"

size_t kl_cv_packed_floats(int64_t m, int64_t k)
{
    return (size_t)(kl_cv_blocks(m) * k * KL_CV_NB);
}

void kl_cv_pack(int64_t m, int64_t k, const float *w, float *p)
{
    memset(p, 0, kl_cv_packed_floats(m, k) * sizeof *p);
    for (int64_t r = 0; r < m; r++) {
        float *dst = p + (r / KL_CV_NB * k) * KL_CV_NB + r % KL_CV_NB;
        for (int64_t i = 0; i < k; i++)
            dst[i * KL_CV_NB] = w[r * k + i];
    }
}

/* a range's sums, [position][KL_CV_NB], and 16 positions of room for the
 * transposes' last group */
size_t kl_cv_range_floats(int64_t n)
{
    return (size_t)((n + 16) * KL_CV_NB);
}
