/* reduceprod.c -- ReduceProd: the product over the reduced axes; see
 * ops/drivers/reduce.h for axes, keepdims and types. */
#include "drivers/reduce.h"

KL_REDUCE_OPFILE(reduceprod, "ReduceProd", KL_REDUCE_PROD, 18)
