/* add.c -- Add: elementwise a + b with broadcasting. */
#include "drivers/eltwise.h"

#define ADD_FLOAT(T, U, x, y) ((x) + (y))
#define ADD_INT(T, U, x, y) ((T)((U)(x) + (U)(y))) /* wraps instead of overflowing */

KL_BINARY_KERNELS(add, ADD_FLOAT, ADD_INT)
KL_BINARY_OPFILE(add, "Add", NULL)
