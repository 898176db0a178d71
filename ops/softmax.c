/* softmax.c -- Softmax: exp(x - max) / sum(exp(x - max)) over each row;
 * see softmax_common.h for the two meanings of `axis`. */
#include "softmax_common.h"

KL_SOFTMAX_OPFILE(softmax, "Softmax", KL_SOFTMAX)
