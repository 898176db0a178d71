/* sinh.c -- Sinh: the hyperbolic sine. */
#include "drivers/unary.h"

#define SINH(T, x, alpha, beta) sinh(x)

KL_UNARY_FLOAT_OPFILE(sinh, "Sinh", SINH, NULL, 0, NULL, 0)
