/* log.c -- Log: the natural logarithm. */
#include "drivers/unary.h"

#define LOG(T, x, alpha, beta) log(x)

KL_UNARY_FLOAT_OPFILE(log, "Log", LOG, NULL, 0, NULL, 0)
