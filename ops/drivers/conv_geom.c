/* conv_geom.c -- the geometry of a convolution from its input, weight and
 * attributes (strides, dilations, pads, auto_pad, group, kernel_shape),
 * shared by Conv and the integer convolutions. */
#include <string.h>

#include "../kernels/conv.h"

static keel_status read_ints(kl_opctx *c, const char *name, int nsp, int64_t dflt, int64_t *vals,
                             int count_mult)
{
    const int64_t *v;
    int n = kl_attr_ints(c->node, name, &v);
    if (n < 0) {
        for (int i = 0; i < nsp * count_mult; i++)
            vals[i] = dflt;
        return KEEL_OK;
    }
    if (n != nsp * count_mult)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute '%s' has %d values; %d expected", name, n,
                          nsp * count_mult);
    for (int i = 0; i < n; i++)
        vals[i] = v[i];
    return KEEL_OK;
}

/* Output extent and leading pad for one spatial dim; false if it does not
 * fit, or if the kernel's reach or the padded size overflows int64
 * (hostile dilations or pads). */
static bool extent(const char *auto_pad, int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb,
                   int64_t pe, int64_t *out, int64_t *lead)
{
    int64_t span, padded;
    if (__builtin_mul_overflow(k - 1, d, &span) || __builtin_add_overflow(span, 1, &span))
        return false;
    if (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0) {
        *out = in / s + (in % s != 0);
        int64_t total = (*out - 1) * s - in; /* in (-s, 0] */
        if (__builtin_add_overflow(total, span, &total))
            return false;
        if (total < 0)
            total = 0;
        *lead = strcmp(auto_pad, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
        return *out > 0;
    }
    if (strcmp(auto_pad, "VALID") == 0)
        pb = pe = 0;
    *lead = pb;
    if (__builtin_add_overflow(in, pb, &padded) || __builtin_add_overflow(padded, pe, &padded) || padded < span)
        return false;
    *out = (padded - span) / s + 1;
    return true;
}

keel_status kl_conv_geometry(kl_opctx *c, const kl_tensor *x, const kl_tensor *w, kl_conv_geom *g)
{
    memset(g, 0, sizeof *g);
    if (x->rank < 3 || x->rank > 2 + KL_CONV_SP || w->rank != x->rank)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input rank %d and weight rank %d: expected equal ranks 3 to 5",
                          x->rank, w->rank);
    g->kern = c->env->kern;
    g->nsp = x->rank - 2;
    g->n = x->dims[0];
    g->c = x->dims[1];
    g->m = w->dims[0];
    g->group = kl_attr_int(c->node, "group", 1);
    if (g->group < 1 || g->c % g->group || g->m % g->group || w->dims[1] * g->group != g->c)
        return kl_op_fail(c, KEEL_ERR_SHAPE,
                          "input has %lld channels, weight %lld x %lld, group %lld: they do not fit",
                          (long long)g->c, (long long)g->m, (long long)w->dims[1], (long long)g->group);
    int64_t ks[KL_CONV_SP], strides[KL_CONV_SP], dils[KL_CONV_SP], pads[2 * KL_CONV_SP];
    keel_status st;
    if ((st = read_ints(c, "strides", g->nsp, 1, strides, 1)) ||
        (st = read_ints(c, "dilations", g->nsp, 1, dils, 1)) ||
        (st = read_ints(c, "pads", g->nsp, 0, pads, 2)))
        return st;
    if (read_ints(c, "kernel_shape", g->nsp, -1, ks, 1))
        return c->env->status;
    for (int s = 0; c->pre_pad && s < g->nsp; s++) {
        pads[s] += c->pre_pad[s];
        pads[s + g->nsp] += c->pre_pad[3 + s];
    }
    const char *auto_pad = kl_attr_str(c->node, "auto_pad", "NOTSET");
    g->in_size = g->out_size = g->k_size = 1;
    for (int i = 0; i < KL_CONV_SP; i++) {
        int s = i - (KL_CONV_SP - g->nsp); /* index into the model's spatial dims, <0 for filler */
        if (s < 0) {
            g->in[i] = g->out[i] = g->k[i] = g->stride[i] = g->dil[i] = 1;
            continue;
        }
        g->in[i] = x->dims[2 + s];
        g->k[i] = w->dims[2 + s];
        g->stride[i] = strides[s];
        g->dil[i] = dils[s];
        if (ks[s] != -1 && ks[s] != g->k[i])
            return kl_op_fail(c, KEEL_ERR_SHAPE, "kernel_shape says %lld, the weight %lld",
                              (long long)ks[s], (long long)g->k[i]);
        if (g->stride[i] < 1 || g->dil[i] < 1 || pads[s] < 0 || pads[s + g->nsp] < 0 || g->k[i] < 1)
            return kl_op_fail(c, KEEL_ERR_INVALID, "strides, dilations and kernel must be positive, pads not negative");
        if (!extent(auto_pad, g->in[i], g->k[i], g->stride[i], g->dil[i], pads[s], pads[s + g->nsp],
                    &g->out[i], &g->pad[i]))
            return kl_op_fail(c, KEEL_ERR_SHAPE, "spatial dim %d of size %lld is smaller than the kernel's reach",
                              s, (long long)g->in[i]);
        if (__builtin_mul_overflow(g->out_size, g->out[i], &g->out_size))
            return kl_op_fail(c, KEEL_ERR_LIMIT, "the output's spatial size overflows");
        g->in_size *= g->in[i];
        g->k_size *= g->k[i];
    }
    return KEEL_OK;
}


void kl_conv_set_output(const kl_conv_geom *g, kl_tensor *out, int dtype)
{
    int64_t dims[2 + KL_CONV_SP] = {g->n, g->m};
    for (int s = 0; s < g->nsp; s++)
        dims[2 + s] = g->out[KL_CONV_SP - g->nsp + s];
    kl_set_shape(out, dtype, 2 + g->nsp, dims);
}
