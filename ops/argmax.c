/* argmax.c -- ArgMax: the index of the largest element along `axis`; see
 * reduce_common.h. */
#include "reduce_common.h"

KL_ARGREDUCE_OPFILE(argmax, "ArgMax", true)
