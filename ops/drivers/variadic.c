/* variadic.c -- Sum, Mean, Max and Min (variadic.h). */
#include "variadic.h"

keel_status kl_variadic_infer(kl_opctx *c, const kl_binary_kernel *kernels)
{
    const kl_tensor *first = c->in[0];
    if (!first)
        return kl_op_fail(c, KEEL_ERR_INVALID, "input 0 is missing");
    if (!kl_binary_find(kernels, first->dtype))
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "type %s is not supported", kl_dtype_name(first->dtype));
    kl_tensor shape = *first;
    for (int k = 1; k < c->n_in; k++) {
        const kl_tensor *t = c->in[k];
        if (!t || t->dtype != first->dtype)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "input %d is missing or not of type %s", k,
                              kl_dtype_name(first->dtype));
        keel_status st = kl_broadcast_shape(c, &shape, t, &shape.rank, shape.dims);
        if (st)
            return st;
    }
    kl_set_shape(c->out[0], first->dtype, shape.rank, shape.dims);
    return KEEL_OK;
}

keel_status kl_variadic_run(kl_opctx *c, const kl_binary_kernel *kernels, bool mean)
{
    kl_tensor *out = c->out[0];
    if (c->n_in == 1) { /* the op of one value is the value */
        if (out->data != c->in[0]->data && kl_nbytes(out))
            memcpy(out->data, c->in[0]->data, kl_nbytes(out));
        return KEEL_OK;
    }
    kl_binary_fn fn = kl_binary_find(kernels, out->dtype);
    kl_binary_into(fn, out, c->in[0], c->in[1]);
    for (int k = 2; k < c->n_in; k++)
        kl_binary_into(fn, out, out, c->in[k]);
    int64_t n = mean ? kl_numel(out) : 0;
    for (int64_t i = 0; i < n; i++) {
        if (out->dtype == KEEL_FLOAT)
            ((float *)out->data)[i] /= (float)c->n_in;
        else
            ((double *)out->data)[i] /= (double)c->n_in;
    }
    return KEEL_OK;
}
