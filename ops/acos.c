/* acos.c -- Acos: the arccosine. */
#include "drivers/unary.h"

#define ACOS(T, x, alpha, beta) acos(x)

KL_UNARY_FLOAT_OPFILE(acos, "Acos", ACOS, NULL, 0, NULL, 0)
