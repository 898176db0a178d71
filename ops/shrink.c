/* shrink.c -- Shrink: x + bias below -lambd, x - bias above lambd, else 0. */
#include "drivers/unary.h"

#define SHRINK(T, x, alpha, beta) ((x) < -alpha ? (x) + beta : (x) > alpha ? (x) - beta : (T)0)

KL_UNARY_FLOAT_OPFILE(shrink, "Shrink", SHRINK, "lambd", 0.5, "bias", 0.0)
