/* reducelogsumexp.c -- ReduceLogSumExp: log of the sum of exp over the
 * reduced axes, computed as max + log(sum(exp(x - max))); see
 * reduce_common.h for axes, keepdims and types. */
#include "reduce_common.h"

KL_REDUCE_OPFILE(reducelogsumexp, "ReduceLogSumExp", KL_REDUCE_LOGSUMEXP, 18)
