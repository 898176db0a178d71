/* reducesumsquare.c -- ReduceSumSquare: the sum of squares over the reduced
 * axes; see reduce_common.h for axes, keepdims and types. */
#include "reduce_common.h"

KL_REDUCE_OPFILE(reducesumsquare, "ReduceSumSquare", KL_REDUCE_SUMSQUARE, 18)
