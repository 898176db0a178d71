/* predicate.c -- the bool-valued elementwise tests (predicate.h). */
#include "predicate.h"

keel_status kl_predicate_infer(kl_opctx *c, const int *dtypes)
{
    keel_status st = kl_require_dtype(c, 0, dtypes);
    if (!st)
        kl_set_shape(c->out[0], KEEL_BOOL, c->in[0]->rank, c->in[0]->dims);
    return st;
}

keel_status kl_predicate_run(kl_opctx *c, kl_predicate_fn test)
{
    uint8_t *out = c->out[0]->data;
    int64_t n = kl_numel(c->in[0]);
    for (int64_t i = 0; i < n; i++)
        out[i] = test(c, c->in[0]->data, i);
    return KEEL_OK;
}
