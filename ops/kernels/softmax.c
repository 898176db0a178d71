/* softmax.c -- the loops of Softmax, LogSoftmax and Hardmax
 * (ops/drivers/softmax.c): one contiguous row with partial maxima and sums
 * in independent lanes, or a chunk of up to KL_SOFTMAX_CHUNK strided rows
 * together.  exp() is kl_expf (ops/kernels/mathfn.h), which vectorizes;
 * ops/kernels/x86/softmax_avx2.c builds them again for AVX2, with a
 * Softmax row of its own on the kernel table's exponential (as
 * softmax_avx512.c on 16 lanes). */
#include <math.h>
#include <string.h>

#include "../drivers/softmax.h"
#include "kernels.h"
#include "mathfn.h"

#define CHUNK KL_SOFTMAX_CHUNK

/* ---- contiguous rows ---------------------------------------------------------- */

static float sum8(const float *acc)
{
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* The loops that write the output read x[i] before writing y[i] alone, so
 * they also run in place; each has a variant for y == x, as restrict
 * pointers must not alias. */
#define EXP_STORE_LOOP(Y, X)                                                  \
    for (; i + 8 <= n; i += 8)                                                \
        for (int j = 0; j < 8; j++) {                                         \
            const float e = kl_expf(X[i + j] - m);                            \
            Y[i + j] = e;                                                     \
            acc[j] += e;                                                      \
        }                                                                     \
    for (; i < n; i++) {                                                      \
        const float e = kl_expf(X[i] - m);                                    \
        Y[i] = e;                                                             \
        acc[0] += e;                                                          \
    }

/* y = exp(x - m); returns the sum of y. */
static inline float exp_store(float *y, const float *x, int64_t n, float m)
{
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    if (y == x) {
        float *restrict v = y;
        EXP_STORE_LOOP(v, v)
    } else {
        float *restrict dst = y;
        const float *restrict src = x;
        EXP_STORE_LOOP(dst, src)
    }
    return sum8(acc);
}

/* The sum of exp(x - m). */
static inline float exp_sum(const float *restrict x, int64_t n, float m)
{
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += kl_expf(x[i + j] - m);
    for (; i < n; i++)
        acc[0] += kl_expf(x[i] - m);
    return sum8(acc);
}

/* y = (x - m) - l */
static inline void sub_store(float *y, const float *x, int64_t n, float m, float l)
{
    if (y == x) {
        float *restrict v = y;
        for (int64_t i = 0; i < n; i++)
            v[i] = (v[i] - m) - l;
    } else {
        float *restrict dst = y;
        const float *restrict src = x;
        for (int64_t i = 0; i < n; i++)
            dst[i] = (src[i] - m) - l;
    }
}

static inline void scale_row(float *restrict y, int64_t n, float s)
{
    for (int64_t i = 0; i < n; i++)
        y[i] *= s;
}

/* One row of kind `kind` (ops/kernels/x86/softmax_avx2.c calls it for
 * LogSoftmax and Hardmax). */
static void portable_row(int kind, float *y, const float *x, int64_t n)
{
    if (kind == KL_HARDMAX) {
        int64_t at = 0;
        for (int64_t i = 1; i < n; i++)
            if (x[i] > x[at])
                at = i;
        memset(y, 0, (size_t)n * sizeof *y);
        y[at] = 1;
        return;
    }
    const float m = kl_max_f32(x, n);
    if (kind == KL_SOFTMAX)
        scale_row(y, n, 1.0f / exp_store(y, x, n, m));
    else
        sub_store(y, x, n, m, logf(exp_sum(x, n, m)));
}

/* y = x * s (y may be x) */
static inline void scale_into(float *y, const float *x, int64_t n, float s)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] * s;
}

/* The x86 twins write their own row (KL_SOFTMAX_OWN_ROW). */
#ifndef KL_SOFTMAX_OWN_ROW
void KL_KFN(softmax_row)(int kind, float *y, const float *x, int64_t n, float scale)
{
    if (scale != 1.0f) { /* x * 1 is x */
        scale_into(y, x, n, scale);
        x = y;
    }
    portable_row(kind, y, x, n);
}
#endif

/* ---- strided rows: a chunk of w <= CHUNK neighbouring rows -------------------- */

/* Rows r..r+w of a block whose element a of row r is at x[a * inner + r]
 * (x and y already point at row r). */
void KL_KFN(softmax_chunk)(int kind, float *y, const float *x, int64_t len, int64_t inner,
                         int64_t w)
{
    float m[CHUNK], s[CHUNK];
    for (int64_t j = 0; j < w; j++)
        m[j] = x[j];
    if (kind == KL_HARDMAX) {
        int64_t at[CHUNK] = {0};
        for (int64_t a = 1; a < len; a++) {
            const float *restrict xa = x + a * inner;
            for (int64_t j = 0; j < w; j++)
                if (xa[j] > m[j]) {
                    m[j] = xa[j];
                    at[j] = a;
                }
        }
        for (int64_t a = 0; a < len; a++) {
            float *restrict ya = y + a * inner;
            for (int64_t j = 0; j < w; j++)
                ya[j] = at[j] == a ? 1.0f : 0.0f;
        }
        return;
    }
    for (int64_t a = 1; a < len; a++) {
        const float *restrict xa = x + a * inner;
        for (int64_t j = 0; j < w; j++)
            m[j] = xa[j] > m[j] ? xa[j] : m[j];
    }
    for (int64_t j = 0; j < w; j++)
        s[j] = 0;
    if (kind == KL_SOFTMAX) {
        for (int64_t a = 0; a < len; a++) {
            const float *xa = x + a * inner;
            float *ya = y + a * inner;
            if (ya == xa) {
                float *restrict v = ya;
                for (int64_t j = 0; j < w; j++) {
                    const float e = kl_expf(v[j] - m[j]);
                    v[j] = e;
                    s[j] += e;
                }
            } else {
                float *restrict dst = ya;
                const float *restrict src = xa;
                for (int64_t j = 0; j < w; j++) {
                    const float e = kl_expf(src[j] - m[j]);
                    dst[j] = e;
                    s[j] += e;
                }
            }
        }
        for (int64_t j = 0; j < w; j++)
            s[j] = 1.0f / s[j];
        for (int64_t a = 0; a < len; a++) {
            float *restrict ya = y + a * inner;
            for (int64_t j = 0; j < w; j++)
                ya[j] *= s[j];
        }
        return;
    }
    for (int64_t a = 0; a < len; a++) {
        const float *restrict xa = x + a * inner;
        for (int64_t j = 0; j < w; j++)
            s[j] += kl_expf(xa[j] - m[j]);
    }
    for (int64_t j = 0; j < w; j++)
        s[j] = m[j] + logf(s[j]);  /* x - m - log(s) as x - (m + log(s)) */
    for (int64_t a = 0; a < len; a++) {
        const float *xa = x + a * inner;
        float *ya = y + a * inner;
        if (ya == xa) {
            float *restrict v = ya;
            for (int64_t j = 0; j < w; j++)
                v[j] = v[j] - s[j];
        } else {
            float *restrict dst = ya;
            const float *restrict src = xa;
            for (int64_t j = 0; j < w; j++)
                dst[j] = src[j] - s[j];
        }
    }
}

