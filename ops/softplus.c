/* softplus.c -- Softplus: log(1 + e^x), which is x itself to float precision above 20. */
#include "drivers/unary.h"

#define SOFTPLUS(T, x, alpha, beta) ((x) > 20 ? (x) : log1p(exp(x)))

KL_UNARY_FLOAT_OPFILE(softplus, "Softplus", SOFTPLUS, NULL, 0, NULL, 0)
