/* argmin.c -- ArgMin: the index of the smallest element along `axis`; see
 * reduce_common.h. */
#include "reduce_common.h"

KL_ARGREDUCE_OPFILE(argmin, "ArgMin", false)
