/* pool_avx2.c -- ops/kernels/pool.c built for AVX2. */
#include "avx2_loops.h"
#include "../../drivers/pool.h"
#include "../mathfn.h"
#include "../pool.c"
#include "avx2_loops_end.h"
