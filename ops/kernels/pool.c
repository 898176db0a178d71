/* pool.c -- the plane loops of the pooling operators: AveragePool and
 * MaxPool (ops/averagepool.c, ops/maxpool.c, which describe them) and the
 * global mean and maximum (GlobalAveragePool, GlobalMaxPool).  Portable
 * loops that the compiler vectorizes; ops/kernels/x86/pool_avx2.c builds
 * them again for AVX2. */
#include <math.h>
#include <string.h>

#include "../drivers/pool.h"
#include "kernels.h"
#include "mathfn.h"

/* ---- AveragePool ---------------------------------------------------------------- */

static inline void sum_acc(float *restrict y, const float *restrict x, int64_t n, int64_t s)
{
    if (s == 1) {
        for (int64_t i = 0; i < n; i++)
            y[i] += x[i];
    } else if (s == 2) {
        for (int64_t i = 0; i < n; i++)
            y[i] += x[2 * i];
    } else {
        for (int64_t i = 0; i < n; i++)
            y[i] += x[i * s];
    }
}

/* y[i] += x[i*s + t*dil] for t < k: one kernel row; the common 2- and 3-wide
 * kernels in one pass. */
static inline void sum_row(float *restrict y, const float *restrict x, int64_t n, int64_t s, int64_t k,
                           int64_t dil)
{
    if (dil == 1 && k == 3 && s == 1) {
        for (int64_t i = 0; i < n; i++)
            y[i] += (x[i] + x[i + 1]) + x[i + 2];
    } else if (dil == 1 && k == 3 && s == 2) {
        for (int64_t i = 0; i < n; i++)
            y[i] += (x[2 * i] + x[2 * i + 1]) + x[2 * i + 2];
    } else if (dil == 1 && k == 2 && s == 2) {
        for (int64_t i = 0; i < n; i++)
            y[i] += x[2 * i] + x[2 * i + 1];
    } else {
        for (int64_t t = 0; t < k; t++)
            sum_acc(y, x + t * dil, n, s);
    }
}

/* The number of taps of window o that count toward its divisor. */
static inline int64_t divisor_taps(const pool_dim *d, int64_t o, bool include_pad)
{
    int64_t t0, t1;
    if (include_pad)
        pool_taps(d, o, -d->pad, d->in + d->pad_end, &t0, &t1);
    else
        pool_taps(d, o, 0, d->in, &t0, &t1);
    return t1 - t0;
}

/* The average of the window at (oz, oy, ox) given its z and y tap ranges
 * and the z-y part of its divisor (counts are doubles: they can exceed
 * int64 for kernels far larger than the input). */
static inline float avg_window(const pool_geom *g, const float *restrict x, int64_t oz, int64_t z0, int64_t z1,
                        int64_t oy, int64_t y0, int64_t y1, int64_t ox, double zy_count, bool include_pad)
{
    const pool_dim *dz = &g->d[0], *dy = &g->d[1], *dx = &g->d[2];
    int64_t x0, x1;
    pool_taps(dx, ox, 0, dx->in, &x0, &x1);
    float sum = 0;
    for (int64_t tz = z0; tz < z1; tz++) {
        int64_t iz = oz * dz->stride - dz->pad + tz * dz->dil;
        for (int64_t ty = y0; ty < y1; ty++) {
            int64_t iy = oy * dy->stride - dy->pad + ty * dy->dil;
            int64_t row = (iz * dy->in + iy) * dx->in + ox * dx->stride - dx->pad;
            for (int64_t tx = x0; tx < x1; tx++)
                sum += x[row + tx * dx->dil];
        }
    }
    double count = zy_count * (double)(include_pad ? divisor_taps(dx, ox, true) : x1 - x0);
    return count > 0 ? sum / (float)count : 0.0f;
}

static void avgpool_plane(const pool_geom *g, bool include_pad, const float *restrict x, float *restrict y)
{
    const pool_dim *dz = &g->d[0], *dy = &g->d[1], *dx = &g->d[2];
    const int64_t ow = dx->out, sx = dx->stride;
    int64_t xa, xb;
    pool_interior(dx, &xa, &xb);
    for (int64_t oz = 0; oz < dz->out; oz++) {
        int64_t z0, z1;
        pool_taps(dz, oz, 0, dz->in, &z0, &z1);
        double z_count = (double)(include_pad ? divisor_taps(dz, oz, true) : z1 - z0);
        for (int64_t oy = 0; oy < dy->out; oy++) {
            int64_t y0, y1;
            pool_taps(dy, oy, 0, dy->in, &y0, &y1);
            double zy_count = z_count * (double)(include_pad ? divisor_taps(dy, oy, true) : y1 - y0);
            float *restrict yrow = y + (oz * dy->out + oy) * ow;
            for (int64_t ox = 0; ox < xa; ox++)
                yrow[ox] = avg_window(g, x, oz, z0, z1, oy, y0, y1, ox, zy_count, include_pad);
            for (int64_t ox = xb; ox < ow; ox++)
                yrow[ox] = avg_window(g, x, oz, z0, z1, oy, y0, y1, ox, zy_count, include_pad);
            if (xa == xb)
                continue;
            /* interior columns: every x tap is on the input */
            for (int64_t ox = xa; ox < xb; ox++)
                yrow[ox] = 0;
            for (int64_t tz = z0; tz < z1; tz++) {
                int64_t iz = oz * dz->stride - dz->pad + tz * dz->dil;
                for (int64_t ty = y0; ty < y1; ty++) {
                    int64_t iy = oy * dy->stride - dy->pad + ty * dy->dil;
                    const float *xrow = x + (iz * dy->in + iy) * dx->in + xa * sx - dx->pad;
                    sum_row(yrow + xa, xrow, xb - xa, sx, dx->k, dx->dil);
                }
            }
            double count = zy_count * (double)dx->k;
            const float scale = count > 0 ? (float)(1.0 / count) : 0.0f;
            for (int64_t ox = xa; ox < xb; ox++)
                yrow[ox] *= scale;
        }
    }
}

/* 3x3, stride 1, no padding (Inception's pools, which follow an explicit
 * Pad): row sums of 3 once per input row, kept in a ring of three, then
 * each output row is the sum of three of them: 4 adds an output instead
 * of 8, and no call per window row. */
#define RING_MAX 1024
static bool is_3x3s1_valid(const pool_geom *g)
{
    const pool_dim *dz = &g->d[0], *dy = &g->d[1], *dx = &g->d[2];
    return dz->k == 1 && dz->in == 1 && dy->k == 3 && dx->k == 3 && dy->stride == 1 && dx->stride == 1 &&
           dy->dil == 1 && dx->dil == 1 && dy->pad == 0 && dx->pad == 0 && dy->out == dy->in - 2 &&
           dx->out == dx->in - 2 && dx->out <= RING_MAX;
}

static void avgpool_3x3s1_plane(const pool_geom *g, const float *restrict x, float *restrict y)
{
    const int64_t iw = g->d[2].in, ow = g->d[2].out, oh = g->d[1].out;
    float ring[3][RING_MAX];
    for (int64_t r = 0; r < 2; r++)
        for (int64_t i = 0; i < ow; i++)
            ring[r][i] = x[r * iw + i] + x[r * iw + i + 1] + x[r * iw + i + 2];
    for (int64_t oy = 0; oy < oh; oy++) {
        const float *restrict xr = x + (oy + 2) * iw;
        float *restrict h2 = ring[(oy + 2) % 3];
        for (int64_t i = 0; i < ow; i++)
            h2[i] = xr[i] + xr[i + 1] + xr[i + 2];
        const float *restrict h0 = ring[oy % 3], *restrict h1 = ring[(oy + 1) % 3];
        float *restrict yr = y + oy * ow;
        for (int64_t i = 0; i < ow; i++)
            yr[i] = (h0[i] + h1[i] + h2[i]) * (1.0f / 9.0f);
    }
}

/* 3x3, stride 1, one row and column of zeros around, zeros counted
 * (Inception-v3's branch pools, and the same pools with their Pad fused in
 * by the optimizer), on planes of up to SAME3_FLOATS: row sums
 * h[i] = x[i - 1] + x[i] + x[i + 1], then (above + h + below) / 9, each
 * one loop across the rows and planes of a pass (17x17 and 8x8 rows are
 * too short for vectors of their own), the edges done again with zeros
 * for the values outside the plane, added in the same order. */
#define SAME3_FLOATS 2048 /* the planes one pass takes: their row sums or maxima, 8 KB on the stack */

/* A 2-D 3x3 window at stride 1 with one row and column of padding
 * around: output planes the size of the input ones, 2x2 or larger (the
 * geometry of the "same" paths of AveragePool and MaxPool). */
static bool is_3x3s1_same(const pool_geom *g)
{
    const pool_dim *dz = &g->d[0];
    for (int i = 1; i < 3; i++) {
        const pool_dim *d = &g->d[i];
        if (d->k != 3 || d->stride != 1 || d->dil != 1 || d->pad != 1 || d->out != d->in || d->in < 2)
            return false;
    }
    return dz->in == 1 && dz->k == 1 && dz->out == 1;
}

/* Larger planes, a row at a time: a ring of three rows' sums (rows
 * outside the plane zero), the same sums in the same order. */
static void row_sums_padded(const float *restrict x, int64_t w, float *restrict h)
{
    h[0] = x[0] + x[1];
    for (int64_t i = 1; i + 1 < w; i++)
        h[i] = x[i - 1] + x[i] + x[i + 1];
    h[w - 1] = x[w - 2] + x[w - 1];
}

static void avgpool_3x3s1_same_plane(const pool_geom *g, const float *restrict x, float *restrict y)
{
    const int64_t w = g->d[2].in, h = g->d[1].in;
    float ring[3][RING_MAX];
    memset(ring[2], 0, (size_t)w * sizeof(float)); /* the row above the plane */
    row_sums_padded(x, w, ring[0]);
    for (int64_t oy = 0; oy < h; oy++) {
        float *restrict below = ring[(oy + 1) % 3];
        if (oy + 1 < h)
            row_sums_padded(x + (oy + 1) * w, w, below);
        else
            memset(below, 0, (size_t)w * sizeof(float));
        const float *restrict above = ring[(oy + 2) % 3], *restrict mid = ring[oy % 3];
        float *restrict yr = y + oy * w;
        for (int64_t i = 0; i < w; i++)
            yr[i] = (above[i] + mid[i] + below[i]) * (1.0f / 9.0f);
    }
}

/* h[i] for i < n: the sum of the row taps of x[i] (rows w long). */
static void sum3_rows(const float *restrict x, int64_t n, int64_t w, float *restrict h)
{
    const float *restrict left = x, *restrict mid = x + 1, *restrict right = x + 2;
    float *restrict out = h + 1;
    for (int64_t i = 0; i < n - 2; i++)
        out[i] = left[i] + mid[i] + right[i];
    for (int64_t i = 0; i < n; i += w) {
        h[i] = x[i] + x[i + 1];
        h[i + w - 1] = x[i + w - 2] + x[i + w - 1];
    }
}

/* y[i] for i < n: the mean over the column taps of h (planes rows of w). */
static void mean3_cols(const float *restrict h, int64_t n, int64_t rows, int64_t w, float *restrict y)
{
    const float ninth = 1.0f / 9.0f, zero = 0.0f;
    const float *restrict above = h, *restrict at = h + w, *restrict below = h + 2 * w;
    float *restrict out = y + w;
    for (int64_t i = 0; i < n - 2 * w; i++)
        out[i] = (above[i] + at[i] + below[i]) * ninth;
    for (int64_t p = 0; p < n; p += rows * w) {
        const float *restrict top = h + p, *restrict bottom = h + p + (rows - 1) * w;
        float *restrict first = y + p, *restrict last = y + p + (rows - 1) * w;
        for (int64_t j = 0; j < w; j++)
            first[j] = (zero + top[j] + top[j + w]) * ninth;
        for (int64_t j = 0; j < w; j++)
            last[j] = (bottom[j - w] + bottom[j] + zero) * ninth;
    }
}

/* The two loops of a 3x3 stride-1 "same" pool over planes, as many at a
 * time as SAME3_FLOATS holds: rows (x into the pass's row results r),
 * then cols (r into y). */
typedef void same3_rows_fn(const float *restrict x, int64_t n, int64_t w, float *restrict r);
typedef void same3_cols_fn(const float *restrict r, int64_t n, int64_t h, int64_t w, float *restrict y);

static void same3_passes(const pool_geom *g, int64_t planes, const float *x, float *y, same3_rows_fn *rows,
                         same3_cols_fn *cols)
{
    const int64_t size = g->in_size, per_pass = SAME3_FLOATS / size;
    float r[SAME3_FLOATS];
    for (int64_t c = 0; c < planes; c += per_pass) {
        const int64_t n = (c + per_pass < planes ? per_pass : planes - c) * size;
        rows(x + c * size, n, g->d[2].in, r);
        cols(r, n, g->d[1].in, g->d[2].in, y + c * size);
    }
}

/* `planes` planes of AveragePool: the 3x3 stride-1 paths where they apply. */
void KL_KFN(avgpool)(const pool_geom *g, bool include_pad, int64_t planes, const float *x, float *y)
{
    const bool same = include_pad && is_3x3s1_same(g), valid = is_3x3s1_valid(g);
    if (same && g->in_size <= SAME3_FLOATS) {
        same3_passes(g, planes, x, y, sum3_rows, mean3_cols);
        return;
    }
    for (int64_t p = 0; p < planes; p++, x += g->in_size, y += g->out_size)
        if (valid)
            avgpool_3x3s1_plane(g, x, y);
        else if (same && g->d[2].in <= RING_MAX)
            avgpool_3x3s1_same_plane(g, x, y);
        else
            avgpool_plane(g, include_pad, x, y);
}

/* ---- MaxPool ---------------------------------------------------------------- */

/* For each element type T: maxpool_rows_SUF (the fast path: one plane, no
 * Indices) and maxpool_idx_SUF (any window, Indices too).  LOWEST is the
 * value of an empty window; NaN inputs never win (as in ONNX Runtime). */
#define MAX3S2_SPAN 1024 /* input columns of one row the 3-wide stride-2 path takes */
#define MAXPOOL_KERNELS(SUF, T, LOWEST)                                                         \
    static inline void max_acc_##SUF(T *restrict y, const T *restrict x, int64_t n, int64_t s)  \
    {                                                                                           \
        if (s == 1) {                                                                           \
            for (int64_t i = 0; i < n; i++) {                                                   \
                const T v = x[i];                                                               \
                y[i] = v > y[i] ? v : y[i];                                                     \
            }                                                                                   \
        } else if (s == 2) {                                                                    \
            for (int64_t i = 0; i < n; i++) {                                                   \
                const T v = x[2 * i];                                                           \
                y[i] = v > y[i] ? v : y[i];                                                     \
            }                                                                                   \
        } else {                                                                                \
            for (int64_t i = 0; i < n; i++) {                                                   \
                const T v = x[i * s];                                                           \
                y[i] = v > y[i] ? v : y[i];                                                     \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
                                                                                                \
    /* y[i] = max(y[i], x[i*s + t*dil] for t < k): one kernel row; the common                   \
     * 2- and 3-wide kernels in one pass. */                                                    \
    static inline void max_row_##SUF(T *restrict y, const T *restrict x, int64_t n, int64_t s,  \
                              int64_t k, int64_t dil)                                           \
    {                                                                                           \
        if (dil == 1 && k == 3 && s == 1) {                                                     \
            for (int64_t i = 0; i < n; i++) {                                                   \
                T v = x[i] > y[i] ? x[i] : y[i];                                                \
                v = x[i + 1] > v ? x[i + 1] : v;                                                \
                y[i] = x[i + 2] > v ? x[i + 2] : v;                                             \
            }                                                                                   \
        } else if (dil == 1 && k == 3 && s == 2) {                                              \
            for (int64_t i = 0; i < n; i++) {                                                   \
                T v = x[2 * i] > y[i] ? x[2 * i] : y[i];                                        \
                v = x[2 * i + 1] > v ? x[2 * i + 1] : v;                                        \
                y[i] = x[2 * i + 2] > v ? x[2 * i + 2] : v;                                     \
            }                                                                                   \
        } else if (dil == 1 && k == 2 && s == 2) {                                              \
            for (int64_t i = 0; i < n; i++) {                                                   \
                const T v = x[2 * i] > y[i] ? x[2 * i] : y[i];                                  \
                y[i] = x[2 * i + 1] > v ? x[2 * i + 1] : v;                                     \
            }                                                                                   \
        } else {                                                                                \
            for (int64_t t = 0; t < k; t++)                                                     \
                max_acc_##SUF(y, x + t * dil, n, s);                                            \
        }                                                                                       \
    }                                                                                           \
                                                                                                \
    /* The window at (oz, oy, ox) given its z and y tap ranges; *at gets the                    \
     * flattened plane index of the first maximum (-1 if the window is empty). */               \
    static T max_window_##SUF(const pool_geom *g, const T *restrict x, int64_t oz, int64_t z0,  \
                              int64_t z1, int64_t oy, int64_t y0, int64_t y1, int64_t ox,       \
                              int64_t *at)                                                      \
    {                                                                                           \
        const pool_dim *dz = &g->d[0], *dy = &g->d[1], *dx = &g->d[2];                          \
        int64_t x0, x1;                                                                         \
        pool_taps(dx, ox, 0, dx->in, &x0, &x1);                                                 \
        T best = LOWEST;                                                                        \
        int64_t where = -1;                                                                     \
        for (int64_t tz = z0; tz < z1; tz++) {                                                  \
            int64_t iz = oz * dz->stride - dz->pad + tz * dz->dil;                              \
            for (int64_t ty = y0; ty < y1; ty++) {                                              \
                int64_t iy = oy * dy->stride - dy->pad + ty * dy->dil;                          \
                int64_t row = (iz * dy->in + iy) * dx->in + ox * dx->stride - dx->pad;          \
                for (int64_t tx = x0; tx < x1; tx++) {                                          \
                    int64_t i = row + tx * dx->dil;                                             \
                    const T v = x[i];                                                           \
                    if (v > best) {                                                             \
                        best = v;                                                               \
                        where = i;                                                              \
                    } else if (where < 0) {                                                     \
                        where = i;                                                              \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
        *at = where;                                                                            \
        return best;                                                                            \
    }                                                                                           \
                                                                                                \
    /* The same without the index, branch-free: the border columns of the fast path. */         \
    static inline T max_border_##SUF(const pool_geom *g, const T *restrict x, int64_t oz, int64_t z0,  \
                              int64_t z1, int64_t oy, int64_t y0, int64_t y1, int64_t ox)       \
    {                                                                                           \
        const pool_dim *dz = &g->d[0], *dy = &g->d[1], *dx = &g->d[2];                          \
        int64_t x0, x1;                                                                         \
        pool_taps(dx, ox, 0, dx->in, &x0, &x1);                                                 \
        T best = LOWEST;                                                                        \
        for (int64_t tz = z0; tz < z1; tz++) {                                                  \
            int64_t iz = oz * dz->stride - dz->pad + tz * dz->dil;                              \
            for (int64_t ty = y0; ty < y1; ty++) {                                              \
                int64_t iy = oy * dy->stride - dy->pad + ty * dy->dil;                          \
                int64_t row = (iz * dy->in + iy) * dx->in + ox * dx->stride - dx->pad;          \
                for (int64_t tx = x0; tx < x1; tx++) {                                          \
                    const T v = x[row + tx * dx->dil];                                          \
                    best = v > best ? v : best;                                                 \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
        return best;                                                                            \
    }                                                                                           \
                                                                                                \
    /* The interior [xa, xb) of one output row of a 3-wide stride-2 window                      \
     * (ResNet's, SqueezeNet's, Inception's pools): the rows' maximum first,                    \
     * in contiguous passes, then even, odd and next even columns of it side                    \
     * by side, where gathering stride 2 for each tap of each row ran one                       \
     * element at a time.  False where it does not apply. */                                   \
    static inline __attribute__((always_inline)) bool max3s2_row_##SUF(const pool_geom *g, const T *restrict x, int64_t oz,     \
                                        int64_t z0, int64_t z1, int64_t oy, int64_t y0,         \
                                        int64_t y1, int64_t xa, int64_t xb, T *restrict out)    \
    {                                                                                           \
        const pool_dim *dz = &g->d[0], *dy = &g->d[1], *dx = &g->d[2];                          \
        const int64_t n = xb - xa, span = 2 * n + 1;                                            \
        if (n < 1 || dx->k != 3 || dx->stride != 2 || dx->dil != 1 || span > MAX3S2_SPAN)       \
            return false;                                                                       \
        T v[MAX3S2_SPAN], ev[MAX3S2_SPAN / 2 + 1], od[MAX3S2_SPAN / 2 + 1];                      \
        for (int64_t i = 0; i < span; i++)                                                      \
            v[i] = LOWEST;                                                                      \
        for (int64_t tz = z0; tz < z1; tz++) {                                                  \
            int64_t iz = oz * dz->stride - dz->pad + tz * dz->dil;                              \
            for (int64_t ty = y0; ty < y1; ty++) {                                              \
                int64_t iy = oy * dy->stride - dy->pad + ty * dy->dil;                          \
                const T *restrict r = x + (iz * dy->in + iy) * dx->in + xa * 2 - dx->pad;        \
                for (int64_t i = 0; i < span; i++) /* NaN never wins: v stays NaN-free */       \
                    v[i] = r[i] > v[i] ? r[i] : v[i];                                           \
            }                                                                                   \
        }                                                                                       \
        for (int64_t i = 0; i < n; i++) {                                                       \
            ev[i] = v[2 * i];                                                                   \
            od[i] = v[2 * i + 1];                                                               \
        }                                                                                       \
        ev[n] = v[span - 1];                                                                    \
        for (int64_t i = 0; i < n; i++) {                                                       \
            T m = od[i] > ev[i] ? od[i] : ev[i];                                                \
            out[i] = ev[i + 1] > m ? ev[i + 1] : m;                                             \
        }                                                                                       \
        return true;                                                                            \
    }                                                                                           \
                                                                                                \
    static void maxpool_rows_##SUF(const pool_geom *g, const T *restrict x, T *restrict y)      \
    {                                                                                           \
        const pool_dim *dz = &g->d[0], *dy = &g->d[1], *dx = &g->d[2];                          \
        const int64_t ow = dx->out, sx = dx->stride;                                            \
        int64_t xa, xb;                                                                         \
        pool_interior(dx, &xa, &xb);                                                            \
        for (int64_t oz = 0; oz < dz->out; oz++) {                                              \
            int64_t z0, z1;                                                                     \
            pool_taps(dz, oz, 0, dz->in, &z0, &z1);                                             \
            for (int64_t oy = 0; oy < dy->out; oy++) {                                          \
                int64_t y0, y1;                                                                 \
                pool_taps(dy, oy, 0, dy->in, &y0, &y1);                                         \
                T *restrict yrow = y + (oz * dy->out + oy) * ow;                                \
                for (int64_t ox = 0; ox < xa; ox++)                                             \
                    yrow[ox] = max_border_##SUF(g, x, oz, z0, z1, oy, y0, y1, ox);              \
                for (int64_t ox = xb; ox < ow; ox++)                                            \
                    yrow[ox] = max_border_##SUF(g, x, oz, z0, z1, oy, y0, y1, ox);              \
                if (xa == xb)                                                                   \
                    continue;                                                                   \
                if (max3s2_row_##SUF(g, x, oz, z0, z1, oy, y0, y1, xa, xb, yrow + xa))           \
                    continue;                                                                   \
                for (int64_t ox = xa; ox < xb; ox++)                                            \
                    yrow[ox] = LOWEST;                                                          \
                for (int64_t tz = z0; tz < z1; tz++) {                                          \
                    int64_t iz = oz * dz->stride - dz->pad + tz * dz->dil;                      \
                    for (int64_t ty = y0; ty < y1; ty++) {                                      \
                        int64_t iy = oy * dy->stride - dy->pad + ty * dy->dil;                  \
                        const T *xrow = x + (iz * dy->in + iy) * dx->in + xa * sx - dx->pad;    \
                        max_row_##SUF(yrow + xa, xrow, xb - xa, sx, dx->k, dx->dil);            \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
                                                                                                \
    /* One plane with Indices; `base` is the plane's offset in the input. */                    \
    static void maxpool_idx_##SUF(const pool_geom *g, const T *restrict x, T *restrict y,       \
                                  int64_t *restrict idx, int64_t base)                          \
    {                                                                                           \
        const pool_dim *dz = &g->d[0], *dy = &g->d[1], *dx = &g->d[2];                          \
        int64_t o = 0, at;                                                                      \
        for (int64_t oz = 0; oz < dz->out; oz++) {                                              \
            int64_t z0, z1;                                                                     \
            pool_taps(dz, oz, 0, dz->in, &z0, &z1);                                             \
            for (int64_t oy = 0; oy < dy->out; oy++) {                                          \
                int64_t y0, y1;                                                                 \
                pool_taps(dy, oy, 0, dy->in, &y0, &y1);                                         \
                for (int64_t ox = 0; ox < dx->out; ox++, o++) {                                 \
                    y[o] = max_window_##SUF(g, x, oz, z0, z1, oy, y0, y1, ox, &at);             \
                    idx[o] = at < 0 ? -1 : base + at;                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }

MAXPOOL_KERNELS(f32, float, -INFINITY)
MAXPOOL_KERNELS(f64, double, -INFINITY)
MAXPOOL_KERNELS(i8, int8_t, INT8_MIN)
MAXPOOL_KERNELS(u8, uint8_t, 0)

/* ---- MaxPool 3x3, stride 1, padding 1 on small planes ---- */

/* Inception's branch pools (is_3x3s1_same), on planes of up to
 * SAME3_FLOATS.  Several planes (c of them, contiguous, n = c h w
 * floats) go through two flat loops whose vectors run on across rows
 * and planes (7x7 and 14x14 rows are too short for vectors of their
 * own): the row maxima
 * r[q] = max(x[q - 1], x[q], x[q + 1]), then y[q] = max(r[q - w], r[q],
 * r[q + w]).  The elements where a window meets the plane's edge (each
 * row's first and last, each plane's first and last row) are done again
 * without the taps that fall outside.  Each maximum starts at -inf and
 * takes its values with v > m ? v : m, so that NaN never wins. */

static inline float max_first(float m, float v)
{
    return v > m ? v : m;
}

/* r[i] for i < n: the maximum of the row taps of x[i] (rows w long). */
static void same3_rows(const float *restrict x, int64_t n, int64_t w, float *restrict r)
{
    for (int64_t i = 1; i + 1 < n; i++)
        r[i] = max_first(max_first(max_first(-INFINITY, x[i - 1]), x[i]), x[i + 1]);
    for (int64_t i = 0; i < n; i += w) {
        r[i] = max_first(max_first(-INFINITY, x[i]), x[i + 1]);
        r[i + w - 1] = max_first(max_first(-INFINITY, x[i + w - 2]), x[i + w - 1]);
    }
}

/* y[i] for i < n: the maximum of r over the column taps (planes h rows of w). */
static void same3_cols(const float *restrict r, int64_t n, int64_t h, int64_t w, float *restrict y)
{
    const float *restrict above = r, *restrict at = r + w, *restrict below = r + 2 * w;
    float *restrict out = y + w;
    for (int64_t i = 0; i < n - 2 * w; i++)
        out[i] = max_first(max_first(max_first(-INFINITY, above[i]), at[i]), below[i]);
    for (int64_t p = 0; p < n; p += h * w) {
        const float *restrict top = r + p, *restrict bottom = r + p + (h - 1) * w;
        float *restrict first = y + p, *restrict last = y + p + (h - 1) * w;
        for (int64_t j = 0; j < w; j++)
            first[j] = max_first(max_first(-INFINITY, top[j]), top[j + w]);
        for (int64_t j = 0; j < w; j++)
            last[j] = max_first(max_first(-INFINITY, bottom[j - w]), bottom[j]);
    }
}

/* `planes` planes of MaxPool of dtype (float, double, int8, uint8), with
 * their Indices when idx is not NULL (idx_base: the first plane's offset
 * in the input). */
void KL_KFN(maxpool)(int dtype, const pool_geom *g, int64_t planes, const void *x, void *y, int64_t *idx,
                     int64_t idx_base)
{
#ifdef KL_MAXPOOL_FIRST /* an x86 twin's own path for some windows */
    if (KL_MAXPOOL_FIRST(dtype, g, planes, x, y, idx))
        return;
#endif
#define MAXPOOL_PLANE(SUF, T)                                                                 \
    for (int64_t p = 0; p < planes; p++) {                                                    \
        const T *xp = (const T *)x + p * g->in_size;                                          \
        T *yp = (T *)y + p * g->out_size;                                                     \
        if (idx)                                                                              \
            maxpool_idx_##SUF(g, xp, yp, idx + p * g->out_size, idx_base + p * g->in_size);   \
        else                                                                                  \
            maxpool_rows_##SUF(g, xp, yp);                                                    \
    }
    switch (dtype) {
    case KEEL_FLOAT:
        if (!idx && is_3x3s1_same(g) && g->in_size <= SAME3_FLOATS)
            same3_passes(g, planes, x, y, same3_rows, same3_cols);
        else
            MAXPOOL_PLANE(f32, float);
        break;
    case KEEL_DOUBLE:
        MAXPOOL_PLANE(f64, double);
        break;
    case KEEL_INT8:
        MAXPOOL_PLANE(i8, int8_t);
        break;
    default:
        MAXPOOL_PLANE(u8, uint8_t);
        break;
    }
#undef MAXPOOL_PLANE
}

/* ---- global pools ---- */

/* A plane's mean, with eight partial sums, which vectorize and keep the
 * rounding error low on large planes. */
float KL_KFN(plane_mean)(const float *restrict x, int64_t n)
{
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += x[i + j];
    float tail = 0;
    for (; i < n; i++)
        tail += x[i];
    float sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    return (sum + tail) / (float)n;
}

/* A plane's maximum (NaN never wins; -inf for none). */
float KL_KFN(plane_max)(const float *restrict x, int64_t n)
{
    return kl_max_f32(x, n);
}
