/* cos.c -- Cos: the cosine. */
#include "drivers/unary.h"

#define COS(T, x, alpha, beta) cos(x)

KL_UNARY_FLOAT_OPFILE(cos, "Cos", COS, NULL, 0, NULL, 0)
