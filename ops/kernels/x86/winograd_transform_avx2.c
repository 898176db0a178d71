/* winograd_transform_avx2.c -- ops/kernels/winograd_transform.c built
 * for AVX2. */
#include "avx2_loops.h"
#include "../winograd_transform.c"
#include "avx2_loops_end.h"
