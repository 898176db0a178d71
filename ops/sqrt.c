/* sqrt.c -- Sqrt: the square root (NaN below 0). */
#include "drivers/unary.h"

#define SQRT(T, x, alpha, beta) sqrt(x)

KL_UNARY_FLOAT_OPFILE(sqrt, "Sqrt", SQRT, NULL, 0, NULL, 0)
