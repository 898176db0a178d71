/* elu.c -- Elu: x, or alpha (e^x - 1) below 0. */
#include "drivers/unary.h"

#define ELU(T, x, alpha, beta) ((x) < 0 ? alpha * expm1(x) : (x))

KL_UNARY_FLOAT_OPFILE(elu, "Elu", ELU, "alpha", 1.0, NULL, 0)
