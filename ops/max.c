/* max.c -- Max: the elementwise maximum of one or more broadcast inputs;
 * NaN wins. */
#include "drivers/variadic.h"

#define MAX_FLOAT(T, U, x, y) ((x) != (x) || (x) > (y) ? (x) : (y))
#define MAX_INT(T, U, x, y) ((x) > (y) ? (x) : (y))

KL_BINARY_KERNELS(max, MAX_FLOAT, MAX_INT)
KL_VARIADIC_OPFILE(max, "Max", false)
