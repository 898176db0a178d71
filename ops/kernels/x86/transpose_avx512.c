/* transpose_avx512.c -- transpose_plane on AVX-512: tiles of 16x16
 * through a register transpose, the edges through the portable loop. */
#include "../kernels.h"
#include "transpose.h"

__attribute__((target("avx512f"))) void klk_transpose_plane_avx512(uint32_t *dst, const uint32_t *src, int64_t rows,
                                                                    int64_t cols, int64_t ld_dst, int64_t ld_src)
{
    const int64_t rows16 = rows / 16 * 16, cols16 = cols / 16 * 16;
    for (int64_t j0 = 0; j0 < cols16; j0 += 16)
        for (int64_t i0 = 0; i0 < rows16; i0 += 16) {
            __m512 r[16];
            for (int j = 0; j < 16; j++)
                r[j] = _mm512_loadu_ps((const float *)(src + i0 + (j0 + j) * ld_src));
            kl_transpose16(r);
            for (int i = 0; i < 16; i++)
                _mm512_storeu_ps((float *)(dst + (i0 + i) * ld_dst + j0), r[i]);
        }
    if (rows16 < rows)
        klk_transpose_plane_generic(dst + rows16 * ld_dst, src + rows16, rows - rows16, cols, ld_dst, ld_src);
    if (cols16 < cols)
        klk_transpose_plane_generic(dst + cols16, src + cols16 * ld_src, rows16, cols - cols16, ld_dst, ld_src);
}
