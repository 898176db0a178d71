/* atan.c -- Atan: the arctangent. */
#include "drivers/unary.h"

#define ATAN(T, x, alpha, beta) atan(x)

KL_UNARY_FLOAT_OPFILE(atan, "Atan", ATAN, NULL, 0, NULL, 0)
