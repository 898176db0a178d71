/* averagepool.c -- AveragePool over 1-D, 2-D and 3-D windows of an N x C x D...
 * float tensor: kernel_shape, strides, pads or auto_pad (NOTSET, SAME_UPPER,
 * SAME_LOWER, VALID), count_include_pad (opset 7+), ceil_mode (10+) and
 * dilations (19+).
 *
 * The divisor of a window is the number of its taps on input elements, or
 * with count_include_pad=1 on input elements and explicit pads; the extra
 * window that ceil_mode adds on the right counts only those too, never
 * positions beyond the right pad (as ONNX Runtime and PyTorch do).  A
 * window that holds nothing to count (possible only with dilations larger
 * than the input) gives 0.
 *
 * Lower ranks are handled as 3-D with leading unit dims.  Each output row is
 * computed with inner loops over its output columns: for each kernel tap,
 * one strided pass over an input row into the output row, then one scaling
 * pass.  Only the border columns, whose windows reach into the padding, are
 * computed one at a time.  With ceil_mode, a last window that would start in
 * the right padding is dropped. */
#include <string.h>

#include "op.h"

/* ---- window geometry (kept identical in maxpool.c and averagepool.c) ---- */

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

/* An INTS attribute of `want` values in [lo, POOL_ATTR_MAX]; dflt for all
 * when absent. */
static keel_status pool_ints(kl_opctx *c, const char *name, int want, int64_t dflt, int64_t lo,
                             int64_t *vals)
{
    const int64_t *v;
    int n = kl_attr_ints(c->node, name, &v);
    if (n < 0) {
        for (int i = 0; i < want; i++)
            vals[i] = dflt;
        return KEEL_OK;
    }
    if (n != want)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute '%s' has %d values; the input's %d spatial "
                          "dims need %d", name, n, want / (strcmp(name, "pads") ? 1 : 2), want);
    for (int i = 0; i < n; i++)
        if (v[i] < lo || v[i] > POOL_ATTR_MAX)
            return kl_op_fail(c, KEEL_ERR_INVALID, "attribute '%s' value %lld is outside [%lld, %lld]",
                              name, (long long)v[i], (long long)lo, (long long)POOL_ATTR_MAX);
    memcpy(vals, v, (size_t)n * sizeof *v);
    return KEEL_OK;
}

static keel_status pool_autopad_mode(kl_opctx *c, pool_autopad *mode)
{
    static const char *const names[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
    const char *s = kl_attr_str(c->node, "auto_pad", "NOTSET");
    if (!*s) { /* some exporters write an empty string for the default */
        *mode = AUTOPAD_NOTSET;
        return KEEL_OK;
    }
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *mode = (pool_autopad)i;
            return KEEL_OK;
        }
    return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'auto_pad' is '%s'; expected NOTSET, SAME_UPPER, "
                      "SAME_LOWER or VALID", s);
}

/* Output extent and pads of spatial dim s (d has in, k, stride, dil). */
static keel_status pool_plan_dim(kl_opctx *c, int s, pool_dim *d, pool_autopad mode, bool ceil_mode,
                                 int64_t pb, int64_t pe)
{
    int64_t reach = (d->k - 1) * d->dil + 1;
    if (d->in < 1 || d->in > POOL_DIM_MAX)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "spatial dim %d has size %lld; expected 1 to %lld", s,
                          (long long)d->in, (long long)POOL_DIM_MAX);
    if (mode == AUTOPAD_SAME_UPPER || mode == AUTOPAD_SAME_LOWER) {
        d->out = (d->in + d->stride - 1) / d->stride;
        int64_t total = (d->out - 1) * d->stride + reach - d->in;
        total = total < 0 ? 0 : total;
        pb = mode == AUTOPAD_SAME_UPPER ? total / 2 : total - total / 2;
        pe = total - pb;
    } else {
        if (mode == AUTOPAD_VALID)
            pb = pe = 0;
        if (pb >= reach || pe >= reach)
            return kl_op_fail(c, KEEL_ERR_INVALID, "pads %lld and %lld of spatial dim %d must be smaller "
                              "than the kernel's reach %lld (kernel %lld, dilation %lld)", (long long)pb,
                              (long long)pe, s, (long long)reach, (long long)d->k, (long long)d->dil);
        int64_t room = d->in + pb + pe - reach;
        if (room < 0)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "spatial dim %d: size %lld with pads %lld and %lld is "
                              "smaller than the kernel's reach %lld", s, (long long)d->in, (long long)pb,
                              (long long)pe, (long long)reach);
        d->out = (ceil_mode ? (room + d->stride - 1) / d->stride : room / d->stride) + 1;
        /* a last window starting in the right padding is dropped */
        if (ceil_mode && (d->out - 1) * d->stride >= d->in + pb)
            d->out--;
    }
    d->pad = pb;
    d->pad_end = pe;
    return KEEL_OK;
}

/* Reads and checks the window attributes against input 0.  `dilations` and
 * `ceil_mode` say whether the node's opset has those attributes. */
static keel_status pool_geometry(kl_opctx *c, pool_geom *g, bool dilations, bool ceil_mode)
{
    const kl_tensor *x = c->in[0];
    memset(g, 0, sizeof *g);
    if (x->rank < 3 || x->rank > 2 + SP)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input has rank %d; expected 3 to 5 (N, C and 1 to 3 "
                          "spatial dims)", x->rank);
    int nsp = g->nsp = x->rank - 2;
    int64_t ks[SP], strides[SP], dils[SP], pads[2 * SP];
    pool_autopad mode = AUTOPAD_NOTSET;
    keel_status st;
    if (!kl_attr_has(c->node, "kernel_shape"))
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'kernel_shape' is required");
    if ((st = pool_ints(c, "kernel_shape", nsp, 1, 1, ks)) ||
        (st = pool_ints(c, "strides", nsp, 1, 1, strides)) ||
        (st = pool_ints(c, "pads", 2 * nsp, 0, 0, pads)) || (st = pool_autopad_mode(c, &mode)))
        return st;
    if (dilations) {
        if ((st = pool_ints(c, "dilations", nsp, 1, 1, dils)))
            return st;
    } else {
        for (int s = 0; s < nsp; s++)
            dils[s] = 1;
    }
    int64_t cm = ceil_mode ? kl_attr_int(c->node, "ceil_mode", 0) : 0;
    if (cm != 0 && cm != 1)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'ceil_mode' is %lld; expected 0 or 1",
                          (long long)cm);
    g->planes = x->dims[0] * x->dims[1]; /* no overflow: the input's size was checked */
    int64_t in_dims[SP], out_dims[SP];
    for (int i = 0; i < SP; i++) {
        pool_dim *d = &g->d[i];
        int s = i - (SP - nsp);
        if (s < 0) {
            *d = (pool_dim){1, 1, 1, 1, 1, 0, 0};
        } else {
            d->in = x->dims[2 + s];
            d->k = ks[s];
            d->stride = strides[s];
            d->dil = dils[s];
            if ((st = pool_plan_dim(c, s, d, mode, cm == 1, pads[s], pads[s + nsp])))
                return st;
        }
        in_dims[i] = d->in;
        out_dims[i] = d->out;
    }
    if (!kl_checked_numel(SP, in_dims, &g->in_size) || !kl_checked_numel(SP, out_dims, &g->out_size))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "the spatial size overflows");
    return KEEL_OK;
}

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

/* Kernel taps over all outputs, to decide on threads (saturated: windows
 * may be far larger than the input they overlap). */
static int64_t pool_work(const pool_geom *g)
{
    double work = (double)g->planes * (double)g->out_size * (double)g->d[0].k * (double)g->d[1].k *
                  (double)g->d[2].k;
    return work < 9e18 ? (int64_t)work : INT64_MAX;
}

/* Runs fn over [0, n) on the session's threads when there is enough work. */
static void pool_parallel(kl_opctx *c, int64_t n, int64_t work, kl_range_fn fn, void *arg)
{
    if (work < ((int64_t)1 << 15))
        fn(arg, 0, n);
    else
        kl_parallel_for(c->pool, n, fn, arg);
}

/* ---- kernels ---------------------------------------------------------------- */

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

KL_HOT static void avgpool_plane(const pool_geom *g, bool include_pad, const float *restrict x, float *restrict y)
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

/* ---- the operator ------------------------------------------------------------- */

typedef struct avgpool_job {
    pool_geom g;
    bool include_pad;
    const float *x;
    float *y;
} avgpool_job;

static void avgpool_planes(void *arg, int64_t lo, int64_t hi)
{
    const avgpool_job *j = arg;
    for (int64_t p = lo; p < hi; p++)
        avgpool_plane(&j->g, j->include_pad, j->x + p * j->g.in_size, j->y + p * j->g.out_size);
}

static keel_status avgpool_geometry(kl_opctx *c, pool_geom *g, bool *include_pad)
{
    int64_t cip = c->opset >= 7 ? kl_attr_int(c->node, "count_include_pad", 0) : 0;
    if (cip != 0 && cip != 1)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'count_include_pad' is %lld; expected 0 or 1",
                          (long long)cip);
    *include_pad = cip == 1;
    return pool_geometry(c, g, c->opset >= 19, c->opset >= 10);
}

static keel_status avgpool_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    static const int types[] = {KEEL_FLOAT, 0};
    keel_status st = kl_require_dtype(c, 0, types);
    if (st)
        return st;
    if (c->n_out > 1)
        return kl_op_fail(c, KEEL_ERR_INVALID, "%d outputs; AveragePool has one", c->n_out);
    pool_geom g;
    bool include_pad;
    if ((st = avgpool_geometry(c, &g, &include_pad)))
        return st;
    int64_t dims[2 + SP] = {x->dims[0], x->dims[1]};
    for (int s = 0; s < g.nsp; s++)
        dims[2 + s] = g.d[SP - g.nsp + s].out;
    kl_set_shape(c->out[0], x->dtype, x->rank, dims);
    return KEEL_OK;
}

static keel_status avgpool_run(kl_opctx *c)
{
    avgpool_job j;
    keel_status st = avgpool_geometry(c, &j.g, &j.include_pad);
    if (st)
        return st;
    if (j.g.planes == 0 || j.g.out_size == 0)
        return KEEL_OK;
    j.x = c->in[0]->data;
    j.y = c->out[0]->data;
    pool_parallel(c, j.g.planes, pool_work(&j.g), avgpool_planes, &j);
    return KEEL_OK;
}

#define AVGPOOL_OP(NAME, SINCE, UNTIL)                                                          \
    static const kl_op NAME = {.type = "AveragePool", .domain = "", .since = SINCE,             \
                               .until = UNTIL, .min_inputs = 1, .max_inputs = 1,                \
                               .infer = avgpool_infer, .run = avgpool_run}

AVGPOOL_OP(avgpool_v1, 1, 6);    /* pads never counted */
AVGPOOL_OP(avgpool_v7, 7, 9);    /* + count_include_pad */
AVGPOOL_OP(avgpool_v10, 10, 18); /* + ceil_mode */
AVGPOOL_OP(avgpool_v19, 19, 0);  /* + dilations */

const kl_op *const kl_opfile_averagepool[] = {&avgpool_v1, &avgpool_v7, &avgpool_v10, &avgpool_v19, NULL};
