/* im2col_avx2.c -- ops/kernels/im2col.c built for AVX2. */
#include "avx2_loops.h"
#include "../im2col.c"
#include "avx2_loops_end.h"
