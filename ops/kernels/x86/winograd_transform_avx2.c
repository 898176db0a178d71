/* winograd_transform_avx2.c -- ops/kernels/winograd_transform.c built
 * for AVX2, and F(2x2, 3x3)'s input and output transforms straight from
 * the input plane and into the output plane (wino_input_plane and
 * wino_output_plane of the avx2 table), 8 tiles of a tile row at a time:
 * winograd_transform_avx512.c's steps on 8 lanes, the portable
 * transforms' operations in their order, so the same bytes. */
#include "avx2_loops.h"
#include "../winograd_transform.c"
#include "vmath.h"

/* V's 16 rows of tiles [t0, t0 + n) (n <= 8) from the four input rows
 * under them (NULL: zeros), their columns c0 .. c0 + 17 inside [0, w). */
static void input_chunk2(const float *const row[4], int64_t c0, int64_t w, int64_t t0, int64_t n, float *v,
                         int64_t estride)
{
    __m256 col[4][3];
    for (int j = 0; j < 3; j++) {
        const int64_t at = c0 + 8 * j;
        const __m256i m = kl_inside8(at, j < 2 ? w : (w < at + 2 ? w : at + 2));
        __m256 r[4];
        for (int i = 0; i < 4; i++)
            r[i] = row[i] ? _mm256_maskload_ps(row[i] + at, m) : _mm256_setzero_ps();
        col[0][j] = _mm256_sub_ps(r[0], r[2]);
        col[1][j] = _mm256_add_ps(r[1], r[2]);
        col[2][j] = _mm256_sub_ps(r[2], r[1]);
        col[3][j] = _mm256_sub_ps(r[1], r[3]);
    }
    const __m256i out = kl_inside8(0, n);
    for (int k = 0; k < 4; k++) {
        const __m256 d0 = kl_pick8(col[k][0], col[k][1], 0), d1 = kl_pick8(col[k][0], col[k][1], 1);
        const __m256 d2 = kl_shift_in8(d0, col[k][2], 0), d3 = kl_shift_in8(d1, col[k][2], 1);
        float *vk = v + 4 * k * estride + t0;
        _mm256_maskstore_ps(vk, out, _mm256_sub_ps(d0, d2));
        _mm256_maskstore_ps(vk + estride, out, _mm256_add_ps(d1, d2));
        _mm256_maskstore_ps(vk + 2 * estride, out, _mm256_sub_ps(d2, d1));
        _mm256_maskstore_ps(vk + 3 * estride, out, _mm256_sub_ps(d1, d3));
    }
}

void klk_wino_input_plane_avx2(const float *plane, int64_t ih, int64_t iw, int64_t iy0, int64_t ix0, int64_t tw,
                               float *v, int64_t estride)
{
    const float *row[4];
    for (int i = 0; i < 4; i++)
        row[i] = iy0 + i >= 0 && iy0 + i < ih ? plane + (iy0 + i) * iw : NULL;
    for (int64_t t0 = 0; t0 < tw; t0 += 8)
        input_chunk2(row, ix0 + 2 * t0, iw, t0, tw - t0 < 8 ? tw - t0 : 8, v, estride);
}

/* Y's rows (1 or 2) of tiles [t0, t0 + n) (n <= 8) from M's 16 rows. */
static void output_chunk2(const float *mm, int64_t estride, int64_t t0, int64_t n, float bias, float *y, int64_t ow,
                          int64_t rows)
{
    const __m256i in = kl_inside8(0, n);
    __m256 p[2][4];
    for (int col = 0; col < 4; col++) {
        const float *e = mm + col * estride + t0;
        const __m256 m0 = _mm256_maskload_ps(e, in), m1 = _mm256_maskload_ps(e + 4 * estride, in);
        const __m256 m2 = _mm256_maskload_ps(e + 8 * estride, in), m3 = _mm256_maskload_ps(e + 12 * estride, in);
        p[0][col] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
        p[1][col] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
    }
    const __m256 b = _mm256_set1_ps(bias);
    const int64_t c0 = 2 * t0;
    for (int r = 0; r < rows; r++) {
        const __m256 q0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(p[r][0], p[r][1]), p[r][2]), b);
        const __m256 q1 = _mm256_add_ps(_mm256_sub_ps(_mm256_sub_ps(p[r][1], p[r][2]), p[r][3]), b);
        const __m256 lo = _mm256_unpacklo_ps(q0, q1), hi = _mm256_unpackhi_ps(q0, q1);
        float *at = y + r * ow + c0;
        _mm256_maskstore_ps(at, kl_inside8(c0, ow), _mm256_permute2f128_ps(lo, hi, 0x20));
        _mm256_maskstore_ps(at + 8, kl_inside8(c0 + 8, ow), _mm256_permute2f128_ps(lo, hi, 0x31));
    }
}

void klk_wino_output_plane_avx2(const float *mm, int64_t estride, int64_t tw, float bias, float *y, int64_t ow,
                                int64_t rows)
{
    for (int64_t t0 = 0; t0 < tw; t0 += 8)
        output_chunk2(mm, estride, t0, tw - t0 < 8 ? tw - t0 : 8, bias, y, ow, rows);
}

#include "avx2_loops_end.h"
