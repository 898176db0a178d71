/* pointwise_avx512.c -- ops/kernels/pointwise.c's product Y = W X on
 * AVX-512 (pointwise12 of the avx512 kernel table).
 *
 * A tile is 12 rows x 32 columns: 24 of the 32 zmm registers accumulate,
 * and each FMA takes its W value as a broadcast.  W is packed once in
 * 12-row panels, cut into steps of KC values of k and laid out step by
 * step ([step][panel][kc][12]), so that a pass over one step reads W in
 * one sequential stream (from memory, for VGG's and ResNet's widest
 * layers: 12-row slices of separate panels ran at a third of the memory's
 * bandwidth).  What differs from the AVX2 path:
 *   - X is read in place where its rows are 64-byte aligned, the last
 *     chunk of a row through masked loads, and the next chunk is
 *     prefetched row by row (X's rows are far apart, and the hardware
 *     prefetcher does not follow several hundred of them); unaligned rows
 *     (7x7, 17x17 maps, Winograd's tiles) are copied step by step into
 *     aligned ones first: loads across two cache lines ran the tile at
 *     two thirds of its speed;
 *   - a convolution's unfolded input (im2col's columns) is made step by
 *     step in the same buffer (s->fill), never whole;
 *   - K is taken in steps of KC, so that a panel's slice of a step
 *     stays in L1 however long K is (512 channels x 3x3 = 4608); the tile
 *     adds each step to what the previous ones stored;
 *   - bias, the epilogue's bias of the columns, the residual and Relu/Clip
 *     are applied in the registers after the last step; other activations
 *     run over each block's rows after it. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../kernels.h"
#include "transpose.h"
#include "vmath.h"

#define MR KL_PW12_MR /* rows of a packed panel of W */
#define KC KL_PW12_KC /* steps of k per pass over a tile */

#include <immintrin.h>

/* One tile's operands. */
typedef struct ztile {
    int64_t kc;                 /* steps of k */
    const float *a;             /* the panel at the first step, MR values per step */
    const float *pf;            /* W to prefetch, MR values per step (see kl_pw_panels_avx512) */
    const float *b;             /* X at the first step and column, rows ldb apart */
    int64_t ldb;
    int64_t pfb;                /* (ztile_12x32_far) X to prefetch at each step: the 32 values pfb
                                 * after b, instead of the 32 right after */
    float *c;                   /* Y, rows ldc apart */
    int64_t ldc;
    int rows;                   /* rows of c to store (the rest are padding) */
    __mmask16 m0, m1;           /* columns 0-15 and 16-31 to read and write */
    bool acc;                   /* start from c (a later step of k), not from bias */
    const float *bias;          /* 12 values, zero past rows */
    bool finish;                /* the last step: add cb, res, clamp to [lo, hi] */
    const float *cb;            /* the epilogue's bias of the tile's columns, or NULL */
    const float *res;           /* residual rows ldc apart, or NULL */
    float lo, hi;
} ztile;

#define ZT_ATTR __attribute__((target("avx512f"), always_inline)) static inline

/* The tile's body for `pair` (12 rows, else the first 6) and `wide` (32 columns,
 * else 16), both constants where it is inlined, so the unused
 * accumulators vanish.  masked: loads of X through m0/m1 (a partial
 * chunk); full chunks load without masks, which kept gcc from reloading
 * the mask registers at every step. */
ZT_ATTR void ztile_body(const ztile *t, const int pair, const int wide, const int far)
{
    const int rows = t->rows;
    const __mmask16 m0 = t->m0, m1 = t->m1;
    const float *a = t->a, *b = t->b, *pf = t->pf;
    const int64_t ldb = t->ldb, ldc = t->ldc, pfb = far ? t->pfb : 32;
    float *c = t->c;
#define Z_INIT(r)                                                                    \
    __m512 x##r = _mm512_setzero_ps(), y##r = _mm512_setzero_ps();                   \
    if ((r) < 6 || pair) {                                                           \
        if (t->acc && (r) < rows) {                                                  \
            x##r = _mm512_maskz_loadu_ps(m0, c + (r) * ldc);                         \
            if (wide)                                                                \
                y##r = _mm512_maskz_loadu_ps(m1, c + (r) * ldc + 16);                \
        } else                                                                       \
            x##r = y##r = _mm512_set1_ps(t->bias[r]);                                \
    }
    Z_INIT(0) Z_INIT(1) Z_INIT(2) Z_INIT(3) Z_INIT(4) Z_INIT(5)
    Z_INIT(6) Z_INIT(7) Z_INIT(8) Z_INIT(9) Z_INIT(10) Z_INIT(11)
#undef Z_INIT
#define Z_FMA(r, a, i)                                       \
    do {                                                     \
        __m512 w = _mm512_set1_ps((a)[i]);                   \
        x##r = _mm512_fmadd_ps(w, b0, x##r);                 \
        if (wide)                                            \
            y##r = _mm512_fmadd_ps(w, b1, y##r);             \
    } while (0)
#define Z_STEP                                                                                          \
    do {                                                                                                \
        _mm_prefetch((const char *)(b + pfb), _MM_HINT_T0);                                             \
        _mm_prefetch((const char *)pf, _MM_HINT_T0);                                                    \
        if (wide)                                                                                       \
            _mm_prefetch((const char *)(b + pfb + 16), _MM_HINT_T0);                                    \
        Z_FMA(0, a, 0); Z_FMA(1, a, 1); Z_FMA(2, a, 2); Z_FMA(3, a, 3); Z_FMA(4, a, 4); Z_FMA(5, a, 5); \
        if (pair) {                                                                                     \
            Z_FMA(6, a, 6); Z_FMA(7, a, 7); Z_FMA(8, a, 8);                                             \
            Z_FMA(9, a, 9); Z_FMA(10, a, 10); Z_FMA(11, a, 11);                                         \
        }                                                                                               \
        a += MR, pf += MR, b += ldb;                                                                    \
    } while (0)
    if (m0 == 0xffff && (!wide || m1 == 0xffff))
        for (int64_t k = 0; k < t->kc; k++) {
            __m512 b0 = _mm512_loadu_ps(b), b1 = wide ? _mm512_loadu_ps(b + 16) : b0;
            Z_STEP;
        }
    else
        for (int64_t k = 0; k < t->kc; k++) {
            __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = wide ? _mm512_maskz_loadu_ps(m1, b + 16) : b0;
            Z_STEP;
        }
#undef Z_FMA
#undef Z_STEP
    const __m512 lo = _mm512_set1_ps(t->lo), hi = _mm512_set1_ps(t->hi);
    const float *res = t->res;
    const bool finish = t->finish, cb = finish && t->cb;
    const __m512 cb0 = cb ? _mm512_maskz_loadu_ps(m0, t->cb) : lo;
    const __m512 cb1 = cb && wide ? _mm512_maskz_loadu_ps(m1, t->cb + 16) : lo;
    /* max/min with the bound first: a NaN sum stays NaN, as in
     * kl_epilogue_apply */
#define Z_STORE(r)                                                                            \
    if (((r) < 6 || pair) && (r) < rows) {                                                    \
        if (cb) {                                                                             \
            x##r = _mm512_add_ps(x##r, cb0);                                                  \
            if (wide)                                                                         \
                y##r = _mm512_add_ps(y##r, cb1);                                              \
        }                                                                                     \
        if (finish && res) {                                                                  \
            x##r = _mm512_add_ps(x##r, _mm512_maskz_loadu_ps(m0, res + (r) * ldc));           \
            if (wide)                                                                         \
                y##r = _mm512_add_ps(y##r, _mm512_maskz_loadu_ps(m1, res + (r) * ldc + 16));  \
        }                                                                                     \
        if (finish) {                                                                         \
            x##r = _mm512_min_ps(hi, _mm512_max_ps(lo, x##r));                                \
            y##r = _mm512_min_ps(hi, _mm512_max_ps(lo, y##r));                                \
        }                                                                                     \
        _mm512_mask_storeu_ps(c + (r) * ldc, m0, x##r);                                       \
        if (wide)                                                                             \
            _mm512_mask_storeu_ps(c + (r) * ldc + 16, m1, y##r);                              \
    }
    Z_STORE(0) Z_STORE(1) Z_STORE(2) Z_STORE(3) Z_STORE(4) Z_STORE(5)
    Z_STORE(6) Z_STORE(7) Z_STORE(8) Z_STORE(9) Z_STORE(10) Z_STORE(11)
#undef Z_STORE
}

__attribute__((target("avx512f"))) static void ztile_12x32(const ztile *t)
{
    ztile_body(t, 1, 1, 0);
}

/* X packed: the next chunk's steps are far ahead (t->pfb) */
__attribute__((target("avx512f"))) static void ztile_12x32_far(const ztile *t)
{
    ztile_body(t, 1, 1, 1);
}

__attribute__((target("avx512f"))) static void ztile_6x32(const ztile *t)
{
    ztile_body(t, 0, 1, 0);
}

__attribute__((target("avx512f"))) static void ztile_12x16(const ztile *t)
{
    ztile_body(t, 1, 0, 0);
}

__attribute__((target("avx512f"))) static void ztile_6x16(const ztile *t)
{
    ztile_body(t, 0, 0, 0);
}

/* Whether the epilogue fits in the tile's registers: bias, residual and a
 * clamp; other activations need their own pass, and so does a bias along
 * Y's rows unless a row of Y is the bias' row (the tile then adds the
 * bias of its columns). */
static bool fused_in_tile(const kl_pw_span *s, const kl_epilogue *e)
{
    if (e && e->bias && (e->bias_len != s->ldy || s->y_offset % (size_t)s->ldy != 0))
        return false;
    return !e || e->act == KL_ACT_NONE || e->act == KL_ACT_RELU || e->act == KL_ACT_CLIP;
}






static int64_t round16(int64_t n)
{
    return (n + 15) / 16 * 16;
}


/* Rows [kb, kb + kc) of X's columns [j0, j1) into rows of ld floats. */
static void copy_step(const kl_pw_span *s, int64_t kb, int64_t kc, int64_t j0, int64_t j1, float *dst, int64_t ld)
{
    for (int64_t kk = 0; kk < kc; kk++)
        memcpy(dst + kk * ld, s->x + (kb + kk) * s->ldx + j0, (size_t)(j1 - j0) * sizeof(float));
}

/* t's rows, bias (kept in bias[MR]) and W for panel p of the step at kb
 * (t's kc set). */
static void set_panel(const kl_pw_span *s, ztile *t, int64_t p, int64_t kb, float *bias)
{
    const int64_t r0 = p * MR;
    t->rows = (int)(s->m - r0 < MR ? s->m - r0 : MR);
    for (int r = 0; r < MR; r++)
        bias[r] = r < t->rows && s->bias ? s->bias[r0 + r] : 0.0f;
    t->bias = bias;
    t->a = s->packed + kl_pw12_panel_at(kl_pw12_panels(s->m), p, kb, t->kc);
}

/* One tile: the panel set_panel put in t (p its index; t's acc and finish
 * set) by the chunk of columns at c0, prefetching W at pf. */
static void run_tile(const kl_pw_span *s, ztile *t, int64_t p, int64_t kb, int64_t c0, int64_t j0, int64_t j1,
                     const float *work, bool copy, const float *pf)
{
    const int64_t r0 = p * MR, cols = j1 - c0 < 32 ? j1 - c0 : 32;
    const kl_epilogue *e = s->epi;
    t->pf = pf;
    t->b = s->xp ? s->xp + c0 * s->k + kb * 32 : copy ? work + (c0 - j0) : s->x + kb * t->ldb + c0;
    /* the next chunk of columns: in place, the rest of the row; packed,
     * the next chunk's same steps */
    t->pfb = s->xp ? 32 * s->k : 32;
    t->c = s->y + r0 * s->ldy + c0;
    t->m0 = kl_lanes16(cols);
    t->m1 = kl_lanes16(cols - 16);
    t->res = e && e->residual ? (const float *)e->residual->data + s->y_offset + r0 * s->ldy + c0 : NULL;
    t->cb = e && e->bias ? e->bias + c0 : NULL;
    const bool pair = t->rows > 6;
    if (s->xp && pair && cols > 16)
        ztile_12x32_far(t);
    else
        (cols > 16 ? (pair ? ztile_12x32 : ztile_6x32) : (pair ? ztile_12x16 : ztile_6x16))(t);
}

/* The epilogue that the tile could not apply in its registers, on panel
 * p's rows of the block's columns, after their last step. */
static void epilogue_after(const kl_pw_span *s, int64_t p, int64_t j0, int64_t j1)
{
    const int64_t r0 = p * MR, rows = s->m - r0 < MR ? s->m - r0 : MR;
    kl_epilogue_apply_rows(s->epi, s->y + r0 * s->ldy, s->y_offset + (size_t)(r0 * s->ldy), rows, s->ldy, j0, j1);
}

/* Bytes of packed W that a pass over packed X keeps in L2: panels
 * [pb, pb + PANEL_BYTES / (48 kc)) of a step. */
#define PANEL_BYTES (256u << 10)

/* X packed (s->xp, [chunk][k][32]): a chunk's step of X (kc x 32, 32 KB
 * at most, contiguous) stays in L1 while a block of panels of W streams
 * past it from L2, 48 bytes a step of k; the reverse order would stream
 * 128 bytes of X a step.  A small product (attention's, the last stage's
 * 49 rows) so reads its W once from L2 per chunk. */
static void xp_pass(const kl_pw_span *s, ztile *t, int64_t p0, int64_t p1, int64_t kb, int64_t j0, int64_t j1,
                    bool after)
{
    const int64_t block = PANEL_BYTES / (MR * sizeof(float) * t->kc) > 0 ? PANEL_BYTES / (MR * sizeof(float) * t->kc) : 1;
    for (int64_t pb = p0; pb < p1; pb += block) {
        const int64_t pe = pb + block < p1 ? pb + block : p1;
        for (int64_t c0 = j0; c0 < j1; c0 += 32)
            for (int64_t p = pb; p < pe; p++) {
                float bias[MR];
                set_panel(s, t, p, kb, bias);
                run_tile(s, t, p, kb, c0, j0, j1, NULL, false, t->a + 32 * MR);
            }
        for (int64_t p = pb; after && p < pe; p++)
            epilogue_after(s, p, j0, j1);
    }
}

/* Steps of k outside, so that a step's rows of X serve every panel: the
 * columns' K x n would not stay in L2 for long K. */
void klk_pointwise12_avx512(const kl_pw_span *s, int64_t p0, int64_t p1, int64_t j0, int64_t j1, float *work)
{
    const int64_t k = s->k;
    const bool copy = !s->xp && (s->fill || ((uintptr_t)s->x % 64 | (uintptr_t)(s->ldx % 16)) != 0);
    const int64_t ldx = s->xp ? 32 : copy ? round16(j1 - j0) : s->ldx;
    const kl_epilogue *e = s->epi;
    const bool in_tile = fused_in_tile(s, e);
    ztile t = {.ldb = ldx, .ldc = s->ldy, .lo = -INFINITY, .hi = INFINITY};
    if (e && e->act == KL_ACT_RELU)
        t.lo = 0.0f;
    if (e && e->act == KL_ACT_CLIP)
        t.lo = e->alpha, t.hi = e->beta;
    for (int64_t kb = 0; kb < k; kb += KC) {
        t.kc = k - kb < KC ? k - kb : KC;
        t.acc = kb > 0;
        const bool last = kb + t.kc == k;
        t.finish = last && in_tile;
        if (s->xp) {
            xp_pass(s, &t, p0, p1, kb, j0, j1, last && e && !in_tile);
            continue;
        }
        if (s->fill)
            s->fill(s->fill_arg, kb, t.kc, j0, j1, work, ldx);
        else if (copy)
            copy_step(s, kb, t.kc, j0, j1, work, ldx);
        for (int64_t p = p0; p < p1; p++) {
            float bias[MR];
            set_panel(s, &t, p, kb, bias);
            /* the first chunk of columns streams the panel's W (from
             * memory, for the widest layers), fetching 32 steps ahead;
             * the others find it in cache and fetch the next panel's
             * instead, so that the stream goes on while they compute
             * (7x7 maps: 49 columns, two chunks) */
            for (int64_t c0 = j0; c0 < j1; c0 += 32)
                run_tile(s, &t, p, kb, c0, j0, j1, work, copy, t.a + (c0 == j0 ? 0 : t.kc * MR) + 32 * MR);
            if (last && e && !in_tile)
                epilogue_after(s, p, j0, j1);
        }
    }
}

/* ---- packing W into the panels ---- */

/* Steps [kk, kk + n) of one panel's `valid` rows (src, rows k apart) into
 * dst, MR values a step, rows past valid zero: 16 steps transposed at a
 * time. */
__attribute__((target("avx512f"))) static void pack_panel_step(const float *src, int64_t k, int valid, int64_t n,
                                                               float *dst)
{
    for (int64_t kk = 0; kk < n; kk += 16) {
        const int64_t cols = n - kk < 16 ? n - kk : 16;
        const __mmask16 lm = kl_lanes16(cols);
        __m512 r[16];
        for (int i = 0; i < 16; i++)
            r[i] = i < valid ? _mm512_maskz_loadu_ps(lm, src + i * k + kk) : _mm512_setzero_ps();
        kl_transpose16(r);
        for (int64_t j = 0; j < cols; j++)
            _mm512_mask_storeu_ps(dst + (kk + j) * MR, (__mmask16)((1u << MR) - 1), r[j]);
    }
}

void klk_pack12_avx512(int64_t m, int64_t k, int64_t row0, int64_t rows, const float *w, float *packed)
{
    const int64_t np = kl_pw12_panels(m), p0 = row0 / MR, p1 = (row0 + rows + MR - 1) / MR;
    for (int64_t kb = 0; kb < k; kb += KC) {
        const int64_t kc = k - kb < KC ? k - kb : KC;
        for (int64_t p = p0; p < p1; p++) {
            const int64_t first = p * MR - row0, left = rows - first;
            pack_panel_step(w + first * k + kb, k, (int)(left < MR ? left : MR), kc,
                            packed + kl_pw12_panel_at(np, p, kb, kc));
        }
    }
}
