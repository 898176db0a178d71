/* reducelogsumexp.c -- ReduceLogSumExp: log of the sum of exp over the
 * reduced axes, computed as max + log(sum(exp(x - max))); see
 * ops/drivers/reduce.h for axes, keepdims and types. */
#include "drivers/reduce.h"

KL_REDUCE_OPFILE(reducelogsumexp, "ReduceLogSumExp", KL_REDUCE_LOGSUMEXP, 18)
