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

#include "drivers/pool.h"

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

KL_HOT static void avgpool_3x3s1_plane(const pool_geom *g, const float *restrict x, float *restrict y)
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

/* 3x3, stride 1, one row and column of zeros around, zeros counted (the
 * same pools with their Pad fused in by the optimizer): the same ring of
 * row sums, rows outside the plane zero. */
static bool is_3x3s1_same(const pool_geom *g, bool include_pad)
{
    const pool_dim *dz = &g->d[0], *dy = &g->d[1], *dx = &g->d[2];
    return include_pad && dz->k == 1 && dz->in == 1 && dy->k == 3 && dx->k == 3 && dy->stride == 1 &&
           dx->stride == 1 && dy->dil == 1 && dx->dil == 1 && dy->pad == 1 && dx->pad == 1 && dy->out == dy->in &&
           dx->out == dx->in && dx->in >= 2 && dx->out <= RING_MAX;
}

/* h[i] = x[i - 1] + x[i] + x[i + 1] over a row of w >= 2, zero outside it. */
KL_HOT static void row_sums_padded(const float *restrict x, int64_t w, float *restrict h)
{
    h[0] = x[0] + x[1];
    for (int64_t i = 1; i + 1 < w; i++)
        h[i] = x[i - 1] + x[i] + x[i + 1];
    h[w - 1] = x[w - 2] + x[w - 1];
}

KL_HOT static void avgpool_3x3s1_same_plane(const pool_geom *g, const float *restrict x, float *restrict y)
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
    bool fast = is_3x3s1_valid(&j->g), same = is_3x3s1_same(&j->g, j->include_pad);
    for (int64_t p = lo; p < hi; p++)
        if (fast)
            avgpool_3x3s1_plane(&j->g, j->x + p * j->g.in_size, j->y + p * j->g.out_size);
        else if (same)
            avgpool_3x3s1_same_plane(&j->g, j->x + p * j->g.in_size, j->y + p * j->g.out_size);
        else
            avgpool_plane(&j->g, j->include_pad, j->x + p * j->g.in_size, j->y + p * j->g.out_size);
}

static keel_status avgpool_geometry(kl_opctx *c, pool_geom *g, bool *include_pad)
{
    int64_t cip = c->opset >= 7 ? kl_attr_int(c->node, "count_include_pad", 0) : 0;
    if (cip != 0 && cip != 1)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'count_include_pad' is %lld; expected 0 or 1",
                          (long long)cip);
    /* pads taken over from a Pad before the node count as the zeros they
     * were (the optimizer fuses it only into a pool without pads of its own) */
    *include_pad = cip == 1 || c->pre_pad;
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
