/* reducesum.c -- ReduceSum: the sum over the reduced axes; see
 * reduce_common.h for axes, keepdims and types. */
#include "reduce_common.h"

KL_REDUCE_OPFILE(reducesum, "ReduceSum", KL_REDUCE_SUM, 13)
