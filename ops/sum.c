/* sum.c -- Sum: the elementwise sum of one or more broadcast inputs. */
#include "drivers/variadic.h"

#define SUM_FLOAT(T, U, x, y) ((x) + (y))
#define SUM_INT(T, U, x, y) ((T)((U)(x) + (U)(y)))

KL_BINARY_KERNELS(sum, SUM_FLOAT, SUM_INT)
KL_VARIADIC_OPFILE(sum, "Sum", false)
