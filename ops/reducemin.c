/* reducemin.c -- ReduceMin: the minimum over the reduced axes; see
 * reduce_common.h for axes, keepdims and types. */
#include "reduce_common.h"

KL_REDUCE_OPFILE(reducemin, "ReduceMin", KL_REDUCE_MIN, 18)
