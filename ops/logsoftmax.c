/* logsoftmax.c -- LogSoftmax: x - max - log(sum(exp(x - max))) over each
 * row; see ops/drivers/softmax.h for the two meanings of `axis`. */
#include "drivers/softmax.h"

KL_SOFTMAX_OPFILE(logsoftmax, "LogSoftmax", KL_LOGSOFTMAX)
