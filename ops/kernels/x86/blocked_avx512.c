/* blocked_avx512.c -- the blocked layout's kernels on AVX-512: blocks of
 * 16 channels, each position's block one zmm (the kernels: blocked.h).
 * A convolution's tile is 6 output columns x 64 output channels (one
 * sub-tile of four blocks, 24 accumulators); for 32 channels or fewer,
 * 12 columns (EfficientNet's 24 and 40 out channels on 6 columns waited
 * on their loads). */
#include "vmath.h"
#include "transpose.h"

#define BL 16
#define ZT 4
#define BC_STEP_UNROLL 16 /* steps of a block unrolled */
#define TR 12
#define BC_COLS(nzg) ((nzg) <= 2 ? 12 : 6)
#define BC_TARGET "avx512f"
#define SUF avx512
#define V __m512
#define VLOAD _mm512_loadu_ps
#define VSTORE _mm512_storeu_ps
#define VSET1 _mm512_set1_ps
#define VZERO _mm512_setzero_ps
#define VFMA _mm512_fmadd_ps
#define VADD _mm512_add_ps
#define VMUL _mm512_mul_ps
#define VMIN _mm512_min_ps
#define VMAX _mm512_max_ps

#include "blocked.h"

/* One block of hw positions (x: [hw][16]) into `lanes` planes of y (hw
 * apart): 16 positions at a time, transposed in registers (kernels.h's
 * bfrom). */
KL_AVX512 void klk_bfrom_avx512(const float *x, int64_t hw, int64_t lanes, float *y)
{
    for (int64_t p = 0; p < hw; p += BL) {
        const int64_t ps = hw - p < BL ? hw - p : BL;
        const __mmask16 m = kl_lanes16(ps);
        __m512 r[16];
        for (int i = 0; i < 16; i++)
            r[i] = i < ps ? _mm512_loadu_ps(x + (p + i) * BL) : _mm512_setzero_ps();
        kl_transpose16(r);
        for (int64_t l = 0; l < lanes; l++)
            _mm512_mask_storeu_ps(y + l * hw + p, m, r[l]);
    }
}
