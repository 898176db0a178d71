/* greater.c -- Greater: x > y elementwise with broadcasting, as bool. */
#include "drivers/eltwise.h"

#define GREATER(T, U, x, y) ((x) > (y))

KL_COMPARE_KERNELS(greater, GREATER)
KL_BINARY_OPFILE_AS(greater, "Greater", NULL, KEEL_BOOL, 0)
