/* vecmath.c -- the portable exp, erf, tanh, pow and GELU of the kernel table:
 * the C library's, element by element, so that the generic table (and
 * keel_options.reference) gives libm's results.  The x86 tables take
 * ops/kernels/x86/vecmath_avx2.c's and vecmath_avx512.c's, within the
 * bounds of KL_ULP_* (ops/kernels/mathfn.h). */
#include "kernels.h"
#include "mathfn.h"

void klk_exp_generic(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = expf(x[i]);
}

void klk_erf_generic(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = erff(x[i]);
}

void klk_tanh_generic(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = tanhf(x[i]);
}

void klk_pow_generic(float *y, const float *x, size_t n, float e)
{
    const kl_pow_exp p = kl_pow_exp_of(e);
    for (size_t i = 0; i < n; i++)
        y[i] = kl_powf(x[i], &p);
}

void klk_gelu_generic(float *out, size_t n, bool tanh_form)
{
    if (tanh_form)
        for (size_t i = 0; i < n; i++)
            out[i] = kl_gelu_tanhf(out[i]);
    else
        for (size_t i = 0; i < n; i++)
            out[i] = kl_gelu_erff(out[i]);
}
