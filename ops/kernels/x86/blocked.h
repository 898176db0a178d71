/* blocked.h -- the blocked layout's kernels (conv.h; ops/blockedconv.c,
 * ops/blockedmaxpool.c, ops/blockedglobalpool.c, ops/blockedscale.c),
 * written once for both vector widths: blocked_avx2.c (blocks of 8, one
 * ymm) and blocked_avx512.c (blocks of 16, one zmm) define the width's
 * operations below and include this file, which yields klk_bconv_SUF,
 * klk_bdwconv_SUF, klk_bmaxpool_SUF, klk_bscale_SUF and klk_bsum_SUF.
 *
 * The includer defines:
 *   BL                       lanes of a vector: channels of a block
 *   ZT                       blocks of a sub-tile (its accumulators per column)
 *   TR                       most output columns of a tile
 *   BC_COLS(nzg)             output columns of a tile for a group of nzg blocks
 *   BC_STEP_UNROLL           steps of a block unrolled
 *   BC_TARGET                the target attribute of every function
 *   SUF                      avx2 or avx512
 *   V, VLOAD, VSTORE, VSET1, VZERO, VFMA (a * b + c), VADD, VMUL, VMIN, VMAX
 *
 * Convolution, directly on the input.  Output channels come in groups of
 * KL_CV_NB (W's packed panels, kl_cv_pack), a group's blocks in sub-tiles
 * of ZT; a tile is up to TR output columns of one row x one sub-tile, its
 * accumulators one vector per column and block.  Each step of the
 * reduction (an input block, a tap, one of the block's channels) takes
 * the input's value under each column as a broadcast and the step's row
 * of W for the sub-tile's blocks.  The input is read where it lies: a
 * tap's block of values is one vector, the next tap's the next, so
 * nothing is unfolded.  An input of few channels in the plain layout (a
 * stem's 3) is read the same way with its own strides, one block of all
 * its channels.
 *   - Passes over the output rows take a slice of input blocks each, so
 *     that its part of W (36 KB for a 3x3 block of 16) stays in L1 across
 *     the rows; the sums build up in Y between passes, and each pass
 *     prefetches the next one's slice, spread over its tiles.
 *   - At a tile's place, its sub-tiles run one after the other, over the
 *     same input window (in L1 after the first).
 *   - Taps in the padding are skipped: rows per output row, columns per
 *     output column at the edges (tiles of one column there).  The
 *     columns between take tiles of even widths (13 columns: 5, 4, 4, not
 *     6, 6, 1, whose one column would wait on its few sums).
 *   - At stride 1 the columns' distance is a constant: the broadcasts'
 *     addresses are offsets from one register.
 *   - The last pass adds the bias, the residual and Relu or Clip before
 *     its stores; the driver runs any other epilogue over the rows. */
#include <math.h>
#include <stdint.h>

#include "../kernels.h"

#define BC_ATTR __attribute__((target(BC_TARGET), always_inline)) static inline
#define BC_FN __attribute__((target(BC_TARGET)))
#define BC_CAT2(a, b) a##_##b
#define BC_CAT(a, b) BC_CAT2(a, b)
#define BC_GROUP (KL_CV_NB / BL) /* blocks of a group */
#define BC_PRAGMA2(x) _Pragma(#x)
#define BC_PRAGMA(x) BC_PRAGMA2(x)

/* A tile's place: the output's first element (y), the input's window
 * origin (x0, an element offset from the image's start, possibly outside
 * it when padded), the tap ranges that lie inside the input. */
typedef struct bc_at {
    int64_t x0;
    int64_t kh0, kh1, kw0, kw1;
    float *y;
} bc_at;

/* One step of k for R columns and nz blocks: c += x's R values (cs
 * apart) times w's row (one column: W straight from memory, up to a
 * group's blocks). */
BC_ATTR void bc_step(const int R, const int nz, V c[TR][BC_GROUP], const float *x, int64_t cs, const float *w)
{
    if (R == 1) {
        const V b = VSET1(x[0]);
#pragma GCC unroll 8
        for (int z = 0; z < BC_GROUP; z++)
            if (z < nz)
                c[0][z] = VFMA(b, VLOAD(w + BL * z), c[0][z]);
        return;
    }
    V wz[ZT];
#pragma GCC unroll 8
    for (int z = 0; z < ZT; z++)
        if (z < nz)
            wz[z] = VLOAD(w + BL * z);
#pragma GCC unroll 12
    for (int r = 0; r < TR; r++)
        if (r < R) {
            const V b = VSET1(x[r * cs]);
#pragma GCC unroll 8
            for (int z = 0; z < ZT; z++)
                if (z < nz)
                    c[r][z] = VFMA(b, wz[z], c[r][z]);
        }
}

/* The tile's sums finished (the last pass: bias, residual, clamp) or not,
 * stored to y. */
BC_ATTR void bc_store(const int R, const int nz, V c[TR][BC_GROUP], const kl_bc_span *s, float *y, bool last,
                      const float *bias, const float *res)
{
    const int64_t yb = s->oh * s->ow * BL;
    const V lo = VSET1(s->lo), hi = VSET1(s->hi);
    const bool clamp = s->lo != -INFINITY || s->hi != INFINITY;
#pragma GCC unroll 8
    for (int z = 0; z < BC_GROUP; z++)
        if (z < nz) {
            const V bz = last && bias ? VLOAD(bias + z * BL) : VZERO();
#pragma GCC unroll 12
            for (int r = 0; r < TR; r++)
                if (r < R) {
                    V v = c[r][z];
                    if (last) {
                        v = VADD(v, bz);
                        if (res)
                            v = VADD(v, VLOAD(res + z * yb + r * BL));
                        if (clamp)
                            v = VMIN(hi, VMAX(lo, v)); /* NaN stays NaN */
                    }
                    VSTORE(y + z * yb + r * BL, v);
                }
        }
}

/* R columns x nz blocks of one sub-tile (w, y, bias, res at its first
 * block): input blocks [0, nb) of the pass (x, w at its first), summed
 * onto Y unless first, finished when last.  `plain`: the input in the
 * plain layout (s->cpb channels s->x_ch apart) rather than blocks;
 * `unit`: stride 1, the columns' distance a constant (the broadcasts'
 * addresses offsets from one register).  Along the way it prefetches
 * pf_n lines of W from pf, spread over its taps. */
BC_ATTR void bc_tile(const int R, const int nz, const bool plain, const bool unit, const kl_bc_span *s,
                     const float *w, int64_t nb, const bc_at *a, float *y, bool first, bool last, const float *bias,
                     const float *res, const float *pf, int64_t pf_n)
{
    const int64_t yb = s->oh * s->ow * BL, cs = unit ? (plain ? 1 : BL) : s->sw * s->x_col;
    const int64_t cpb = plain ? s->cpb : BL;
    const int64_t taps = nb * (a->kh1 - a->kh0) * (a->kw1 - a->kw0), per_tap = taps ? (pf_n + taps - 1) / taps : 0;
    V c[TR][BC_GROUP];
#pragma GCC unroll 12
    for (int r = 0; r < TR; r++)
#pragma GCC unroll 8
        for (int z = 0; z < BC_GROUP; z++)
            if (r < R && z < nz)
                c[r][z] = first ? VZERO() : VLOAD(y + z * yb + r * BL);
    for (int64_t b = 0; b < nb; b++)
        for (int64_t kh = a->kh0; kh < a->kh1; kh++)
            for (int64_t kw = a->kw0; kw < a->kw1; kw++) {
                for (int64_t q = 0; q < per_tap && pf_n > 0; q++, pf_n--, pf += 16)
                    _mm_prefetch((const char *)pf, _MM_HINT_T0);
                const float *xp = s->x + (a->x0 + b * s->x_block + kh * s->x_row + kw * s->x_col);
                const float *wp = w + ((b * s->kh + kh) * s->kw + kw) * cpb * KL_CV_NB;
                if (!plain) {
                    BC_PRAGMA(GCC unroll BC_STEP_UNROLL)
                    for (int i = 0; i < BL; i++)
                        bc_step(R, nz, c, xp + i, cs, wp + i * KL_CV_NB);
                } else {
                    for (int64_t i = 0; i < cpb; i++)
                        bc_step(R, nz, c, xp + i * s->x_ch, cs, wp + i * KL_CV_NB);
                }
            }
    bc_store(R, nz, c, s, y, last, bias, res);
}

/* R columns of a group of nzg blocks at place a, sub-tile by sub-tile
 * (ZT blocks each, the last nz_last), the pass's prefetch shared out over
 * them.  One column of a whole group is one tile of all its blocks: the
 * edges' columns, whose few sums alone would wait on each other. */
BC_ATTR void bc_place(const int R, const int nz_last, const bool plain, const bool unit, const kl_bc_span *s,
                      const float *w, int64_t nb, const bc_at *a, int64_t nzg, bool first, bool last,
                      const float *bias, const float *res, const float *pf, int64_t pf_n)
{
    if (R == 1 && nzg == BC_GROUP) {
        bc_tile(1, BC_GROUP, plain, unit, s, w, nb, a, a->y, first, last, bias, res, pf, pf_n);
        return;
    }
    const int64_t yb = s->oh * s->ow * BL, n_sub = (nzg + ZT - 1) / ZT, per_sub = (pf_n + n_sub - 1) / n_sub;
    for (int64_t t = 0; t < n_sub; t++) {
        const int64_t pn = pf_n < per_sub ? pf_n : per_sub;
        const float *wt = w + t * ZT * BL, *bt = bias ? bias + t * ZT * BL : NULL;
        const float *rt = res ? res + t * ZT * yb : NULL;
        float *yt = a->y + t * ZT * yb;
        if (t + 1 < n_sub)
            bc_tile(R, ZT, plain, unit, s, wt, nb, a, yt, first, last, bt, rt, pf, pn);
        else
            bc_tile(R, nz_last, plain, unit, s, wt, nb, a, yt, first, last, bt, rt, pf, pn);
        pf += pn * 16, pf_n -= pn;
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

/* The tile of R columns at place a, R a constant up to TR. */
#define BC_PLACE(R) bc_place(R, nz_last, plain, unit, s, wb, nb, &a, nzg, first, last, bias, rz, pf, pn)

/* Rows [r0, r1) of the output blocks of group `group` (KL_CV_NB
 * channels; its last sub-tile NZ blocks wide), one pass per slice of
 * input blocks. */
#define BC_ROWS(NZ, PLAIN, UNIT, NAME)                                                                            \
    BC_FN static void NAME(const kl_bc_span *s, int64_t group, int64_t r0, int64_t r1)                             \
    {                                                                                                             \
        const int nz_last = NZ;                                                                                   \
        const bool plain = PLAIN, unit = UNIT;                                                                    \
        const int64_t yb = s->oh * s->ow * BL, cpb = plain ? s->cpb : BL, step = s->kh * s->kw * cpb;            \
        const int64_t nzg = s->m_blocks - BC_GROUP * group < BC_GROUP ? s->m_blocks - BC_GROUP * group : BC_GROUP; \
        const int64_t width = BC_COLS(nzg);                                                                       \
        const float *w = s->packed + group * s->k * KL_CV_NB;                                                     \
        const float *bias = s->bias ? s->bias + group * KL_CV_NB : NULL;                                          \
        float *y = s->y + group * BC_GROUP * yb;                                                                  \
        const float *res = s->res ? s->res + group * BC_GROUP * yb : NULL;                                        \
        int64_t ia, ib;                                                                                           \
        bc_interior(s, &ia, &ib);                                                                                 \
        const int64_t row_tiles = (ib - ia + width - 1) / width; /* the interior's, of even widths */             \
        const int64_t tiles = (r1 - r0) * (ia + (s->ow - ib) + row_tiles);                                        \
        const float *end = s->packed + ((s->m_blocks + BC_GROUP - 1) / BC_GROUP) * s->k * KL_CV_NB;               \
        for (int64_t b0 = 0; b0 < s->in_blocks; b0 += s->pass_blocks) {                                           \
            const int64_t nb = s->in_blocks - b0 < s->pass_blocks ? s->in_blocks - b0 : s->pass_blocks;           \
            const bool first = b0 == 0, last = b0 + nb >= s->in_blocks;                                           \
            const float *wb = w + b0 * step * KL_CV_NB, *next = wb + nb * step * KL_CV_NB;                        \
            const int64_t slice = nb * step * KL_CV_NB;                                                           \
            const int64_t next_lines = next < end ? (end - next < slice ? end - next : slice) / 16 : 0;           \
            const int64_t per_tile = (next_lines + tiles - 1) / tiles;                                           \
            int64_t done = 0;                                                                                     \
            for (int64_t oy = r0; oy < r1; oy++) {                                                                \
                bc_at a = {.x0 = b0 * s->x_block};                                                                \
                const int64_t iy = oy * s->sh - s->ph;                                                            \
                bc_taps(iy, s->kh, s->ih, &a.kh0, &a.kh1);                                                        \
                const int64_t row = oy * s->ow;                                                                   \
                int64_t tile = 0;                                                                                 \
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
                        BC_PLACE(1);                                                                              \
                        ox++;                                                                                     \
                        continue;                                                                                 \
                    }                                                                                             \
                    a.kw0 = 0, a.kw1 = s->kw;                                                                     \
                    const int64_t n = (ib - ia) / row_tiles + (tile++ < (ib - ia) % row_tiles);                   \
                    switch (n) {                                                                                  \
                    case 12: if (TR >= 12) BC_PLACE(TR >= 12 ? 12 : 1); break;                                    \
                    case 11: if (TR >= 11) BC_PLACE(TR >= 11 ? 11 : 1); break;                                    \
                    case 10: if (TR >= 10) BC_PLACE(TR >= 10 ? 10 : 1); break;                                    \
                    case 9: if (TR >= 9) BC_PLACE(TR >= 9 ? 9 : 1); break;                                        \
                    case 8: if (TR >= 8) BC_PLACE(TR >= 8 ? 8 : 1); break;                                        \
                    case 7: if (TR >= 7) BC_PLACE(TR >= 7 ? 7 : 1); break;                                        \
                    case 6: BC_PLACE(6); break;                                                                   \
                    case 5: BC_PLACE(5); break;                                                                   \
                    case 4: BC_PLACE(4); break;                                                                   \
                    case 3: BC_PLACE(3); break;                                                                   \
                    case 2: BC_PLACE(2); break;                                                                   \
                    default: BC_PLACE(1); break;                                                                  \
                    }                                                                                             \
                    ox += n;                                                                                      \
                }                                                                                                 \
            }                                                                                                     \
        }                                                                                                         \
    }
#define BC_ROWS_NZ(NZ)                                \
    BC_ROWS(NZ, false, false, bc_rows_##NZ)           \
    BC_ROWS(NZ, true, false, bc_rows_plain##NZ)       \
    BC_ROWS(NZ, false, true, bc_rows_unit##NZ)        \
    BC_ROWS(NZ, true, true, bc_rows_plain_unit##NZ)
BC_ROWS_NZ(1)
BC_ROWS_NZ(2)
#if ZT > 2
BC_ROWS_NZ(3)
BC_ROWS_NZ(4)
#endif
#undef BC_ROWS_NZ
#undef BC_ROWS
#undef BC_PLACE

#if ZT > 2
#define BC_IF_ZT4(a, b) a, b
#else
#define BC_IF_ZT4(a, b) NULL, NULL
#endif

typedef void bc_rows_fn(const kl_bc_span *s, int64_t group, int64_t r0, int64_t r1);

/* Rows [r0, r1) of the output blocks of group `group` (kernels.h's bconv). */
BC_FN void BC_CAT(klk_bconv, SUF)(const kl_bc_span *s, int64_t group, int64_t r0, int64_t r1)
{
    /* [plain][stride 1][last sub-tile's blocks - 1] */
    static bc_rows_fn *const rows[2][2][4] = {
        {{bc_rows_1, bc_rows_2, BC_IF_ZT4(bc_rows_3, bc_rows_4)},
         {bc_rows_unit1, bc_rows_unit2, BC_IF_ZT4(bc_rows_unit3, bc_rows_unit4)}},
        {{bc_rows_plain1, bc_rows_plain2, BC_IF_ZT4(bc_rows_plain3, bc_rows_plain4)},
         {bc_rows_plain_unit1, bc_rows_plain_unit2, BC_IF_ZT4(bc_rows_plain_unit3, bc_rows_plain_unit4)}}};
    const int64_t left = s->m_blocks - BC_GROUP * group, nzg = left < BC_GROUP ? left : BC_GROUP;
    rows[s->plain][s->sw == 1][(nzg - 1) % ZT](s, group, r0, r1);
}

/* ---- depthwise ---- */

#define DW_TR 8 /* output columns of a depthwise tile */

/* R output columns of one block's row: each the sum over its taps [kh0,
 * kh1) x [kw0, kw1) of the input's vector times the tap's weights, then
 * finished as a tile's last pass. */
BC_ATTR void dw_tile(const int R, const kl_bc_span *s, const float *w, const bc_at *a, const float *bias,
                     const float *res)
{
    const int64_t cs = s->sw * BL;
    V c[DW_TR];
#pragma GCC unroll 8
    for (int r = 0; r < DW_TR; r++)
        if (r < R)
            c[r] = bias ? VLOAD(bias) : VZERO();
    for (int64_t kh = a->kh0; kh < a->kh1; kh++)
        for (int64_t kw = a->kw0; kw < a->kw1; kw++) {
            const V wv = VLOAD(w + (kh * s->kw + kw) * BL);
            const float *xp = s->x + (a->x0 + kh * s->x_row + kw * BL);
#pragma GCC unroll 8
            for (int r = 0; r < DW_TR; r++)
                if (r < R)
                    c[r] = VFMA(VLOAD(xp + r * cs), wv, c[r]);
        }
    const V lo = VSET1(s->lo), hi = VSET1(s->hi);
    const bool clamp = s->lo != -INFINITY || s->hi != INFINITY;
#pragma GCC unroll 8
    for (int r = 0; r < DW_TR; r++)
        if (r < R) {
            V v = c[r];
            if (res)
                v = VADD(v, VLOAD(res + r * BL));
            if (clamp)
                v = VMIN(hi, VMAX(lo, v));
            VSTORE(a->y + r * BL, v);
        }
}

/* Output rows [r0, r1) of block b of a depthwise conv (s->packed: the
 * weights [block][kh][kw][BL]; kernels.h's bdwconv). */
BC_FN void BC_CAT(klk_bdwconv, SUF)(const kl_bc_span *s, int64_t b, int64_t r0, int64_t r1)
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
                dw_tile(1, s, w, &a, bias, rz);
                ox++;
                continue;
            }
            a.kw0 = 0, a.kw1 = s->kw;
            const int64_t n = ib - ox < DW_TR ? ib - ox : DW_TR;
            switch (n) {
            case 8: dw_tile(8, s, w, &a, bias, rz); break;
            case 7: dw_tile(7, s, w, &a, bias, rz); break;
            case 6: dw_tile(6, s, w, &a, bias, rz); break;
            case 5: dw_tile(5, s, w, &a, bias, rz); break;
            case 4: dw_tile(4, s, w, &a, bias, rz); break;
            case 3: dw_tile(3, s, w, &a, bias, rz); break;
            case 2: dw_tile(2, s, w, &a, bias, rz); break;
            default: dw_tile(1, s, w, &a, bias, rz); break;
            }
            ox += n;
        }
    }
}

/* ---- MaxPool ---- */

/* Output rows [r0, r1) of block b: each output the maximum of its
 * window's vectors, taken as VMAX(v, m), which keeps m when v is NaN:
 * NaN never wins, as in the plain layout's kernels (kernels.h's
 * bmaxpool). */
BC_FN void BC_CAT(klk_bmaxpool, SUF)(const kl_bp_span *s, int64_t b, int64_t r0, int64_t r1)
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
            V m = VSET1(-INFINITY);
            for (int64_t kh = kh0; kh < kh1; kh++)
                for (int64_t kw = kw0; kw < kw1; kw++)
                    m = VMAX(VLOAD(x + ((iy + kh) * s->iw + ix + kw) * BL), m);
            VSTORE(y + (oy * s->ow + ox) * BL, m);
        }
    }
}

/* ---- elementwise ---- */

/* y = x times the block's scale s over n positions (kernels.h's bscale). */
BC_FN void BC_CAT(klk_bscale, SUF)(float *y, const float *x, const float *s, int64_t n)
{
    const V v = VLOAD(s);
    for (int64_t p = 0; p < n; p++)
        VSTORE(y + p * BL, VMUL(VLOAD(x + p * BL), v));
}

/* The block's BL sums over n positions, in order (kernels.h's bsum). */
BC_FN void BC_CAT(klk_bsum, SUF)(const float *x, int64_t n, float *sum)
{
    V acc = VZERO();
    for (int64_t p = 0; p < n; p++)
        acc = VADD(acc, VLOAD(x + p * BL));
    VSTORE(sum, acc);
}
