/* vmath.h -- vector math for the x86 kernels: kl_expf and kl_sigmoidf
 * (ops/kernels/mathfn.h) on 8 lanes (AVX2 + FMA) and 16 lanes (AVX-512F),
 * one copy each for every kernel that needs them. */
#ifndef KL_X86_VMATH_H
#define KL_X86_VMATH_H

#include <immintrin.h>

#define KL_AVX2 __attribute__((target("avx2,fma")))
#define KL_AVX512 __attribute__((target("avx512f")))

/* kl_expf's steps on 8 lanes.  max/min take the constant first so that a
 * NaN lane stays NaN. */
KL_AVX2 static inline __m256 kl_exp8(__m256 x)
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
KL_AVX2 static inline __m256 kl_sigmoid8(__m256 x)
{
    __m256 d = _mm256_add_ps(_mm256_set1_ps(1.0f), kl_exp8(_mm256_sub_ps(_mm256_setzero_ps(), x)));
    __m256 y = _mm256_rcp_ps(d);
    return _mm256_mul_ps(y, _mm256_fnmadd_ps(d, y, _mm256_set1_ps(2.0f)));
}

/* kl_exp8 on 16 lanes, 2^n through scalef. */
KL_AVX512 static inline __m512 kl_exp16(__m512 x)
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

/* kl_sigmoid8 on 16 lanes: the 14-bit reciprocal estimate and one Newton
 * step. */
KL_AVX512 static inline __m512 kl_sigmoid16(__m512 x)
{
    __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f), kl_exp16(_mm512_sub_ps(_mm512_setzero_ps(), x)));
    __m512 y = _mm512_rcp14_ps(d);
    return _mm512_mul_ps(y, _mm512_fnmadd_ps(d, y, _mm512_set1_ps(2.0f)));
}

#endif
