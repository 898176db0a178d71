/* greaterorequal.c -- GreaterOrEqual: x >= y elementwise with broadcasting, as bool. */
#include "drivers/eltwise.h"

#define GREATEROREQUAL(T, U, x, y) ((x) >= (y))

KL_COMPARE_KERNELS(greaterorequal, GREATEROREQUAL)
KL_BINARY_OPFILE_AS(greaterorequal, "GreaterOrEqual", NULL, KEEL_BOOL, 0)
