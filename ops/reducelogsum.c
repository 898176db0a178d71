/* reducelogsum.c -- ReduceLogSum: log of the sum over the reduced axes; see
 * reduce_common.h for axes, keepdims and types. */
#include "reduce_common.h"

KL_REDUCE_OPFILE(reducelogsum, "ReduceLogSum", KL_REDUCE_LOGSUM, 18)
