/* asin.c -- Asin: the arcsine. */
#include "drivers/unary.h"

#define ASIN(T, x, alpha, beta) asin(x)

KL_UNARY_FLOAT_OPFILE(asin, "Asin", ASIN, NULL, 0, NULL, 0)
