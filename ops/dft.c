/* dft.c -- DFT (opset 17): the discrete Fourier transform along `axis` of
 * a signal [batch, ..., N, 1 | 2] (real or complex), with an optional
 * dft_length (zero-pad or truncate), `inverse` and `onesided` (only the
 * first len/2 + 1 bins of a real signal's transform). */
#include "drivers/spectral.h"

typedef struct dft_plan {
    int axis;
    int64_t len, n_out;
    bool inverse, onesided;
} dft_plan;

static keel_status plan(kl_opctx *c, dft_plan *p)
{
    const kl_tensor *x = c->in[0];
    if (x->dtype != KEEL_FLOAT || x->rank < 3 || (x->dims[x->rank - 1] != 1 && x->dims[x->rank - 1] != 2))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input must be float [batch, ..., N, 1 or 2]");
    keel_status st = kl_norm_axis(c, kl_attr_int(c->node, "axis", 1), x->rank, &p->axis);
    if (st)
        return st;
    if (p->axis == 0 || p->axis == x->rank - 1)
        return kl_op_fail(c, KEEL_ERR_INVALID, "axis %d is the batch or the complex axis", p->axis);
    p->len = x->dims[p->axis];
    if (c->n_in > 1 && c->in[1] && (st = kl_scalar_int(c, 1, &p->len)))
        return st;
    if (p->len < 1)
        return kl_op_fail(c, KEEL_ERR_INVALID, "dft_length %lld", (long long)p->len);
    p->inverse = kl_attr_int(c->node, "inverse", 0) != 0;
    p->onesided = kl_attr_int(c->node, "onesided", 0) != 0;
    if (p->onesided && (p->inverse || x->dims[x->rank - 1] != 1))
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "onesided applies to the forward transform of a real signal");
    p->n_out = p->onesided ? p->len / 2 + 1 : p->len;
    return KEEL_OK;
}

static keel_status dft_infer(kl_opctx *c)
{
    dft_plan p;
    keel_status st = plan(c, &p);
    if (st)
        return st;
    const kl_tensor *x = c->in[0];
    int64_t dims[KL_MAX_RANK];
    for (int d = 0; d < x->rank; d++)
        dims[d] = x->dims[d];
    dims[p.axis] = p.n_out;
    dims[x->rank - 1] = 2;
    kl_set_shape(c->out[0], KEEL_FLOAT, x->rank, dims);
    return KEEL_OK;
}

static keel_status dft_run(kl_opctx *c)
{
    dft_plan p;
    keel_status st = plan(c, &p);
    if (st)
        return st;
    const kl_tensor *x = c->in[0];
    int64_t comps = x->dims[x->rank - 1], n_in = x->dims[p.axis];
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < p.axis; d++)
        outer *= x->dims[d];
    for (int d = p.axis + 1; d < x->rank - 1; d++)
        inner *= x->dims[d];
    const float *in = x->data;
    float *out = c->out[0]->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++)
            kl_dft(in + (o * n_in * inner + i) * comps, inner * comps, comps == 2, n_in, NULL, p.len, p.inverse,
                   out + (o * p.n_out * inner + i) * 2, inner * 2, p.n_out);
    return KEEL_OK;
}

static const kl_op dft = {.type = "DFT", .since = 17, .min_inputs = 1, .max_inputs = 2,
                          .infer = dft_infer, .run = dft_run};

const kl_op *const kl_opfile_dft[] = {&dft, NULL};
