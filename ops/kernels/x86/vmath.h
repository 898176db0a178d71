/* vmath.h -- vector math for the x86 kernels, on 8 lanes (AVX2 + FMA) and
 * 16 lanes (AVX-512F), one copy each for every kernel that needs them:
 * exp, sigmoid, tanh, erf, pow and GELU of float32, and the loop that
 * maps one of them over an array (KL_MAP8, KL_MAP16).
 *
 * Bounds against the C library (glibc 2.36's expf, tanhf, erff, powf;
 * sigmoid against 1 / (1 + expf(-x))), measured by tests/test_vecmath.c
 * over every float (pow: over a dense sweep of bases for a set of
 * exponents), the same on both widths since the two compute the same
 * operations: see KL_ULP_* in ops/kernels/mathfn.h.  NaN gives NaN, and
 * the infinities give the limits (exp: +Inf and 0, sigmoid 1 and 0, tanh
 * and erf +-1). */
#ifndef KL_X86_VMATH_H
#define KL_X86_VMATH_H

#include <immintrin.h>
#include <string.h>

#include "../mathfn.h"

#define KL_AVX2 __attribute__((target("avx2,fma")))
#define KL_AVX512 __attribute__((target("avx512f")))

/* The lanes j < n of 16 (none for n <= 0, all for n >= 16): a row's last
 * partial vector, for masked loads and stores. */
static inline __mmask16 kl_lanes16(int64_t n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* The lanes j < 16 (8) whose column c0 + j lies in [0, w): the columns of
 * a row that masked loads from column c0 may touch (c0 may be negative:
 * a padded edge). */
static inline __mmask16 kl_inside16(int64_t c0, int64_t w)
{
    const int64_t lo = c0 < 0 ? -c0 : 0, hi = w - c0 < 16 ? w - c0 : 16;
    if (hi <= lo)
        return 0;
    return (__mmask16)((((uint32_t)1 << hi) - 1) & ~(((uint32_t)1 << lo) - 1));
}

KL_AVX2 static inline __m256i kl_inside8(int64_t c0, int64_t w)
{
    const int64_t lo = c0 < 0 ? -c0 : 0, hi = w - c0 < 8 ? w - c0 : 8;
    const __m256i j = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    if (hi <= lo)
        return _mm256_setzero_si256();
    return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)lo), j),
                               _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), j));
}

/* The even columns of a then b, in order (odd: the odd ones): a stride-2
 * window's first or second taps over 32 (16) columns. */
KL_AVX512 static inline __m512 kl_pick16(__m512 a, __m512 b, int odd)
{
    const __m512i even_idx = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd_idx = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    return _mm512_permutex2var_ps(a, odd ? odd_idx : even_idx, b);
}

KL_AVX2 static inline __m256 kl_pick8(__m256 a, __m256 b, int odd)
{
    const __m256 t = odd ? _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)) : _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* v shifted down a lane, its top lane taken from lane `from` (0 or 1) of
 * c: picked columns moved on by one, the next after them from c. */
KL_AVX512 static inline __m512 kl_shift_in16(__m512 v, __m512 c, int from)
{
    const __m512i idx = _mm512_set_epi32(16 + from, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
    return _mm512_permutex2var_ps(v, idx, c);
}

KL_AVX2 static inline __m256 kl_shift_in8(__m256 v, __m256 c, int from)
{
    const __m256 down = _mm256_permutevar8x32_ps(v, _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 7));
    return _mm256_blend_ps(down, _mm256_permutevar8x32_ps(c, _mm256_set1_epi32(from)), 0x80);
}

/* y[i] = EXPR(v_) for v_ = x[i .. i + 8) (y may be x).  The last n % 8
 * go through a padded copy, so that every element takes the same path
 * wherever it sits (results do not depend on how the array was split). */
#define KL_MAP8(EXPR, y, x, n)                                           \
    do {                                                                 \
        size_t i_ = 0;                                                   \
        for (; i_ + 8 <= (n); i_ += 8) {                                 \
            __m256 v_ = _mm256_loadu_ps((x) + i_);                       \
            _mm256_storeu_ps((y) + i_, EXPR);                            \
        }                                                                \
        if (i_ < (n)) {                                                  \
            float pad_[8] = {0};                                         \
            memcpy(pad_, (x) + i_, ((n) - i_) * sizeof(float));          \
            __m256 v_ = _mm256_loadu_ps(pad_);                           \
            _mm256_storeu_ps(pad_, EXPR);                                \
            memcpy((y) + i_, pad_, ((n) - i_) * sizeof(float));          \
        }                                                                \
    } while (0)

/* KL_MAP8 on 16 lanes. */
#define KL_MAP16(EXPR, y, x, n)                                          \
    do {                                                                 \
        size_t i_ = 0;                                                   \
        for (; i_ + 16 <= (n); i_ += 16) {                               \
            __m512 v_ = _mm512_loadu_ps((x) + i_);                       \
            _mm512_storeu_ps((y) + i_, EXPR);                            \
        }                                                                \
        if (i_ < (n)) {                                                  \
            __mmask16 m_ = (__mmask16)((1u << ((n) - i_)) - 1);          \
            __m512 v_ = _mm512_maskz_loadu_ps(m_, (x) + i_);             \
            _mm512_mask_storeu_ps((y) + i_, m_, EXPR);                   \
        }                                                                \
    } while (0)

/* ---- 8 lanes ------------------------------------------------------------ */

KL_AVX2 static inline __m256 kl_abs8(__m256 x)
{
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
}

/* |y| with the sign of x */
KL_AVX2 static inline __m256 kl_signed8(__m256 y, __m256 x)
{
    return _mm256_or_ps(y, _mm256_and_ps(x, _mm256_set1_ps(-0.0f)));
}

/* exp(r) - 1 - r for |r| <= ln2 / 2: Cephes' expf polynomial. */
KL_AVX2 static inline __m256 kl_exp_poly8(__m256 r)
{
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    return _mm256_mul_ps(_mm256_mul_ps(p, r), r);
}

/* exp(r) for r = x - n ln2, n the integer nearest x / ln2: x's exponential
 * over 2^n. */
KL_AVX2 static inline __m256 kl_exp_reduced8(__m256 x, __m256 n)
{
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x); /* ln2 split in two */
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r);
    return _mm256_add_ps(_mm256_add_ps(kl_exp_poly8(r), r), _mm256_set1_ps(1.0f));
}

/* exp(x) over all floats: x = n ln2 + r, |r| <= ln2 / 2, exp(r) by a
 * polynomial, times 2^n in two steps (2^(n/2) then the rest) so that
 * results that overflow give +Inf and tiny ones round once into the
 * subnormals.  max/min take the constant first so that NaN stays NaN. */
KL_AVX2 static inline __m256 kl_exp8(__m256 x)
{
    x = _mm256_min_ps(_mm256_set1_ps(89.0f), _mm256_max_ps(_mm256_set1_ps(-104.0f), x));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 p = kl_exp_reduced8(x, n);
    __m256i ni = _mm256_cvtps_epi32(n), half = _mm256_srai_epi32(ni, 1), bias = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

/* exp(x) for x clamped to [-87, 88] (NaN stays NaN): kl_exp8's polynomial
 * with 2^n put straight into the exponent bits, always a normal float.
 * Sigmoid's exponential, kept short for SiLU. */
KL_AVX2 static inline __m256 kl_exp_clamped8(__m256 x)
{
    x = _mm256_min_ps(_mm256_set1_ps(88.0f), _mm256_max_ps(_mm256_set1_ps(-87.0f), x));
    const __m256 shifter = _mm256_set1_ps(12582912.0f); /* 1.5 * 2^23: rounds to an integer */
    __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), shifter);
    __m256 p = kl_exp_reduced8(x, _mm256_sub_ps(t, shifter));
    __m256i scale = _mm256_slli_epi32(_mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B400000 - 127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(scale));
}

/* 1 / (1 + exp(-x)): the 12-bit reciprocal estimate and one Newton step
 * (SiLU, EfficientNet's most frequent epilogue, is mostly this; a second
 * step cost EfficientNet-B0 5 %): within KL_ULP_SIGMOID_AVX2 ulps (an ulp
 * under 1 and 0.5 at +Inf and 0), and 0 below KL_SIGMOID_ZERO_BELOW
 * (where the true result is under KL_SIGMOID_TAIL, and 1 / (1 + expf(-x))
 * is 0 from -88.7). */
KL_AVX2 static inline __m256 kl_sigmoid8(__m256 x)
{
    __m256 d = _mm256_add_ps(_mm256_set1_ps(1.0f), kl_exp_clamped8(_mm256_sub_ps(_mm256_setzero_ps(), x)));
    __m256 y = _mm256_rcp_ps(d);
    y = _mm256_fmadd_ps(y, _mm256_fnmadd_ps(d, y, _mm256_set1_ps(1.0f)), y);
    __m256 keep = _mm256_cmp_ps(x, _mm256_set1_ps(KL_SIGMOID_ZERO_BELOW), _CMP_NLT_UQ); /* NaN kept */
    return _mm256_and_ps(y, keep);
}

/* tanh: t + t^3 Q(t^2) below KL_TANH_SMALL, 1 - 2 / (exp(2t) + 1) above
 * (exp(2t) = +Inf gives 1), with x's sign. */
KL_AVX2 static inline __m256 kl_tanh8(__m256 x)
{
    __m256 t = kl_abs8(x), u = _mm256_mul_ps(t, t);
    __m256 q = _mm256_set1_ps(KL_TANH_Q5);
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(KL_TANH_Q4));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(KL_TANH_Q3));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(KL_TANH_Q2));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(KL_TANH_Q1));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(KL_TANH_Q0));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(t, u), q, t);
    __m256 e1 = _mm256_add_ps(kl_exp8(_mm256_add_ps(t, t)), _mm256_set1_ps(1.0f));
    __m256 large = _mm256_sub_ps(_mm256_set1_ps(1.0f), _mm256_div_ps(_mm256_set1_ps(2.0f), e1));
    __m256 is_small = _mm256_cmp_ps(t, _mm256_set1_ps(KL_TANH_SMALL), _CMP_LT_OQ);
    return kl_signed8(_mm256_blendv_ps(large, small, is_small), x);
}

/* erf: t + t P(t^2) below KL_ERF_SMALL, 1 - exp(R(t)) above, R fitting
 * log(erfc(t)) on [KL_ERF_SMALL, 4] (erf is 1 in float beyond 3.92). */
KL_AVX2 static inline __m256 kl_erf8(__m256 x)
{
    __m256 t = kl_abs8(x), s = _mm256_mul_ps(t, t);
    __m256 p = _mm256_set1_ps(KL_ERF_P5);
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(KL_ERF_P4));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(KL_ERF_P3));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(KL_ERF_P2));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(KL_ERF_P1));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(KL_ERF_P0));
    __m256 small = _mm256_fmadd_ps(p, t, t);
    __m256 w = _mm256_sub_ps(_mm256_min_ps(_mm256_set1_ps(4.0f), t), _mm256_set1_ps(KL_ERF_MID));
    __m256 r = _mm256_set1_ps(KL_ERF_R9);
    r = _mm256_fmadd_ps(r, w, _mm256_set1_ps(KL_ERF_R8));
    r = _mm256_fmadd_ps(r, w, _mm256_set1_ps(KL_ERF_R7));
    r = _mm256_fmadd_ps(r, w, _mm256_set1_ps(KL_ERF_R6));
    r = _mm256_fmadd_ps(r, w, _mm256_set1_ps(KL_ERF_R5));
    r = _mm256_fmadd_ps(r, w, _mm256_set1_ps(KL_ERF_R4));
    r = _mm256_fmadd_ps(r, w, _mm256_set1_ps(KL_ERF_R3));
    r = _mm256_fmadd_ps(r, w, _mm256_set1_ps(KL_ERF_R2));
    r = _mm256_fmadd_ps(r, w, _mm256_set1_ps(KL_ERF_R1));
    r = _mm256_fmadd_ps(r, w, _mm256_set1_ps(KL_ERF_R0));
    __m256 large = _mm256_sub_ps(_mm256_set1_ps(1.0f), kl_exp8(r));
    __m256 is_small = _mm256_cmp_ps(t, _mm256_set1_ps(KL_ERF_SMALL), _CMP_LT_OQ);
    return kl_signed8(_mm256_blendv_ps(large, small, is_small), x);
}

/* GELU's erf form, (x / 2) (1 + erf(x / sqrt(2))) with one rounding
 * after erf (h + h erf by an FMA); within KL_ULP_GELU of kl_gelu_erff. */
KL_AVX2 static inline __m256 kl_gelu8(__m256 x)
{
    __m256 h = _mm256_mul_ps(x, _mm256_set1_ps(0.5f));
    return _mm256_fmadd_ps(h, kl_erf8(_mm256_mul_ps(x, _mm256_set1_ps(KL_GELU_RSQRT2))), h);
}

/* GELU's tanh form, (x / 2) (1 + tanh(c (x + k x^3))); within
 * KL_ULP_GELU of kl_gelu_tanhf. */
KL_AVX2 static inline __m256 kl_gelu_tanh8(__m256 x)
{
    __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    __m256 u = _mm256_fmadd_ps(_mm256_set1_ps(KL_GELU_TANH_K), x3, x);
    __m256 h = _mm256_mul_ps(x, _mm256_set1_ps(0.5f));
    return _mm256_fmadd_ps(h, kl_tanh8(_mm256_mul_ps(_mm256_set1_ps(KL_GELU_TANH_C), u)), h);
}

/* log2(m) + e for doubles m in [sqrt(1/2), sqrt(2)]: 2 atanh(s) / ln 2
 * with s = (m - 1) / (m + 1), |s| <= 0.172, by its series (relative error
 * below 1e-14). */
KL_AVX2 static inline __m256d kl_log2_4d(__m256d m, __m256d e)
{
    __m256d one = _mm256_set1_pd(1.0);
    __m256d s = _mm256_div_pd(_mm256_sub_pd(m, one), _mm256_add_pd(m, one)), s2 = _mm256_mul_pd(s, s);
    __m256d p = _mm256_set1_pd(KL_LOG2_C[0]);
    for (int k = 1; k < KL_LOG2_TERMS; k++)
        p = _mm256_fmadd_pd(p, s2, _mm256_set1_pd(KL_LOG2_C[k]));
    return _mm256_fmadd_pd(p, s, e);
}

/* 2^t as float for doubles t: 2^(t - n) by its Taylor polynomial, times
 * 2^n, rounded once to float (overflow: +Inf, underflow: subnormal or 0). */
KL_AVX2 static inline __m128 kl_exp2_4d(__m256d t)
{
    t = _mm256_min_pd(_mm256_set1_pd(130.0), _mm256_max_pd(_mm256_set1_pd(-160.0), t));
    __m256d n = _mm256_round_pd(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), f = _mm256_sub_pd(t, n);
    __m256d p = _mm256_set1_pd(KL_EXP2_C[0]);
    for (int k = 1; k < KL_EXP2_TERMS; k++)
        p = _mm256_fmadd_pd(p, f, _mm256_set1_pd(KL_EXP2_C[k]));
    __m256i bits = _mm256_cvtepi32_epi64(_mm_add_epi32(_mm256_cvtpd_epi32(n), _mm_set1_epi32(1023)));
    return _mm256_cvtpd_ps(_mm256_mul_pd(p, _mm256_castsi256_pd(_mm256_slli_epi64(bits, 52))));
}

/* |x|^y for finite y other than the cases of kl_pow_kind: x = m 2^e with
 * m in [sqrt(1/2), sqrt(2)] (subnormals scaled by 2^23 first), then
 * 2^(y log2 |x|) in double, so the one rounding to float dominates. */
KL_AVX2 static inline __m256 kl_pow_abs8(__m256 a, double y)
{
    __m256 tiny = _mm256_cmp_ps(a, _mm256_set1_ps(0x1p-126f), _CMP_LT_OQ);
    a = _mm256_blendv_ps(a, _mm256_mul_ps(a, _mm256_set1_ps(0x1p23f)), tiny);
    __m256i bits = _mm256_castps_si256(a);
    __m256i e = _mm256_sub_epi32(_mm256_srli_epi32(bits, 23),
                                 _mm256_add_epi32(_mm256_set1_epi32(127), _mm256_and_si256(_mm256_castps_si256(tiny),
                                                                                          _mm256_set1_epi32(23))));
    __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x7fffff)),
                                                   _mm256_set1_epi32(0x3f800000)));
    __m256 big = _mm256_cmp_ps(m, _mm256_set1_ps(1.41421356f), _CMP_GT_OQ);
    m = _mm256_blendv_ps(m, _mm256_mul_ps(m, _mm256_set1_ps(0.5f)), big);
    e = _mm256_sub_epi32(e, _mm256_castps_si256(big)); /* the mask is -1 */
    __m256d yd = _mm256_set1_pd(y);
    __m256d t0 = _mm256_mul_pd(yd, kl_log2_4d(_mm256_cvtps_pd(_mm256_castps256_ps128(m)),
                                              _mm256_cvtepi32_pd(_mm256_castsi256_si128(e))));
    __m256d t1 = _mm256_mul_pd(yd, kl_log2_4d(_mm256_cvtps_pd(_mm256_extractf128_ps(m, 1)),
                                              _mm256_cvtepi32_pd(_mm256_extracti128_si256(e, 1))));
    return _mm256_set_m128(kl_exp2_4d(t1), kl_exp2_4d(t0));
}

/* x^y as C's powf for the kl_pow_exp p (finite y): zeros and infinities
 * of x by the table of C99 F.9.4.4, NaN x gives NaN, a negative x gives
 * NaN unless y is an integer, and -|x|^y for odd y. */
KL_AVX2 static inline __m256 kl_pow_any8(__m256 x, const kl_pow_exp *p)
{
    __m256 a = kl_abs8(x), r = kl_pow_abs8(a, p->y);
    __m256 zero = _mm256_setzero_ps(), inf = _mm256_set1_ps(INFINITY);
    r = _mm256_blendv_ps(r, p->y < 0 ? inf : zero, _mm256_cmp_ps(a, zero, _CMP_EQ_OQ));
    r = _mm256_blendv_ps(r, p->y < 0 ? zero : inf, _mm256_cmp_ps(a, inf, _CMP_EQ_OQ));
    if (p->odd)
        r = kl_signed8(r, x);
    else if (!p->integer) /* a finite negative base */
        r = _mm256_blendv_ps(r, _mm256_set1_ps(NAN),
                             _mm256_and_ps(_mm256_cmp_ps(x, zero, _CMP_LT_OQ), _mm256_cmp_ps(a, inf, _CMP_NEQ_UQ)));
    return _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

/* sqrt(x) as pow(x, 0.5): +0 for -0, +Inf for -Inf */
KL_AVX2 static inline __m256 kl_pow_half8(__m256 x)
{
    __m256 r = _mm256_add_ps(_mm256_sqrt_ps(x), _mm256_setzero_ps());
    return _mm256_blendv_ps(r, _mm256_set1_ps(INFINITY), _mm256_cmp_ps(x, _mm256_set1_ps(-INFINITY), _CMP_EQ_OQ));
}

/* x^y for the kl_pow_exp p whose y is finite. */
KL_AVX2 static inline __m256 kl_pow8(__m256 x, const kl_pow_exp *p)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    switch (p->kind) {
    case KL_POW_0: return one;
    case KL_POW_1: return x;
    case KL_POW_2: return _mm256_mul_ps(x, x);
    case KL_POW_3: return _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    case KL_POW_4: return _mm256_mul_ps(_mm256_mul_ps(x, x), _mm256_mul_ps(x, x));
    case KL_POW_MINUS_1: return _mm256_div_ps(one, x);
    case KL_POW_HALF: return kl_pow_half8(x);
    case KL_POW_MINUS_HALF: return _mm256_div_ps(one, kl_pow_half8(x));
    default: return kl_pow_any8(x, p);
    }
}

/* ---- 16 lanes: the same operations ---------------------------------------- */

KL_AVX512 static inline __m512 kl_abs16(__m512 x)
{
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fffffff)));
}

KL_AVX512 static inline __m512 kl_signed16(__m512 y, __m512 x)
{
    return _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_castps_si512(y), _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u))));
}

KL_AVX512 static inline __m512 kl_exp_poly16(__m512 r)
{
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    return _mm512_mul_ps(_mm512_mul_ps(p, r), r);
}

/* exp(x) for x in [lo, hi] (clamped; NaN stays NaN), 2^n through scalef. */
KL_AVX512 static inline __m512 kl_exp_within16(__m512 x, float lo, float hi)
{
    x = _mm512_min_ps(_mm512_set1_ps(hi), _mm512_max_ps(_mm512_set1_ps(lo), x));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_add_ps(_mm512_add_ps(kl_exp_poly16(r), r), _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* kl_exp8 on 16 lanes (one rounding, as there). */
KL_AVX512 static inline __m512 kl_exp16(__m512 x)
{
    return kl_exp_within16(x, -104.0f, 89.0f);
}

/* kl_sigmoid8 on 16 lanes: the 14-bit reciprocal estimate needs one
 * Newton step; the exponential of kl_exp_clamped8's range. */
KL_AVX512 static inline __m512 kl_sigmoid16(__m512 x)
{
    __m512 e = kl_exp_within16(_mm512_sub_ps(_mm512_setzero_ps(), x), -87.0f, 88.0f);
    __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f), e);
    __m512 y = _mm512_rcp14_ps(d);
    y = _mm512_fmadd_ps(y, _mm512_fnmadd_ps(d, y, _mm512_set1_ps(1.0f)), y);
    __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(KL_SIGMOID_ZERO_BELOW), _CMP_NLT_UQ); /* NaN kept */
    return _mm512_maskz_mov_ps(keep, y);
}

KL_AVX512 static inline __m512 kl_tanh16(__m512 x)
{
    __m512 t = kl_abs16(x), u = _mm512_mul_ps(t, t);
    __m512 q = _mm512_set1_ps(KL_TANH_Q5);
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(KL_TANH_Q4));
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(KL_TANH_Q3));
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(KL_TANH_Q2));
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(KL_TANH_Q1));
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(KL_TANH_Q0));
    __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(t, u), q, t);
    __m512 e1 = _mm512_add_ps(kl_exp16(_mm512_add_ps(t, t)), _mm512_set1_ps(1.0f));
    __m512 large = _mm512_sub_ps(_mm512_set1_ps(1.0f), _mm512_div_ps(_mm512_set1_ps(2.0f), e1));
    __mmask16 is_small = _mm512_cmp_ps_mask(t, _mm512_set1_ps(KL_TANH_SMALL), _CMP_LT_OQ);
    return kl_signed16(_mm512_mask_blend_ps(is_small, large, small), x);
}

KL_AVX512 static inline __m512 kl_erf16(__m512 x)
{
    __m512 t = kl_abs16(x), s = _mm512_mul_ps(t, t);
    __m512 p = _mm512_set1_ps(KL_ERF_P5);
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(KL_ERF_P4));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(KL_ERF_P3));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(KL_ERF_P2));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(KL_ERF_P1));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(KL_ERF_P0));
    __m512 small = _mm512_fmadd_ps(p, t, t);
    __m512 w = _mm512_sub_ps(_mm512_min_ps(_mm512_set1_ps(4.0f), t), _mm512_set1_ps(KL_ERF_MID));
    __m512 r = _mm512_set1_ps(KL_ERF_R9);
    r = _mm512_fmadd_ps(r, w, _mm512_set1_ps(KL_ERF_R8));
    r = _mm512_fmadd_ps(r, w, _mm512_set1_ps(KL_ERF_R7));
    r = _mm512_fmadd_ps(r, w, _mm512_set1_ps(KL_ERF_R6));
    r = _mm512_fmadd_ps(r, w, _mm512_set1_ps(KL_ERF_R5));
    r = _mm512_fmadd_ps(r, w, _mm512_set1_ps(KL_ERF_R4));
    r = _mm512_fmadd_ps(r, w, _mm512_set1_ps(KL_ERF_R3));
    r = _mm512_fmadd_ps(r, w, _mm512_set1_ps(KL_ERF_R2));
    r = _mm512_fmadd_ps(r, w, _mm512_set1_ps(KL_ERF_R1));
    r = _mm512_fmadd_ps(r, w, _mm512_set1_ps(KL_ERF_R0));
    __m512 large = _mm512_sub_ps(_mm512_set1_ps(1.0f), kl_exp16(r));
    __mmask16 is_small = _mm512_cmp_ps_mask(t, _mm512_set1_ps(KL_ERF_SMALL), _CMP_LT_OQ);
    return kl_signed16(_mm512_mask_blend_ps(is_small, large, small), x);
}

KL_AVX512 static inline __m512 kl_gelu16(__m512 x)
{
    __m512 h = _mm512_mul_ps(x, _mm512_set1_ps(0.5f));
    return _mm512_fmadd_ps(h, kl_erf16(_mm512_mul_ps(x, _mm512_set1_ps(KL_GELU_RSQRT2))), h);
}

KL_AVX512 static inline __m512 kl_gelu_tanh16(__m512 x)
{
    __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
    __m512 u = _mm512_fmadd_ps(_mm512_set1_ps(KL_GELU_TANH_K), x3, x);
    __m512 h = _mm512_mul_ps(x, _mm512_set1_ps(0.5f));
    return _mm512_fmadd_ps(h, kl_tanh16(_mm512_mul_ps(_mm512_set1_ps(KL_GELU_TANH_C), u)), h);
}

KL_AVX512 static inline __m512d kl_log2_8d(__m512d m, __m512d e)
{
    __m512d one = _mm512_set1_pd(1.0);
    __m512d s = _mm512_div_pd(_mm512_sub_pd(m, one), _mm512_add_pd(m, one)), s2 = _mm512_mul_pd(s, s);
    __m512d p = _mm512_set1_pd(KL_LOG2_C[0]);
    for (int k = 1; k < KL_LOG2_TERMS; k++)
        p = _mm512_fmadd_pd(p, s2, _mm512_set1_pd(KL_LOG2_C[k]));
    return _mm512_fmadd_pd(p, s, e);
}

KL_AVX512 static inline __m256 kl_exp2_8d(__m512d t)
{
    t = _mm512_min_pd(_mm512_set1_pd(130.0), _mm512_max_pd(_mm512_set1_pd(-160.0), t));
    __m512d n = _mm512_roundscale_pd(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), f = _mm512_sub_pd(t, n);
    __m512d p = _mm512_set1_pd(KL_EXP2_C[0]);
    for (int k = 1; k < KL_EXP2_TERMS; k++)
        p = _mm512_fmadd_pd(p, f, _mm512_set1_pd(KL_EXP2_C[k]));
    return _mm512_cvtpd_ps(_mm512_scalef_pd(p, n));
}

KL_AVX512 static inline __m512 kl_pow_abs16(__m512 a, double y)
{
    __mmask16 tiny = _mm512_cmp_ps_mask(a, _mm512_set1_ps(0x1p-126f), _CMP_LT_OQ);
    a = _mm512_mask_mul_ps(a, tiny, a, _mm512_set1_ps(0x1p23f));
    __m512i bits = _mm512_castps_si512(a);
    __m512i e = _mm512_sub_epi32(_mm512_srli_epi32(bits, 23), _mm512_set1_epi32(127));
    e = _mm512_mask_sub_epi32(e, tiny, e, _mm512_set1_epi32(23));
    __m512 m = _mm512_castsi512_ps(_mm512_or_si512(_mm512_and_si512(bits, _mm512_set1_epi32(0x7fffff)),
                                                   _mm512_set1_epi32(0x3f800000)));
    __mmask16 big = _mm512_cmp_ps_mask(m, _mm512_set1_ps(1.41421356f), _CMP_GT_OQ);
    m = _mm512_mask_mul_ps(m, big, m, _mm512_set1_ps(0.5f));
    e = _mm512_mask_add_epi32(e, big, e, _mm512_set1_epi32(1));
    __m512d yd = _mm512_set1_pd(y);
    __m512d t0 = _mm512_mul_pd(yd, kl_log2_8d(_mm512_cvtps_pd(_mm512_castps512_ps256(m)),
                                              _mm512_cvtepi32_pd(_mm512_castsi512_si256(e))));
    __m512d t1 = _mm512_mul_pd(
        yd, kl_log2_8d(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(m), 1))),
                       _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(e, 1))));
    __m512d lo = _mm512_castps_pd(_mm512_castps256_ps512(kl_exp2_8d(t0)));
    return _mm512_castpd_ps(_mm512_insertf64x4(lo, _mm256_castps_pd(kl_exp2_8d(t1)), 1));
}

KL_AVX512 static inline __m512 kl_pow_any16(__m512 x, const kl_pow_exp *p)
{
    __m512 a = kl_abs16(x), r = kl_pow_abs16(a, p->y);
    __m512 zero = _mm512_setzero_ps(), inf = _mm512_set1_ps(INFINITY);
    r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, zero, _CMP_EQ_OQ), r, p->y < 0 ? inf : zero);
    __mmask16 is_inf = _mm512_cmp_ps_mask(a, inf, _CMP_EQ_OQ);
    r = _mm512_mask_blend_ps(is_inf, r, p->y < 0 ? zero : inf);
    if (p->odd)
        r = kl_signed16(r, x);
    else if (!p->integer)
        r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ) & ~is_inf, r, _mm512_set1_ps(NAN));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), r, x);
}

KL_AVX512 static inline __m512 kl_pow_half16(__m512 x)
{
    __m512 r = _mm512_add_ps(_mm512_sqrt_ps(x), _mm512_setzero_ps());
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-INFINITY), _CMP_EQ_OQ), r,
                                _mm512_set1_ps(INFINITY));
}

KL_AVX512 static inline __m512 kl_pow16(__m512 x, const kl_pow_exp *p)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    switch (p->kind) {
    case KL_POW_0: return one;
    case KL_POW_1: return x;
    case KL_POW_2: return _mm512_mul_ps(x, x);
    case KL_POW_3: return _mm512_mul_ps(_mm512_mul_ps(x, x), x);
    case KL_POW_4: return _mm512_mul_ps(_mm512_mul_ps(x, x), _mm512_mul_ps(x, x));
    case KL_POW_MINUS_1: return _mm512_div_ps(one, x);
    case KL_POW_HALF: return kl_pow_half16(x);
    case KL_POW_MINUS_HALF: return _mm512_div_ps(one, kl_pow_half16(x));
    default: return kl_pow_any16(x, p);
    }
}

#endif
