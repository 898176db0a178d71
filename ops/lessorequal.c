/* lessorequal.c -- LessOrEqual: x <= y elementwise with broadcasting, as bool. */
#include "drivers/eltwise.h"

#define LESSOREQUAL(T, U, x, y) ((x) <= (y))

KL_COMPARE_KERNELS(lessorequal, LESSOREQUAL)
KL_BINARY_OPFILE_AS(lessorequal, "LessOrEqual", NULL, KEEL_BOOL, 0)
