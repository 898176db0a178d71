/* control.c -- results shared by If and Loop (see control.h). */
#include <string.h>

#include "control.h"
#include "sequence.h"

kl_results *kl_results_new(kl_env *env, int n)
{
    kl_results *r = kl_alloc(env, sizeof *r);
    if (!r)
        return NULL;
    if (!(r->t = kl_alloc(env, (size_t)(n ? n : 1) * sizeof *r->t))) {
        kl_free(env, r, sizeof *r);
        return NULL;
    }
    r->n = n;
    return r;
}

void kl_results_free(kl_env *env, void *state)
{
    kl_results *r = state;
    if (!r)
        return;
    for (int k = 0; k < r->n; k++)
        kl_tensor_free(env, r->t[k]);
    kl_free(env, r->t, (size_t)(r->n ? r->n : 1) * sizeof *r->t);
    kl_free(env, r, sizeof *r);
}

keel_status kl_results_publish(kl_opctx *c, kl_results *r)
{
    if (c->state)
        kl_results_free(c->env, c->state);
    c->state = r;
    for (int k = 0; k < c->n_out && k < r->n; k++)
        if (c->out[k])
            kl_set_shape(c->out[k], r->t[k]->dtype, r->t[k]->rank, r->t[k]->dims);
    return KEEL_OK;
}

keel_status kl_results_copy_out(kl_opctx *c)
{
    kl_results *r = c->state;
    if (!r)
        return kl_op_fail(c, KEEL_ERR_RUNTIME, "ran without its results (infer did not run first)");
    keel_status st = KEEL_OK;
    for (int k = 0; k < c->n_out && k < r->n && !st; k++)
        if (c->out[k])
            st = kl_value_give(c, k, r->t[k]);
    kl_results_free(c->env, r);
    c->state = NULL;
    return st;
}

bool kl_tensor_truth(const kl_tensor *t)
{
    switch (t->dtype) {
    case KEEL_BOOL:
    case KEEL_UINT8: return ((const uint8_t *)t->data)[0] != 0;
    case KEEL_INT8: return ((const int8_t *)t->data)[0] != 0;
    case KEEL_INT32: return ((const int32_t *)t->data)[0] != 0;
    case KEEL_INT64: return ((const int64_t *)t->data)[0] != 0;
    case KEEL_FLOAT: return ((const float *)t->data)[0] != 0;
    case KEEL_DOUBLE: return ((const double *)t->data)[0] != 0;
    default: return false;
    }
}

kl_tensor *kl_tensor_slice(kl_env *env, const kl_tensor *t, int axis, int64_t index)
{
    int64_t dims[KL_MAX_RANK];
    int r = 0;
    for (int d = 0; d < t->rank; d++)
        if (d != axis)
            dims[r++] = t->dims[d];
    kl_tensor *out = kl_tensor_new(env, t->dtype, r, dims);
    if (!out)
        return NULL;
    size_t esize = kl_dtype_size(t->dtype);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= t->dims[d];
    for (int d = axis + 1; d < t->rank; d++)
        inner *= t->dims[d];
    size_t block = (size_t)inner * esize;
    for (int64_t o = 0; o < outer && block; o++)
        memcpy((char *)out->data + (size_t)o * block,
               (const char *)t->data + ((size_t)(o * t->dims[axis] + index)) * block, block);
    return out;
}

kl_tensor *kl_tensor_stack(kl_env *env, kl_tensor *const *parts, int n, int axis, bool reverse)
{
    const kl_tensor *first = parts[0];
    int64_t dims[KL_MAX_RANK];
    for (int d = 0, s = 0; d <= first->rank; d++)
        dims[d] = d == axis ? n : first->dims[s++];
    kl_tensor *out = kl_tensor_new(env, first->dtype, first->rank + 1, dims);
    if (!out)
        return NULL;
    size_t esize = kl_dtype_size(first->dtype);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= first->dims[d];
    for (int d = axis; d < first->rank; d++)
        inner *= first->dims[d];
    size_t block = (size_t)inner * esize;
    for (int i = 0; i < n && block; i++) {
        const kl_tensor *p = parts[reverse ? n - 1 - i : i];
        for (int64_t o = 0; o < outer; o++)
            memcpy((char *)out->data + ((size_t)(o * n + i)) * block,
                   (const char *)p->data + (size_t)o * block, block);
    }
    return out;
}

keel_status kl_check_same_shapes(kl_opctx *c, kl_tensor *const *parts, int n, const char *what)
{
    for (int i = 1; i < n; i++)
        if (parts[i]->dtype != parts[0]->dtype || !kl_same_shape(parts[i], parts[0]))
            return kl_op_fail(c, KEEL_ERR_SHAPE, "%s: shapes differ between iterations 0 and %d", what, i);
    if (n && parts[0]->rank + 1 > KL_MAX_RANK)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "%s: too many dims to stack", what);
    return KEEL_OK;
}
