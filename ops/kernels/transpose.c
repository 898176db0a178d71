/* transpose.c -- a plane of 4-byte elements transposed (transpose_plane of
 * the kernel table), the portable version: square tiles of 8 so that the
 * cache lines read along i serve every j of a tile; small because
 * power-of-two strides map a tile's lines to few cache sets.  The x86
 * versions transpose the tiles in registers
 * (ops/kernels/x86/transpose_avx2.c, transpose_avx512.c). */
#include "kernels.h"

enum { TILE = 8 };

void klk_transpose_plane_generic(uint32_t *dst, const uint32_t *src, int64_t rows, int64_t cols, int64_t ld_dst,
                                 int64_t ld_src)
{
    for (int64_t i0 = 0; i0 < rows; i0 += TILE)
        for (int64_t j0 = 0; j0 < cols; j0 += TILE) {
            const int64_t i_end = i0 + TILE < rows ? i0 + TILE : rows, j_end = j0 + TILE < cols ? j0 + TILE : cols;
            for (int64_t i = i0; i < i_end; i++)
                for (int64_t j = j0; j < j_end; j++)
                    dst[i * ld_dst + j] = src[i + j * ld_src];
        }
}
