/* hardmax.c -- Hardmax: 1 at the first maximum of each row, 0 elsewhere;
 * see softmax_common.h for the two meanings of `axis`. */
#include "softmax_common.h"

KL_SOFTMAX_OPFILE(hardmax, "Hardmax", KL_HARDMAX)
