/* softsign.c -- Softsign: x / (1 + |x|). */
#include "drivers/unary.h"

#define SOFTSIGN(T, x, alpha, beta) ((x) / (1 + fabs(x)))

KL_UNARY_FLOAT_OPFILE(softsign, "Softsign", SOFTSIGN, NULL, 0, NULL, 0)
