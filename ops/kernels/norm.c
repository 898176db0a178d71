/* norm.c -- the loops of the normalizations: a group's mean and variance
 * (ops/drivers/norm.c), LayerNormalization's rows, BatchNormalization's
 * planes and LRN's.  Portable loops that the compiler vectorizes;
 * ops/kernels/x86/norm_avx2.c builds them again for AVX2, with a
 * LayerNormalization of its own (as norm_avx512.c on 16 lanes). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "kernels.h"

/* Sum of f(x[i]) for i < n, f(v) = v - shift squared or (square = false)
 * just v: float lanes over blocks of BLOCK elements (which vectorize),
 * added up in double. */
#define BLOCK 512
static inline double lane_sum(const float *restrict x, int64_t n, float shift, bool square)
{
    double total = 0;
    for (int64_t start = 0; start < n; start += BLOCK) {
        const int64_t end = start + BLOCK < n ? start + BLOCK : n;
        float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t i = start;
        for (; i + 8 <= end; i += 8)
            for (int j = 0; j < 8; j++) {
                const float d = x[i + j] - shift;
                lane[j] += square ? d * d : d;
            }
        for (; i < end; i++) {
            const float d = x[i] - shift;
            lane[0] += square ? d * d : d;
        }
        total += ((double)lane[0] + lane[4]) + ((double)lane[1] + lane[5]) + ((double)lane[2] + lane[6]) +
                 ((double)lane[3] + lane[7]);
    }
    return total;
}

void KL_KFN(moments)(const float *x, int64_t groups, int64_t len, double *mean, double *var)
{
    for (int64_t g = 0; g < groups; g++) {
        const float *row = x + g * len;
        const double m = len ? lane_sum(row, len, 0, false) / (double)len : 0;
        mean[g] = m;
        var[g] = len ? lane_sum(row, len, (float)m, true) / (double)len : 0;
    }
}

/* ---- LayerNormalization's rows ------------------------------------------------ */

/* y = (x - m) * inv * scale + bias over a row of n. */
static inline void normalize_row(const float *restrict x, float *restrict y, int64_t n, float m, float inv,
                                 const float *restrict scale, const float *restrict bias)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = (x[i] - m) * inv * scale[i] + bias[i];
}

/* The x86 twins write their own (KL_NORM_OWN_LAYERNORM). */
#ifndef KL_NORM_OWN_LAYERNORM
void KL_KFN(layernorm)(const float *x, float *y, int64_t rows, int64_t len, const float *scale, const float *bias,
                       float eps, float *mean, float *inv)
{
    const double inv_len = 1.0 / (double)len;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * len;
        /* the mean, then the squared deviations from it.  The x86 rows
         * also correct the mean by the deviations' sum, in the same loop;
         * here that would take a loop of its own (gcc vectorizes a loop
         * of two sums badly), which costs more than the half of the error
         * it saves when the mean is large against the spread */
        const float m = (float)(lane_sum(xr, len, 0, false) * inv_len);
        const float is = 1.0f / sqrtf((float)(lane_sum(xr, len, m, true) * inv_len) + eps);
        normalize_row(xr, y + r * len, len, m, is, scale, bias);
        if (mean)
            mean[r] = m;
        if (inv)
            inv[r] = is;
    }
}
#endif

/* y = x * a + b over one plane of n (BatchNormalization); in place when
 * y == x. */
void KL_KFN(bn_plane)(const float *x, float *y, int64_t n, float a, float b)
{
    if (x == y) { /* in place */
        float *restrict v = y;
        for (int64_t i = 0; i < n; i++)
            v[i] = v[i] * a + b;
    } else {
        const float *restrict src = x;
        float *restrict dst = y;
        for (int64_t i = 0; i < n; i++)
            dst[i] = src[i] * a + b;
    }
}

static inline void add_squares(float *restrict acc, const float *restrict x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        acc[i] += x[i] * x[i];
}

/* 1/sqrt(d) for a normal d > 0: a first guess from the exponent bits and
 * three Newton steps (relative error ~1e-7).  Plain arithmetic, so loops
 * vectorize; libm's sqrtf may set errno and does not. */
static inline float rsqrt_newton(float d)
{
    uint32_t bits;
    memcpy(&bits, &d, sizeof bits);
    bits = 0x5f375a86u - (bits >> 1);
    float r;
    memcpy(&r, &bits, sizeof r);
    const float h = 0.5f * d;
    r = r * (1.5f - h * r * r);
    r = r * (1.5f - h * r * r);
    r = r * (1.5f - h * r * r);
    return r;
}

/* y = x * (bias + k * y)^-beta, y holding the sums of squares. */
static inline void lrn_scale(float *restrict y, const float *restrict x, int64_t n, float bias, float k,
                             float beta)
{
    /* the base is at least bias: the fast forms need it positive and normal */
    const bool positive = bias >= FLT_MIN && k >= 0;
    if (positive && beta == 0.75f) {
        for (int64_t i = 0; i < n; i++) {
            const float r = rsqrt_newton(bias + k * y[i]); /* d^-1/2 */
            y[i] = x[i] * (r * r) * rsqrt_newton(r);      /* d^-1 * d^1/4 */
        }
    } else if (positive && beta == 0.5f) {
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] * rsqrt_newton(bias + k * y[i]);
    } else if (beta == 1.0f) {
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] / (bias + k * y[i]);
    } else {
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] * powf(bias + k * y[i], -beta);
    }
}

void KL_KFN(lrn_plane)(float *restrict y, const float *x, const float *xs, int64_t count, int64_t n, float bias,
                       float k, float beta)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = 0;
    for (int64_t cc = 0; cc < count; cc++)
        add_squares(y, xs + cc * n, n);
    lrn_scale(y, x, n, bias, k, beta);
}
