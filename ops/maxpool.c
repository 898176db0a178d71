/* maxpool.c -- MaxPool over 1-D, 2-D and 3-D windows of an N x C x D... tensor:
 * kernel_shape, strides, pads or auto_pad (NOTSET, SAME_UPPER, SAME_LOWER,
 * VALID), dilations and ceil_mode (opset 10+), and the optional Indices
 * output (opset 8+: int64 flattened indices into the whole input, row-major;
 * or, storage_order=1, column-major within each plane).  float and double; int8 and
 * uint8 since opset 12.
 *
 * Lower ranks are handled as 3-D with leading unit dims.  Without Indices,
 * each output row is computed with inner loops over its output columns: for
 * each kernel tap, one strided pass over an input row into the output row.
 * Only the border columns, whose windows reach into the padding, are
 * computed one at a time.  A 3-wide stride-2 window (the backbones' pools)
 * takes the maximum of its input rows first and then of even, odd and next
 * even columns of that, all in contiguous passes.
 *
 * With ceil_mode, a last window that would start in the right padding is
 * dropped (as ONNX Runtime and PyTorch do).  A window that holds no input
 * element (possible only with dilations larger than the input) gives the
 * type's lowest value and index -1. */
#include <math.h>
#include <string.h>

#include "drivers/pool.h"

/* ---- kernels ---------------------------------------------------------------- */

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
                T v = x[i + 1] > x[i] ? x[i + 1] : x[i];                                        \
                v = x[i + 2] > v ? x[i + 2] : v;                                                \
                y[i] = v > y[i] ? v : y[i];                                                     \
            }                                                                                   \
        } else if (dil == 1 && k == 3 && s == 2) {                                              \
            for (int64_t i = 0; i < n; i++) {                                                   \
                T v = x[2 * i + 1] > x[2 * i] ? x[2 * i + 1] : x[2 * i];                        \
                v = x[2 * i + 2] > v ? x[2 * i + 2] : v;                                        \
                y[i] = v > y[i] ? v : y[i];                                                     \
            }                                                                                   \
        } else if (dil == 1 && k == 2 && s == 2) {                                              \
            for (int64_t i = 0; i < n; i++) {                                                   \
                const T v = x[2 * i + 1] > x[2 * i] ? x[2 * i + 1] : x[2 * i];                  \
                y[i] = v > y[i] ? v : y[i];                                                     \
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
    KL_HOT static void maxpool_rows_##SUF(const pool_geom *g, const T *restrict x, T *restrict y)      \
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

/* ---- the operator ------------------------------------------------------------- */

typedef struct maxpool_job {
    pool_geom g;
    int dtype;
    const void *x;
    void *y;
    int64_t *idx;             /* NULL without the Indices output */
} maxpool_job;

#define MAXPOOL_PLANE(SUF, T)                                                                   \
    do {                                                                                        \
        const T *x = (const T *)j->x + p * g->in_size;                                          \
        T *y = (T *)j->y + p * g->out_size;                                                     \
        if (j->idx)                                                                             \
            maxpool_idx_##SUF(g, x, y, j->idx + p * g->out_size, p * g->in_size);               \
        else                                                                                    \
            maxpool_rows_##SUF(g, x, y);                                                        \
    } while (0)

static void maxpool_planes(void *arg, int64_t lo, int64_t hi)
{
    const maxpool_job *j = arg;
    const pool_geom *g = &j->g;
    for (int64_t p = lo; p < hi; p++) {
        switch (j->dtype) {
        case KEEL_FLOAT:
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
    }
}

static keel_status maxpool_geometry(kl_opctx *c, pool_geom *g)
{
    return pool_geometry(c, g, c->opset >= 10, c->opset >= 10);
}

static keel_status maxpool_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    static const int types_v1[] = {KEEL_FLOAT, KEEL_DOUBLE, 0};
    static const int types_v12[] = {KEEL_FLOAT, KEEL_DOUBLE, KEEL_INT8, KEEL_UINT8, 0};
    keel_status st = kl_require_dtype(c, 0, c->opset >= 12 ? types_v12 : types_v1);
    if (st)
        return st;
    bool want_idx = c->n_out > 1 && c->out[1];
    if (c->n_out > 2 || (want_idx && c->opset < 8))
        return kl_op_fail(c, KEEL_ERR_INVALID, "%d outputs; MaxPool has Y%s", c->n_out,
                          c->opset < 8 ? " only before opset 8" : " and Indices");
    if (c->opset >= 8) {
        int64_t order = kl_attr_int(c->node, "storage_order", 0);
        if (order != 0 && order != 1)
            return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'storage_order' is %lld; expected 0 or 1",
                              (long long)order);
    }
    pool_geom g;
    if ((st = maxpool_geometry(c, &g)))
        return st;
    int64_t dims[2 + SP] = {x->dims[0], x->dims[1]};
    for (int s = 0; s < g.nsp; s++)
        dims[2 + s] = g.d[SP - g.nsp + s].out;
    kl_set_shape(c->out[0], x->dtype, x->rank, dims);
    if (want_idx)
        kl_set_shape(c->out[1], KEEL_INT64, x->rank, dims);
    return KEEL_OK;
}

/* Rewrites row-major flat indices as column-major within each plane (the
 * spatial coordinates reversed in significance: for 2-D, w * H + h). */
static void to_column_major(const kl_tensor *x, int64_t *idx, int64_t n)
{
    int nsp = x->rank - 2;
    int64_t plane = 1;
    for (int d = 0; d < nsp; d++)
        plane *= x->dims[2 + d];
    for (int64_t i = 0; i < n; i++) {
        if (idx[i] < 0)
            continue;
        int64_t rest = idx[i] % plane, col = 0, stride = 1, coord[SP];
        for (int d = nsp - 1; d >= 0; d--) {
            coord[d] = rest % x->dims[2 + d];
            rest /= x->dims[2 + d];
        }
        for (int d = 0; d < nsp; d++) { /* the first spatial dim varies fastest */
            col += coord[d] * stride;
            stride *= x->dims[2 + d];
        }
        idx[i] = idx[i] - idx[i] % plane + col;
    }
}

static keel_status maxpool_run(kl_opctx *c)
{
    maxpool_job j;
    keel_status st = maxpool_geometry(c, &j.g);
    if (st)
        return st;
    if (j.g.planes == 0 || j.g.out_size == 0)
        return KEEL_OK;
    j.dtype = c->in[0]->dtype;
    j.x = c->in[0]->data;
    j.y = c->out[0]->data;
    j.idx = c->n_out > 1 && c->out[1] ? c->out[1]->data : NULL;
    pool_parallel(c, j.g.planes, pool_work(&j.g), maxpool_planes, &j);
    if (j.idx && c->opset >= 8 && kl_attr_int(c->node, "storage_order", 0) == 1)
        to_column_major(c->in[0], j.idx, kl_numel(c->out[1]));
    return KEEL_OK;
}

#define MAXPOOL_OP(NAME, SINCE, UNTIL)                                                          \
    static const kl_op NAME = {.type = "MaxPool", .domain = "", .since = SINCE, .until = UNTIL, \
                               .min_inputs = 1, .max_inputs = 1, .infer = maxpool_infer,        \
                               .run = maxpool_run}

MAXPOOL_OP(maxpool_v1, 1, 7);    /* Y only */
MAXPOOL_OP(maxpool_v8, 8, 9);    /* + Indices, storage_order */
MAXPOOL_OP(maxpool_v10, 10, 11); /* + dilations, ceil_mode */
MAXPOOL_OP(maxpool_v12, 12, 0);  /* + int8, uint8 */

const kl_op *const kl_opfile_maxpool[] = {&maxpool_v1, &maxpool_v8, &maxpool_v10, &maxpool_v12, NULL};
