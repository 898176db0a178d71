/* pointwise.c -- the driver of the packed product Y[m][hw] = W[m][c]
 * X[c][hw] of 1x1 stride-1 convolutions (one group), of im2col's columns
 * and of Winograd's products, where the kernel table has its tiles
 * (kl_pw_usable).  What it saves over calling sgemm:
 *   - W is packed once (kl_pw_pack_into, at session creation) into panels,
 *     instead of at every call;
 *   - X is read in place, a chunk of columns of each of its rows per step
 *     of k (pointwise6 copies only a partial last chunk, zero-padded);
 *   - bias is where the accumulators start, and the epilogue runs on each
 *     block of columns right after it is computed, while it is in cache;
 *   - column blocks are split over the session's threads.
 * The tiles are the table's: pointwise6 (ops/kernels/x86/pointwise_avx2.c,
 * 6 rows x 16 columns on panels of 6 rows, k-major) or, where the table
 * has it, pointwise12 (ops/kernels/x86/pointwise_avx512.c, 12 x 32 on the
 * step-by-step layout of kernels/conv.h), which also takes X unfolded on
 * the way (kl_pw_run_filled: convolutions other than 1x1).  This file
 * holds the blocking, the threads and the packing of W for both. */
#include <string.h>

#include "kernels.h"

#define MR KL_PW6_MR
#define NR KL_PW6_NR
#define BLOCK_BYTES (256u << 10) /* X columns of one block, K x NC floats */
#define WIDE_BLOCK_BYTES (768u << 10) /* pointwise12: a block's step of X and its rows of Y */

static int64_t panels(int64_t m)
{
    return (m + MR - 1) / MR;
}

static int64_t block_cols(int64_t k, int64_t hw)
{
    int64_t nc = BLOCK_BYTES / (k * (int64_t)sizeof(float));
    nc = nc / NR * NR;
    if (nc < NR)
        nc = NR;
    if (nc > 1024)
        nc = 1024;
    return nc < hw ? nc : hw;
}

/* ---- the layout of the 12x32 tiles (pointwise12) ---- */

static size_t wide_packed_floats(int64_t m, int64_t k)
{
    return (size_t)(kl_pw12_panels(m) * KL_PW12_MR * k);
}

static void wide_pack_rows(int64_t m, int64_t k, int64_t row0, int64_t rows, const float *w, float *packed)
{
    const int64_t np = kl_pw12_panels(m), p0 = row0 / KL_PW12_MR, p1 = (row0 + rows + KL_PW12_MR - 1) / KL_PW12_MR;
    for (int64_t kb = 0; kb < k; kb += KL_PW12_KC) {
        const int64_t kc = k - kb < KL_PW12_KC ? k - kb : KL_PW12_KC;
        for (int64_t p = p0; p < p1; p++) {
            float *dst = packed + kl_pw12_panel_at(np, p, kb, kc);
            for (int64_t kk = 0; kk < kc; kk++)
                for (int r = 0; r < KL_PW12_MR; r++) {
                    int64_t row = p * KL_PW12_MR + r;
                    dst[kk * KL_PW12_MR + r] = row < row0 + rows ? w[(row - row0) * k + kb + kk] : 0.0f;
                }
        }
    }
}

static int64_t wide_cols(int64_t m, int64_t k, int64_t n)
{
    int64_t kc = k < KL_PW12_KC ? k : KL_PW12_KC, nc = WIDE_BLOCK_BYTES / ((kc + m) * (int64_t)sizeof(float));
    nc = nc / 32 * 32;
    nc = nc < 32 ? 32 : nc > 1024 ? 1024 : nc;
    return nc < n ? nc : n;
}

static int64_t round16(int64_t n)
{
    return (n + 15) / 16 * 16;
}

static size_t wide_work_floats(int64_t m, int64_t k, int64_t n)
{
    return (size_t)((k < KL_PW12_KC ? k : KL_PW12_KC) * round16(wide_cols(m, k, n)));
}

/* Per thread: a block of X packed as [K][16] chunks (the whole block or
 * only its partial last chunk, see pack_whole), and one tile. */
static size_t thread_floats(const kl_kernels *kern, int64_t m, int64_t k, int64_t hw)
{
    if (kl_pw_wide(kern))
        return wide_work_floats(m, k, hw);
    int64_t nc = (block_cols(k, hw) + NR - 1) / NR * NR;
    return (size_t)(nc * k + MR * NR);
}

size_t kl_pw_scratch(const kl_kernels *kern, int64_t m, int64_t k, int64_t hw, int threads)
{
    return (size_t)threads * thread_floats(kern, m, k, hw) * sizeof(float);
}

typedef struct pw_job {
    kl_opctx *c;
    int64_t m, k, hw, nc, blocks;   /* hw: columns */
    int64_t ldx, ldy;               /* row strides of X and Y */
    int64_t groups;         /* the rows of W in this many parts per block */
    bool zmm;               /* through the table's pointwise12 */
    const float *x, *packed, *bias;
    float *y;
    size_t y_offset;
    float *work;            /* kl_pw_scratch bytes */
    kl_pw_fill_fn fill;     /* or NULL: X at x */
    const void *fill_arg;
    size_t slot_floats;     /* of each thread's part of work */
    const float *xp;        /* or NULL: X packed by kl_pw_xpack */
    bool no_epilogue;       /* c's epilogue left to the caller */
    bool rows_outer;        /* items numbered group by group, not block by block */
} pw_job;

/* Columns [j0, j1) of X into 16-wide k-major chunks, the last one padded
 * with zeros (used for a block's partial last chunk: whole chunks are
 * read in place, which measured faster than packing them). */
static void pack_block(const float *x, int64_t k, int64_t ldx, int64_t j0, int64_t j1, float *bp)
{
    for (int64_t c0 = j0; c0 < j1; c0 += NR, bp += k * NR) {
        int64_t cols = j1 - c0 < NR ? j1 - c0 : NR;
        for (int64_t kk = 0; kk < k; kk++) {
            memcpy(bp + kk * NR, x + kk * ldx + c0, (size_t)cols * sizeof(float));
            if (cols < NR)
                memset(bp + kk * NR + cols, 0, (size_t)(NR - cols) * sizeof(float));
        }
    }
}

/* Whether to pack a block's whole X, not only its partial last chunk.
 * Worth it when X's rows are not 64-byte aligned (ldx not a multiple of
 * 16: every 16-column load then spans two cache lines, and the chunk's K
 * rows no longer stay in L1) and many panels of W reuse the block; on
 * aligned rows, or with few panels, reading X in place measured faster
 * (ResNet-50's 1x1 convs on 56x56, MobileNet-v2's 144->24 on 56x56). */
static bool pack_whole(int64_t m, int64_t ldx)
{
    return panels(m) >= 8 && ldx % NR != 0;
}

/* The first column of a block that pack_block copies. */
static int64_t pack_from(int64_t m, int64_t ldx, int64_t j0, int64_t j1)
{
    return pack_whole(m, ldx) ? j0 : j0 + (j1 - j0) / NR * NR;
}

/* Work items: (block of columns, group of W's panels); a thread packs a
 * block's partial chunk once for the consecutive items that share it. */
static void pw_items(void *arg, int64_t lo, int64_t hi)
{
    const pw_job *j = arg;
    const int64_t k = j->k, hw = j->hw, np = j->zmm ? kl_pw12_panels(j->m) : panels(j->m);
    const size_t slot_floats = j->slot_floats;
    float *bp = j->work + (size_t)kl_pool_slot(j->c->pool, j->blocks * j->groups, lo) * slot_floats;
    /* the AVX2 path's edge tile ends the slot (AVX-512 slots may be
     * smaller than a tile: k = 1 on 16 columns) */
    float *edge = j->zmm ? NULL : bp + (slot_floats - MR * NR);
    const kl_pw_span span = {j->m,      k,         j->ldx,    j->ldy,      j->xp || pack_whole(j->m, j->ldx),
                             j->x,      j->packed, j->bias,   j->y,        j->no_epilogue ? NULL : &j->c->epi,
                             j->y_offset, j->fill, j->fill_arg, j->xp};
    int64_t packed = -1;
    for (int64_t item = lo; item < hi; item++) {
        int64_t blk = j->rows_outer ? item % j->blocks : item / j->groups;
        int64_t grp = j->rows_outer ? item / j->blocks : item % j->groups;
        int64_t j0 = blk * j->nc, j1 = j0 + j->nc < hw ? j0 + j->nc : hw;
        if (j->zmm) {
            j->c->env->kern->pointwise12.fn(&span, np * grp / j->groups, np * (grp + 1) / j->groups, j0, j1, bp);
            continue;
        }
        if (j->xp) { /* the block's chunks, packed once */
            j->c->env->kern->pointwise6.fn(&span, np * grp / j->groups, np * (grp + 1) / j->groups, j0, j1,
                                           j->xp + j0 / NR * k * NR, edge);
            continue;
        }
        if (packed != blk)
            pack_block(j->x, k, j->ldx, pack_from(j->m, j->ldx, j0, j1), j1, bp);
        packed = blk;
        j->c->env->kern->pointwise6.fn(&span, np * grp / j->groups, np * (grp + 1) / j->groups, j0, j1, bp, edge);
    }
}

size_t kl_pw_packed_floats(const kl_kernels *kern, int64_t m, int64_t k)
{
    return kl_pw_wide(kern) ? wide_packed_floats(m, k) : (size_t)(panels(m) * MR * k);
}

int kl_pw_panel_rows(const kl_kernels *kern)
{
    return kl_pw_wide(kern) ? KL_PW12_MR : MR;
}

void kl_pw_pack_rows(const kl_kernels *kern, int64_t m, int64_t k, int64_t row0, int64_t rows, const float *w, float *p)
{
    if (kl_pw_wide(kern)) {
        (kern->pack12.fn ? kern->pack12.fn : wide_pack_rows)(m, k, row0, rows, w, p);
        return;
    }
    if (kern->pack6.fn) {
        kern->pack6.fn(m, k, row0, rows, w, p);
        return;
    }
    for (int64_t pi = row0 / MR; pi < (row0 + rows + MR - 1) / MR; pi++)
        for (int64_t kk = 0; kk < k; kk++)
            for (int r = 0; r < MR; r++) {
                int64_t row = pi * MR + r;
                p[(pi * k + kk) * MR + r] = row < row0 + rows ? w[(row - row0) * k + kk] : 0.0f;
            }
}

void kl_pw_pack_into(const kl_kernels *kern, int64_t m, int64_t k, const float *w, float *p)
{
    kl_pw_pack_rows(kern, m, k, 0, m, w, p);
}

void kl_pw_product(const kl_kernels *kern, int64_t m, int64_t k, int64_t n, const float *x, int64_t ldx, const float *packed,
                   float *y, int64_t ldy, float *work)
{
    const kl_pw_span span = {m, k, ldx, ldy, pack_whole(m, ldx), x, packed, NULL, y, NULL, 0, NULL, NULL, NULL};
    const bool zmm = kl_pw_wide(kern);
    const int64_t nc = zmm ? wide_cols(m, k, n) : block_cols(k, n);
    for (int64_t j0 = 0; j0 < n; j0 += nc) {
        int64_t j1 = j0 + nc < n ? j0 + nc : n;
        if (zmm) {
            kern->pointwise12.fn(&span, 0, kl_pw12_panels(m), j0, j1, work);
            continue;
        }
        pack_block(x, k, ldx, pack_from(m, ldx, j0, j1), j1, work);
        kern->pointwise6.fn(&span, 0, panels(m), j0, j1, work, work + (thread_floats(kern, m, k, n) - MR * NR));
    }
}

int kl_pw_xchunk(const kl_kernels *kern)
{
    return kl_pw_wide(kern) ? 32 : NR;
}

size_t kl_pw_xpack_floats(const kl_kernels *kern, int64_t k, int64_t n)
{
    const int64_t w = kl_pw_xchunk(kern);
    return (size_t)((n + w - 1) / w * w * k);
}

void kl_pw_xpack(const kl_kernels *kern, int64_t k, int64_t n, const float *x, int64_t row_stride,
                 int64_t col_stride, float *dst)
{
    const int64_t w = kl_pw_xchunk(kern);
    for (int64_t c0 = 0; c0 < n; c0 += w, dst += k * w) {
        const int64_t cols = n - c0 < w ? n - c0 : w;
        for (int64_t kk = 0; kk < k; kk++) {
            const float *src = x + kk * row_stride + c0 * col_stride;
            float *row = dst + kk * w;
            if (col_stride == 1)
                memcpy(row, src, (size_t)cols * sizeof(float));
            else
                for (int64_t j = 0; j < cols; j++)
                    row[j] = src[j * col_stride];
            memset(row + cols, 0, (size_t)(w - cols) * sizeof(float));
        }
    }
}

/* A product's rows taken together by the tiles (pointwise12): all of
 * them, or for MatMul's tall products (ConvNeXt's 3136 rows) groups of
 * TALL_ROWS, so that a group's Y rows beside a step of X leave the block
 * of columns wide (wide_cols) and the epilogue runs on long rows. */
#define TALL_ROWS 288

static int64_t group_rows(int64_t m, bool tall)
{
    return tall && m > TALL_ROWS ? TALL_ROWS : m;
}

/* Whether a MatMul's product splits its rows over the threads, not its
 * columns: with a long reduction onto a B of more than L2 (ViT's
 * 197x3072 by 3072x768, ConvNeXt's 196x1536 by 1536x384), where each
 * thread's rows are those of A it packed itself; measured 9-13 % faster
 * on two threads there, and slower with few panels or a small B. */
static bool rows_pay(bool tall, int64_t k, int64_t n, int64_t np, int threads)
{
    return tall && threads > 1 && k >= 2 * n && np >= 4 * threads && k * n >= (1 << 18);
}

static void pw_run_on(kl_opctx *c, kl_pool *pool, int64_t m, int64_t k, int64_t hw, int64_t sized_hw,
                      const float *x, int64_t ldx, const float *packed, const float *bias, float *y, int64_t ldy,
                      size_t y_offset, float *work, kl_pw_fill_fn fill, const void *fill_arg, const float *xp,
                      bool no_epilogue, bool tall)
{
    const bool zmm = kl_pw_wide(c->env->kern);
    const int64_t step = zmm ? 32 : NR, mb = group_rows(m, tall); /* columns of a tile, rows of a group */
    pw_job j = {c,          m,     k,       hw, zmm ? wide_cols(mb, k, hw) : block_cols(k, hw),
                0,          ldx,   ldy,     1,  zmm,
                x,          packed, bias,   y,  y_offset,
                work,       fill,  fill_arg, thread_floats(c->env->kern, mb, k, sized_hw), xp, no_epilogue};
    j.blocks = (hw + j.nc - 1) / j.nc;
    int threads = kl_pool_threads(pool);
    const int64_t np = zmm ? kl_pw12_panels(m) : panels(m), chunks = (hw + step - 1) / step;
    if (zmm && mb < m) { /* groups of rows, as many per thread, each over every block of columns */
        j.groups = (m + mb - 1) / mb;
        j.groups = (j.groups + threads - 1) / threads * threads;
        j.rows_outer = true;
        kl_parallel_for(pool, j.blocks * j.groups, pw_items, &j);
        return;
    }
    /* few chunks of columns that do not share out evenly (a MatMul's 96
     * columns as 64 and 32, a 14x14 map's 196 as 128 and 68) where there
     * are rows to spare: the threads share the rows of W instead, each
     * thread's items a range of rows over every block of columns (X read
     * in place, not unfolded per thread) */
    if (threads > 1 && !fill && ((chunks % threads != 0 && chunks < 8 * threads) || rows_pay(tall, k, hw, np, threads)) &&
        np >= 2 * threads) {
        j.groups = 2 * threads;
        j.rows_outer = true;
        kl_parallel_for(pool, j.blocks * j.groups, pw_items, &j);
        return;
    }
    /* AVX-512: a block per thread at least, where there are 32 columns
     * for each: threads sharing a block each copy (or unfold) its X
     * themselves (Inception-v3's 1x7 convs on 17x17 ran no faster on two
     * threads than on one) */
    if (zmm && threads > 1 && j.blocks < threads)
        j.blocks = hw / 32 >= threads ? threads : hw / 32 > 1 ? hw / 32 : 1;
    if (threads > 1 && j.blocks > 1) {
        /* blocks of equal size, as many per thread: 3136 columns as 1024,
         * 1024, 1024, 64 gave one thread twice the other's work */
        j.blocks = (j.blocks + threads - 1) / threads * threads;
        j.nc = ((hw + j.blocks - 1) / j.blocks + step - 1) / step * step;
        j.blocks = (hw + j.nc - 1) / j.nc;
    }
    /* too few blocks to share: split the rows of W as well */
    if (j.blocks < (zmm ? threads : 2 * threads) && threads > 1) {
        /* each group unfolds the block's X again: one group per thread */
        const int64_t most = fill ? threads : 2 * threads;
        j.groups = np < most ? np : most;
    }
    kl_parallel_for(pool, j.blocks * j.groups, pw_items, &j);
}

void kl_pw_run(kl_opctx *c, int64_t m, int64_t k, int64_t hw, const float *x, int64_t ldx, const float *packed,
               const float *bias, float *y, int64_t ldy, size_t y_offset, float *work)
{
    pw_run_on(c, kl_conv_pool(c, m * hw * k), m, k, hw, hw, x, ldx, packed, bias, y, ldy, y_offset, work, NULL, NULL, NULL, false, false);
}

void kl_pw_run_filled(kl_opctx *c, int64_t m, int64_t k, int64_t hw, kl_pw_fill_fn fill, const void *fill_arg,
                      const float *packed, const float *bias, float *y, int64_t ldy, size_t y_offset, float *work)
{
    pw_run_on(c, kl_conv_pool(c, m * hw * k), m, k, hw, hw, NULL, 0, packed, bias, y, ldy, y_offset, work, fill,
              fill_arg, NULL, false, false);
}

void kl_pw_run_here(kl_opctx *c, int64_t m, int64_t k, int64_t hw, int64_t sized_hw, const float *x, int64_t ldx,
                    const float *packed, const float *bias, float *y, int64_t ldy, size_t y_offset, float *work)
{
    pw_run_on(c, NULL, m, k, hw, sized_hw, x, ldx, packed, bias, y, ldy, y_offset, work, NULL, NULL, NULL, false, false);
}

/* ---- MatMul's and Gemm's products ---- */

static size_t round64(size_t n)
{
    return (n + 63) / 64 * 64;
}

/* kl_pw_gemm's scratch: the tiles' work, then A packed. */
static size_t gemm_work_bytes(const kl_opctx *c, int64_t m, int64_t k, int64_t n)
{
    return round64(kl_pw_scratch(c->env->kern, group_rows(m, true), k, n, kl_pool_threads(c->pool)));
}

/* Bytes of one packed A. */
static size_t packed_a_bytes(const kl_opctx *c, int64_t m, int64_t k)
{
    return round64(kl_pw_packed_floats(c->env->kern, m, k) * sizeof(float));
}

size_t kl_pw_gemm_scratch(const kl_opctx *c, int64_t m, int64_t k, int64_t n, bool per_thread)
{
    return gemm_work_bytes(c, m, k, n) + packed_a_bytes(c, m, k) * (per_thread ? kl_pool_threads(c->pool) : 1);
}

typedef struct pack_job {
    const kl_kernels *kern;
    int64_t m, k, panel_rows;
    const float *a;
    float *packed;
} pack_job;

static void pack_panels(void *arg, int64_t lo, int64_t hi)
{
    const pack_job *j = arg;
    const int64_t row0 = lo * j->panel_rows, row1 = hi * j->panel_rows < j->m ? hi * j->panel_rows : j->m;
    kl_pw_pack_rows(j->kern, j->m, j->k, row0, row1 - row0, j->a + row0 * j->k, j->packed);
}

void kl_pw_gemm(kl_opctx *c, int64_t m, int64_t k, int64_t n, const float *a, const float *b, int64_t ldb,
                const float *bp, bool epilogue, float *y, size_t y_offset)
{
    float *work = c->scratch;
    pack_job j = {c->env->kern, m, k, kl_pw_panel_rows(c->env->kern), a,
                  (float *)((char *)c->scratch + gemm_work_bytes(c, m, k, n))};
    const int64_t np = (m + j.panel_rows - 1) / j.panel_rows;
    kl_parallel_for(m * k >= 65536 ? c->pool : NULL, np, pack_panels, &j);
    pw_run_on(c, kl_conv_pool(c, m * n * k), m, k, n, n, bp ? NULL : b, ldb, j.packed, NULL, y, n, y_offset, work,
              NULL, NULL, bp, !epilogue, true);
}

void kl_pw_gemm_here(kl_opctx *c, int64_t m, int64_t k, int64_t n, const float *a, const float *b, int64_t ldb,
                     const float *bp, float *y, size_t y_offset)
{
    const int slot = kl_pool_slot(c->pool, 0, 0);
    float *packed = (float *)((char *)c->scratch + gemm_work_bytes(c, m, k, n) + (size_t)slot * packed_a_bytes(c, m, k));
    kl_pw_pack_rows(c->env->kern, m, k, 0, m, a, packed);
    pw_run_on(c, NULL, m, k, n, n, bp ? NULL : b, ldb, packed, NULL, y, n, y_offset, c->scratch, NULL, NULL, bp,
              false, true);
}
