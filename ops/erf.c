/* erf.c -- Erf: the error function. */
#include "drivers/unary.h"

#define ERF(T, x, alpha, beta) erf(x)

KL_UNARY_FLOAT_OPFILE(erf, "Erf", ERF, NULL, 0, NULL, 0)
