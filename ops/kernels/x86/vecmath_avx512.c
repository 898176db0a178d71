/* vecmath_avx512.c -- the kernel table's exp, erf, tanh, pow and GELU on 16 lanes
 * (ops/kernels/x86/vmath.h). */
#include "../kernels.h"
#include "vmath.h"

KL_AVX512 void klk_exp_avx512(float *y, const float *x, size_t n)
{
    KL_MAP16(kl_exp16(v_), y, x, n);
}

KL_AVX512 void klk_erf_avx512(float *y, const float *x, size_t n)
{
    KL_MAP16(kl_erf16(v_), y, x, n);
}

KL_AVX512 void klk_tanh_avx512(float *y, const float *x, size_t n)
{
    KL_MAP16(kl_tanh16(v_), y, x, n);
}

/* NaN and infinite exponents are rare: powf's loop */
KL_AVX512 void klk_pow_avx512(float *y, const float *x, size_t n, float e)
{
    const kl_pow_exp p = kl_pow_exp_of(e);
    if (p.kind == KL_POW_NONFINITE)
        klk_pow_generic(y, x, n, e);
    else
        KL_MAP16(kl_pow16(v_, &p), y, x, n);
}

/* in place */
KL_AVX512 void klk_gelu_avx512(float *out, size_t n, bool tanh_form)
{
    if (tanh_form)
        KL_MAP16(kl_gelu_tanh16(v_), out, out, n);
    else
        KL_MAP16(kl_gelu16(v_), out, out, n);
}
