/* vecmath_avx2.c -- the kernel table's exp, erf, tanh, pow and GELU on 8 lanes
 * (ops/kernels/x86/vmath.h). */
#include "../kernels.h"
#include "vmath.h"

KL_AVX2 void klk_exp_avx2(float *y, const float *x, size_t n)
{
    KL_MAP8(kl_exp8(v_), y, x, n);
}

KL_AVX2 void klk_erf_avx2(float *y, const float *x, size_t n)
{
    KL_MAP8(kl_erf8(v_), y, x, n);
}

KL_AVX2 void klk_tanh_avx2(float *y, const float *x, size_t n)
{
    KL_MAP8(kl_tanh8(v_), y, x, n);
}

/* NaN and infinite exponents are rare: powf's loop */
KL_AVX2 void klk_pow_avx2(float *y, const float *x, size_t n, float e)
{
    const kl_pow_exp p = kl_pow_exp_of(e);
    if (p.kind == KL_POW_NONFINITE)
        klk_pow_generic(y, x, n, e);
    else
        KL_MAP8(kl_pow8(v_, &p), y, x, n);
}

/* in place */
KL_AVX2 void klk_gelu_avx2(float *out, size_t n, bool tanh_form)
{
    if (tanh_form)
        KL_MAP8(kl_gelu_tanh8(v_), out, out, n);
    else
        KL_MAP8(kl_gelu8(v_), out, out, n);
}
