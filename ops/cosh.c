/* cosh.c -- Cosh: the hyperbolic cosine. */
#include "drivers/unary.h"

#define COSH(T, x, alpha, beta) cosh(x)

KL_UNARY_FLOAT_OPFILE(cosh, "Cosh", COSH, NULL, 0, NULL, 0)
