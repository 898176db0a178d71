/* sigmoid_avx512.c -- the kernel table's sigmoid on 16 lanes. */
#include "../kernels.h"
#include "vmath.h"

/* ops/kernels/x86/sigmoid_avx2.c's loop on AVX-512: four chains of 16; half the instructions of
 * the 8-lane code (a quarter of EfficientNet's time was its SiLUs). */
static KL_AVX512 size_t lanes(float *out, size_t n, bool times_x)
{
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 x0 = _mm512_loadu_ps(out + i), x1 = _mm512_loadu_ps(out + i + 16);
        __m512 x2 = _mm512_loadu_ps(out + i + 32), x3 = _mm512_loadu_ps(out + i + 48);
        __m512 s0 = kl_sigmoid16(x0), s1 = kl_sigmoid16(x1), s2 = kl_sigmoid16(x2), s3 = kl_sigmoid16(x3);
        _mm512_storeu_ps(out + i, times_x ? _mm512_mul_ps(x0, s0) : s0);
        _mm512_storeu_ps(out + i + 16, times_x ? _mm512_mul_ps(x1, s1) : s1);
        _mm512_storeu_ps(out + i + 32, times_x ? _mm512_mul_ps(x2, s2) : s2);
        _mm512_storeu_ps(out + i + 48, times_x ? _mm512_mul_ps(x3, s3) : s3);
    }
    for (; i + 16 <= n; i += 16) {
        __m512 x = _mm512_loadu_ps(out + i), s = kl_sigmoid16(x);
        _mm512_storeu_ps(out + i, times_x ? _mm512_mul_ps(x, s) : s);
    }
    return i;
}

void klk_sigmoid_avx512(float *out, size_t n, bool times_x)
{
    size_t i = lanes(out, n, times_x);
    klk_sigmoid_generic(out + i, n - i, times_x); /* the last few */
}
