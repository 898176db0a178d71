/* sub.c -- Sub: elementwise a - b with broadcasting. */
#include "drivers/eltwise.h"

#define SUB_FLOAT(T, U, x, y) ((x) - (y))
#define SUB_INT(T, U, x, y) ((T)((U)(x) - (U)(y))) /* wraps instead of overflowing */

KL_BINARY_KERNELS(sub, SUB_FLOAT, SUB_INT)
KL_BINARY_OPFILE(sub, "Sub", NULL)
