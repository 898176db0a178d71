/* ops/drivers/pool.c -- the window geometry shared by MaxPool and AveragePool
 * (ops/drivers/pool.h). */
#include <string.h>

#include "pool.h"

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
keel_status pool_geometry(kl_opctx *c, pool_geom *g, bool dilations, bool ceil_mode)
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
    for (int s = 0; c->pre_pad && s < nsp; s++) {
        pads[s] += c->pre_pad[s];
        pads[s + nsp] += c->pre_pad[3 + s];
    }
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

/* Kernel taps over all outputs, to decide on threads (saturated: windows
 * may be far larger than the input they overlap). */
int64_t pool_work(const pool_geom *g)
{
    double work = (double)g->planes * (double)g->out_size * (double)g->d[0].k * (double)g->d[1].k *
                  (double)g->d[2].k;
    return work < 9e18 ? (int64_t)work : INT64_MAX;
}

/* Runs fn over [0, n) on the session's threads when there is enough work. */
void pool_parallel(kl_opctx *c, int64_t n, int64_t work, kl_range_fn fn, void *arg)
{
    if (work < ((int64_t)1 << 15))
        fn(arg, 0, n);
    else
        kl_parallel_for(c->pool, n, fn, arg);
}

keel_status kl_global_pool_infer(kl_opctx *c, const char *empty_why)
{
    const kl_tensor *x = c->in[0];
    static const int types[] = {KEEL_FLOAT, 0};
    keel_status st = kl_require_dtype(c, 0, types);
    if (st)
        return st;
    if (x->rank < 3)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input has rank %d; expected 3 or more (N, C and spatial "
                          "dims)", x->rank);
    int64_t dims[KL_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int i = 2; i < x->rank; i++) {
        if (x->dims[i] == 0)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "spatial dim %d is empty: %s", i - 2, empty_why);
        dims[i] = 1;
    }
    kl_set_shape(c->out[0], KEEL_FLOAT, x->rank, dims);
    return KEEL_OK;
}

typedef struct global_job {
    const float *x;
    float *y;
    int64_t size;
    kl_plane_fn fn;
} global_job;

static void global_planes(void *arg, int64_t lo, int64_t hi)
{
    const global_job *j = arg;
    for (int64_t p = lo; p < hi; p++)
        j->y[p] = j->fn(j->x + p * j->size, j->size);
}

keel_status kl_global_pool_run(kl_opctx *c, kl_plane_fn fn)
{
    const kl_tensor *x = c->in[0];
    int64_t planes = x->dims[0] * x->dims[1];
    if (planes == 0)
        return KEEL_OK;
    global_job j = {x->data, c->out[0]->data, kl_numel(x) / planes, fn};
    if (kl_numel(x) < ((int64_t)1 << 15))
        global_planes(&j, 0, planes);
    else
        kl_parallel_for(c->pool, planes, global_planes, &j);
    return KEEL_OK;
}
