/* norm_avx512.c -- LayerNormalization's rows on 16 lanes: ops/kernels/norm.c's
 * sums (float lanes over blocks of BLOCK elements, the blocks' sums added
 * in double; the mean corrected by the sum of the deviations from it) in
 * two accumulators of 16, added across in float at the end of a block (as
 * norm_avx2.c), the last partial vector of a row through a mask. */
#include <math.h>

#include "../kernels.h"
#include "vmath.h"

#define BLOCK 512 /* as ops/kernels/norm.c's */

/* The sum of a and b's 32 lanes. */
KL_AVX512 static inline float total16(__m512 a, __m512 b)
{
    return _mm512_reduce_add_ps(_mm512_add_ps(a, b));
}

/* The sum of x[0 .. n). */
KL_AVX512 static double row_sum16(const float *x, int64_t n)
{
    double total = 0;
    for (int64_t start = 0; start < n; start += BLOCK) {
        const int64_t end = start + BLOCK < n ? start + BLOCK : n;
        __m512 a = _mm512_setzero_ps(), b = _mm512_setzero_ps();
        int64_t i = start;
        for (; i + 32 <= end; i += 32) {
            a = _mm512_add_ps(a, _mm512_loadu_ps(x + i));
            b = _mm512_add_ps(b, _mm512_loadu_ps(x + i + 16));
        }
        for (; i < end; i += 16)
            a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(kl_lanes16(end - i), x + i));
        total += total16(a, b);
    }
    return total;
}

/* The sums of d and d^2 for d = x[i] - m over x[0 .. n). */
KL_AVX512 static void row_deviations16(const float *x, int64_t n, float m, double *sum, double *squares)
{
    const __m512 mv = _mm512_set1_ps(m);
    *sum = *squares = 0;
    for (int64_t start = 0; start < n; start += BLOCK) {
        const int64_t end = start + BLOCK < n ? start + BLOCK : n;
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, q0 = s0, q1 = s0;
        int64_t i = start;
        for (; i + 32 <= end; i += 32) {
            __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(x + i), mv), d1 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 16), mv);
            s0 = _mm512_add_ps(s0, d0);
            s1 = _mm512_add_ps(s1, d1);
            q0 = _mm512_fmadd_ps(d0, d0, q0);
            q1 = _mm512_fmadd_ps(d1, d1, q1);
        }
        for (; i < end; i += 16) {
            const __mmask16 k = kl_lanes16(end - i);
            __m512 d = _mm512_maskz_sub_ps(k, _mm512_maskz_loadu_ps(k, x + i), mv);
            s0 = _mm512_add_ps(s0, d);
            q0 = _mm512_fmadd_ps(d, d, q0);
        }
        *sum += total16(s0, s1);
        *squares += total16(q0, q1);
    }
}

/* y = (x - m) * inv * scale + bias over a row of n. */
KL_AVX512 static void normalize_row16(const float *x, float *y, int64_t n, float m, float inv, const float *scale,
                                      const float *bias)
{
    const __m512 mv = _mm512_set1_ps(m), iv = _mm512_set1_ps(inv);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 t = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), mv), iv);
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(t, _mm512_loadu_ps(scale + i), _mm512_loadu_ps(bias + i)));
    }
    if (i < n) {
        const __mmask16 k = kl_lanes16(n - i);
        __m512 t = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), mv), iv);
        _mm512_mask_storeu_ps(y + i, k,
                              _mm512_fmadd_ps(t, _mm512_maskz_loadu_ps(k, scale + i), _mm512_maskz_loadu_ps(k, bias + i)));
    }
}

KL_AVX512 void klk_layernorm_avx512(const float *x, float *y, int64_t rows, int64_t len, const float *scale,
                                    const float *bias, float eps, float *mean, float *inv)
{
    const double inv_len = 1.0 / (double)len;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * len;
        const float m0 = (float)(row_sum16(xr, len) * inv_len);
        double sum, squares;
        row_deviations16(xr, len, m0, &sum, &squares);
        const double shift = sum * inv_len, var = squares * inv_len - shift * shift;
        const float m = (float)(m0 + shift), v = var < 0 ? 0.0f : (float)var; /* NaN stays */
        const float is = 1.0f / sqrtf(v + eps);
        normalize_row16(xr, y + r * len, len, m, is, scale, bias);
        if (mean)
            mean[r] = m;
        if (inv)
            inv[r] = is;
    }
}
