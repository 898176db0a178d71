/* reducemax.c -- ReduceMax: the maximum over the reduced axes; see
 * reduce_common.h for axes, keepdims and types. */
#include "reduce_common.h"

KL_REDUCE_OPFILE(reducemax, "ReduceMax", KL_REDUCE_MAX, 18)
