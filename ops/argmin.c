/* argmin.c -- ArgMin: the index of the smallest element along `axis`; see
 * ops/drivers/reduce.h. */
#include "drivers/reduce.h"

KL_ARGREDUCE_OPFILE(argmin, "ArgMin", false)
