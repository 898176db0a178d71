/* sigmoid_avx2.c -- the kernel table's sigmoid on 8 lanes. */
#include "../kernels.h"
#include "vmath.h"

/* Sigmoid (times x for SiLU) over out[0, n), 8 at a time; returns how
 * many it did. */
static KL_AVX2 size_t lanes(float *out, size_t n, bool times_x)
{
    size_t i = 0;
    for (; i + 32 <= n; i += 32) { /* four independent chains in flight */
        __m256 x0 = _mm256_loadu_ps(out + i), x1 = _mm256_loadu_ps(out + i + 8);
        __m256 x2 = _mm256_loadu_ps(out + i + 16), x3 = _mm256_loadu_ps(out + i + 24);
        __m256 s0 = kl_sigmoid8(x0), s1 = kl_sigmoid8(x1), s2 = kl_sigmoid8(x2), s3 = kl_sigmoid8(x3);
        _mm256_storeu_ps(out + i, times_x ? _mm256_mul_ps(x0, s0) : s0);
        _mm256_storeu_ps(out + i + 8, times_x ? _mm256_mul_ps(x1, s1) : s1);
        _mm256_storeu_ps(out + i + 16, times_x ? _mm256_mul_ps(x2, s2) : s2);
        _mm256_storeu_ps(out + i + 24, times_x ? _mm256_mul_ps(x3, s3) : s3);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(out + i), s = kl_sigmoid8(x);
        _mm256_storeu_ps(out + i, times_x ? _mm256_mul_ps(x, s) : s);
    }
    return i;
}

void klk_sigmoid_avx2(float *out, size_t n, bool times_x)
{
    size_t i = lanes(out, n, times_x);
    klk_sigmoid_generic(out + i, n - i, times_x); /* the last few */
}
