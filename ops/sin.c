/* sin.c -- Sin: the sine. */
#include "drivers/unary.h"

#define SIN(T, x, alpha, beta) sin(x)

KL_UNARY_FLOAT_OPFILE(sin, "Sin", SIN, NULL, 0, NULL, 0)
