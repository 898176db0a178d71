/* atanh.c -- Atanh: the inverse hyperbolic tangent. */
#include "drivers/unary.h"

#define ATANH(T, x, alpha, beta) atanh(x)

KL_UNARY_FLOAT_OPFILE(atanh, "Atanh", ATANH, NULL, 0, NULL, 0)
