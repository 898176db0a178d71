/* mul.c -- Mul: elementwise a * b with broadcasting. */
#include "drivers/eltwise.h"

#define MUL_FLOAT(T, U, x, y) ((x) * (y))
#define MUL_INT(T, U, x, y) ((T)((U)(x) * (U)(y))) /* wraps instead of overflowing */

KL_BINARY_KERNELS(mul, MUL_FLOAT, MUL_INT)
KL_BINARY_OPFILE(mul, "Mul", NULL)
