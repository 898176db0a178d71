/* avx2_loops_end.h -- the end of avx2_loops.h's target. */
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
