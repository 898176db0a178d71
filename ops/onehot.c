/* onehot.c -- OneHot: for indices of any shape, a new axis of length depth
 * holding values[1] at each index (negative ones count from the end) and
 * values[0] elsewhere; the output has the values' type. */
#include <math.h>
#include <string.h>

#include "drivers/eltwise.h"

static keel_status read_depth(kl_opctx *c, int64_t *depth)
{
    const kl_tensor *d = c->in[1];
    if (kl_numel(d) != 1)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "depth must hold one value");
    if (!d->data)
        return kl_op_needs_data(c, 1);
    double v;
    kl_convert(d->dtype, d->data, KEEL_DOUBLE, &v, 1);
    if (!(v >= 1) || v > 1e9)
        return kl_op_fail(c, KEEL_ERR_INVALID, "depth %g", v);
    *depth = (int64_t)v;
    return KEEL_OK;
}

static keel_status onehot_infer(kl_opctx *c)
{
    const kl_tensor *idx = c->in[0], *vals = c->in[2];
    int64_t depth = 0;
    keel_status st = read_depth(c, &depth);
    if (st)
        return st;
    if (kl_numel(vals) != 2)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "values must hold two elements");
    int axis;
    if ((st = kl_norm_axis(c, kl_attr_int(c->node, "axis", -1), idx->rank + 1, &axis)))
        return st;
    int64_t dims[KL_MAX_RANK];
    for (int d = 0, s = 0; d <= idx->rank; d++)
        dims[d] = d == axis ? depth : idx->dims[s++];
    kl_set_shape(c->out[0], vals->dtype, idx->rank + 1, dims);
    return KEEL_OK;
}

static keel_status onehot_run(kl_opctx *c)
{
    const kl_tensor *idx = c->in[0], *vals = c->in[2];
    kl_tensor *out = c->out[0];
    int64_t depth = 0;
    int axis;
    keel_status st = read_depth(c, &depth);
    if (!st)
        st = kl_norm_axis(c, kl_attr_int(c->node, "axis", -1), idx->rank + 1, &axis);
    if (st)
        return st;
    size_t es = kl_dtype_size(out->dtype);
    const char *off = vals->data, *on = (const char *)vals->data + es;
    int64_t outer = kl_dims_product(idx->dims, 0, axis), inner = kl_dims_product(idx->dims, axis, idx->rank);
    for (int64_t i = 0; i < kl_numel(out); i++)
        memcpy((char *)out->data + (size_t)i * es, off, es);
    double *ix = c->scratch;
    kl_convert(idx->dtype, idx->data, KEEL_DOUBLE, ix, kl_numel(idx));
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double v = ix[o * inner + i];
            /* out of range (NaN, INT64_MAX rounded up to 2^63 included): an
             * all-off row, as the spec says; only in-range values are
             * converted, the others are undefined behaviour in C */
            if (!(v > -(double)depth - 1 && v < (double)depth))
                continue;
            int64_t k = (int64_t)v;
            if (k < 0)
                k += depth;
            if (k < 0 || k >= depth)
                continue;
            memcpy((char *)out->data + (size_t)((o * depth + k) * inner + i) * es, on, es);
        }
    return KEEL_OK;
}

static size_t onehot_scratch(kl_opctx *c)
{
    return (size_t)kl_numel(c->in[0]) * sizeof(double);
}

static const kl_op onehot = {.type = "OneHot", .since = 9, .min_inputs = 3, .max_inputs = 3,
                             .infer = onehot_infer, .run = onehot_run, .scratch = onehot_scratch};

const kl_op *const kl_opfile_onehot[] = {&onehot, NULL};
