/* winograd_transform_avx512.c -- the input and output transforms of
 * Winograd's F(2x2, 3x3) (ops/kernels/winograd.c) on AVX-512, straight
 * from the input plane and into the output plane (wino_input_plane and
 * wino_output_plane of the avx512 table): 16 tiles of a tile row at a
 * time.  The four input rows' 34 columns under 16 tiles are combined
 * down the columns first (Bt on rows, three vectors per row), then each
 * transformed row's columns 2t, 2t + 1, 2t + 2 and 2t + 3 are picked side
 * by side and combined along the row: the operations of
 * ops/kernels/winograd_transform.c in the same order, so the same bytes.
 * Columns outside the row read as zero through masked loads and rows
 * outside the plane are zeros, so the input needs no padded copy (the
 * other builds' wino_input takes padded rows).  Columns past the last
 * tile's reach only lanes of tiles past tw, which are not stored. */
#include "../kernels.h"
#include "vmath.h"

/* V's 16 rows of tiles [t0, t0 + n) (n <= 16) from the four input rows
 * under them (NULL: a row of zeros), their columns c0 .. c0 + 33 inside
 * [0, w) read, the others zero. */
KL_AVX512 static void input_chunk2(const float *const row[4], int64_t c0, int64_t w, int64_t t0, int64_t n,
                                   float *v, int64_t estride)
{
    __m512 col[4][3]; /* Bt down the columns: transformed row k, vectors of columns c0 + 16 j */
    for (int j = 0; j < 3; j++) {
        const int64_t at = c0 + 16 * j;
        const __mmask16 m = kl_inside16(at, w) & (j < 2 ? 0xffff : 0x3);
        __m512 r[4];
        for (int i = 0; i < 4; i++)
            r[i] = row[i] ? _mm512_maskz_loadu_ps(m, row[i] + at) : _mm512_setzero_ps();
        col[0][j] = _mm512_sub_ps(r[0], r[2]);
        col[1][j] = _mm512_add_ps(r[1], r[2]);
        col[2][j] = _mm512_sub_ps(r[2], r[1]);
        col[3][j] = _mm512_sub_ps(r[1], r[3]);
    }
    const __mmask16 out = kl_lanes16(n);
    for (int k = 0; k < 4; k++) {
        const __m512 d0 = kl_pick16(col[k][0], col[k][1], 0), d1 = kl_pick16(col[k][0], col[k][1], 1);
        const __m512 d2 = kl_shift_in16(d0, col[k][2], 0); /* columns 2t + 2 */
        const __m512 d3 = kl_shift_in16(d1, col[k][2], 1); /* columns 2t + 3 */
        float *vk = v + 4 * k * estride + t0;
        _mm512_mask_storeu_ps(vk, out, _mm512_sub_ps(d0, d2));
        _mm512_mask_storeu_ps(vk + estride, out, _mm512_add_ps(d1, d2));
        _mm512_mask_storeu_ps(vk + 2 * estride, out, _mm512_sub_ps(d2, d1));
        _mm512_mask_storeu_ps(vk + 3 * estride, out, _mm512_sub_ps(d1, d3));
    }
}

void klk_wino_input_plane_avx512(const float *plane, int64_t ih, int64_t iw, int64_t iy0, int64_t ix0, int64_t tw,
                                 float *v, int64_t estride)
{
    const float *row[4];
    for (int i = 0; i < 4; i++)
        row[i] = iy0 + i >= 0 && iy0 + i < ih ? plane + (iy0 + i) * iw : NULL;
    for (int64_t t0 = 0; t0 < tw; t0 += 16)
        input_chunk2(row, ix0 + 2 * t0, iw, t0, tw - t0 < 16 ? tw - t0 : 16, v, estride);
}

/* Y's rows oy0 and oy0 + 1 (`rows` of them) of tiles [t0, t0 + n), from
 * M's 16 rows of them: At down each tile's columns, then along its rows
 * (ops/kernels/winograd_transform.c's output_row2, in its order), the
 * bias added, the two columns of each tile interleaved into the row. */
KL_AVX512 static void output_chunk2(const float *mm, int64_t estride, int64_t t0, int64_t n, float bias, float *y,
                                    int64_t ow, int64_t rows)
{
    const __mmask16 in = kl_lanes16(n);
    __m512 p[2][4]; /* At M: row r, column col */
    for (int col = 0; col < 4; col++) {
        const float *e = mm + col * estride + t0;
        const __m512 m0 = _mm512_maskz_loadu_ps(in, e), m1 = _mm512_maskz_loadu_ps(in, e + 4 * estride);
        const __m512 m2 = _mm512_maskz_loadu_ps(in, e + 8 * estride), m3 = _mm512_maskz_loadu_ps(in, e + 12 * estride);
        p[0][col] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
        p[1][col] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
    }
    const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    const __m512 b = _mm512_set1_ps(bias);
    const int64_t c0 = 2 * t0;
    for (int r = 0; r < rows; r++) {
        const __m512 q0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(p[r][0], p[r][1]), p[r][2]), b);
        const __m512 q1 = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(p[r][1], p[r][2]), p[r][3]), b);
        float *row = y + r * ow + c0;
        _mm512_mask_storeu_ps(row, kl_lanes16(ow - c0), _mm512_permutex2var_ps(q0, lo, q1));
        _mm512_mask_storeu_ps(row + 16, kl_lanes16(ow - c0 - 16), _mm512_permutex2var_ps(q0, hi, q1));
    }
}

void klk_wino_output_plane_avx512(const float *mm, int64_t estride, int64_t tw, float bias, float *y, int64_t ow,
                                  int64_t rows)
{
    for (int64_t t0 = 0; t0 < tw; t0 += 16)
        output_chunk2(mm, estride, t0, tw - t0 < 16 ? tw - t0 : 16, bias, y, ow, rows);
}
