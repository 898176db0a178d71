/* reducel2.c -- ReduceL2: the square root of the sum of squares over the
 * reduced axes; see ops/drivers/reduce.h for axes, keepdims and types. */
#include "drivers/reduce.h"

KL_REDUCE_OPFILE(reducel2, "ReduceL2", KL_REDUCE_L2, 18)
