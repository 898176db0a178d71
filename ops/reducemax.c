/* reducemax.c -- ReduceMax: the maximum over the reduced axes; see
 * ops/drivers/reduce.h for axes, keepdims and types. */
#include "drivers/reduce.h"

KL_REDUCE_OPFILE(reducemax, "ReduceMax", KL_REDUCE_MAX, 18)
