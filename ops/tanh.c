/* tanh.c -- Tanh: the hyperbolic tangent. */
#include "drivers/unary.h"

#define TANH(T, x, alpha, beta) tanh(x)

KL_UNARY_FLOAT_OPFILE(tanh, "Tanh", TANH, NULL, 0, NULL, 0)
