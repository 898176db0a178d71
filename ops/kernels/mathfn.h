/* ops/kernels/mathfn.h -- elementary functions written so that gcc vectorizes the
 * loops calling them (libm's expf is a call per element). */
#ifndef KL_MATHFN_H
#define KL_MATHFN_H

#include <math.h>
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

static inline float kl_sigmoidf(float x)
{
    return 1.0f / (1.0f + kl_expf(-x));
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

#endif
