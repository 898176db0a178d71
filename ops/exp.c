/* exp.c -- Exp: e to the x. */
#include "drivers/unary.h"

#define EXP(T, x, alpha, beta) exp(x)

KL_UNARY_FLOAT_OPFILE(exp, "Exp", EXP, NULL, 0, NULL, 0)
