/* argmax.c -- ArgMax: the index of the largest element along `axis`; see
 * ops/drivers/reduce.h. */
#include "drivers/reduce.h"

KL_ARGREDUCE_OPFILE(argmax, "ArgMax", true)
