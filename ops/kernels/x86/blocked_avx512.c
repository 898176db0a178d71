/* blocked_avx512.c -- convolution and MaxPool in the blocked layout
 * (channels in blocks of 16, each position's 16 values one vector:
 * [blocks][rows][cols][16]; ops/blockedconv.c, ops/blockedmaxpool.c), on
 * AVX-512 (bconv and bmaxpool of the avx512 kernel table).
 *
 * Convolution, directly on the input: a tile is 6 output columns of one
 * row x 64 output channels (four blocks), 24 zmm accumulators; for 32
 * channels or fewer, 12 columns (EfficientNet's 24 and 40 out channels
 * on 6 columns waited on their loads).  Each step
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
#define TR 12       /* output columns of a tile: 12 for 32 channels or fewer, else 6 */
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
#pragma GCC unroll 12
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
 * s->x_ch apart) rather than blocks of 16.  Along the way it prefetches
 * pf_n lines of W from
 * pf, spread over its taps: the next pass's slice, shared out over the
 * pass's tiles. */
BC_ATTR void bc_tile(const int R, const int nz, const bool plain, const kl_bc_span *s, const float *x, const float *w,
                     int64_t nb, const bc_at *a, bool first, bool last, const float *bias,
                     const float *res, const float *pf, int64_t pf_n)
{
    const int64_t yb = s->oh * s->ow * BL, cs = s->sw * s->x_col, cpb = plain ? s->cpb : BL;
    const int64_t taps = nb * (a->kh1 - a->kh0) * (a->kw1 - a->kw0), per_tap = taps ? (pf_n + taps - 1) / taps : 0;
    __m512 c[TR][4];
#pragma GCC unroll 12
    for (int r = 0; r < TR; r++)
#pragma GCC unroll 4
        for (int z = 0; z < 4; z++)
            if (r < R && z < nz)
                c[r][z] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(a->y + z * yb + r * BL);
    for (int64_t b = 0; b < nb; b++)
        for (int64_t kh = a->kh0; kh < a->kh1; kh++)
            for (int64_t kw = a->kw0; kw < a->kw1; kw++) {
                for (int64_t q = 0; q < per_tap && pf_n > 0; q++, pf_n--, pf += 16)
                    _mm_prefetch((const char *)pf, _MM_HINT_T0);
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
#pragma GCC unroll 12
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
        const int64_t width = NZ <= 2 ? 12 : 6;                                                                   \
        const int64_t tiles = (r1 - r0) * (ia + (s->ow - ib) + (ib - ia + width - 1) / width);                    \
        const float *end = s->packed + ((s->m_blocks + 3) / 4) * s->k * NB;                                      \
        for (int64_t b0 = 0; b0 < s->in_blocks; b0 += s->pass_blocks) {                                           \
            const int64_t nb = s->in_blocks - b0 < s->pass_blocks ? s->in_blocks - b0 : s->pass_blocks;           \
            const bool first = b0 == 0, last = b0 + nb >= s->in_blocks;                                           \
            const float *wb = w + b0 * step * NB, *next = wb + nb * step * NB;                                    \
            const int64_t next_lines = next < end ? (end - next < nb * step * NB ? end - next : nb * step * NB) / 16 : 0; \
            const int64_t per_tile = (next_lines + tiles - 1) / tiles;                                           \
            int64_t done = 0;                                                                                     \
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
                    const int64_t pn = next_lines - done < per_tile ? next_lines - done : per_tile;               \
                    const float *pf = next + done * 16;                                                           \
                    done += pn;                                                                                   \
                    if (ox < ia || ox >= ib) { /* an edge column: its own taps */                                 \
                        bc_taps(ix, s->kw, s->iw, &a.kw0, &a.kw1);                                                \
                        bc_tile(1, NZ, PLAIN, s, s->x, wb, nb, &a, first, last, bias, rz, pf, pn);         \
                        ox++;                                                                                     \
                        continue;                                                                                 \
                    }                                                                                             \
                    a.kw0 = 0, a.kw1 = s->kw;                                                                     \
                    switch (ib - ox < width ? ib - ox : width) {                                                  \
                    case 12: if (NZ <= 2) bc_tile(12, NZ, PLAIN, s, s->x, wb, nb, &a, first, last, bias, rz, pf, pn); break; \
                    case 11: if (NZ <= 2) bc_tile(11, NZ, PLAIN, s, s->x, wb, nb, &a, first, last, bias, rz, pf, pn); break; \
                    case 10: if (NZ <= 2) bc_tile(10, NZ, PLAIN, s, s->x, wb, nb, &a, first, last, bias, rz, pf, pn); break; \
                    case 9: if (NZ <= 2) bc_tile(9, NZ, PLAIN, s, s->x, wb, nb, &a, first, last, bias, rz, pf, pn); break; \
                    case 8: if (NZ <= 2) bc_tile(8, NZ, PLAIN, s, s->x, wb, nb, &a, first, last, bias, rz, pf, pn); break; \
                    case 7: if (NZ <= 2) bc_tile(7, NZ, PLAIN, s, s->x, wb, nb, &a, first, last, bias, rz, pf, pn); break; \
                    case 6: bc_tile(6, NZ, PLAIN, s, s->x, wb, nb, &a, first, last, bias, rz, pf, pn); break; \
                    case 5: bc_tile(5, NZ, PLAIN, s, s->x, wb, nb, &a, first, last, bias, rz, pf, pn); break; \
                    case 4: bc_tile(4, NZ, PLAIN, s, s->x, wb, nb, &a, first, last, bias, rz, pf, pn); break; \
                    case 3: bc_tile(3, NZ, PLAIN, s, s->x, wb, nb, &a, first, last, bias, rz, pf, pn); break; \
                    case 2: bc_tile(2, NZ, PLAIN, s, s->x, wb, nb, &a, first, last, bias, rz, pf, pn); break; \
                    default: bc_tile(1, NZ, PLAIN, s, s->x, wb, nb, &a, first, last, bias, rz, pf, pn); break; \
                    }                                                                                             \
                    ox += ib - ox < width ? ib - ox : width;                                                      \
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

/* ---- depthwise ---- */

#define DW_TR 8 /* output columns of a depthwise tile */

/* R output columns of block b's row: each the sum over its taps [kh0,
 * kh1) x [kw0, kw1) of the input's vector times the tap's weights, then
 * finished as bc_tile's last pass. */
BC_ATTR void dw_tile(const int R, const kl_bc_span *s, const float *x, const float *w, const bc_at *a,
                     const float *bias, const float *res)
{
    const int64_t cs = s->sw * BL;
    __m512 c[DW_TR];
#pragma GCC unroll 8
    for (int r = 0; r < DW_TR; r++)
        if (r < R)
            c[r] = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
    for (int64_t kh = a->kh0; kh < a->kh1; kh++)
        for (int64_t kw = a->kw0; kw < a->kw1; kw++) {
            const __m512 wv = _mm512_loadu_ps(w + (kh * s->kw + kw) * BL);
            const float *xp = x + (a->x0 + kh * s->x_row + kw * BL);
#pragma GCC unroll 8
            for (int r = 0; r < DW_TR; r++)
                if (r < R)
                    c[r] = _mm512_fmadd_ps(_mm512_loadu_ps(xp + r * cs), wv, c[r]);
        }
    const __m512 lo = _mm512_set1_ps(s->lo), hi = _mm512_set1_ps(s->hi);
    const bool clamp = s->lo != -INFINITY || s->hi != INFINITY;
#pragma GCC unroll 8
    for (int r = 0; r < DW_TR; r++)
        if (r < R) {
            __m512 v = c[r];
            if (res)
                v = _mm512_add_ps(v, _mm512_loadu_ps(res + r * BL));
            if (clamp)
                v = _mm512_min_ps(hi, _mm512_max_ps(lo, v));
            _mm512_storeu_ps(a->y + r * BL, v);
        }
}

/* Output rows [r0, r1) of block b of a depthwise conv (s->packed: the
 * weights [block][kh][kw][16]). */
KL_AVX512 void klk_bdwconv_avx512(const kl_bc_span *s, int64_t b, int64_t r0, int64_t r1)
{
    const int64_t plane = s->oh * s->ow * BL;
    const float *w = s->packed + b * s->kh * s->kw * BL, *bias = s->bias ? s->bias + b * BL : NULL;
    const float *res = s->res ? s->res + b * plane : NULL;
    float *y = s->y + b * plane;
    int64_t ia, ib;
    bc_interior(s, &ia, &ib);
    for (int64_t oy = r0; oy < r1; oy++) {
        bc_at a;
        const int64_t iy = oy * s->sh - s->ph;
        bc_taps(iy, s->kh, s->ih, &a.kh0, &a.kh1);
        for (int64_t ox = 0; ox < s->ow;) {
            const int64_t ix = ox * s->sw - s->pw, at = (oy * s->ow + ox) * BL;
            const float *rz = res ? res + at : NULL;
            a.x0 = b * s->x_block + iy * s->x_row + ix * BL;
            a.y = y + at;
            if (ox < ia || ox >= ib) {
                bc_taps(ix, s->kw, s->iw, &a.kw0, &a.kw1);
                dw_tile(1, s, s->x, w, &a, bias, rz);
                ox++;
                continue;
            }
            a.kw0 = 0, a.kw1 = s->kw;
            const int64_t n = ib - ox < DW_TR ? ib - ox : DW_TR;
            switch (n) {
            case 8: dw_tile(8, s, s->x, w, &a, bias, rz); break;
            case 7: dw_tile(7, s, s->x, w, &a, bias, rz); break;
            case 6: dw_tile(6, s, s->x, w, &a, bias, rz); break;
            case 5: dw_tile(5, s, s->x, w, &a, bias, rz); break;
            case 4: dw_tile(4, s, s->x, w, &a, bias, rz); break;
            case 3: dw_tile(3, s, s->x, w, &a, bias, rz); break;
            case 2: dw_tile(2, s, s->x, w, &a, bias, rz); break;
            default: dw_tile(1, s, s->x, w, &a, bias, rz); break;
            }
            ox += n;
        }
    }
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

/* ---- elementwise ---- */

KL_AVX512 void klk_bscale_avx512(float *y, const float *x, const float *s, int64_t n)
{
    const __m512 v = _mm512_loadu_ps(s);
    for (int64_t p = 0; p < n; p++)
        _mm512_storeu_ps(y + p * BL, _mm512_mul_ps(_mm512_loadu_ps(x + p * BL), v));
}

/* The sums in the order of klk_bsum_generic: one accumulator per lane. */
KL_AVX512 void klk_bsum_avx512(const float *x, int64_t n, float *sum)
{
    __m512 acc = _mm512_setzero_ps();
    for (int64_t p = 0; p < n; p++)
        acc = _mm512_add_ps(acc, _mm512_loadu_ps(x + p * BL));
    _mm512_storeu_ps(sum, acc);
}
