/* reducemin.c -- ReduceMin: the minimum over the reduced axes; see
 * ops/drivers/reduce.h for axes, keepdims and types. */
#include "drivers/reduce.h"

KL_REDUCE_OPFILE(reducemin, "ReduceMin", KL_REDUCE_MIN, 18)
