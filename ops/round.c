/* round.c -- Round: the nearest integer, halves to even (the default rounding mode). */
#include "drivers/unary.h"

#define ROUND(T, x, alpha, beta) nearbyint(x)

KL_UNARY_FLOAT_OPFILE(round, "Round", ROUND, NULL, 0, NULL, 0)
