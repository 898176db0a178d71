/* cvprod_avx512.c -- the product Y = W X of a convolution on a small map
 * (ops/conv.c's channel-vector path), on AVX-512 (cvprod of the avx512
 * kernel table).
 *
 * The vectors run along the output channels, not along the positions:
 * a tile is 6 positions x 64 channels, 24 zmm accumulators, each FMA
 * taking X's value at one position as a broadcast and a step of W's
 * packed block (kl_cv_pack: [block][k][64]) as four vectors.  A 7x7 map
 * (49 positions) so fills every lane, where the 12x32 tiles of
 * pointwise_avx512.c, whose vectors run along the positions, compute 64
 * columns for 49; a 14x14 map 208 for 196.
 *   - X is read in place, rows ldx apart (the input of a 1x1 conv, or its
 *     unfolded columns);
 *   - the tile's sums for a range of positions build up in t ([position]
 *     [64]), KC steps of k at a time, so that a block's slice of W
 *     (KC x 64 floats, 32 KB) stays in L1 across the range;
 *   - then t is transposed 16 x 16 into Y's rows, with the conv's bias,
 *     the residual and Relu/Clip on the way; other epilogues run over the
 *     block's rows after it. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../kernels.h"
#include "transpose.h"
#include "vmath.h"

#include <immintrin.h>

#define NB KL_CV_NB
#define KC KL_CV_KC
#define TR 6 /* positions of a tile */

#define CV_ATTR __attribute__((target("avx512f"), always_inline)) static inline

/* W's lines that one tile of a range prefetches: pf[16 i] for i < n,
 * per steps of k at most `per_step`. */
typedef struct cv_pf {
    const float *pf;
    int64_t n, per_step;
} cv_pf;

/* t [R][NB] (+)= X's R positions (x, rows ldx apart) times kc steps of w
 * ([kc][NB]), over the first nz vectors of a step; R and nz are constants
 * where it is inlined, so the unused accumulators vanish. */
CV_ATTR void cv_tile(const int R, const int nz, const float *x, int64_t ldx, const float *w, int64_t kc, float *t,
                     bool acc, cv_pf p)
{
    __m512 c[TR][4];
#pragma GCC unroll 6
    for (int r = 0; r < TR; r++)
#pragma GCC unroll 4
        for (int z = 0; z < 4; z++)
            if (r < R && z < nz)
                c[r][z] = acc ? _mm512_loadu_ps(t + r * NB + 16 * z) : _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; k++, w += NB, x += ldx) {
        for (int64_t q = 0; q < p.per_step && p.n > 0; q++, p.n--, p.pf += 16)
            _mm_prefetch((const char *)p.pf, _MM_HINT_T0);
        __m512 wz[4];
#pragma GCC unroll 4
        for (int z = 0; z < 4; z++)
            if (z < nz)
                wz[z] = _mm512_loadu_ps(w + 16 * z);
#pragma GCC unroll 6
        for (int r = 0; r < TR; r++)
            if (r < R) {
                const __m512 b = _mm512_set1_ps(x[r]);
#pragma GCC unroll 4
                for (int z = 0; z < 4; z++)
                    if (z < nz)
                        c[r][z] = _mm512_fmadd_ps(b, wz[z], c[r][z]);
            }
    }
#pragma GCC unroll 6
    for (int r = 0; r < TR; r++)
#pragma GCC unroll 4
        for (int z = 0; z < 4; z++)
            if (r < R && z < nz)
                _mm512_storeu_ps(t + r * NB + 16 * z, c[r][z]);
}

/* The lines of W's next kc x NB floats (the next slice, or the next
 * block's first: what follows in the packed stream) that tile `i` of
 * `tiles` prefetches.  From memory (the widest layers' W, 512 x 2048 on a
 * 7x7 map, is read once per run) the stream so runs through the whole
 * pass, and the tiles after the first find the slice in L1. */
static cv_pf cv_pf_of(const float *w, int64_t kc, int64_t i, int64_t tiles)
{
    const int64_t lines = kc * NB / 16, per_tile = (lines + tiles - 1) / tiles;
    const int64_t first = i * per_tile < lines ? i * per_tile : lines;
    const int64_t n = lines - first < per_tile ? lines - first : per_tile;
    return (cv_pf){w + kc * NB + 16 * first, n, (n + kc - 1) / kc};
}

/* Positions [0, n) of a range: whole tiles, then one of the n % 6 left. */
#define CV_RANGE(NZ)                                                                                  \
    __attribute__((target("avx512f"))) static void cv_range_##NZ(const float *x, int64_t ldx,           \
        const float *w, int64_t kc, int64_t n, float *t, bool acc)                                    \
    {                                                                                                 \
        const int64_t tiles = (n + TR - 1) / TR;                                                      \
        int64_t j = 0;                                                                                \
        for (; j + TR <= n; j += TR)                                                                  \
            cv_tile(TR, NZ, x + j, ldx, w, kc, t + j * NB, acc, cv_pf_of(w, kc, j / TR, tiles));      \
        const cv_pf p = cv_pf_of(w, kc, j / TR, tiles);                                               \
        switch (n - j) {                                                                              \
        case 5: cv_tile(5, NZ, x + j, ldx, w, kc, t + j * NB, acc, p); break;                         \
        case 4: cv_tile(4, NZ, x + j, ldx, w, kc, t + j * NB, acc, p); break;                         \
        case 3: cv_tile(3, NZ, x + j, ldx, w, kc, t + j * NB, acc, p); break;                         \
        case 2: cv_tile(2, NZ, x + j, ldx, w, kc, t + j * NB, acc, p); break;                         \
        case 1: cv_tile(1, NZ, x + j, ldx, w, kc, t + j * NB, acc, p); break;                         \
        default: break;                                                                               \
        }                                                                                             \
    }
CV_RANGE(1)
CV_RANGE(2)
CV_RANGE(3)
CV_RANGE(4)
#undef CV_RANGE

typedef void cv_range_fn(const float *x, int64_t ldx, const float *w, int64_t kc, int64_t n, float *t, bool acc);
static cv_range_fn *const cv_ranges[5] = {NULL, cv_range_1, cv_range_2, cv_range_3, cv_range_4};

/* What the transpose out of t applies on the way. */
typedef struct cv_out {
    const float *bias;  /* the block's first channel's bias, or NULL */
    const float *res;   /* the residual at the block's first row and column j0, or NULL */
    float lo, hi;       /* Relu/Clip bounds (-inf, inf: none) */
} cv_out;

/* Y's rows [0, rows) of the block (rows <= 16 nz), columns [0, n) (y at
 * column j0 of the block's first row, rows ld apart) from t [n][NB]. */
__attribute__((target("avx512f"))) static void cv_store(const float *t, int64_t n, int nz, int64_t rows,
                                                        const cv_out *o, float *y, int64_t ld)
{
    const __m512 lo = _mm512_set1_ps(o->lo), hi = _mm512_set1_ps(o->hi);
    const bool clamp = o->lo != -INFINITY || o->hi != INFINITY;
    for (int64_t j = 0; j < n; j += 16) {
        const int64_t cols = n - j < 16 ? n - j : 16;
        const __mmask16 m = kl_lanes16(cols);
        for (int z = 0; z < nz; z++) {
            __m512 r[16];
            for (int i = 0; i < 16; i++)
                r[i] = i < cols ? _mm512_loadu_ps(t + (j + i) * NB + 16 * z) : _mm512_setzero_ps();
            kl_transpose16(r);
            for (int i = 0; i < 16 && 16 * z + i < rows; i++) {
                const int64_t row = 16 * z + i;
                __m512 v = r[i];
                if (o->bias)
                    v = _mm512_add_ps(v, _mm512_set1_ps(o->bias[row]));
                if (o->res)
                    v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, o->res + row * ld + j));
                if (clamp)
                    v = _mm512_min_ps(hi, _mm512_max_ps(lo, v)); /* NaN stays NaN */
                _mm512_mask_storeu_ps(y + row * ld + j, m, v);
            }
        }
    }
}

/* Whether the epilogue goes into the transpose: the residual and Relu or
 * Clip (no bias along the last axis, no other activation). */
static bool fused_in_store(const kl_epilogue *e)
{
    return !e || (!e->bias && (e->act == KL_ACT_NONE || e->act == KL_ACT_RELU || e->act == KL_ACT_CLIP));
}

void klk_cvprod_avx512(const kl_cv_span *s, const float *x, int64_t ldx, int64_t b0, int64_t b1, int64_t j0,
                       int64_t j1, float *t)
{
    const kl_epilogue *e = s->epi;
    const bool in_store = fused_in_store(e);
    cv_out o = {.lo = -INFINITY, .hi = INFINITY};
    if (e && in_store && e->act == KL_ACT_RELU)
        o.lo = 0.0f;
    if (e && in_store && e->act == KL_ACT_CLIP)
        o.lo = e->alpha, o.hi = e->beta;
    const int64_t n = j1 - j0;
    for (int64_t b = b0; b < b1; b++) {
        const int64_t ch = b * NB, rows = s->m - ch < NB ? s->m - ch : NB;
        const int nz = (int)((rows + 15) / 16);
        for (int64_t kb = 0; kb < s->k; kb += KC) {
            const int64_t kc = s->k - kb < KC ? s->k - kb : KC;
            cv_ranges[nz](x + kb * ldx, ldx, s->packed + (b * s->k + kb) * NB, kc, n, t, kb > 0);
        }
        float *y = s->y + ch * s->n + j0;
        const size_t at = s->y_offset + (size_t)(ch * s->n + j0);
        o.bias = s->bias ? s->bias + ch : NULL;
        o.res = e && in_store && e->residual ? (const float *)e->residual->data + at : NULL;
        cv_store(t, n, nz, rows, &o, y, s->n);
        if (e && !in_store)
            kl_epilogue_apply_rows(e, s->y + ch * s->n, s->y_offset + (size_t)(ch * s->n), rows, s->n, j0, j1);
    }
}
