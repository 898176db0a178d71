/* transpose_avx2.c -- transpose_plane on AVX2: tiles of 8x8 through a
 * register transpose, the edges through the portable loop. */
#include "../kernels.h"
#include "transpose.h"

__attribute__((target("avx2,fma"))) void klk_transpose_plane_avx2(uint32_t *dst, const uint32_t *src, int64_t rows,
                                                                   int64_t cols, int64_t ld_dst, int64_t ld_src)
{
    const int64_t rows8 = rows / 8 * 8, cols8 = cols / 8 * 8;
    for (int64_t j0 = 0; j0 < cols8; j0 += 8)
        for (int64_t i0 = 0; i0 < rows8; i0 += 8) {
            __m256 r[8];
            for (int j = 0; j < 8; j++)
                r[j] = _mm256_loadu_ps((const float *)(src + i0 + (j0 + j) * ld_src));
            kl_transpose8(r);
            for (int i = 0; i < 8; i++)
                _mm256_storeu_ps((float *)(dst + (i0 + i) * ld_dst + j0), r[i]);
        }
    if (rows8 < rows)
        klk_transpose_plane_generic(dst + rows8 * ld_dst, src + rows8, rows - rows8, cols, ld_dst, ld_src);
    if (cols8 < cols)
        klk_transpose_plane_generic(dst + cols8, src + cols8 * ld_src, rows8, cols - cols8, ld_dst, ld_src);
}
