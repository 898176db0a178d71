/* mish.c -- Mish: x tanh(softplus(x)). */
#include "drivers/unary.h"

#define MISH(T, x, alpha, beta) ((x) * tanh((x) > 20 ? (x) : log1p(exp(x))))

KL_UNARY_FLOAT_OPFILE(mish, "Mish", MISH, NULL, 0, NULL, 0)
