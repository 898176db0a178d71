/* avx2_loops.h -- included by an x86 twin of a portable kernel file,
 * before it includes that file: the functions that follow are named
 * klk_NAME_avx2 (KL_KISA) and compiled for AVX2 and FMA, so that the
 * compiler vectorizes the same loops 8 floats wide.  The twin ends with
 * avx2_loops_end.h. */
#ifndef KL_KISA
#define KL_KISA avx2
#endif
#include "../kernels.h"
#include <math.h>
#include <string.h>
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
