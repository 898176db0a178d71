/* ops/drivers/pool.h -- the window geometry shared by MaxPool and AveragePool:
 * kernel_shape, strides, pads or auto_pad, dilations and ceil_mode over
 * 1-D to 3-D inputs (lower ranks as 3-D with leading unit dims), and the
 * split of the planes over the session's threads. */
#ifndef KL_POOL_COMMON_H
#define KL_POOL_COMMON_H

#include "../op.h"


#define SP 3                               /* spatial dims handled */
#define POOL_ATTR_MAX ((int64_t)1 << 31)   /* bound on kernel, stride, dilation, pad */
#define POOL_DIM_MAX ((int64_t)1 << 48)    /* bound on a spatial dim */

typedef struct pool_dim {
    int64_t in, out, k, stride, dil, pad, pad_end;
} pool_dim;

typedef struct pool_geom {
    int nsp;                  /* the input's spatial dims: 1 to 3 */
    int64_t planes;           /* N * C */
    int64_t in_size, out_size;  /* elements of one input / output plane */
    pool_dim d[SP];           /* depth, height, width; unit dims first */
} pool_geom;

typedef enum pool_autopad {
    AUTOPAD_NOTSET, AUTOPAD_SAME_UPPER, AUTOPAD_SAME_LOWER, AUTOPAD_VALID
} pool_autopad;

/* Taps t of window o whose position o*stride - pad + t*dil lies in [lo, hi):
 * they form the range [*t0, *t1) (empty when *t0 == *t1). */
static inline void pool_taps(const pool_dim *d, int64_t o, int64_t lo, int64_t hi, int64_t *t0, int64_t *t1)
{
    int64_t start = o * d->stride - d->pad, a, b;
    if (d->dil == 1) { /* no divisions in the common case */
        a = start < lo ? lo - start : 0;
        b = start < hi ? hi - start : 0;
    } else {
        a = start < lo ? (lo - start + d->dil - 1) / d->dil : 0;
        b = start < hi ? (hi - 1 - start) / d->dil + 1 : 0;
    }
    b = b > d->k ? d->k : b;
    *t0 = a < b ? a : b;
    *t1 = b;
}

/* Output columns [*a, *b) whose windows lie wholly inside the input row. */
static inline void pool_interior(const pool_dim *d, int64_t *a, int64_t *b)
{
    int64_t reach = (d->k - 1) * d->dil + 1;
    int64_t first = (d->pad + d->stride - 1) / d->stride;
    int64_t room = d->in + d->pad - reach;
    int64_t end = room >= 0 ? room / d->stride + 1 : 0;
    *a = first < d->out ? first : d->out;
    *b = end > d->out ? d->out : end < *a ? *a : end;
}

/* MaxPool's downsampling windows that ops/kernels/x86's kernels take
 * a row of outputs at a time: float, no Indices, 2-D, 2 or 3 taps at
 * stride 2 and no dilation along both axes. */
static inline bool pool_stride2_small(int dtype, const pool_geom *g, const int64_t *idx)
{
    const pool_dim *dz = &g->d[0];
    if (dtype != KEEL_FLOAT || idx || dz->in != 1 || dz->k != 1 || dz->out != 1)
        return false;
    for (int i = 1; i < SP; i++) {
        const pool_dim *d = &g->d[i];
        if (d->stride != 2 || d->dil != 1 || d->k < 2 || d->k > 3)
            return false;
    }
    return true;
}

/* One output row of a stride-2 window: `rows` input rows from `row`, the
 * row's width apart, into out (an ISA's kernel). */
typedef void pool_s2_row_fn(const pool_dim *dx, const float *row, int64_t rows, float *out);

#define POOL_S2_AHEAD 4 /* output rows between a row's input being fetched and used */

/* The windows of pool_stride2_small's geometries, row by row.  While
 * output row oy is computed, the two input rows that row oy + AHEAD adds
 * are fetched: the planes stream in from L3 or memory, where the hardware
 * prefetcher, following three rows at a time, fell behind (Inception-v3's
 * first MaxPool took 0.9 ms after its conv, 0.25 ms alone). */
static inline __attribute__((always_inline)) void pool_s2_planes(const pool_geom *g, int64_t planes, const float *x,
                                                                 float *y, pool_s2_row_fn *row_fn)
{
    const pool_dim *dy = &g->d[1], *dx = &g->d[2];
    const int64_t w = dx->in, ow = dx->out, all = planes * g->in_size;
    for (int64_t p = 0; p < planes; p++) {
        const float *plane = x + p * g->in_size;
        for (int64_t oy = 0; oy < dy->out; oy++) {
            const int64_t from = p * g->in_size + (2 * (oy + POOL_S2_AHEAD) + 1) * w;
            const int64_t to = from + 2 * w < all ? from + 2 * w : all;
            for (int64_t i = from; i < to; i += 16)
                __builtin_prefetch(x + i);
            int64_t t0, t1;
            pool_taps(dy, oy, 0, dy->in, &t0, &t1);
            const float *row = t1 > t0 ? plane + (oy * 2 - dy->pad + t0) * w : plane;
            row_fn(dx, row, t1 - t0, y + p * g->out_size + oy * ow);
        }
    }
}

/* Reads and checks the window attributes against input 0.  `dilations` and
 * `ceil_mode` say whether the node's opset has those attributes. */
keel_status pool_geometry(kl_opctx *c, pool_geom *g, bool dilations, bool ceil_mode);

/* Kernel taps over all outputs, to decide on threads (saturated: windows
 * may be far larger than the input they overlap). */
int64_t pool_work(const pool_geom *g);

/* Runs fn over [0, n) on the session's threads when there is enough work. */
void pool_parallel(kl_opctx *c, int64_t n, int64_t work, kl_range_fn fn, void *arg);

/* ---- global pooling (GlobalAveragePool, GlobalMaxPool) ---- */

/* One value from the n elements of a plane. */
typedef float (*kl_plane_fn)(const float *x, int64_t n);

/* infer: float input of rank 3 or more, no empty spatial dim (`empty_why`
 * ends the message about one), output N x C x 1 x ... x 1. */
keel_status kl_global_pool_infer(kl_opctx *c, const char *empty_why);
/* run: reduce every plane with fn, over the session's threads when large. */
keel_status kl_global_pool_run(kl_opctx *c, kl_plane_fn fn);

#endif
