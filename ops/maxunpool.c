/* maxunpool.c -- MaxUnpool: scatters X's values to the positions I (as
 * MaxPool's Indices give them: flat indices into the whole output) of a
 * zero tensor whose spatial size is (in - 1) * stride - pads + kernel, or
 * output_shape (input 2) when given. */
#include <string.h>

#include "drivers/eltwise.h"
#include "drivers/index.h"

/* The shape unpooling gives by itself (use_given = false) or the
 * output_shape input when there is one.  MaxPool's indices address the
 * former, so with output_shape they are re-laid into the larger shape. */
static keel_status out_shape(kl_opctx *c, int64_t *dims, bool use_given)
{
    const kl_tensor *x = c->in[0];
    int nsp = x->rank - 2;
    if (nsp < 1)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "X must be [N, C, spatial...]");
    if (use_given && c->n_in > 2 && c->in[2]) {
        int n = 0;
        keel_status st = kl_input_ints(c, 2, dims, KL_MAX_RANK, &n);
        if (!st && n != x->rank)
            st = kl_op_fail(c, KEEL_ERR_SHAPE, "output_shape has %d values for rank %d", n, x->rank);
        return st;
    }
    const int64_t *k, *s = NULL, *p = NULL;
    if (kl_attr_ints(c->node, "kernel_shape", &k) != nsp)
        return kl_op_fail(c, KEEL_ERR_INVALID, "kernel_shape must have %d values", nsp);
    bool has_s = kl_attr_ints(c->node, "strides", &s) == nsp, has_p = kl_attr_ints(c->node, "pads", &p) == 2 * nsp;
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int d = 0; d < nsp; d++)
        dims[2 + d] = (x->dims[2 + d] - 1) * (has_s ? s[d] : 1) - (has_p ? p[d] + p[d + nsp] : 0) + k[d];
    return KEEL_OK;
}

static keel_status unpool_infer(kl_opctx *c)
{
    int64_t dims[KL_MAX_RANK];
    keel_status st = kl_require_indices(c, 1);
    if (!st)
        st = out_shape(c, dims, true);
    if (!st && !kl_same_shape(c->in[0], c->in[1]))
        st = kl_op_fail(c, KEEL_ERR_SHAPE, "X and I must have one shape");
    if (!st)
        kl_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, dims);
    return st;
}

static keel_status unpool_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0], *idx = c->in[1];
    kl_tensor *out = c->out[0];
    int64_t natural[KL_MAX_RANK];
    keel_status st = out_shape(c, natural, false);
    if (st)
        return st;
    size_t es = kl_dtype_size(x->dtype);
    memset(out->data, 0, kl_nbytes(out));
    int64_t n = kl_numel(x), total = kl_dims_product(natural, 0, out->rank);
    for (int64_t i = 0; i < n; i++) {
        int64_t at = kl_index_at(idx, i), rest = at, to = 0, stride = 1;
        if (at < 0 || at >= total)
            return kl_op_fail(c, KEEL_ERR_RUNTIME, "index %lld is outside the unpooled %lld elements", (long long)at,
                              (long long)total);
        for (int d = out->rank - 1; d >= 0; d--) { /* natural coordinates, laid out in out's shape */
            int64_t coord = rest % natural[d];
            rest /= natural[d];
            if (coord >= out->dims[d])
                return kl_op_fail(c, KEEL_ERR_RUNTIME, "index %lld falls outside output_shape", (long long)at);
            to += coord * stride;
            stride *= out->dims[d];
        }
        memcpy((char *)out->data + (size_t)to * es, (const char *)x->data + (size_t)i * es, es);
    }
    return KEEL_OK;
}

static const kl_op unpool = {.type = "MaxUnpool", .since = 9, .min_inputs = 2, .max_inputs = 3,
                             .infer = unpool_infer, .run = unpool_run};

const kl_op *const kl_opfile_maxunpool[] = {&unpool, NULL};
