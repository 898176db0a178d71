/* sigmoid.c -- the portable sigmoid of the kernel table, with the C
 * library's expf (the x86 tables take ops/kernels/x86/sigmoid_avx2.c's and
 * sigmoid_avx512.c's).  All within KL_ULP_SIGMOID (ops/kernels/mathfn.h). */
#include "kernels.h"
#include "mathfn.h"

void klk_sigmoid_generic(float *out, size_t n, bool times_x)
{
    if (times_x)
        for (size_t i = 0; i < n; i++)
            out[i] *= kl_sigmoidf(out[i]);
    else
        for (size_t i = 0; i < n; i++)
            out[i] = kl_sigmoidf(out[i]);
}
