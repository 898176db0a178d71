/* reducemean.c -- ReduceMean: the mean over the reduced axes; see
 * reduce_common.h for axes, keepdims and types. */
#include "reduce_common.h"

KL_REDUCE_OPFILE(reducemean, "ReduceMean", KL_REDUCE_MEAN, 18)
