/* ceil.c -- Ceil: the smallest integer not below x. */
#include "drivers/unary.h"

#define CEIL(T, x, alpha, beta) ceil(x)

KL_UNARY_FLOAT_OPFILE(ceil, "Ceil", CEIL, NULL, 0, NULL, 0)
