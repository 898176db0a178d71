/* sigmoid_avx512.c -- the kernel table's sigmoid on 16 lanes. */
#include "../kernels.h"
#include "vmath.h"

/* out[i] = sigmoid(out[i]), times out[i] for SiLU. */
KL_AVX512 void klk_sigmoid_avx512(float *out, size_t n, bool times_x)
{
    if (times_x)
        KL_MAP16(_mm512_mul_ps(v_, kl_sigmoid16(v_)), out, out, n);
    else
        KL_MAP16(kl_sigmoid16(v_), out, out, n);
}
