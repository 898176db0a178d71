/* reducesum.c -- ReduceSum: the sum over the reduced axes; see
 * ops/drivers/reduce.h for axes, keepdims and types. */
#include "drivers/reduce.h"

KL_REDUCE_OPFILE(reducesum, "ReduceSum", KL_REDUCE_SUM, 13)
