/* exp.c -- Exp: e to the x; float32 through the kernel table's vector exp. */
#include "drivers/unary.h"

#define EXP(T, x, alpha, beta) exp(x)

KL_UNARY_MAP_OPFILE(exp, "Exp", EXP, exp)
