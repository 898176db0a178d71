/* pointwise.c -- the product Y[m][n] = W[m][k] X[k][n] behind 1x1
 * convolutions (X is the input), other convolutions (X is im2col's
 * columns, made step by step), grouped ones (group by group) and
 * Winograd's products, on the register tiles of ops/pw_avx2.c or
 * ops/pw_avx512.c, used when the CPU has them (kl_pw_usable).  What it
 * does that calling sgemm would not:
 *   - W is packed once (kl_pw_pack, at session creation) in panels of the
 *     tile's rows, cut into steps of KC values of k and laid out step by
 *     step ([step][panel][kc][mr]), so that a pass over one step reads W
 *     in one sequential stream (from memory, for VGG's and ResNet's widest
 *     layers: slices of separate panels ran at a third of the memory's
 *     bandwidth);
 *   - K is taken in steps of KC, so that a panel's slice of a step stays
 *     in L1 however long K is (512 channels x 3x3 = 4608), and a step's
 *     rows of X serve every panel from L2; the tile adds each step to what
 *     the previous ones stored;
 *   - X is read in place where its rows are 64-byte aligned; unaligned
 *     rows (7x7, 17x17 maps, Winograd's tiles) are copied step by step
 *     into aligned ones first (loads across two cache lines ran the tile
 *     at two thirds of its speed), and a convolution's unfolded input is
 *     made step by step in the same buffer (fill), never whole;
 *   - bias, the residual and Relu/Clip are applied in the registers after
 *     the last step; other activations run over each block's rows after
 *     it, while they are in cache;
 *   - blocks of columns (and, where there are too few, W's panels) are
 *     split over the session's threads. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "conv_kernels.h"

#define KC 256     /* steps of k per pass over a tile */

static const kl_pw_tiles *tiles_of(int isa)
{
    return kl_pw_avx512(isa) && kl_pw_tiles_avx512.run ? &kl_pw_tiles_avx512 : &kl_pw_tiles_avx2;
}

/* One product's operands and where its result goes: Y [m][..] (rows ldy
 * apart, at element y_offset of the output) = packed W [m][k] times X
 * [k][..] (rows ldx apart) + bias, then epi when not NULL. */
typedef struct pw_span {
    const kl_pw_tiles *t;
    int64_t m, k, ldx, ldy;
    const float *x, *packed, *bias;
    float *y;
    const kl_epilogue *epi;
    size_t y_offset;
    kl_pw_fill_fn fill;     /* X from fill(fill_arg, ...) instead of x, or NULL */
    const void *fill_arg;
} pw_span;

static int64_t panels(const kl_pw_tiles *t, int64_t m)
{
    return (m + t->mr - 1) / t->mr;
}

static int64_t round16(int64_t n)
{
    return (n + 15) / 16 * 16;
}

/* Panel p's values for steps [kb, kb + kc) of k: at kb * P * mr (the
 * earlier steps are whole), then kc * mr per panel before it. */
static int64_t panel_at(const kl_pw_tiles *t, int64_t np, int64_t p, int64_t kb, int64_t kc)
{
    return (kb * np + p * kc) * t->mr;
}

size_t kl_pw_packed_floats(int isa, int64_t m, int64_t k)
{
    const kl_pw_tiles *t = tiles_of(isa);
    return (size_t)(panels(t, m) * t->mr * k);
}

void kl_pw_pack_into(int isa, int64_t m, int64_t k, const float *w, float *packed)
{
    const kl_pw_tiles *t = tiles_of(isa);
    const int64_t np = panels(t, m), mr = t->mr;
    for (int64_t kb = 0; kb < k; kb += KC) {
        const int64_t kc = k - kb < KC ? k - kb : KC;
        for (int64_t p = 0; p < np; p++) {
            float *dst = packed + panel_at(t, np, p, kb, kc);
            for (int64_t kk = 0; kk < kc; kk++)
                for (int64_t r = 0; r < mr; r++) {
                    int64_t row = p * mr + r;
                    dst[kk * mr + r] = row < m ? w[row * k + kb + kk] : 0.0f;
                }
        }
    }
}

float *kl_pw_pack(kl_env *env, int64_t m, int64_t k, const float *w, size_t *bytes)
{
    *bytes = kl_pw_packed_floats(env->isa, m, k) * sizeof(float);
    float *p = kl_alloc(env, *bytes);
    if (p)
        kl_pw_pack_into(env->isa, m, k, w, p);
    return p;
}

/* Columns per block, of n: a step of X and the block's rows of Y in the
 * tiles' block_bytes. */
static int64_t block_cols(const kl_pw_tiles *t, int64_t m, int64_t k, int64_t n)
{
    int64_t kc = k < KC ? k : KC, nc = (int64_t)t->block_bytes / ((kc + m) * (int64_t)sizeof(float));
    nc = nc / t->nr * t->nr;
    nc = nc < t->nr ? t->nr : nc > 1024 ? 1024 : nc;
    return nc < n ? nc : n;
}

/* Per thread: one step of a block's X, copied or unfolded. */
static size_t thread_floats(const kl_pw_tiles *t, int64_t m, int64_t k, int64_t n)
{
    return (size_t)((k < KC ? k : KC) * round16(block_cols(t, m, k, n)));
}

size_t kl_pw_scratch(int isa, int64_t m, int64_t k, int64_t hw, int threads)
{
    return (size_t)threads * thread_floats(tiles_of(isa), m, k, hw) * sizeof(float);
}

/* Rows [kb, kb + kc) of X's columns [j0, j1) into rows of ld floats. */
static void copy_step(const pw_span *s, int64_t kb, int64_t kc, int64_t j0, int64_t j1, float *dst, int64_t ld)
{
    for (int64_t kk = 0; kk < kc; kk++)
        memcpy(dst + kk * ld, s->x + (kb + kk) * s->ldx + j0, (size_t)(j1 - j0) * sizeof(float));
}

/* Whether the epilogue fits in the tile's registers: bias, residual and a
 * clamp; other activations need their own pass. */
static bool fused_in_tile(const kl_epilogue *e)
{
    return !e || e->act == KL_ACT_NONE || e->act == KL_ACT_RELU || e->act == KL_ACT_CLIP;
}

/* Rows of W's panels [p0, p1) times columns [j0, j1) of X, the epilogue
 * included; work holds thread_floats.  Steps of k outside, so that a
 * step's rows of X serve every panel: the columns' K x n would not stay
 * in L2 for long K. */
static void pw_panels(const pw_span *s, int64_t p0, int64_t p1, int64_t j0, int64_t j1, float *work)
{
    const kl_pw_tiles *kind = s->t;
    const int64_t k = s->k, ldy = s->ldy, np = panels(kind, s->m), mr = kind->mr, nr = kind->nr;
    const bool copy = s->fill || ((uintptr_t)s->x % 64 | (uintptr_t)(s->ldx % 16)) != 0;
    const int64_t ldx = copy ? round16(j1 - j0) : s->ldx;
    const kl_epilogue *e = s->epi;
    const bool in_tile = fused_in_tile(e);
    kl_pw_tile t = {.ldb = ldx, .ldc = ldy, .lo = -INFINITY, .hi = INFINITY};
    if (e && e->act == KL_ACT_RELU)
        t.lo = 0.0f;
    if (e && e->act == KL_ACT_CLIP)
        t.lo = e->alpha, t.hi = e->beta;
    for (int64_t kb = 0; kb < k; kb += KC) {
        t.kc = k - kb < KC ? k - kb : KC;
        t.acc = kb > 0;
        const bool last = kb + t.kc == k;
        t.finish = last && in_tile;
        if (s->fill)
            s->fill(s->fill_arg, kb, t.kc, j0, j1, work, ldx);
        else if (copy)
            copy_step(s, kb, t.kc, j0, j1, work, ldx);
        for (int64_t p = p0; p < p1; p++) {
            const int64_t r0 = p * mr;
            t.rows = (int)(s->m - r0 < mr ? s->m - r0 : mr);
            float bias[16] = {0};
            for (int r = 0; r < t.rows && s->bias; r++)
                bias[r] = s->bias[r0 + r];
            t.bias = bias;
            t.a = s->packed + panel_at(kind, np, p, kb, t.kc);
            for (int64_t c0 = j0; c0 < j1; c0 += nr) {
                /* the first chunk of columns streams the panel's W (from
                 * memory, for the widest layers), fetching 32 steps ahead;
                 * the others find it in cache and fetch the next panel's
                 * instead, so that the stream goes on while they compute
                 * (7x7 maps: 49 columns, two chunks) */
                t.pf = t.a + (c0 == j0 ? 0 : t.kc * mr) + 32 * mr;
                t.cols = (int)(j1 - c0 < nr ? j1 - c0 : nr);
                t.b = copy ? work + (c0 - j0) : s->x + kb * ldx + c0;
                t.c = s->y + r0 * ldy + c0;
                t.res = e && e->residual ? (const float *)e->residual->data + s->y_offset + r0 * ldy + c0 : NULL;
                kind->run(&t);
            }
            for (int64_t r = 0; last && e && !in_tile && r < t.rows; r++)
                kl_epilogue_apply(e, s->y + (r0 + r) * ldy + j0, s->y_offset + (size_t)((r0 + r) * ldy + j0),
                                  (size_t)(j1 - j0));
        }
    }
}

typedef struct pw_job {
    kl_opctx *c;
    pw_span span;
    int64_t hw, nc, blocks;         /* hw: columns */
    int64_t groups;                 /* the rows of W in this many parts per block */
    float *work;                    /* kl_pw_scratch bytes */
    size_t slot_floats;             /* of each thread's part of work */
} pw_job;

/* Work items: (block of columns, group of W's panels). */
static void pw_items(void *arg, int64_t lo, int64_t hi)
{
    const pw_job *j = arg;
    const int64_t np = panels(j->span.t, j->span.m);
    float *work = j->work + (size_t)kl_pool_slot(j->c->pool, j->blocks * j->groups, lo) * j->slot_floats;
    for (int64_t item = lo; item < hi; item++) {
        int64_t blk = item / j->groups, grp = item % j->groups;
        int64_t j0 = blk * j->nc, j1 = j0 + j->nc < j->hw ? j0 + j->nc : j->hw;
        pw_panels(&j->span, np * grp / j->groups, np * (grp + 1) / j->groups, j0, j1, work);
    }
}

void kl_pw_product(int isa, int64_t m, int64_t k, int64_t n, const float *x, int64_t ldx, const float *packed,
                   float *y, int64_t ldy, float *work)
{
    const kl_pw_tiles *t = tiles_of(isa);
    const pw_span span = {t, m, k, ldx, ldy, x, packed, NULL, y, NULL, 0, NULL, NULL};
    const int64_t nc = block_cols(t, m, k, n);
    for (int64_t j0 = 0; j0 < n; j0 += nc)
        pw_panels(&span, 0, panels(t, m), j0, j0 + nc < n ? j0 + nc : n, work);
}

static void pw_run_on(kl_opctx *c, kl_pool *pool, int64_t m, int64_t k, int64_t hw, const float *x, int64_t ldx,
                      const float *packed, const float *bias, float *y, int64_t ldy, size_t y_offset, float *work,
                      kl_pw_fill_fn fill, const void *fill_arg)
{
    const kl_pw_tiles *t = tiles_of(c->env->isa);
    pw_job j = {.c = c,
                .span = {t, m, k, ldx, ldy, x, packed, bias, y, &c->epi, y_offset, fill, fill_arg},
                .hw = hw,
                .nc = block_cols(t, m, k, hw),
                .groups = 1,
                .work = work,
                .slot_floats = thread_floats(t, m, k, hw)};
    j.blocks = (hw + j.nc - 1) / j.nc;
    const int threads = kl_pool_threads(pool);
    /* a block per thread at least, where there is a tile's width of
     * columns for each: threads sharing a block each copy (or unfold) its
     * X themselves (Inception-v3's 1x7 convs on 17x17 ran no faster on two
     * threads than on one) */
    if (threads > 1 && j.blocks < threads)
        j.blocks = hw / t->nr >= threads ? threads : hw / t->nr > 1 ? hw / t->nr : 1;
    if (threads > 1 && j.blocks > 1) {
        /* blocks of equal size, as many per thread: 3136 columns as 1024,
         * 1024, 1024, 64 gave one thread twice the other's work */
        j.blocks = (j.blocks + threads - 1) / threads * threads;
        j.nc = ((hw + j.blocks - 1) / j.blocks + t->nr - 1) / t->nr * t->nr;
        j.blocks = (hw + j.nc - 1) / j.nc;
    }
    /* too few blocks to share: split the rows of W as well (each group
     * copies or unfolds the block's X again: one group per thread where
     * it is unfolded) */
    const int64_t np = panels(t, m), most = fill ? threads : 2 * threads;
    if (threads > 1 && j.blocks < threads)
        j.groups = np < most ? np : most;
    kl_parallel_for(pool, j.blocks * j.groups, pw_items, &j);
}

void kl_pw_run(kl_opctx *c, int64_t m, int64_t k, int64_t hw, const float *x, int64_t ldx, const float *packed,
               const float *bias, float *y, int64_t ldy, size_t y_offset, float *work)
{
    pw_run_on(c, kl_conv_pool(c, m * hw * k), m, k, hw, x, ldx, packed, bias, y, ldy, y_offset, work, NULL, NULL);
}

void kl_pw_run_filled(kl_opctx *c, int64_t m, int64_t k, int64_t hw, kl_pw_fill_fn fill, const void *fill_arg,
                      const float *packed, const float *bias, float *y, int64_t ldy, size_t y_offset, float *work)
{
    pw_run_on(c, kl_conv_pool(c, m * hw * k), m, k, hw, NULL, 0, packed, bias, y, ldy, y_offset, work, fill,
              fill_arg);
}
