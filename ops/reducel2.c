/* reducel2.c -- ReduceL2: the square root of the sum of squares over the
 * reduced axes; see reduce_common.h for axes, keepdims and types. */
#include "reduce_common.h"

KL_REDUCE_OPFILE(reducel2, "ReduceL2", KL_REDUCE_L2, 18)
