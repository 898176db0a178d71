/* epilogue_avx2.c -- ops/kernels/epilogue.c built for AVX2. */
#include "avx2_loops.h"
#include "../epilogue.c"
#include "avx2_loops_end.h"
