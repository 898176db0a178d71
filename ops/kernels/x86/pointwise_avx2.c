/* pointwise_avx2.c -- the 6x16 tiles of ops/kernels/pointwise.c's
 * product (pointwise6) on AVX2 and FMA: 12 accumulators, 2 loads of X
 * and 6 broadcasts of W per step of k. */
#include <immintrin.h>
#include <string.h>

#include "../kernels.h"
#include "transpose.h"

#define MR KL_PW6_MR
#define NR KL_PW6_NR

/* c[0..6)[0..16) = bias + a (k-major panel [K][6]) times b (K rows of ldb).
 * The accumulators are named one by one: as arrays gcc keeps them in
 * memory. */
__attribute__((target("avx2,fma"))) static void tile_6x16(int64_t K, const float *a, const float *b, int64_t ldb,
                                                         const float *bias, float *c, int64_t ldc)
{
#define ROW_INIT(r) __m256 x##r = _mm256_set1_ps(bias[r]), y##r = x##r
    ROW_INIT(0); ROW_INIT(1); ROW_INIT(2); ROW_INIT(3); ROW_INIT(4); ROW_INIT(5);
#define ROW_FMA(r)                                   \
    do {                                             \
        __m256 w = _mm256_broadcast_ss(a + (r));     \
        x##r = _mm256_fmadd_ps(w, b0, x##r);         \
        y##r = _mm256_fmadd_ps(w, b1, y##r);         \
    } while (0)
    for (int64_t k = 0; k < K; k++, a += MR, b += ldb) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        ROW_FMA(0); ROW_FMA(1); ROW_FMA(2); ROW_FMA(3); ROW_FMA(4); ROW_FMA(5);
    }
#define ROW_STORE(r)                                 \
    do {                                             \
        _mm256_storeu_ps(c + (r) * ldc, x##r);       \
        _mm256_storeu_ps(c + (r) * ldc + 8, y##r);   \
    } while (0)
    ROW_STORE(0); ROW_STORE(1); ROW_STORE(2); ROW_STORE(3); ROW_STORE(4); ROW_STORE(5);
#undef ROW_INIT
#undef ROW_FMA
#undef ROW_STORE
}

/* tile_6x16 for the last panel of W when it has 4 or 2 rows (M = 64,
 * 160, 1000; M = 32, 320, 1280), straight into c instead of through the
 * edge tile. */
#define TILE_ROWS(NAME, ROWS_INIT, ROWS_FMA, ROWS_STORE)                                                     \
    __attribute__((target("avx2,fma"))) static void NAME(int64_t K, const float *a, const float *b,         \
                                                         int64_t ldb, const float *bias, float *c, int64_t ldc) \
    {                                                                                                       \
        ROWS_INIT;                                                                                          \
        for (int64_t k = 0; k < K; k++, a += MR, b += ldb) {                                                \
            __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);                                    \
            ROWS_FMA;                                                                                       \
        }                                                                                                   \
        ROWS_STORE;                                                                                         \
    }
#define ROW_INIT(r) __m256 x##r = _mm256_set1_ps(bias[r]), y##r = x##r
#define ROW_FMA(r)                                   \
    do {                                             \
        __m256 w = _mm256_broadcast_ss(a + (r));     \
        x##r = _mm256_fmadd_ps(w, b0, x##r);         \
        y##r = _mm256_fmadd_ps(w, b1, y##r);         \
    } while (0)
#define ROW_STORE(r)                                 \
    do {                                             \
        _mm256_storeu_ps(c + (r) * ldc, x##r);       \
        _mm256_storeu_ps(c + (r) * ldc + 8, y##r);   \
    } while (0)
TILE_ROWS(tile_4x16, ROW_INIT(0); ROW_INIT(1); ROW_INIT(2); ROW_INIT(3),
          ROW_FMA(0); ROW_FMA(1); ROW_FMA(2); ROW_FMA(3),
          ROW_STORE(0); ROW_STORE(1); ROW_STORE(2); ROW_STORE(3))
TILE_ROWS(tile_2x16, ROW_INIT(0); ROW_INIT(1), ROW_FMA(0); ROW_FMA(1), ROW_STORE(0); ROW_STORE(1))
#undef ROW_INIT
#undef ROW_FMA
#undef ROW_STORE
#undef TILE_ROWS

/* The first 8 columns of tile_6x16 (c's row stride 16): for a last chunk
 * of 8 columns or fewer, such as the 49th of a 7x7 map, at half the
 * cost of a whole tile. */
__attribute__((target("avx2,fma"))) static void tile_6x8(int64_t K, const float *a, const float *b, int64_t ldb,
                                                        const float *bias, float *c)
{
#define ROW_INIT(r) __m256 x##r = _mm256_set1_ps(bias[r])
    ROW_INIT(0); ROW_INIT(1); ROW_INIT(2); ROW_INIT(3); ROW_INIT(4); ROW_INIT(5);
#define ROW_FMA(r) x##r = _mm256_fmadd_ps(_mm256_broadcast_ss(a + (r)), b0, x##r)
    for (int64_t k = 0; k < K; k++, a += MR, b += ldb) {
        __m256 b0 = _mm256_loadu_ps(b);
        ROW_FMA(0); ROW_FMA(1); ROW_FMA(2); ROW_FMA(3); ROW_FMA(4); ROW_FMA(5);
    }
#define ROW_STORE(r) _mm256_storeu_ps(c + (r) * NR, x##r)
    ROW_STORE(0); ROW_STORE(1); ROW_STORE(2); ROW_STORE(3); ROW_STORE(4); ROW_STORE(5);
#undef ROW_INIT
#undef ROW_FMA
#undef ROW_STORE
}

/* Rows of panels [p0, p1) of Y = W X (+ bias) for columns [j0, j1),
 * then the epilogue on them when epi is set.  bp holds the block's
 * partial last chunk of X (pack_block), edge one tile. */
void klk_pointwise6_avx2(const kl_pw_span *s, int64_t p0, int64_t p1, int64_t j0, int64_t j1, const float *bp,
                         float *edge)
{
    const int64_t k = s->k, ldx = s->ldx, ldy = s->ldy;
    for (int64_t pi = p0; pi < p1; pi++) {
        int64_t r0 = pi * MR, rows = s->m - r0 < MR ? s->m - r0 : MR;
        float bias[MR] = {0};
        for (int r = 0; r < rows && s->bias; r++)
            bias[r] = s->bias[r0 + r];
        const float *a = s->packed + pi * k * MR;
        for (int64_t c0 = j0; c0 < j1; c0 += NR) {
            int64_t cols = j1 - c0 < NR ? j1 - c0 : NR;
            bool in_place = cols == NR && !s->whole;
            const float *b = in_place ? s->x + c0 : s->whole ? bp + (c0 - j0) / NR * k * NR : bp;
            int64_t ldb = in_place ? ldx : NR;
            float *out = s->y + r0 * ldy + c0;
            if (cols == NR && (rows == MR || rows == 4 || rows == 2)) {
                (rows == MR ? tile_6x16 : rows == 4 ? tile_4x16 : tile_2x16)(k, a, b, ldb, bias, out, ldy);
                continue;
            }
            if (cols <= 8)
                tile_6x8(k, a, b, ldb, bias, edge);
            else
                tile_6x16(k, a, b, ldb, bias, edge, NR);
            for (int64_t r = 0; r < rows; r++)
                memcpy(out + r * ldy, edge + r * NR, (size_t)cols * sizeof(float));
        }
        if (s->epi)
            kl_epilogue_apply_rows(s->epi, s->y + r0 * ldy, s->y_offset + (size_t)(r0 * ldy), rows, ldy, j0, j1);
    }
}

/* ---- packing W into the panels ---- */

/* kl_pw_pack_rows for the 6x16 tiles: panel by panel, 8 steps of k at a
 * time through an 8x8 register transpose (rows past the panel's valid
 * ones zero).  Each step's 8-float store spills two floats into the next
 * step's place, which that step then overwrites: the last steps go one by
 * one, so that nothing lands past the panel. */
__attribute__((target("avx2,fma"))) void klk_pack6_avx2(int64_t m, int64_t k, int64_t row0, int64_t rows,
                                                         const float *w, float *packed)
{
    (void)m;
    for (int64_t p = row0 / MR; p < (row0 + rows + MR - 1) / MR; p++) {
        const int64_t first = p * MR - row0, valid = rows - first < MR ? rows - first : MR;
        const float *src = w + first * k;
        float *dst = packed + p * k * MR;
        int64_t kk = 0;
        for (; kk + 8 < k; kk += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++)
                r[i] = i < valid ? _mm256_loadu_ps(src + i * k + kk) : _mm256_setzero_ps();
            kl_transpose8(r);
            for (int j = 0; j < 8; j++)
                _mm256_storeu_ps(dst + (kk + j) * MR, r[j]);
        }
        for (; kk < k; kk++)
            for (int r = 0; r < MR; r++)
                dst[kk * MR + r] = r < valid ? src[r * k + kk] : 0.0f;
    }
}
