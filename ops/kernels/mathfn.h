/* ops/kernels/mathfn.h -- elementary functions written so that gcc vectorizes the
 * loops calling them (libm's expf is a call per element). */
#ifndef KL_MATHFN_H
#define KL_MATHFN_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* exp(x) for float: range reduction x = n*ln2 + r, |r| <= ln2/2, then a
 * degree-6 polynomial for exp(r) and 2^n put into the exponent bits.
 * Relative error about 2e-7 over the clamped range; exp(-88) ~ 6e-39 and
 * exp(88) ~ 1.6e38 at the ends, so sigmoid-style uses saturate cleanly. */
static inline float kl_expf(float x)
{
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    const float shifter = 12582912.0f;            /* 1.5 * 2^23: rounds to an integer */
    float t = x * 1.44269504088896341f + shifter;
    float n = t - shifter;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f; /* ln2 split in two for precision */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    /* Unsigned so that a NaN input (whose bits make no sense here) wraps
     * instead of shifting a negative int; p is NaN then and so is the result. */
    uint32_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits - 0x4B400000u + 127u) << 23;     /* the integer n, as 2^n */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}


/* 1 / (1 + exp(-x)) as e / (1 + e) below 0 and 1 / (1 + e) above, with
 * e = expf(-|x|) in (0, 1]: 1 + e never overflows, so tiny results keep
 * their precision (1 / (1 + expf(-x)) is 0 from -88.7 down). */
static inline float kl_sigmoidf(float x)
{
    const float e = expf(-fabsf(x));
    return (x < 0 ? e : 1.0f) / (1.0f + e);
}

/* GELU's constants: 1 / sqrt(2) in the erf form; sqrt(2 / pi) and the
 * cube's coefficient in the tanh form. */
#define KL_GELU_RSQRT2 0.70710678118654752f
#define KL_GELU_TANH_C 0.79788456080286536f
#define KL_GELU_TANH_K 0.044715f

/* GELU's two forms as the exports spell them, in float with the C
 * library's erff and tanhf: the generic table's, and the reference of
 * the x86 kernels' bounds (KL_ULP_GELU).  Both give NaN at -Inf (-Inf
 * times 0), as the spelled-out graphs do. */
static inline float kl_gelu_erff(float x)
{
    return 0.5f * x * (1.0f + erff(x * KL_GELU_RSQRT2));
}

static inline float kl_gelu_tanhf(float x)
{
    return 0.5f * x * (1.0f + tanhf(KL_GELU_TANH_C * (x + KL_GELU_TANH_K * (x * x * x))));
}

/* The largest of n floats (-inf for none; NaN never wins): elementwise
 * maxima into 32 lanes, which vectorizes (a reduction into one
 * value does not: `a > b ? a : b` is not a max the compiler may reorder). */
static inline float kl_max_f32(const float *restrict x, int64_t n)
{
    float lane[32];
    for (int j = 0; j < 32; j++)
        lane[j] = -INFINITY;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int j = 0; j < 32; j++)
            lane[j] = x[i + j] > lane[j] ? x[i + j] : lane[j];
    float m = -INFINITY;
    for (; i < n; i++)
        m = x[i] > m ? x[i] : m;
    for (int j = 0; j < 32; j++)
        m = lane[j] > m ? lane[j] : m;
    return m;
}

/* ---- bounds of the vector kernels ------------------------------------------------ */

/* The largest distance, in units in the last place, of the x86 kernels
 * (ops/kernels/x86/vmath.h) from the C library (glibc 2.36) over all 2^32
 * floats: exp from expf, erf from erff, tanh from tanhf, sigmoid from the
 * double 1 / (1 + exp(-x)) rounded to float (kl_sigmoidf is within it
 * too).  Pow (over 2^24 bases for 27 exponents): KL_POW_ANY from powf,
 * x^4 as (x * x) * (x * x) from powf; 2, 3, -1 and 0.5 are x * x,
 * x * x * x, 1 / x and sqrtf exactly.  The generic table's exp, erf,
 * tanh and pow are the C library's.  tests/test_vecmath.c asserts them. */
#define KL_ULP_EXP 1
#define KL_ULP_ERF 2
#define KL_ULP_TANH 2
#define KL_ULP_SIGMOID 2
/* The x86 sigmoids, whose exponential is kept short for SiLU, are 0 below
 * KL_SIGMOID_ZERO_BELOW, where the true result is under KL_SIGMOID_TAIL
 * (the float formula 1 / (1 + expf(-x)) is 0 from -88.7). */
#define KL_SIGMOID_ZERO_BELOW -87.0f
/* The AVX2 sigmoid refines its 12-bit reciprocal once (AVX-512's 14-bit
 * one needs no more for KL_ULP_SIGMOID). */
#define KL_ULP_SIGMOID_AVX2 3
#define KL_SIGMOID_TAIL 1.7e-38
#define KL_ULP_POW 1
#define KL_ULP_POW_4 2
/* The x86 GELUs (kl_gelu8, kl_gelu_tanh8 and their 16-lane twins) from
 * kl_gelu_erff and kl_gelu_tanhf over all 2^32 floats: within KL_ULP_GELU
 * ulps of the formula's result plus KL_GELU_ABS_ERF (KL_GELU_ABS_TANH)
 * times |x|.  The absolute part is erf's or tanh's own error near -1,
 * which 1 + erf keeps and x / 2 scales: where the result is tiny (x
 * below -3) no ulp bound holds, for the formula in float neither.  NaN
 * and the infinities as the formula (NaN at -Inf); a zero may have the
 * other sign. */
#define KL_ULP_GELU 2
#define KL_GELU_ABS_ERF 0x1p-24
#define KL_GELU_ABS_TANH 0x1p-23

/* ---- the constants of the vector tanh, erf and pow (ops/kernels/x86/vmath.h) ---- */

/* tanh(t) = t + t^3 Q(t^2) for t < KL_TANH_SMALL (least squares on
 * Chebyshev nodes, relative weight, coefficients rounded one by one) */
#define KL_TANH_SMALL 0.625f
#define KL_TANH_Q0 -0.3333333134651184f
#define KL_TANH_Q1 0.13333222270011902f
#define KL_TANH_Q2 -0.053948450833559036f
#define KL_TANH_Q3 0.02170863002538681f
#define KL_TANH_Q4 -0.008194678463041782f
#define KL_TANH_Q5 0.0021571842953562737f

/* erf(t) = t + t P(t^2) for t < KL_ERF_SMALL; above, log(erfc(t)) =
 * R(t - KL_ERF_MID) on [KL_ERF_SMALL, 4] (fitted the same way) */
#define KL_ERF_SMALL 0.921875f
#define KL_ERF_P0 0.12837916612625122f
#define KL_ERF_P1 -0.37612542510032654f
#define KL_ERF_P2 0.11282166838645935f
#define KL_ERF_P3 -0.026776479557156563f
#define KL_ERF_P4 0.005005103535950184f
#define KL_ERF_P5 -0.0006042787572368979f
#define KL_ERF_MID 2.5f
#define KL_ERF_R0 -7.806815147399902f
#define KL_ERF_R1 -5.352680206298828f
#define KL_ERF_R2 -0.9438940286636353f
#define KL_ERF_R3 -0.010863136500120163f
#define KL_ERF_R4 0.0021560608875006437f
#define KL_ERF_R5 -0.0004248121986165643f
#define KL_ERF_R6 8.489654283039272e-05f
#define KL_ERF_R7 -9.4694706831433e-07f
#define KL_ERF_R8 8.312252248288132e-06f
#define KL_ERF_R9 1.2851928659074474e-06f

/* log2(m) = s P(s^2), s = (m - 1) / (m + 1): P's coefficients 2 / (ln2
 * (2k + 1)), highest first (in double; |s| <= 0.172, truncation 1e-15) */
#define KL_LOG2_TERMS 9
static const double KL_LOG2_C[KL_LOG2_TERMS] = {
    0.16972882833987804, 0.19235933878519512, 0.2219530832136867, 0.2623081892525388, 0.3205988979753252,
    0.41219858311113244, 0.5770780163555853,  0.9617966939259757, 2.8853900817779268};
/* 2^f for |f| <= 1/2: Taylor's ln2^k / k!, highest first (truncation 3e-13) */
#define KL_EXP2_TERMS 11
static const double KL_EXP2_C[KL_EXP2_TERMS] = {
    7.054911620801121e-09,  1.0178086009239696e-07, 1.3215486790144305e-06, 1.5252733804059838e-05,
    0.00015403530393381606, 0.0013333558146428441,  0.009618129107628477,   0.055504108664821576,
    0.2402265069591007,     0.6931471805599453,     1.0};

/* ---- Pow with one exponent for every element ---------------------------------- */

/* The exponents computed without a logarithm: x * x for 2, x * x * x for 3,
 * (x * x) * (x * x) for 4, 1 / x for -1, sqrtf for 0.5 and 1 / that for
 * -0.5 (with pow's +0 for -0 and +Inf for -Inf); KL_POW_ANY: other finite
 * exponents, KL_POW_NONFINITE: NaN and the infinities (left to powf). */
typedef enum kl_pow_kind {
    KL_POW_ANY, KL_POW_0, KL_POW_1, KL_POW_2, KL_POW_3, KL_POW_4, KL_POW_MINUS_1, KL_POW_HALF,
    KL_POW_MINUS_HALF, KL_POW_NONFINITE
} kl_pow_kind;

/* An exponent y and what a kernel needs to know of it. */
typedef struct kl_pow_exp {
    double y;
    kl_pow_kind kind;
    bool integer, odd; /* y is an integer; an odd one */
} kl_pow_exp;

static inline kl_pow_exp kl_pow_exp_of(float y)
{
    kl_pow_exp p = {y, KL_POW_ANY, false, false};
    if (!isfinite(y)) {
        p.kind = KL_POW_NONFINITE;
        return p;
    }
    p.integer = floorf(y) == y;
    p.odd = p.integer && fabsf(y) < 0x1p24f && (int32_t)y % 2 != 0;
    static const struct {
        float y;
        kl_pow_kind kind;
    } exact[] = {{0.0f, KL_POW_0},      {1.0f, KL_POW_1},    {2.0f, KL_POW_2},       {3.0f, KL_POW_3},
                 {4.0f, KL_POW_4},      {-1.0f, KL_POW_MINUS_1}, {0.5f, KL_POW_HALF}, {-0.5f, KL_POW_MINUS_HALF}};
    for (size_t k = 0; k < sizeof exact / sizeof exact[0]; k++)
        if (y == exact[k].y)
            p.kind = exact[k].kind;
    return p;
}

/* pow(x, 0.5) */
static inline float kl_pow_halff(float x)
{
    return x == -INFINITY ? INFINITY : sqrtf(x) + 0.0f;
}

/* x^y for one of the kinds above, powf for the others. */
static inline float kl_powf(float x, const kl_pow_exp *p)
{
    switch (p->kind) {
    case KL_POW_0: return 1.0f;
    case KL_POW_1: return x;
    case KL_POW_2: return x * x;
    case KL_POW_3: return x * x * x;
    case KL_POW_4: return (x * x) * (x * x);
    case KL_POW_MINUS_1: return 1.0f / x;
    case KL_POW_HALF: return kl_pow_halff(x);
    case KL_POW_MINUS_HALF: return 1.0f / kl_pow_halff(x);
    default: return powf(x, (float)p->y);
    }
}

#endif
