/* floor.c -- Floor: the largest integer not above x. */
#include "drivers/unary.h"

#define FLOOR(T, x, alpha, beta) floor(x)

KL_UNARY_FLOAT_OPFILE(floor, "Floor", FLOOR, NULL, 0, NULL, 0)
