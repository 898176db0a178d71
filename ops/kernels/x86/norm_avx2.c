/* norm_avx2.c -- ops/kernels/norm.c built for AVX2, with LayerNormalization's
 * rows of its own on 8 lanes: norm.c's sums (float lanes over blocks of
 * BLOCK elements, the blocks' sums added in double; the mean corrected by
 * the sum of the deviations from it) in two or four accumulators of 8,
 * added across in float at the end of a block (fewer steps of latency
 * for the short rows of Swin's first stage), the last partial vector of a
 * row through a mask. */
#include <immintrin.h>

#define KL_NORM_OWN_LAYERNORM
#include "avx2_loops.h"
#include <float.h>
#include "../norm.c"

/* Lanes below `left` (all of them from 8 on). */
static inline __m256i tail8(int64_t left)
{
    const int64_t k = left < 8 ? left : 8;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* The sum of the 32 lanes of a, b, c and d. */
static inline float total8(__m256 a, __m256 b, __m256 c, __m256 d)
{
    __m256 s = _mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}

/* The sum of x[0 .. n). */
static double row_sum8(const float *x, int64_t n)
{
    double total = 0;
    for (int64_t start = 0; start < n; start += BLOCK) {
        const int64_t end = start + BLOCK < n ? start + BLOCK : n;
        __m256 a = _mm256_setzero_ps(), b = a, c = a, d = a;
        int64_t i = start;
        for (; i + 32 <= end; i += 32) {
            a = _mm256_add_ps(a, _mm256_loadu_ps(x + i));
            b = _mm256_add_ps(b, _mm256_loadu_ps(x + i + 8));
            c = _mm256_add_ps(c, _mm256_loadu_ps(x + i + 16));
            d = _mm256_add_ps(d, _mm256_loadu_ps(x + i + 24));
        }
        for (; i < end; i += 8)
            a = _mm256_add_ps(a, _mm256_maskload_ps(x + i, tail8(end - i)));
        total += total8(a, b, c, d);
    }
    return total;
}

/* The sums of d and d^2 for d = x[i] - m over x[0 .. n). */
static void row_deviations8(const float *x, int64_t n, float m, double *sum, double *squares)
{
    const __m256 mv = _mm256_set1_ps(m);
    *sum = *squares = 0;
    for (int64_t start = 0; start < n; start += BLOCK) {
        const int64_t end = start + BLOCK < n ? start + BLOCK : n;
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, q0 = s0, q1 = s0;
        int64_t i = start;
        for (; i + 16 <= end; i += 16) {
            __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), mv), d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), mv);
            s0 = _mm256_add_ps(s0, d0);
            s1 = _mm256_add_ps(s1, d1);
            q0 = _mm256_fmadd_ps(d0, d0, q0);
            q1 = _mm256_fmadd_ps(d1, d1, q1);
        }
        for (; i < end; i += 8) {
            const __m256i k = tail8(end - i);
            __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, k), mv), _mm256_castsi256_ps(k));
            s0 = _mm256_add_ps(s0, d);
            q0 = _mm256_fmadd_ps(d, d, q0);
        }
        const __m256 z = _mm256_setzero_ps();
        *sum += total8(s0, s1, z, z);
        *squares += total8(q0, q1, z, z);
    }
}

/* y = (x - m) * inv * scale + bias over a row of n. */
static void normalize_row8(const float *x, float *y, int64_t n, float m, float inv, const float *scale,
                           const float *bias)
{
    const __m256 mv = _mm256_set1_ps(m), iv = _mm256_set1_ps(inv);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 t = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv), iv);
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(t, _mm256_loadu_ps(scale + i), _mm256_loadu_ps(bias + i)));
    }
    if (i < n) {
        const __m256i k = tail8(n - i);
        __m256 t = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, k), mv), iv);
        _mm256_maskstore_ps(y + i, k, _mm256_fmadd_ps(t, _mm256_maskload_ps(scale + i, k), _mm256_maskload_ps(bias + i, k)));
    }
}

void klk_layernorm_avx2(const float *x, float *y, int64_t rows, int64_t len, const float *scale, const float *bias,
                        float eps, float *mean, float *inv)
{
    const double inv_len = 1.0 / (double)len;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * len;
        const float m0 = (float)(row_sum8(xr, len) * inv_len);
        double sum, squares;
        row_deviations8(xr, len, m0, &sum, &squares);
        const double shift = sum * inv_len, var = squares * inv_len - shift * shift;
        const float m = (float)(m0 + shift), v = var < 0 ? 0.0f : (float)var; /* NaN stays */
        const float is = 1.0f / sqrtf(v + eps);
        normalize_row8(xr, y + r * len, len, m, is, scale, bias);
        if (mean)
            mean[r] = m;
        if (inv)
            inv[r] = is;
    }
}

#include "avx2_loops_end.h"
