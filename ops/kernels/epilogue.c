/* epilogue.c -- fused residual-add and activation applied by the kernels
 * that produce a value (see kl_epilogue in op.h). */
#include <math.h>

#include "conv.h"
#include "mathfn.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* kl_expf's steps on 8 lanes.  max/min take the constant first so that a
 * NaN lane stays NaN. */
__attribute__((target("avx2,fma"))) static inline __m256 exp8(__m256 x)
{
    x = _mm256_min_ps(_mm256_set1_ps(88.0f), _mm256_max_ps(_mm256_set1_ps(-87.0f), x));
    const __m256 shifter = _mm256_set1_ps(12582912.0f);
    __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), shifter);
    __m256 n = _mm256_sub_ps(t, shifter);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B400000)),
                         _mm256_set1_epi32(127)),
        23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

/* 1 / (1 + exp(-x)) with the reciprocal estimate and one Newton step
 * (relative error ~1e-7) instead of a division, which was most of the
 * cost of SiLU in EfficientNet. */
__attribute__((target("avx2,fma"))) static inline __m256 sigmoid8(__m256 x)
{
    __m256 d = _mm256_add_ps(_mm256_set1_ps(1.0f), exp8(_mm256_sub_ps(_mm256_setzero_ps(), x)));
    __m256 y = _mm256_rcp_ps(d);
    return _mm256_mul_ps(y, _mm256_fnmadd_ps(d, y, _mm256_set1_ps(2.0f)));
}

/* Sigmoid (times x for SiLU) over out[0, n), 8 at a time; returns how
 * many it did. */
__attribute__((target("avx2,fma"))) static size_t sigmoid_avx2(float *out, size_t n, bool times_x)
{
    size_t i = 0;
    for (; i + 32 <= n; i += 32) { /* four independent chains in flight */
        __m256 x0 = _mm256_loadu_ps(out + i), x1 = _mm256_loadu_ps(out + i + 8);
        __m256 x2 = _mm256_loadu_ps(out + i + 16), x3 = _mm256_loadu_ps(out + i + 24);
        __m256 s0 = sigmoid8(x0), s1 = sigmoid8(x1), s2 = sigmoid8(x2), s3 = sigmoid8(x3);
        _mm256_storeu_ps(out + i, times_x ? _mm256_mul_ps(x0, s0) : s0);
        _mm256_storeu_ps(out + i + 8, times_x ? _mm256_mul_ps(x1, s1) : s1);
        _mm256_storeu_ps(out + i + 16, times_x ? _mm256_mul_ps(x2, s2) : s2);
        _mm256_storeu_ps(out + i + 24, times_x ? _mm256_mul_ps(x3, s3) : s3);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(out + i), s = sigmoid8(x);
        _mm256_storeu_ps(out + i, times_x ? _mm256_mul_ps(x, s) : s);
    }
    return i;
}

/* exp8 on 16 lanes, 2^n through scalef. */
__attribute__((target("avx512f"))) static inline __m512 exp16(__m512 x)
{
    x = _mm512_min_ps(_mm512_set1_ps(88.0f), _mm512_max_ps(_mm512_set1_ps(-87.0f), x));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* sigmoid8 on 16 lanes: the 14-bit reciprocal estimate and one Newton
 * step. */
__attribute__((target("avx512f"))) static inline __m512 sigmoid16(__m512 x)
{
    __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f), exp16(_mm512_sub_ps(_mm512_setzero_ps(), x)));
    __m512 y = _mm512_rcp14_ps(d);
    return _mm512_mul_ps(y, _mm512_fnmadd_ps(d, y, _mm512_set1_ps(2.0f)));
}

/* sigmoid_avx2 on AVX-512: four chains of 16; half the instructions of
 * the 8-lane code (a quarter of EfficientNet's time was its SiLUs). */
__attribute__((target("avx512f"))) static size_t sigmoid_avx512(float *out, size_t n, bool times_x)
{
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 x0 = _mm512_loadu_ps(out + i), x1 = _mm512_loadu_ps(out + i + 16);
        __m512 x2 = _mm512_loadu_ps(out + i + 32), x3 = _mm512_loadu_ps(out + i + 48);
        __m512 s0 = sigmoid16(x0), s1 = sigmoid16(x1), s2 = sigmoid16(x2), s3 = sigmoid16(x3);
        _mm512_storeu_ps(out + i, times_x ? _mm512_mul_ps(x0, s0) : s0);
        _mm512_storeu_ps(out + i + 16, times_x ? _mm512_mul_ps(x1, s1) : s1);
        _mm512_storeu_ps(out + i + 32, times_x ? _mm512_mul_ps(x2, s2) : s2);
        _mm512_storeu_ps(out + i + 48, times_x ? _mm512_mul_ps(x3, s3) : s3);
    }
    for (; i + 16 <= n; i += 16) {
        __m512 x = _mm512_loadu_ps(out + i), s = sigmoid16(x);
        _mm512_storeu_ps(out + i, times_x ? _mm512_mul_ps(x, s) : s);
    }
    return i;
}

static size_t sigmoid_fast(int isa, float *out, size_t n, bool times_x)
{
    if (isa >= KEEL_ISA_AVX512)
        return sigmoid_avx512(out, n, times_x);
    if (isa >= KEEL_ISA_AVX2)
        return sigmoid_avx2(out, n, times_x);
    return 0;
}
#else
static size_t sigmoid_fast(int isa, float *out, size_t n, bool times_x)
{
    (void)isa, (void)out, (void)n, (void)times_x;
    return 0;
}
#endif

KL_HOT void kl_epilogue_bias_apply(const kl_epilogue *e, float bias, float *restrict out, size_t offset, size_t n)
{
    const float a = e->alpha, b = e->beta;
    if (e->act == KL_ACT_NONE || e->act == KL_ACT_RELU || e->act == KL_ACT_CLIP) {
        /* the common cases in one pass: clamp(out + bias + residual, lo, hi) */
        const float lo = e->act == KL_ACT_RELU ? 0.0f : e->act == KL_ACT_CLIP ? a : -INFINITY;
        const float hi = e->act == KL_ACT_CLIP ? b : INFINITY;
        if (e->residual) {
            const float *restrict r = (const float *)e->residual->data + offset;
            for (size_t i = 0; i < n; i++) {
                float v = out[i] + r[i] + bias;
                out[i] = v < lo ? lo : v > hi ? hi : v;
            }
        } else if (e->act != KL_ACT_NONE || bias != 0.0f)
            for (size_t i = 0; i < n; i++) {
                float v = out[i] + bias;
                out[i] = v < lo ? lo : v > hi ? hi : v;
            }
        return;
    }
    if (e->residual) {
        const float *restrict r = (const float *)e->residual->data + offset;
        for (size_t i = 0; i < n; i++)
            out[i] += r[i] + bias;
    } else if (bias != 0.0f)
        for (size_t i = 0; i < n; i++)
            out[i] += bias;
    switch (e->act) {
    case KL_ACT_NONE:
    case KL_ACT_RELU:
    case KL_ACT_CLIP:
        break; /* done above */
    case KL_ACT_LEAKYRELU:
        for (size_t i = 0; i < n; i++)
            out[i] = out[i] < 0 ? a * out[i] : out[i];
        break;
    case KL_ACT_SIGMOID:
        for (size_t i = sigmoid_fast(e->isa, out, n, false); i < n; i++)
            out[i] = kl_sigmoidf(out[i]);
        break;
    case KL_ACT_HARDSIGMOID:
        for (size_t i = 0; i < n; i++) {
            float v = a * out[i] + b;
            out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
        break;
    case KL_ACT_HARDSWISH:
        for (size_t i = 0; i < n; i++) {
            float g = out[i] / 6.0f + 0.5f;
            out[i] *= g < 0 ? 0 : g > 1 ? 1 : g;
        }
        break;
    case KL_ACT_SILU:
        for (size_t i = sigmoid_fast(e->isa, out, n, true); i < n; i++)
            out[i] *= kl_sigmoidf(out[i]);
        break;
    }
}

void kl_epilogue_apply(const kl_epilogue *e, float *out, size_t offset, size_t n)
{
    kl_epilogue_bias_apply(e, 0.0f, out, offset, n);
}
