/* maxpool.c -- MaxPool (1-D, 2-D, 3-D; pads, auto_pad, strides, dilations,
 * ceil_mode; the optional Indices output), float32.  Shapes are handled as
 * 3-D (D, H, W) with unit dims filling in for lower ranks. */
#include <math.h>
#include <string.h>

#include "op.h"

#define SP 3

typedef struct pool_geom {
    int nsp;
    int64_t planes;                       /* N * C */
    int64_t in[SP], out[SP], k[SP], stride[SP], dil[SP], pad[SP];
} pool_geom;

static keel_status read_list(kl_opctx *c, const char *name, int want, int64_t dflt, int64_t *vals)
{
    const int64_t *v;
    int n = kl_attr_ints(c->node, name, &v);
    for (int i = 0; i < want; i++)
        vals[i] = n < 0 ? dflt : 0;
    if (n < 0)
        return KEEL_OK;
    if (n != want)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute '%s' has %d values; %d expected", name, n, want);
    memcpy(vals, v, (size_t)n * sizeof *v);
    return KEEL_OK;
}

/* Output extent of one dim, and its leading pad. */
static bool extent(const char *auto_pad, bool ceil_mode, int64_t in, int64_t k, int64_t s, int64_t d,
                   int64_t pb, int64_t pe, int64_t *out, int64_t *lead)
{
    int64_t span = (k - 1) * d + 1;
    if (!strcmp(auto_pad, "SAME_UPPER") || !strcmp(auto_pad, "SAME_LOWER")) {
        *out = (in + s - 1) / s;
        int64_t total = (*out - 1) * s + span - in;
        total = total < 0 ? 0 : total;
        *lead = !strcmp(auto_pad, "SAME_UPPER") ? total / 2 : total - total / 2;
        return *out > 0;
    }
    if (!strcmp(auto_pad, "VALID"))
        pb = pe = 0;
    *lead = pb;
    int64_t room = in + pb + pe - span;
    if (room < 0)
        return false;
    *out = (ceil_mode ? (room + s - 1) / s : room / s) + 1;
    /* a last window starting in the right padding is dropped */
    if (ceil_mode && (*out - 1) * s >= in + pb)
        (*out)--;
    return *out > 0;
}

static keel_status geometry(kl_opctx *c, pool_geom *g)
{
    const kl_tensor *x = c->in[0];
    memset(g, 0, sizeof *g);
    if (x->dtype != KEEL_FLOAT)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "only float input is supported, not %s", kl_dtype_name(x->dtype));
    if (x->rank < 3 || x->rank > 2 + SP)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input rank %d: expected 3 to 5", x->rank);
    if (kl_attr_int(c->node, "storage_order", 0) != 0)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "storage_order=1 (column-major indices) is not supported");
    g->nsp = x->rank - 2;
    g->planes = x->dims[0] * x->dims[1];
    int64_t ks[SP], strides[SP], dils[SP], pads[2 * SP];
    keel_status st;
    if ((st = read_list(c, "kernel_shape", g->nsp, 0, ks)) || (st = read_list(c, "strides", g->nsp, 1, strides)) ||
        (st = read_list(c, "dilations", g->nsp, 1, dils)) || (st = read_list(c, "pads", 2 * g->nsp, 0, pads)))
        return st;
    if (!kl_attr_has(c->node, "kernel_shape"))
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'kernel_shape' is required");
    const char *auto_pad = kl_attr_str(c->node, "auto_pad", "NOTSET");
    bool ceil_mode = kl_attr_int(c->node, "ceil_mode", 0) != 0;
    for (int i = 0; i < SP; i++) {
        int s = i - (SP - g->nsp);
        if (s < 0) {
            g->in[i] = g->out[i] = g->k[i] = g->stride[i] = g->dil[i] = 1;
            continue;
        }
        g->in[i] = x->dims[2 + s];
        g->k[i] = ks[s];
        g->stride[i] = strides[s];
        g->dil[i] = dils[s];
        if (g->k[i] < 1 || g->stride[i] < 1 || g->dil[i] < 1 || pads[s] < 0 || pads[s + g->nsp] < 0)
            return kl_op_fail(c, KEEL_ERR_INVALID, "kernel, strides and dilations must be positive, pads not negative");
        if (pads[s] >= (g->k[i] - 1) * g->dil[i] + 1 || pads[s + g->nsp] >= (g->k[i] - 1) * g->dil[i] + 1)
            return kl_op_fail(c, KEEL_ERR_INVALID, "pads must be smaller than the kernel's reach");
        if (!extent(auto_pad, ceil_mode, g->in[i], g->k[i], g->stride[i], g->dil[i], pads[s], pads[s + g->nsp],
                    &g->out[i], &g->pad[i]))
            return kl_op_fail(c, KEEL_ERR_SHAPE, "spatial dim %d of size %lld is smaller than the kernel",
                              s, (long long)g->in[i]);
    }
    return KEEL_OK;
}

static keel_status maxpool_infer(kl_opctx *c)
{
    pool_geom g;
    keel_status st = geometry(c, &g);
    if (st)
        return st;
    const kl_tensor *x = c->in[0];
    int64_t dims[2 + SP] = {x->dims[0], x->dims[1]};
    for (int s = 0; s < g.nsp; s++)
        dims[2 + s] = g.out[SP - g.nsp + s];
    kl_set_shape(c->out[0], KEEL_FLOAT, x->rank, dims);
    if (c->n_out > 1 && c->out[1])
        kl_set_shape(c->out[1], KEEL_INT64, x->rank, dims);
    return KEEL_OK;
}

/* First and one-past-last kernel tap whose input index o*s - p + t*d lies
 * inside [0, in). */
static void taps(int64_t o, int64_t s, int64_t p, int64_t d, int64_t k, int64_t in, int64_t *t0, int64_t *t1)
{
    int64_t start = o * s - p;
    *t0 = start < 0 ? (-start + d - 1) / d : 0;
    int64_t last = in - 1 - start; /* largest t*d allowed */
    *t1 = last < 0 ? 0 : last / d + 1;
    if (*t1 > k)
        *t1 = k;
}

static keel_status maxpool_run(kl_opctx *c)
{
    pool_geom g;
    geometry(c, &g);
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    int64_t *idx = c->n_out > 1 && c->out[1] ? c->out[1]->data : NULL;
    const int64_t in_size = g.in[0] * g.in[1] * g.in[2], out_size = g.out[0] * g.out[1] * g.out[2];
    for (int64_t p = 0; p < g.planes; p++) {
        const float *src = x + p * in_size;
        float *dst = y + p * out_size;
        for (int64_t oz = 0; oz < g.out[0]; oz++) {
            int64_t z0, z1;
            taps(oz, g.stride[0], g.pad[0], g.dil[0], g.k[0], g.in[0], &z0, &z1);
            for (int64_t oy = 0; oy < g.out[1]; oy++) {
                int64_t y0, y1;
                taps(oy, g.stride[1], g.pad[1], g.dil[1], g.k[1], g.in[1], &y0, &y1);
                for (int64_t ox = 0; ox < g.out[2]; ox++) {
                    int64_t x0, x1;
                    taps(ox, g.stride[2], g.pad[2], g.dil[2], g.k[2], g.in[2], &x0, &x1);
                    float best = -INFINITY;
                    int64_t at = -1;
                    for (int64_t tz = z0; tz < z1; tz++) {
                        int64_t iz = oz * g.stride[0] - g.pad[0] + tz * g.dil[0];
                        for (int64_t ty = y0; ty < y1; ty++) {
                            int64_t iy = oy * g.stride[1] - g.pad[1] + ty * g.dil[1];
                            const int64_t row = (iz * g.in[1] + iy) * g.in[2];
                            for (int64_t tx = x0; tx < x1; tx++) {
                                int64_t i = row + ox * g.stride[2] - g.pad[2] + tx * g.dil[2];
                                if (src[i] > best || at < 0) {
                                    best = src[i];
                                    at = i;
                                }
                            }
                        }
                    }
                    int64_t o = (oz * g.out[1] + oy) * g.out[2] + ox;
                    dst[o] = best;
                    if (idx)
                        idx[p * out_size + o] = p * in_size + (at < 0 ? 0 : at);
                }
            }
        }
    }
    return KEEL_OK;
}

#define MAXPOOL_OP(name, lo, hi)                                                          \
    static const kl_op name = {.type = "MaxPool", .domain = "", .since = lo, .until = hi,       \
                               .min_inputs = 1, .max_inputs = 1, .infer = maxpool_infer,       \
                               .run = maxpool_run}
/* opset 1-7: one output; 8+: Indices; 10: ceil_mode and dilations (read
 * the same way, they default off) */
MAXPOOL_OP(maxpool_1, 1, 0);

const kl_op *const kl_opfile_maxpool[] = {&maxpool_1, NULL};
