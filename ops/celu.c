/* celu.c -- Celu: max(0, x) + min(0, alpha (e^(x/alpha) - 1)). */
#include "drivers/unary.h"

#define CELU(T, x, alpha, beta) ((x) > 0 ? (x) : alpha * expm1((x) / alpha))

KL_UNARY_FLOAT_OPFILE(celu, "Celu", CELU, "alpha", 1.0, NULL, 0)
