/* reducelogsum.c -- ReduceLogSum: log of the sum over the reduced axes; see
 * ops/drivers/reduce.h for axes, keepdims and types. */
#include "drivers/reduce.h"

KL_REDUCE_OPFILE(reducelogsum, "ReduceLogSum", KL_REDUCE_LOGSUM, 18)
