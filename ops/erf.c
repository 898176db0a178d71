/* erf.c -- Erf: the error function; float32 through the kernel table's
 * vector erf (GELU's Erf was scalar erff). */
#include "drivers/unary.h"

#define ERF(T, x, alpha, beta) erf(x)

KL_UNARY_MAP_OPFILE(erf, "Erf", ERF, erf)
