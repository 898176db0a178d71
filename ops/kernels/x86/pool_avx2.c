/* pool_avx2.c -- ops/kernels/pool.c built for AVX2, with MaxPool's
 * downsampling windows (2 or 3 rows by 2 or 3 columns at stride 2:
 * ResNet's, SqueezeNet's, GoogLeNet's and Inception's pools) 8 outputs of
 * a row at a time, as ops/kernels/x86/pool_avx512.c takes 16: the window
 * rows' maximum of the 17 input columns under 8 outputs first (columns
 * outside the plane read as -inf, through masked loads that never touch
 * them), then its even, odd and next even columns side by side.  Each
 * maximum starts at -inf and takes values with max_ps(v, m), which keeps
 * m when v is NaN: NaN never wins. */
#include "avx2_loops.h"
#include "../../drivers/pool.h"
#include "../mathfn.h"
#include "vmath.h"
#include <immintrin.h>

/* Columns [c0, c0 + 8) of row, -inf where mask is clear. */
static inline __m256 load_inside(const float *row, int64_t c0, __m256i mask)
{
    return _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_maskload_ps(row + c0, mask), _mm256_castsi256_ps(mask));
}

/* Output row of `rows` input rows from `row`, w floats apart.  Chunks of
 * 8 outputs whose 17 columns lie in the row load them whole; the others
 * mask the columns outside. */
static void s2_row(const pool_dim *dx, const float *row, int64_t rows, float *out)
{
    const int64_t w = dx->in, ow = dx->out, k = dx->k;
    for (int64_t ox0 = 0; ox0 < ow; ox0 += 8) {
        const int64_t c0 = ox0 * 2 - dx->pad, n = ow - ox0 < 8 ? ow - ox0 : 8;
        const bool whole = c0 >= 0 && c0 + 16 <= w, last_inside = c0 + 16 >= 0 && c0 + 16 < w;
        const __m256i ma = kl_inside8(c0, w), mb = kl_inside8(c0 + 8, w);
        __m256 va = _mm256_set1_ps(-INFINITY), vb = va;
        float vc = -INFINITY;
        for (int64_t r = 0; r < rows; r++) {
            const float *at = row + r * w;
            va = _mm256_max_ps(whole ? _mm256_loadu_ps(at + c0) : load_inside(at, c0, ma), va);
            vb = _mm256_max_ps(whole ? _mm256_loadu_ps(at + c0 + 8) : load_inside(at, c0 + 8, mb), vb);
            if (k == 3 && last_inside)
                vc = at[c0 + 16] > vc ? at[c0 + 16] : vc;
        }
        const __m256 e = kl_pick8(va, vb, 0);
        __m256 m = _mm256_max_ps(kl_pick8(va, vb, 1), e);
        if (k == 3) { /* the next even column: e shifted down a lane, vc at the top */
            const __m256 next = _mm256_permutevar8x32_ps(e, _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 7));
            m = _mm256_max_ps(_mm256_blend_ps(next, _mm256_set1_ps(vc), 0x80), m);
        }
        if (n == 8)
            _mm256_storeu_ps(out + ox0, m);
        else
            _mm256_maskstore_ps(out + ox0, kl_inside8(0, n), m);
    }
}

/* The stride-2 windows of `planes` planes, or false where they do not apply. */
static bool maxpool_s2_avx2(int dtype, const pool_geom *g, int64_t planes, const void *x, void *y,
                            const int64_t *idx)
{
    if (!pool_stride2_small(dtype, g, idx))
        return false;
    pool_s2_planes(g, planes, x, y, s2_row);
    return true;
}

#define KL_MAXPOOL_FIRST maxpool_s2_avx2
#include "../pool.c"
#include "avx2_loops_end.h"
