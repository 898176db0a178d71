/* acosh.c -- Acosh: the inverse hyperbolic cosine. */
#include "drivers/unary.h"

#define ACOSH(T, x, alpha, beta) acosh(x)

KL_UNARY_FLOAT_OPFILE(acosh, "Acosh", ACOSH, NULL, 0, NULL, 0)
