/* control.c -- results shared by If and Loop (see control.h). */
#include <string.h>

#include "control.h"

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
    for (int k = 0; k < c->n_out && k < r->n; k++)
        if (c->out[k] && kl_nbytes(r->t[k]))
            memcpy(c->out[k]->data, r->t[k]->data, kl_nbytes(r->t[k]));
    kl_results_free(c->env, r);
    c->state = NULL;
    return KEEL_OK;
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
