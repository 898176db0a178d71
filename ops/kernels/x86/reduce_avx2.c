/* reduce_avx2.c -- ops/kernels/reduce.c built for AVX2. */
#include "avx2_loops.h"
#include "../../drivers/reduce.h"
#include "../mathfn.h"
#include "../reduce.c"
#include "avx2_loops_end.h"
