/* hardmax.c -- Hardmax: 1 at the first maximum of each row, 0 elsewhere;
 * see ops/drivers/softmax.h for the two meanings of `axis`. */
#include "drivers/softmax.h"

KL_SOFTMAX_OPFILE(hardmax, "Hardmax", KL_HARDMAX)
