/* tanh.c -- Tanh: the hyperbolic tangent; float32 through the kernel
 * table's vector tanh. */
#include "drivers/unary.h"

#define TANH(T, x, alpha, beta) tanh(x)

KL_UNARY_MAP_OPFILE(tanh, "Tanh", TANH, tanh)
