/* asinh.c -- Asinh: the inverse hyperbolic sine. */
#include "drivers/unary.h"

#define ASINH(T, x, alpha, beta) asinh(x)

KL_UNARY_FLOAT_OPFILE(asinh, "Asinh", ASINH, NULL, 0, NULL, 0)
