/* lppool.c -- LpPool (opsets 1, 2, 11, 18), float, 1-D to 3-D windows:
 * y = (sum over the window of |x|^p)^(1/p), padding adding nothing.
 * kernel_shape (required), strides, pads or auto_pad (NOTSET,
 * SAME_UPPER, SAME_LOWER, VALID), p (default 2; a float in opset 1),
 * and from opset 18 dilations and ceil_mode (a last window that would
 * start in the right padding is dropped). */
#include <string.h>

#include "drivers/lp.h"

#define SP 3  /* D, H, W; lower ranks get leading unit dims */

typedef struct lp_dim {
    int64_t in, out, k, stride, dil, pad;
} lp_dim;

typedef struct lp_geom {
    int nsp;
    int64_t planes;
    double p;
    lp_dim d[SP];
} lp_geom;

static keel_status lp_ints(kl_opctx *c, const char *name, int count, int64_t dflt, int64_t lo, int64_t *vals)
{
    const int64_t *v;
    int n = kl_attr_ints(c->node, name, &v);
    if (n >= 0 && n != count)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute '%s' has %d values; %d expected", name, n, count);
    for (int i = 0; i < count; i++) {
        vals[i] = n < 0 ? dflt : v[i];
        if (vals[i] < lo || vals[i] > ((int64_t)1 << 31))
            return kl_op_fail(c, KEEL_ERR_INVALID, "attribute '%s' value %lld is out of range", name,
                              (long long)vals[i]);
    }
    return KEEL_OK;
}

/* Output size and leading pad of one dim (in, k, stride, dil set). */
static keel_status plan_dim(kl_opctx *c, lp_dim *d, const char *auto_pad, bool ceil_mode, int64_t pb, int64_t pe)
{
    const int64_t reach = (d->k - 1) * d->dil + 1;
    if (!strcmp(auto_pad, "SAME_UPPER") || !strcmp(auto_pad, "SAME_LOWER")) {
        d->out = (d->in + d->stride - 1) / d->stride;
        int64_t total = (d->out - 1) * d->stride + reach - d->in;
        total = total < 0 ? 0 : total;
        d->pad = !strcmp(auto_pad, "SAME_UPPER") ? total / 2 : total - total / 2;
        return KEEL_OK;
    }
    if (!strcmp(auto_pad, "VALID"))
        pb = pe = 0;
    else if (strcmp(auto_pad, "NOTSET") != 0 && *auto_pad)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'auto_pad' is '%s'", auto_pad);
    const int64_t room = d->in + pb + pe - reach;
    if (room < 0)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "a spatial dim of %lld with pads %lld and %lld is smaller than the window %lld",
                          (long long)d->in, (long long)pb, (long long)pe, (long long)reach);
    d->out = (ceil_mode ? (room + d->stride - 1) / d->stride : room / d->stride) + 1;
    if (ceil_mode && (d->out - 1) * d->stride >= d->in + pb)
        d->out--;
    d->pad = pb;
    return KEEL_OK;
}

static keel_status geometry(kl_opctx *c, lp_geom *g)
{
    static const int types[] = {KEEL_FLOAT, 0};
    const kl_tensor *x = c->in[0];
    keel_status st;
    memset(g, 0, sizeof *g);
    if ((st = kl_require_dtype(c, 0, types)) || (st = kl_lp_read_p(c, &g->p)))
        return st;
    if (x->rank < 3 || x->rank > 2 + SP)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "X has rank %d; expected 3 to 5", x->rank);
    if (!kl_attr_has(c->node, "kernel_shape"))
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'kernel_shape' is required");
    const int nsp = g->nsp = x->rank - 2;
    const bool v18 = c->opset >= 18;
    int64_t ks[SP], strides[SP], dils[SP], pads[2 * SP];
    if ((st = lp_ints(c, "kernel_shape", nsp, 1, 1, ks)) || (st = lp_ints(c, "strides", nsp, 1, 1, strides)) ||
        (st = lp_ints(c, "pads", 2 * nsp, 0, 0, pads)) ||
        (st = lp_ints(c, "dilations", nsp, 1, 1, dils)))
        return st;
    int64_t ceil_mode = v18 ? kl_attr_int(c->node, "ceil_mode", 0) : 0;
    if (ceil_mode != 0 && ceil_mode != 1)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'ceil_mode' is %lld; expected 0 or 1", (long long)ceil_mode);
    const char *auto_pad = kl_attr_str(c->node, "auto_pad", "NOTSET");
    g->planes = x->dims[0] * x->dims[1];
    for (int i = 0; i < SP; i++) {
        int s = i - (SP - nsp);
        lp_dim *d = &g->d[i];
        if (s < 0) {
            *d = (lp_dim){1, 1, 1, 1, 1, 0};
            continue;
        }
        *d = (lp_dim){x->dims[2 + s], 0, ks[s], strides[s], v18 ? dils[s] : 1, 0};
        if ((st = plan_dim(c, d, auto_pad, ceil_mode == 1, pads[s], pads[s + nsp])))
            return st;
    }
    return KEEL_OK;
}

static keel_status lp_infer(kl_opctx *c)
{
    lp_geom g;
    keel_status st = geometry(c, &g);
    if (st)
        return st;
    int64_t dims[2 + SP] = {c->in[0]->dims[0], c->in[0]->dims[1]};
    for (int s = 0; s < g.nsp; s++)
        dims[2 + s] = g.d[SP - g.nsp + s].out;
    kl_set_shape(c->out[0], KEEL_FLOAT, 2 + g.nsp, dims);
    return KEEL_OK;
}

/* (sum |x|^p)^(1/p) over the window at output (od, oh, ow) of one plane */
static float window(const lp_geom *g, const float *plane, int64_t od, int64_t oh, int64_t ow)
{
    const lp_dim *D = &g->d[0], *H = &g->d[1], *W = &g->d[2];
    double sum = 0;
    for (int64_t kd = 0; kd < D->k; kd++) {
        int64_t id = od * D->stride - D->pad + kd * D->dil;
        if (id < 0 || id >= D->in)
            continue;
        for (int64_t kh = 0; kh < H->k; kh++) {
            int64_t ih = oh * H->stride - H->pad + kh * H->dil;
            if (ih < 0 || ih >= H->in)
                continue;
            const float *row = plane + (id * H->in + ih) * W->in;
            for (int64_t kw = 0; kw < W->k; kw++) {
                int64_t iw = ow * W->stride - W->pad + kw * W->dil;
                if (iw >= 0 && iw < W->in)
                    sum += kl_lp_power(row[iw], g->p);
            }
        }
    }
    return (float)kl_lp_root(sum, g->p);
}

static keel_status lp_run(kl_opctx *c)
{
    lp_geom g;
    keel_status st = geometry(c, &g);
    if (st)
        return st;
    const int64_t in_size = g.d[0].in * g.d[1].in * g.d[2].in;
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    for (int64_t q = 0; q < g.planes; q++)
        for (int64_t od = 0; od < g.d[0].out; od++)
            for (int64_t oh = 0; oh < g.d[1].out; oh++)
                for (int64_t ow = 0; ow < g.d[2].out; ow++)
                    *y++ = window(&g, x + q * in_size, od, oh, ow);
    return KEEL_OK;
}

#define LP_OP(NAME, SINCE, UNTIL)                                                                   \
    static const kl_op NAME = {.type = "LpPool", .since = SINCE, .until = UNTIL, .min_inputs = 1,   \
                               .max_inputs = 1, .infer = lp_infer, .run = lp_run}

LP_OP(lp_v1, 1, 1);    /* p is a float */
LP_OP(lp_v2, 2, 10);   /* p is an int */
LP_OP(lp_v11, 11, 17); /* pads may be given with auto_pad NOTSET only (no change here) */
LP_OP(lp_v18, 18, 0);  /* dilations, ceil_mode */

const kl_op *const kl_opfile_lppool[] = {&lp_v1, &lp_v2, &lp_v11, &lp_v18, NULL};
