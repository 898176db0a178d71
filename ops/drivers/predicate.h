/* predicate.h -- IsNaN, IsInf and Not: elementwise tests with a bool
 * output of the input's shape. */
#ifndef KL_PREDICATE_H
#define KL_PREDICATE_H

#include "../op.h"

/* Writes out[i] = test(in, i, c) for every element. */
typedef bool (*kl_predicate_fn)(const kl_opctx *c, const void *in, int64_t i);

/* infer: input 0 of one of `dtypes` (0-terminated); output bool. */
keel_status kl_predicate_infer(kl_opctx *c, const int *dtypes);
keel_status kl_predicate_run(kl_opctx *c, kl_predicate_fn test);

#endif
