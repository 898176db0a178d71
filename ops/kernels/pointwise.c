/* pointwise.c -- 1x1 stride-1 convolution (one group) as a product
 * Y[m][hw] = W[m][c] X[c][hw] with its own AVX2/FMA kernel, used when the
 * CPU has them (kl_pw_usable).  What it saves over calling sgemm:
 *   - W is packed once (kl_pw_pack, at session creation) into panels of 6
 *     rows, k-major, instead of at every call;
 *   - X is read in place, 16 columns of each of its rows per step of k
 *     (only a partial last chunk of columns is copied, zero-padded);
 *   - bias is where the accumulators start, and the epilogue runs on each
 *     block of columns right after it is computed, while it is in cache;
 *   - column blocks are split over the session's threads.
 * The register tile is 6 rows x 16 columns: 12 accumulators, 2 loads of X
 * and 6 broadcasts of W per step of k.  Where the session's instruction set
 * is AVX-512 the same driver hands each block to ops/kernels/x86/pointwise_avx512.c's 12x32
 * tiles instead (W packed for those), which also take X unfolded on the
 * way (kl_pw_run_filled: convolutions other than 1x1). */
#include <string.h>

#include "conv.h"

#define MR 6
#define NR 16
#define BLOCK_BYTES (256u << 10) /* X columns of one block, K x NC floats */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

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
#else

static void tile_6x16(int64_t K, const float *a, const float *b, int64_t ldb, const float *bias, float *c,
                      int64_t ldc)
{
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < NR; j++) {
            float s = bias[r];
            for (int64_t k = 0; k < K; k++)
                s += a[k * MR + r] * b[k * ldb + j];
            c[r * ldc + j] = s;
        }
}

static void tile_6x8(int64_t K, const float *a, const float *b, int64_t ldb, const float *bias, float *c)
{
    tile_6x16(K, a, b, ldb, bias, c, NR);
}

/* The first `rows` rows of a whole tile, stored into c. */
static void tile_rows(int rows, int64_t K, const float *a, const float *b, int64_t ldb, const float *bias, float *c,
                      int64_t ldc)
{
    float t[MR * NR];
    tile_6x16(K, a, b, ldb, bias, t, NR);
    for (int r = 0; r < rows; r++)
        memcpy(c + r * ldc, t + r * NR, NR * sizeof(float));
}

static void tile_4x16(int64_t K, const float *a, const float *b, int64_t ldb, const float *bias, float *c,
                      int64_t ldc)
{
    tile_rows(4, K, a, b, ldb, bias, c, ldc);
}

static void tile_2x16(int64_t K, const float *a, const float *b, int64_t ldb, const float *bias, float *c,
                      int64_t ldc)
{
    tile_rows(2, K, a, b, ldb, bias, c, ldc);
}
#endif

static int64_t panels(int64_t m)
{
    return (m + MR - 1) / MR;
}

float *kl_pw_pack(kl_env *env, int64_t m, int64_t k, const float *w, size_t *bytes)
{
    *bytes = kl_pw_packed_floats(env->isa, m, k) * sizeof(float);
    float *p = kl_alloc(env, *bytes);
    if (p)
        kl_pw_pack_into(env->isa, m, k, w, p);
    return p;
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

/* Per thread: a block of X packed as [K][16] chunks (the whole block or
 * only its partial last chunk, see pack_whole), and one tile. */
static size_t thread_floats(int isa, int64_t m, int64_t k, int64_t hw)
{
    if (kl_pw_avx512(isa))
        return kl_pw_avx512_work_floats(m, k, hw);
    int64_t nc = (block_cols(k, hw) + NR - 1) / NR * NR;
    return (size_t)(nc * k + MR * NR);
}

size_t kl_pw_scratch(int isa, int64_t m, int64_t k, int64_t hw, int threads)
{
    return (size_t)threads * thread_floats(isa, m, k, hw) * sizeof(float);
}

typedef struct pw_job {
    kl_opctx *c;
    int64_t m, k, hw, nc, blocks;   /* hw: columns */
    int64_t ldx, ldy;               /* row strides of X and Y */
    int64_t groups;         /* the rows of W in this many parts per block */
    bool zmm;               /* through ops/kernels/x86/pointwise_avx512.c */
    const float *x, *packed, *bias;
    float *y;
    size_t y_offset;
    float *work;            /* kl_pw_scratch bytes */
    kl_pw_fill_fn fill;     /* or NULL: X at x */
    const void *fill_arg;
    size_t slot_floats;     /* of each thread's part of work */
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

/* Rows of panels [p0, p1) of Y = W X (+ bias) for columns [j0, j1),
 * then the epilogue on them when epi is set.  bp holds the block's
 * partial last chunk of X (pack_block), edge one tile. */
static void pw_panels(const kl_pw_span *s, int64_t p0, int64_t p1, int64_t j0, int64_t j1, const float *bp, float *edge)
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
        for (int64_t r = 0; s->epi && r < rows; r++)
            kl_epilogue_apply(s->epi, s->y + (r0 + r) * ldy + j0, s->y_offset + (size_t)((r0 + r) * ldy + j0),
                              (size_t)(j1 - j0));
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
    const int64_t k = j->k, hw = j->hw, np = j->zmm ? kl_pw_avx512_panels(j->m) : panels(j->m);
    const size_t slot_floats = j->slot_floats;
    float *bp = j->work + (size_t)kl_pool_slot(j->c->pool, j->blocks * j->groups, lo) * slot_floats;
    /* the AVX2 path's edge tile ends the slot (AVX-512 slots may be
     * smaller than a tile: k = 1 on 16 columns) */
    float *edge = j->zmm ? NULL : bp + (slot_floats - MR * NR);
    const kl_pw_span span = {j->m,      k,         j->ldx,    j->ldy,      pack_whole(j->m, j->ldx),
                             j->x,      j->packed, j->bias,   j->y,        &j->c->epi,
                             j->y_offset, j->fill, j->fill_arg};
    int64_t packed = -1;
    for (int64_t item = lo; item < hi; item++) {
        int64_t blk = item / j->groups, grp = item % j->groups;
        int64_t j0 = blk * j->nc, j1 = j0 + j->nc < hw ? j0 + j->nc : hw;
        if (j->zmm) {
            kl_pw_panels_avx512(&span, np * grp / j->groups, np * (grp + 1) / j->groups, j0, j1, bp);
            continue;
        }
        if (packed != blk)
            pack_block(j->x, k, j->ldx, pack_from(j->m, j->ldx, j0, j1), j1, bp);
        packed = blk;
        pw_panels(&span, np * grp / j->groups, np * (grp + 1) / j->groups, j0, j1, bp, edge);
    }
}

size_t kl_pw_packed_floats(int isa, int64_t m, int64_t k)
{
    return kl_pw_avx512(isa) ? kl_pw_avx512_packed_floats(m, k) : (size_t)(panels(m) * MR * k);
}

int kl_pw_panel_rows(int isa)
{
    return kl_pw_avx512(isa) ? 12 : MR;
}

void kl_pw_pack_rows(int isa, int64_t m, int64_t k, int64_t row0, int64_t rows, const float *w, float *p)
{
    if (kl_pw_avx512(isa)) {
        kl_pw_avx512_pack_rows(m, k, row0, rows, w, p);
        return;
    }
    for (int64_t pi = row0 / MR; pi < (row0 + rows + MR - 1) / MR; pi++)
        for (int64_t kk = 0; kk < k; kk++)
            for (int r = 0; r < MR; r++) {
                int64_t row = pi * MR + r;
                p[(pi * k + kk) * MR + r] = row < row0 + rows ? w[(row - row0) * k + kk] : 0.0f;
            }
}

void kl_pw_pack_into(int isa, int64_t m, int64_t k, const float *w, float *p)
{
    kl_pw_pack_rows(isa, m, k, 0, m, w, p);
}

void kl_pw_product(int isa, int64_t m, int64_t k, int64_t n, const float *x, int64_t ldx, const float *packed,
                   float *y, int64_t ldy, float *work)
{
    const kl_pw_span span = {m, k, ldx, ldy, pack_whole(m, ldx), x, packed, NULL, y, NULL, 0, NULL, NULL};
    const bool zmm = kl_pw_avx512(isa);
    const int64_t nc = zmm ? kl_pw_avx512_cols(m, k, n) : block_cols(k, n);
    for (int64_t j0 = 0; j0 < n; j0 += nc) {
        int64_t j1 = j0 + nc < n ? j0 + nc : n;
        if (zmm) {
            kl_pw_panels_avx512(&span, 0, kl_pw_avx512_panels(m), j0, j1, work);
            continue;
        }
        pack_block(x, k, ldx, pack_from(m, ldx, j0, j1), j1, work);
        pw_panels(&span, 0, panels(m), j0, j1, work, work + (thread_floats(isa, m, k, n) - MR * NR));
    }
}

static void pw_run_on(kl_opctx *c, kl_pool *pool, int64_t m, int64_t k, int64_t hw, int64_t sized_hw,
                      const float *x, int64_t ldx, const float *packed, const float *bias, float *y, int64_t ldy,
                      size_t y_offset, float *work, kl_pw_fill_fn fill, const void *fill_arg)
{
    const bool zmm = kl_pw_avx512(c->env->isa);
    const int64_t step = zmm ? 32 : NR; /* columns of a tile */
    pw_job j = {c,          m,     k,       hw, zmm ? kl_pw_avx512_cols(m, k, hw) : block_cols(k, hw),
                0,          ldx,   ldy,     1,  zmm,
                x,          packed, bias,   y,  y_offset,
                work,       fill,  fill_arg, thread_floats(c->env->isa, m, k, sized_hw)};
    j.blocks = (hw + j.nc - 1) / j.nc;
    int threads = kl_pool_threads(pool);
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
    const int64_t np = zmm ? kl_pw_avx512_panels(m) : panels(m);
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
    pw_run_on(c, kl_conv_pool(c, m * hw * k), m, k, hw, hw, x, ldx, packed, bias, y, ldy, y_offset, work, NULL, NULL);
}

void kl_pw_run_filled(kl_opctx *c, int64_t m, int64_t k, int64_t hw, kl_pw_fill_fn fill, const void *fill_arg,
                      const float *packed, const float *bias, float *y, int64_t ldy, size_t y_offset, float *work)
{
    pw_run_on(c, kl_conv_pool(c, m * hw * k), m, k, hw, hw, NULL, 0, packed, bias, y, ldy, y_offset, work, fill,
              fill_arg);
}

void kl_pw_run_here(kl_opctx *c, int64_t m, int64_t k, int64_t hw, int64_t sized_hw, const float *x, int64_t ldx,
                    const float *packed, const float *bias, float *y, int64_t ldy, size_t y_offset, float *work)
{
    pw_run_on(c, NULL, m, k, hw, sized_hw, x, ldx, packed, bias, y, ldy, y_offset, work, NULL, NULL);
}
