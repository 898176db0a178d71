/* softmax_avx512.c -- ops/kernels/x86/softmax_avx2.c's Softmax row on 16
 * lanes: the largest of x * scale, then exp(x * scale - max) through
 * kl_exp16 (the kernel table's exponential, within KL_ULP_EXP of expf)
 * summed as it is stored, then the row times 1 / sum.  LogSoftmax and
 * Hardmax take the AVX2 row. */
#include "../../drivers/softmax.h"
#include "../kernels.h"
#include "vmath.h"

/* The largest x[i] * s (-inf for none; NaN never wins: max_ps keeps its
 * second operand when either is NaN). */
KL_AVX512 static float max_scaled16(const float *x, int64_t n, __m512 s)
{
    const __m512 none = _mm512_set1_ps(-INFINITY);
    __m512 m0 = none, m1 = none;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        m0 = _mm512_max_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), s), m0);
        m1 = _mm512_max_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i + 16), s), m1);
    }
    for (; i < n; i += 16) {
        const __mmask16 k = kl_lanes16(n - i);
        m0 = _mm512_max_ps(_mm512_mask_mul_ps(none, k, _mm512_maskz_loadu_ps(k, x + i), s), m0);
    }
    return _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
}

/* y = exp(x * s - m); returns the sum of y. */
KL_AVX512 static float exp_scaled16(float *y, const float *x, int64_t n, __m512 s, float m)
{
    const __m512 mv = _mm512_set1_ps(m);
    __m512 a0 = _mm512_setzero_ps(), a1 = a0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 e0 = kl_exp16(_mm512_sub_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), s), mv));
        __m512 e1 = kl_exp16(_mm512_sub_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i + 16), s), mv));
        _mm512_storeu_ps(y + i, e0);
        _mm512_storeu_ps(y + i + 16, e1);
        a0 = _mm512_add_ps(a0, e0);
        a1 = _mm512_add_ps(a1, e1);
    }
    for (; i < n; i += 16) {
        const __mmask16 k = kl_lanes16(n - i);
        __m512 e = kl_exp16(_mm512_sub_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), s), mv));
        e = _mm512_maskz_mov_ps(k, e);
        _mm512_mask_storeu_ps(y + i, k, e);
        a0 = _mm512_add_ps(a0, e);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

KL_AVX512 static void times16(float *y, int64_t n, float f)
{
    const __m512 fv = _mm512_set1_ps(f);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 k = kl_lanes16(n - i);
        _mm512_mask_storeu_ps(y + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, y + i), fv));
    }
}

KL_AVX512 void klk_softmax_row_avx512(int kind, float *y, const float *x, int64_t n, float scale)
{
    if (kind != KL_SOFTMAX) {
        klk_softmax_row_avx2(kind, y, x, n, scale);
        return;
    }
    const __m512 s = _mm512_set1_ps(scale);
    const float m = max_scaled16(x, n, s);
    times16(y, n, 1.0f / exp_scaled16(y, x, n, s, m));
}
