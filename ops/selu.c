/* selu.c -- Selu: gamma x, or gamma alpha (e^x - 1) at or below 0 (beta holds gamma). */
#include "drivers/unary.h"

#define SELU(T, x, alpha, beta) ((x) <= 0 ? beta * alpha * expm1(x) : beta * (x))

KL_UNARY_FLOAT_OPFILE(selu, "Selu", SELU, "alpha", 1.6732631921768188, "gamma", 1.0507010221481323)
