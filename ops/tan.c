/* tan.c -- Tan: the tangent. */
#include "drivers/unary.h"

#define TAN(T, x, alpha, beta) tan(x)

KL_UNARY_FLOAT_OPFILE(tan, "Tan", TAN, NULL, 0, NULL, 0)
