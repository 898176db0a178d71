/* reduceprod.c -- ReduceProd: the product over the reduced axes; see
 * reduce_common.h for axes, keepdims and types. */
#include "reduce_common.h"

KL_REDUCE_OPFILE(reduceprod, "ReduceProd", KL_REDUCE_PROD, 18)
