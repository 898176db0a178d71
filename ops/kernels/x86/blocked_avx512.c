/* blocked_avx512.c -- convolution and MaxPool in the blocked layout
 * (channels in blocks of 16, each position's 16 values one vector:
 * [blocks][rows][cols][16]; ops/blockedconv.c, ops/blockedmaxpool.c), on
 * AVX-512 (bconv and bmaxpool of the avx512 kernel table).
 *
 * Convolution, directly on the input: a tile is 6 output columns of one
 * row x 64 output channels (four blocks), 24 zmm accumulators.  Each step
 * of the reduction (an input block, a tap, one of its 16 channels) takes
 * the input's value under each column as a broadcast and a row of W
 * (kl_cv_pack's layout, k ordered block, tap row, tap column, channel) as
 * four vectors.  The input is read where it lies: a tap's row of 16
 * values is one cache line, the next tap's the next line, so nothing is
 * unfolded.  An input of few channels in the plain layout (a stem's 3) is
 * read the same way with its own strides, one block of all its channels.
 *   - Passes over the output rows take a slice of input blocks each, so
 *     that its part of W (36 KB for a 3x3 block) stays in L1 across the
 *     rows; the sums build up in Y between passes.
 *   - Taps in the padding are skipped: rows per output row, columns per
 *     output column at the edges (tiles of one column there).
 *   - The last pass adds the bias, the residual and Relu or Clip before
 *     its stores; the driver runs any other epilogue over the rows. */
#include <math.h>
#include <stdint.h>

#include "../kernels.h"
#include "transpose.h"
#include "vmath.h"

#include <immintrin.h>

#define NB KL_CV_NB /* output channels of a tile: four blocks */
#define TR 6        /* output columns of a tile */
#define BL 16       /* channels of a block */

#define BC_ATTR __attribute__((target("avx512f"), always_inline)) static inline

/* A tile's place: the output's first element (y), the input's window
 * origin (x, an element offset from the image's start, possibly outside
 * it when padded), the tap ranges that lie inside the input. */
typedef struct bc_at {
    int64_t x0;
    int64_t kh0, kh1, kw0, kw1;
    float *y;
} bc_at;

/* One step of k for R columns and nz blocks: c += x's R values (cs
 * apart) times w's row. */
BC_ATTR void bc_step(const int R, const int nz, __m512 c[TR][4], const float *x, int64_t cs, const float *w)
{
    __m512 wz[4];
#pragma GCC unroll 4
    for (int z = 0; z < 4; z++)
        if (z < nz)
            wz[z] = _mm512_loadu_ps(w + 16 * z);
#pragma GCC unroll 6
    for (int r = 0; r < TR; r++)
        if (r < R) {
            const __m512 b = _mm512_set1_ps(x[r * cs]);
#pragma GCC unroll 4
            for (int z = 0; z < 4; z++)
                if (z < nz)
                    c[r][z] = _mm512_fmadd_ps(b, wz[z], c[r][z]);
        }
}

/* R columns x nz blocks: input blocks [0, nb) of the pass (x, w at its
 * first), summed onto Y unless first, finished (bias, residual, clamp)
 * when last.  `plain`: the input in the plain layout (s->cpb channels
 * s->x_ch apart) rather than blocks of 16. */
BC_ATTR void bc_tile(const int R, const int nz, const bool plain, const kl_bc_span *s, const float *x, const float *w,
                     int64_t nb, const bc_at *a, bool first, bool last, const float *bias, const float *res)
{
    const int64_t yb = s->oh * s->ow * BL, cs = s->sw * s->x_col, cpb = plain ? s->cpb : BL;
    __m512 c[TR][4];
#pragma GCC unroll 6
    for (int r = 0; r < TR; r++)
#pragma GCC unroll 4
        for (int z = 0; z < 4; z++)
            if (r < R && z < nz)
                c[r][z] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(a->y + z * yb + r * BL);
    for (int64_t b = 0; b < nb; b++)
        for (int64_t kh = a->kh0; kh < a->kh1; kh++)
            for (int64_t kw = a->kw0; kw < a->kw1; kw++) {
                const float *xp = x + (a->x0 + b * s->x_block + kh * s->x_row + kw * s->x_col);
                const float *wp = w + ((b * s->kh + kh) * s->kw + kw) * cpb * NB;
                if (!plain) {
#pragma GCC unroll 16
                    for (int i = 0; i < BL; i++)
                        bc_step(R, nz, c, xp + i, cs, wp + i * NB);
                } else {
                    for (int64_t i = 0; i < cpb; i++)
                        bc_step(R, nz, c, xp + i * s->x_ch, cs, wp + i * NB);
                }
            }
    const __m512 lo = _mm512_set1_ps(s->lo), hi = _mm512_set1_ps(s->hi);
    const bool clamp = s->lo != -INFINITY || s->hi != INFINITY;
#pragma GCC unroll 4
    for (int z = 0; z < 4; z++)
        if (z < nz) {
            const __m512 bz = last && bias ? _mm512_loadu_ps(bias + z * BL) : _mm512_setzero_ps();
#pragma GCC unroll 6
            for (int r = 0; r < TR; r++)
                if (r < R) {
                    __m512 v = c[r][z];
                    if (last) {
                        v = _mm512_add_ps(v, bz);
                        if (res)
                            v = _mm512_add_ps(v, _mm512_loadu_ps(res + z * yb + r * BL));
                        if (clamp)
                            v = _mm512_min_ps(hi, _mm512_max_ps(lo, v)); /* NaN stays NaN */
                    }
                    _mm512_storeu_ps(a->y + z * yb + r * BL, v);
                }
        }
}

/* The taps [*t0, *t1) of an output at window start `start` (stride 1
 * over the taps) that lie in [0, n). */
static inline void bc_taps(int64_t start, int64_t k, int64_t n, int64_t *t0, int64_t *t1)
{
    int64_t a = start < 0 ? -start : 0, b = n - start < k ? n - start : k;
    *t0 = a < b ? a : b;
    *t1 = b > *t0 ? b : *t0;
}

/* Output columns [*a, *b) whose windows lie inside the input's row. */
static inline void bc_interior(const kl_bc_span *s, int64_t *a, int64_t *b)
{
    const int64_t first = (s->pw + s->sw - 1) / s->sw, room = s->iw + s->pw - s->kw;
    const int64_t end = room >= 0 ? room / s->sw + 1 : 0;
    *a = first < s->ow ? first : s->ow;
    *b = end > s->ow ? s->ow : end < *a ? *a : end;
}

/* Rows [r0, r1) of output blocks [4 group, 4 group + NZ), one pass per
 * slice of input blocks. */
#define BC_ROWS(NZ, PLAIN, SUF)                                                                                  \
    __attribute__((target("avx512f"))) static void bc_rows_##SUF(const kl_bc_span *s, int64_t group, int64_t r0,  \
                                                                 int64_t r1)                                      \
    {                                                                                                             \
        const int64_t yb = s->oh * s->ow * BL, cpb = PLAIN ? s->cpb : BL, step = s->kh * s->kw * cpb;            \
        const float *w = s->packed + group * s->k * NB;                                                           \
        const float *bias = s->bias ? s->bias + group * NB : NULL;                                                \
        float *y = s->y + group * 4 * yb;                                                                         \
        const float *res = s->res ? s->res + group * 4 * yb : NULL;                                               \
        int64_t ia, ib;                                                                                           \
        bc_interior(s, &ia, &ib);                                                                                 \
        for (int64_t b0 = 0; b0 < s->in_blocks; b0 += s->pass_blocks) {                                           \
            const int64_t nb = s->in_blocks - b0 < s->pass_blocks ? s->in_blocks - b0 : s->pass_blocks;           \
            const bool first = b0 == 0, last = b0 + nb >= s->in_blocks;                                           \
            const float *wb = w + b0 * step * NB;                                                                 \
            for (int64_t oy = r0; oy < r1; oy++) {                                                                \
                bc_at a = {.x0 = b0 * s->x_block};                                                                \
                const int64_t iy = oy * s->sh - s->ph;                                                            \
                bc_taps(iy, s->kh, s->ih, &a.kh0, &a.kh1);                                                        \
                const int64_t row = oy * s->ow;                                                                   \
                for (int64_t ox = 0; ox < s->ow;) {                                                               \
                    const int64_t ix = ox * s->sw - s->pw, at = (row + ox) * BL;                                  \
                    const float *rz = res ? res + at : NULL;                                                      \
                    a.x0 = b0 * s->x_block + iy * s->x_row + ix * s->x_col;                                       \
                    a.y = y + at;                                                                                 \
                    if (ox < ia || ox >= ib) { /* an edge column: its own taps */                                 \
                        bc_taps(ix, s->kw, s->iw, &a.kw0, &a.kw1);                                                \
                        bc_tile(1, NZ, PLAIN, s, s->x, wb, nb, &a, first, last, bias, rz);                        \
                        ox++;                                                                                     \
                        continue;                                                                                 \
                    }                                                                                             \
                    a.kw0 = 0, a.kw1 = s->kw;                                                                     \
                    switch (ib - ox < TR ? ib - ox : TR) {                                                        \
                    case 6: bc_tile(6, NZ, PLAIN, s, s->x, wb, nb, &a, first, last, bias, rz); break;             \
                    case 5: bc_tile(5, NZ, PLAIN, s, s->x, wb, nb, &a, first, last, bias, rz); break;             \
                    case 4: bc_tile(4, NZ, PLAIN, s, s->x, wb, nb, &a, first, last, bias, rz); break;             \
                    case 3: bc_tile(3, NZ, PLAIN, s, s->x, wb, nb, &a, first, last, bias, rz); break;             \
                    case 2: bc_tile(2, NZ, PLAIN, s, s->x, wb, nb, &a, first, last, bias, rz); break;             \
                    default: bc_tile(1, NZ, PLAIN, s, s->x, wb, nb, &a, first, last, bias, rz); break;            \
                    }                                                                                             \
                    ox += ib - ox < TR ? ib - ox : TR;                                                            \
                }                                                                                                 \
            }                                                                                                     \
        }                                                                                                         \
    }
BC_ROWS(1, false, 1)
BC_ROWS(2, false, 2)
BC_ROWS(3, false, 3)
BC_ROWS(4, false, 4)
BC_ROWS(1, true, plain1)
BC_ROWS(2, true, plain2)
BC_ROWS(3, true, plain3)
BC_ROWS(4, true, plain4)
#undef BC_ROWS

typedef void bc_rows_fn(const kl_bc_span *s, int64_t group, int64_t r0, int64_t r1);

KL_AVX512 void klk_bconv_avx512(const kl_bc_span *s, int64_t group, int64_t r0, int64_t r1)
{
    static bc_rows_fn *const rows[2][4] = {{bc_rows_1, bc_rows_2, bc_rows_3, bc_rows_4},
                                           {bc_rows_plain1, bc_rows_plain2, bc_rows_plain3, bc_rows_plain4}};
    const int64_t left = s->m_blocks - 4 * group, nz = left < 4 ? left : 4;
    rows[s->plain][nz - 1](s, group, r0, r1);
}

/* ---- MaxPool ---- */

/* Output rows [r0, r1) of block b: each output the maximum of its
 * window's vectors, taken as max_ps(v, m), which keeps m when v is NaN:
 * NaN never wins, as in the plain layout's kernels. */
KL_AVX512 void klk_bmaxpool_avx512(const kl_bp_span *s, int64_t b, int64_t r0, int64_t r1)
{
    const float *x = s->x + b * s->ih * s->iw * BL;
    float *y = s->y + b * s->oh * s->ow * BL;
    for (int64_t oy = r0; oy < r1; oy++) {
        int64_t kh0, kh1;
        bc_taps(oy * s->sh - s->ph, s->kh, s->ih, &kh0, &kh1);
        const int64_t iy = oy * s->sh - s->ph;
        for (int64_t ox = 0; ox < s->ow; ox++) {
            int64_t kw0, kw1;
            const int64_t ix = ox * s->sw - s->pw;
            bc_taps(ix, s->kw, s->iw, &kw0, &kw1);
            __m512 m = _mm512_set1_ps(-INFINITY);
            for (int64_t kh = kh0; kh < kh1; kh++)
                for (int64_t kw = kw0; kw < kw1; kw++)
                    m = _mm512_max_ps(_mm512_loadu_ps(x + ((iy + kh) * s->iw + ix + kw) * BL), m);
            _mm512_storeu_ps(y + (oy * s->ow + ox) * BL, m);
        }
    }
}

/* ---- back to the plain layout ---- */

/* One block of hw positions (x: [hw][16]) into `lanes` planes of y (hw
 * apart): 16 positions at a time, transposed in registers. */
KL_AVX512 void klk_bfrom_avx512(const float *x, int64_t hw, int64_t lanes, float *y)
{
    for (int64_t p = 0; p < hw; p += BL) {
        const int64_t ps = hw - p < BL ? hw - p : BL;
        const __mmask16 m = kl_lanes16(ps);
        __m512 r[16];
        for (int i = 0; i < 16; i++)
            r[i] = i < ps ? _mm512_loadu_ps(x + (p + i) * BL) : _mm512_setzero_ps();
        kl_transpose16(r);
        for (int64_t l = 0; l < lanes; l++)
            _mm512_mask_storeu_ps(y + l * hw + p, m, r[l]);
    }
}
