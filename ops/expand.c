/* expand.c -- Expand: broadcasts the input to the shape given as input 1
 * (numpy rules in both directions: the output may be larger than the
 * shape asked for). */
#include <string.h>

#include "drivers/eltwise.h"

static keel_status expand_infer(kl_opctx *c)
{
    int64_t shape[KL_MAX_RANK];
    int n = 0;
    keel_status st = kl_input_ints(c, 1, shape, KL_MAX_RANK, &n);
    if (st)
        return st;
    kl_tensor target = {c->in[0]->dtype, n, {0}, NULL};
    for (int d = 0; d < n; d++) {
        if (shape[d] < 0)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "shape has a negative dim %lld", (long long)shape[d]);
        target.dims[d] = shape[d];
    }
    int rank;
    int64_t dims[KL_MAX_RANK];
    if ((st = kl_broadcast_shape(c, c->in[0], &target, &rank, dims)))
        return st;
    kl_set_shape(c->out[0], c->in[0]->dtype, rank, dims);
    return KEEL_OK;
}

/* Copies x into every position of out along broadcast dims: row by row,
 * each row of the innermost run copied or repeated. */
keel_status kl_broadcast_copy(const kl_tensor *x, kl_tensor *out)
{
    int r = out->rank;
    int64_t xs[KL_MAX_RANK], idx[KL_MAX_RANK] = {0}, s = 1;
    for (int d = r - 1; d >= 0; d--) {
        int xd = d - (r - x->rank);
        int64_t dim = xd >= 0 ? x->dims[xd] : 1;
        xs[d] = dim == 1 ? 0 : s;
        s *= dim;
    }
    size_t es = kl_dtype_size(out->dtype);
    int64_t n = kl_numel(out), off = 0;
    for (int64_t i = 0; i < n; i++) {
        memcpy((char *)out->data + (size_t)i * es, (const char *)x->data + (size_t)off * es, es);
        for (int d = r - 1; d >= 0; d--) {
            off += xs[d];
            if (++idx[d] < out->dims[d])
                break;
            off -= xs[d] * out->dims[d];
            idx[d] = 0;
        }
    }
    return KEEL_OK;
}

static keel_status expand_run(kl_opctx *c)
{
    return kl_broadcast_copy(c->in[0], c->out[0]);
}

static const kl_op expand = {.type = "Expand", .since = 8, .min_inputs = 2, .max_inputs = 2,
                             .infer = expand_infer, .run = expand_run};

const kl_op *const kl_opfile_expand[] = {&expand, NULL};
