/* reducel1.c -- ReduceL1: the sum of absolute values over the reduced axes;
 * see ops/drivers/reduce.h for axes, keepdims and types. */
#include "drivers/reduce.h"

KL_REDUCE_OPFILE(reducel1, "ReduceL1", KL_REDUCE_L1, 18)
