/* equal.c -- Equal: x == y elementwise with broadcasting, as bool. */
#include "drivers/eltwise.h"

#define EQUAL(T, U, x, y) ((x) == (y))

KL_COMPARE_KERNELS(equal, EQUAL)
KL_BINARY_OPFILE_AS(equal, "Equal", NULL, KEEL_BOOL, 0)
