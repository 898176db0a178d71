/* min.c -- Min: the elementwise minimum of one or more broadcast inputs;
 * NaN wins. */
#include "drivers/variadic.h"

#define MIN_FLOAT(T, U, x, y) ((x) != (x) || (x) < (y) ? (x) : (y))
#define MIN_INT(T, U, x, y) ((x) < (y) ? (x) : (y))

KL_BINARY_KERNELS(min, MIN_FLOAT, MIN_INT)
KL_VARIADIC_OPFILE(min, "Min", false)
