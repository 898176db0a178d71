/* reciprocal.c -- Reciprocal: 1 / x. */
#include "drivers/unary.h"

#define RECIPROCAL(T, x, alpha, beta) (T)1 / (x)

KL_UNARY_FLOAT_OPFILE(reciprocal, "Reciprocal", RECIPROCAL, NULL, 0, NULL, 0)
