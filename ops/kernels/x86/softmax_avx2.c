/* softmax_avx2.c -- ops/kernels/softmax.c built for AVX2. */
#include "avx2_loops.h"
#include "../../drivers/softmax.h"
#include "../mathfn.h"
#include "../softmax.c"
#include "avx2_loops_end.h"
