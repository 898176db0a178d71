/* blocked_avx2.c -- the blocked layout's kernels on AVX2 and FMA: blocks
 * of 8 channels, each position's block one ymm (the kernels: blocked.h).
 * A convolution's tile is 6 output columns x 16 output channels (a
 * sub-tile of two blocks: 12 accumulators, two vectors of W and the
 * broadcast in the 16 registers), four sub-tiles to a group of 64. */
#include "vmath.h"
#include "transpose.h"

#define BL 8
#define ZT 2
#define BC_STEP_UNROLL 8 /* steps of a block unrolled */
#define TR 6
#define BC_COLS(nzg) 6
#define BC_TARGET "avx2,fma"
#define SUF avx2
#define V __m256
#define VLOAD _mm256_loadu_ps
#define VSTORE _mm256_storeu_ps
#define VSET1 _mm256_set1_ps
#define VZERO _mm256_setzero_ps
#define VFMA _mm256_fmadd_ps
#define VADD _mm256_add_ps
#define VMUL _mm256_mul_ps
#define VMIN _mm256_min_ps
#define VMAX _mm256_max_ps

#include "blocked.h"

/* One block of hw positions (x: [hw][8]) into `lanes` planes of y (hw
 * apart): 8 positions at a time, transposed in registers (kernels.h's
 * bfrom). */
KL_AVX2 void klk_bfrom_avx2(const float *x, int64_t hw, int64_t lanes, float *y)
{
    for (int64_t p = 0; p < hw; p += BL) {
        const int64_t ps = hw - p < BL ? hw - p : BL;
        __m256 r[8];
        for (int i = 0; i < 8; i++)
            r[i] = i < ps ? _mm256_loadu_ps(x + (p + i) * BL) : _mm256_setzero_ps();
        kl_transpose8(r);
        if (ps == BL) {
            for (int64_t l = 0; l < lanes; l++)
                _mm256_storeu_ps(y + l * hw + p, r[l]);
            continue;
        }
        const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)ps), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        for (int64_t l = 0; l < lanes; l++)
            _mm256_maskstore_ps(y + l * hw + p, m, r[l]);
    }
}
