/* sigmoid_avx2.c -- the kernel table's sigmoid on 8 lanes. */
#include "../kernels.h"
#include "vmath.h"

/* out[i] = sigmoid(out[i]), times out[i] for SiLU. */
KL_AVX2 void klk_sigmoid_avx2(float *out, size_t n, bool times_x)
{
    if (times_x)
        KL_MAP8(_mm256_mul_ps(v_, kl_sigmoid8(v_)), out, out, n);
    else
        KL_MAP8(kl_sigmoid8(v_), out, out, n);
}
