/* pool_avx512.c -- MaxPool's downsampling windows on AVX-512: 2 or 3
 * rows by 2 or 3 columns at stride 2 (ResNet's, SqueezeNet's,
 * GoogLeNet's and Inception's pools), 16 outputs of a row at a time.
 * The window rows' maximum of the 33 input columns under 16 outputs
 * comes first (masked loads: columns outside the plane read as -inf and
 * are never touched), then its even, odd and next even columns side by
 * side.  Each maximum starts at -inf and takes values with max_ps(v, m),
 * which keeps m when v is NaN: NaN never wins.  Every other MaxPool is
 * the AVX2 build's (ops/kernels/pool.c). */
#include "../../drivers/pool.h"
#include "../kernels.h"
#include "vmath.h"

/* The window rows' maximum of 16 outputs from their input columns'
 * maxima: va and vb hold the columns under the outputs' first two taps,
 * vc's first lane the column after (k == 3). */
KL_AVX512 static inline __m512 s2_columns(__m512 va, __m512 vb, __m512 vc, int64_t k)
{
    const __m512 e = kl_pick16(va, vb, 0);
    __m512 m = _mm512_max_ps(kl_pick16(va, vb, 1), e);
    if (k == 3) /* the next even column: e shifted down a lane, vc's first at the top */
        m = _mm512_max_ps(kl_shift_in16(e, vc, 0), m);
    return m;
}

/* Output row oy: `rows` input rows from `row`, w floats apart.  Chunks of
 * 16 outputs whose 33 columns lie in the row load them whole; the others
 * mask the columns outside (read as -inf, never touched). */
KL_AVX512 static inline void s2_row(const pool_dim *dx, const float *row, int64_t rows, float *out)
{
    const int64_t w = dx->in, ow = dx->out, k = dx->k;
    const __m512 none = _mm512_set1_ps(-INFINITY);
    for (int64_t ox0 = 0; ox0 < ow; ox0 += 16) {
        const int64_t c0 = ox0 * 2 - dx->pad, n = ow - ox0 < 16 ? ow - ox0 : 16;
        const bool whole = c0 >= 0 && c0 + 33 <= w;
        const __mmask16 ma = whole ? 0xffff : kl_inside16(c0, w), mb = whole ? 0xffff : kl_inside16(c0 + 16, w);
        const __mmask16 mc = whole ? 1 : kl_inside16(c0 + 32, w) & 1;
        __m512 va = none, vb = none, vc = none;
        for (int64_t r = 0; r < rows; r++) {
            const float *at = row + r * w + c0;
            va = _mm512_max_ps(_mm512_mask_loadu_ps(none, ma, at), va);
            vb = _mm512_max_ps(_mm512_mask_loadu_ps(none, mb, at + 16), vb);
            if (k == 3)
                vc = _mm512_max_ps(_mm512_mask_loadu_ps(none, mc, at + 32), vc);
        }
        _mm512_mask_storeu_ps(out + ox0, kl_lanes16(n), s2_columns(va, vb, vc, k));
    }
}

KL_AVX512 void klk_maxpool_avx512(int dtype, const pool_geom *g, int64_t planes, const void *x, void *y, int64_t *idx,
                                  int64_t idx_base)
{
    if (pool_stride2_small(dtype, g, idx))
        pool_s2_planes(g, planes, x, y, s2_row);
    else
        klk_maxpool_avx2(dtype, g, planes, x, y, idx, idx_base);
}
