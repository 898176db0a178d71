/* thresholdedrelu.c -- ThresholdedRelu: x above alpha, else 0. */
#include "drivers/unary.h"

#define THRESHOLDEDRELU(T, x, alpha, beta) ((x) > alpha ? (x) : (T)0)

KL_UNARY_FLOAT_OPFILE(thresholdedrelu, "ThresholdedRelu", THRESHOLDEDRELU, "alpha", 1.0, NULL, 0)
