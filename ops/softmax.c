/* softmax.c -- Softmax: exp(x - max) / sum(exp(x - max)) over each row;
 * see ops/drivers/softmax.h for the two meanings of `axis`. */
#include "drivers/softmax.h"

KL_SOFTMAX_OPFILE(softmax, "Softmax", KL_SOFTMAX)
