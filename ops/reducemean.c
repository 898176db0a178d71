/* reducemean.c -- ReduceMean: the mean over the reduced axes; see
 * ops/drivers/reduce.h for axes, keepdims and types. */
#include "drivers/reduce.h"

KL_REDUCE_OPFILE(reducemean, "ReduceMean", KL_REDUCE_MEAN, 18)
