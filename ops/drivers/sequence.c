/* sequence.c -- helpers of the ops on sequences and optional values. */
#include <string.h>

#include "sequence.h"

keel_status kl_seq_input(kl_opctx *c, int k, const kl_tensor **seq)
{
    const kl_tensor *t = k < c->n_in ? c->in[k] : NULL;
    if (!t)
        return kl_op_fail(c, KEEL_ERR_INVALID, "input %d (a sequence) is missing", k);
    if (t->rank < 0)
        return kl_op_needs_data(c, k);
    if (t->dtype != KEEL_SEQUENCE)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input %d is a %s value; a sequence expected", k,
                          kl_dtype_name(t->dtype));
    *seq = t;
    return KEEL_OK;
}

keel_status kl_seq_position(kl_opctx *c, int k, int64_t n, bool end_ok, int64_t dflt, int64_t *pos)
{
    const kl_tensor *t = k < c->n_in ? c->in[k] : NULL;
    int64_t p = dflt;
    if (t) {
        if (t->dtype != KEEL_INT64 && t->dtype != KEEL_INT32)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "input %d (position) is %s; int32 or int64 expected", k,
                              kl_dtype_name(t->dtype));
        if (kl_numel(t) != 1 || t->rank > 1)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "input %d (position) must hold one value", k);
        if (!t->data)
            return kl_op_needs_data(c, k);
        p = t->dtype == KEEL_INT64 ? *(const int64_t *)t->data : *(const int32_t *)t->data;
    }
    int64_t hi = end_ok ? n : n - 1;
    if (p < -n || p > hi)
        return kl_op_fail(c, KEEL_ERR_RUNTIME, "position %lld is outside [%lld, %lld] of a sequence of %lld items",
                          (long long)p, (long long)-n, (long long)hi, (long long)n);
    *pos = p < 0 ? p + n : p;
    return KEEL_OK;
}

void kl_seq_set_shape(kl_opctx *c, int k, int64_t n)
{
    int64_t dims[1] = {n};
    kl_set_shape(c->out[k], KEEL_SEQUENCE, 1, dims);
}

void kl_value_set_shape(kl_opctx *c, int k, const kl_tensor *v)
{
    kl_set_shape(c->out[k], v->dtype, v->rank, v->dims);
}

keel_status kl_value_give(kl_opctx *c, int k, const kl_tensor *v)
{
    if (kl_dtype_boxed(v->dtype))
        return kl_out_value(c, k, v);
    if (c->out[k]->data != v->data && kl_nbytes(v))
        memmove(c->out[k]->data, v->data, kl_nbytes(v));
    return KEEL_OK;
}

keel_status kl_seq_check_item(kl_opctx *c, const kl_tensor *t, int dtype, const char *what)
{
    if (t->dtype == KEEL_SEQUENCE || t->dtype == KEEL_NONE || !kl_dtype_supported(t->dtype))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "%s is a %s value; a sequence holds tensors", what,
                          kl_dtype_name(t->dtype));
    if (dtype && t->dtype != dtype)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "%s is %s; the sequence holds %s tensors", what,
                          kl_dtype_name(t->dtype), kl_dtype_name(dtype));
    return KEEL_OK;
}
