/* less.c -- Less: x < y elementwise with broadcasting, as bool. */
#include "drivers/eltwise.h"

#define LESS(T, U, x, y) ((x) < (y))

KL_COMPARE_KERNELS(less, LESS)
KL_BINARY_OPFILE_AS(less, "Less", NULL, KEEL_BOOL, 0)
