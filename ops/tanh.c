/* tanh.c -- Tanh: the hyperbolic tangent. */
#include "unary.h"

#define TANH(T, x, alpha, beta) tanh(x)

KL_UNARY_FLOAT_OPFILE(tanh, "Tanh", TANH, NULL, 0, NULL, 0)
