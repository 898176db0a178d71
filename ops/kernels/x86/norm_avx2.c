/* norm_avx2.c -- ops/kernels/norm.c built for AVX2. */
#include "avx2_loops.h"
#include <float.h>
#include "../norm.c"
#include "avx2_loops_end.h"
