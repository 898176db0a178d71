/* reducesumsquare.c -- ReduceSumSquare: the sum of squares over the reduced
 * axes; see ops/drivers/reduce.h for axes, keepdims and types. */
#include "drivers/reduce.h"

KL_REDUCE_OPFILE(reducesumsquare, "ReduceSumSquare", KL_REDUCE_SUMSQUARE, 18)
