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

/* Lanes j < 16 whose column c0 + j lies in [0, w). */
static __mmask16 lanes_inside(int64_t c0, int64_t w)
{
    const int64_t lo = c0 < 0 ? -c0 : 0, hi = w - c0 < 16 ? w - c0 : 16;
    if (hi <= lo)
        return 0;
    return (__mmask16)((((uint32_t)1 << hi) - 1) & ~(((uint32_t)1 << lo) - 1));
}

/* Outputs [ox0, ox0 + n) of output row oy (n <= 16), into out. */
KL_AVX512 static void s2_chunk(const pool_geom *g, const float *x, int64_t oy, int64_t ox0, int64_t n, float *out)
{
    const pool_dim *dy = &g->d[1], *dx = &g->d[2];
    const int64_t w = dx->in, c0 = ox0 * 2 - dx->pad;
    const __m512 none = _mm512_set1_ps(-INFINITY);
    const __mmask16 ma = lanes_inside(c0, w), mb = lanes_inside(c0 + 16, w), mc = lanes_inside(c0 + 32, w) & 1;
    __m512 va = none, vb = none, vc = none;
    int64_t t0, t1;
    pool_taps(dy, oy, 0, dy->in, &t0, &t1);
    for (int64_t ty = t0; ty < t1; ty++) {
        const float *row = x + (oy * 2 - dy->pad + ty) * w + c0;
        va = _mm512_max_ps(_mm512_mask_loadu_ps(none, ma, row), va);
        vb = _mm512_max_ps(_mm512_mask_loadu_ps(none, mb, row + 16), vb);
        if (dx->k == 3)
            vc = _mm512_max_ps(_mm512_mask_loadu_ps(none, mc, row + 32), vc);
    }
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const __m512 e = _mm512_permutex2var_ps(va, even, vb);
    __m512 m = _mm512_max_ps(_mm512_permutex2var_ps(va, odd, vb), e);
    if (dx->k == 3) { /* the next even column: e shifted down a lane, vc's first at the top */
        const __m512i next = _mm512_set_epi32(16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
        m = _mm512_max_ps(_mm512_permutex2var_ps(e, next, vc), m);
    }
    _mm512_mask_storeu_ps(out, kl_lanes16(n), m);
}

KL_AVX512 static void s2_planes(const pool_geom *g, int64_t planes, const float *x, float *y)
{
    const int64_t oh = g->d[1].out, ow = g->d[2].out;
    for (int64_t p = 0; p < planes; p++, x += g->in_size, y += g->out_size)
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox0 = 0; ox0 < ow; ox0 += 16)
                s2_chunk(g, x, oy, ox0, ow - ox0 < 16 ? ow - ox0 : 16, y + oy * ow + ox0);
}

void klk_maxpool_avx512(int dtype, const pool_geom *g, int64_t planes, const void *x, void *y, int64_t *idx,
                        int64_t idx_base)
{
    if (pool_stride2_small(dtype, g, idx))
        s2_planes(g, planes, x, y);
    else
        klk_maxpool_avx2(dtype, g, planes, x, y, idx, idx_base);
}
