/* softmax_avx2.c -- ops/kernels/softmax.c built for AVX2, with a Softmax
 * row of its own on 8 lanes: the largest of x * scale, then exp(x * scale
 * - max) through kl_exp8 (the kernel table's exponential, within
 * KL_ULP_EXP of expf) summed as it is stored, then the row times 1 / sum.
 * x * scale rounds to float as the Mul it replaces did.  The last partial
 * vector of a row goes through a mask. */
#include "vmath.h"

#define KL_SOFTMAX_OWN_ROW
#include "avx2_loops.h"
#include "../../drivers/softmax.h"
#include "../mathfn.h"
#include "../softmax.c"

/* Lanes below `left` (all of them from 8 on). */
static inline __m256i tail8(int64_t left)
{
    const int64_t k = left < 8 ? left : 8;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline float hmax8(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* The largest x[i] * s (-inf for none; NaN never wins: max_ps keeps its
 * second operand when either is NaN). */
static float max_scaled8(const float *x, int64_t n, __m256 s)
{
    __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        m0 = _mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), s), m0);
        m1 = _mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8), s), m1);
    }
    for (; i < n; i += 8) {
        const __m256i k = tail8(n - i);
        __m256 v = _mm256_mul_ps(_mm256_maskload_ps(x + i, k), s);
        m0 = _mm256_max_ps(_mm256_blendv_ps(_mm256_set1_ps(-INFINITY), v, _mm256_castsi256_ps(k)), m0);
    }
    return hmax8(_mm256_max_ps(m0, m1));
}

/* y = exp(x * s - m); returns the sum of y. */
static float exp_scaled8(float *y, const float *x, int64_t n, __m256 s, float m)
{
    const __m256 mv = _mm256_set1_ps(m);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 e0 = kl_exp8(_mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), s), mv));
        __m256 e1 = kl_exp8(_mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8), s), mv));
        _mm256_storeu_ps(y + i, e0);
        _mm256_storeu_ps(y + i + 8, e1);
        a0 = _mm256_add_ps(a0, e0);
        a1 = _mm256_add_ps(a1, e1);
    }
    for (; i < n; i += 8) {
        const __m256i k = tail8(n - i);
        __m256 e = kl_exp8(_mm256_sub_ps(_mm256_mul_ps(_mm256_maskload_ps(x + i, k), s), mv));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(k));
        _mm256_maskstore_ps(y + i, k, e);
        a0 = _mm256_add_ps(a0, e);
    }
    return hsum8(_mm256_add_ps(a0, a1));
}

static void times8(float *y, int64_t n, float f)
{
    const __m256 fv = _mm256_set1_ps(f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), fv));
    for (; i < n; i++)
        y[i] *= f;
}

void klk_softmax_row_avx2(int kind, float *y, const float *x, int64_t n, float scale)
{
    if (kind != KL_SOFTMAX) {
        if (scale != 1.0f) {
            scale_into(y, x, n, scale);
            x = y;
        }
        portable_row(kind, y, x, n);
        return;
    }
    const __m256 s = _mm256_set1_ps(scale);
    const float m = max_scaled8(x, n, s);
    times8(y, n, 1.0f / exp_scaled8(y, x, n, s, m));
}

#include "avx2_loops_end.h"
