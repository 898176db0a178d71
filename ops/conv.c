/* conv.c -- Conv (1-D, 2-D, 3-D; groups, depthwise, dilations, strides,
 * pads, auto_pad) for float32.
 *
 * Every shape is handled as 3-D (D, H, W) with unit dims filling in for
 * lower ranks.  Five kernels:
 *   - depthwise (one input and one output channel per group): direct
 *     vectorized loops (ops/kernels/depthwise.c);
 *   - maps of up to CV_MAX_OUTPUTS positions, where the table has them:
 *     products whose vectors run along the output channels
 *     (ops/kernels/x86/cvprod_avx512.c), on the input for 1x1, else on
 *     its unfolded columns;
 *   - 3x3 stride 1 with enough channels and outputs: Winograd F(2x2, 3x3)
 *     on filters transformed once in prepare() (ops/kernels/winograd.c; its
 *     F(4x4, 3x3) is built only with -DKL_WINOGRAD_F4);
 *   - pointwise (1x1, stride 1, no padding): sgemm straight on the input;
 *   - everything else: im2col into scratch, then sgemm per group.
 * The sgemm kernels work on blocks of output columns small enough to stay
 * in cache, so that bias and the fused epilogue (kl_epilogue) are applied
 * to each block right after it is computed, not in a pass over memory. */
#include <string.h>

#include "drivers/reference.h"
#include "kernels/blas.h"
#include "kernels/kernels.h"
#include "../runtime/exec.h"

#define SP KL_CONV_SP
#define BLOCK_BYTES (768u << 10) /* one block's columns and outputs */

typedef kl_conv_geom conv_geom;

static keel_status geometry(kl_opctx *c, conv_geom *g)
{
    const kl_tensor *x = c->in[0], *w = c->in[1];
    if (x->dtype != KEEL_FLOAT || w->dtype != KEEL_FLOAT)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "only float tensors are supported (got %s, %s)",
                          kl_dtype_name(x->dtype), kl_dtype_name(w->dtype));
    keel_status st = kl_conv_geometry(c, x, w, g);
    if (st)
        return st;
    const kl_tensor *b = c->n_in > 2 ? c->in[2] : NULL;
    if (b && (b->dtype != KEEL_FLOAT || kl_numel(b) != g->m || b->rank != 1))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "bias must be float[%lld]", (long long)g->m);
    return KEEL_OK;
}

static bool is_pointwise(const conv_geom *g)
{
    for (int i = 0; i < SP; i++)
        if (g->k[i] != 1 || g->stride[i] != 1 || g->pad[i] != 0)
            return false;
    return true;
}

/* One group, not depthwise: ops/kernels/pointwise.c's product, where the
 * session's kernel table has it (on the input for 1x1, on im2col's columns otherwise), for K up to
 * 4608 (512 channels x 3x3), the longest measured: there it beat
 * OpenBLAS on one thread (ResNet-50's 3x3 stride-2 convs, K = 2304 and
 * 4608) and more on two, where OpenBLAS split by columns packs the
 * weights once per thread (Inception-v3's K = 2592).  Its k loop is not
 * blocked, so longer K goes to OpenBLAS. */
static bool own_gemm(const conv_geom *g)
{
    return g->c / g->group * g->k_size <= 4608 && kl_pw_usable(g->kern);
}

/* One group of g as a convolution of its own (grouped convs run group by
 * group: ShuffleNet v1's 1x1 convs in 3 groups went through OpenBLAS). */
static conv_geom one_group(const conv_geom *g)
{
    conv_geom one = *g;
    one.c = g->c / g->group;
    one.m = g->m / g->group;
    one.group = 1;
    return one;
}

/* Whether run() unfolds the input step by step inside the product on the
 * table's 12x32 tiles (no column buffer of its own). */
static bool unfolds_in_product(const conv_geom *g)
{
    return !is_pointwise(g) && kl_pw_wide(g->kern);
}

/* One input and one output channel per group, and a 1-D or 2-D shape: the
 * direct kernel handles it. */
static bool is_depthwise(const conv_geom *g)
{
    return kl_dw_applies(g);
}

/* Maps of at most this many positions go to the channel-vector products:
 * there the 12x32 tiles, whose vectors run along the positions, leave
 * lanes empty (a 7x7 map's 49 columns as 64, a 14x14 map's 196 as 208)
 * and the unfolding of strided convs took a fifth of their time. */
#define CV_MAX_OUTPUTS 1024
/* Shorter products stay on the 12x32 tiles, which apply the epilogue in
 * their registers: with K = 32 (MobileNet-v2's expansions from 32
 * channels on 28x28) the transposes out of the sums cost more than the
 * lanes they save. */
#define CV_MIN_K 64
/* Out channels not a multiple of 16 leave lanes of the last vector
 * empty: taken from this many (SqueezeNet's 1000 classes), where that is
 * little and the 12x32 tiles' 49 or 169 columns waste more; ShuffleNet's
 * 116 channels ran slower on two threads split into blocks of 64 and 52. */
#define CV_PADDED_M 512
/* Winograd's transforms weigh most with few channels: from at most this
 * many, 3x3 stride-1 convs on the maps above take the channel-vector
 * products instead (SqueezeNet's expansions on 27x27 and 13x13). */
#define CV_OVER_WINOGRAD_C 64
/* Maps up to this many positions where Winograd does not apply: there
 * the 12x32 tiles' panels of 12 out channels leave rows empty (64 as 72)
 * and the channel-vector products none.  Inception-v3's 1x1 convs on
 * 35x35 ran 10-20 % faster. */
#define CV_MAX_OUTPUTS_NO_WINOGRAD 2048
/* at most this many floats of X (K x positions), unfolded or not */
#define CV_MAX_COLUMNS ((int64_t)1 << 20)

static bool cv_applies(const conv_geom *g)
{
    const int64_t k = g->c * g->k_size;
    const bool wino = kl_wino_applies(g);
    return g->kern->cvprod.fn && g->group == 1 && g->in[0] == 1 && g->k[0] == 1 &&
           g->out_size <= (wino ? CV_MAX_OUTPUTS : CV_MAX_OUTPUTS_NO_WINOGRAD) &&
           (g->m % 16 == 0 || g->m >= CV_PADDED_M) && k >= CV_MIN_K && k * g->out_size <= CV_MAX_COLUMNS &&
           (!wino || g->c <= CV_OVER_WINOGRAD_C);
}

/* Whether cv_image's threads share the blocks of W, each over every
 * position, rather than the positions: for 1x1 (X read in place) where
 * W is the larger operand (more out channels than positions), so that
 * each thread streams only its part of it, and the blocks share out
 * evenly.  Split by positions, both threads read all of W: EfficientNet-
 * B0's expansions on 14x14 and 7x7 ran 20-45 % slower on two threads,
 * ResNet-50's 1x1s on 7x7 30 %.  Unfolded convs stay split by positions:
 * each thread unfolding all of X (ResNet-50's 3x3 stride 2 onto 14x14)
 * cost more than the half of W it saved. */
static bool cv_by_blocks(const conv_geom *g, int threads)
{
    const int64_t blocks = kl_cv_blocks(g->m);
    return threads > 1 && is_pointwise(g) && g->m >= g->out_size && blocks >= threads &&
           (blocks % threads == 0 || blocks >= 4 * threads);
}

/* Ranges of positions of cv_image on `threads` threads: one on one
 * thread or split by blocks, else as many as give each thread one. */
static int64_t cv_ranges(const conv_geom *g, int threads)
{
    return threads > 1 && !cv_by_blocks(g, threads) && g->out_size >= 8 * threads ? threads : 1;
}

/* Start of range r of n positions in `ranges`: an even share, at a
 * multiple of 16 (a cache line of Y's rows written by one thread) where
 * ranges are long, else of 4 (a 7x7 map's 49 as 24 and 25). */
static int64_t cv_range_at(int64_t n, int64_t ranges, int64_t r)
{
    if (r >= ranges)
        return n;
    const int64_t even = n * r / ranges, a = n / ranges >= 64 ? 16 : 4;
    return (even + a / 2) / a * a;
}

/* Floats of one thread's scratch in cv_image: its range's unfolded
 * columns, then its sums. */
static size_t cv_thread_floats(const conv_geom *g, int threads)
{
    const int64_t ranges = cv_ranges(g, threads), n = g->out_size;
    int64_t most = 0;
    for (int64_t r = 0; r < ranges; r++) {
        int64_t len = cv_range_at(n, ranges, r + 1) - cv_range_at(n, ranges, r);
        most = len > most ? len : most;
    }
    const size_t cols = is_pointwise(g) ? 0 : (size_t)(g->c * g->k_size * most);
    return (cols + kl_cv_range_floats(most) + 15) / 16 * 16;
}

/* cv_image's scratch, for its run on the session's threads or on one */
static size_t cv_scratch(const conv_geom *g, int threads)
{
    const size_t all = (size_t)threads * cv_thread_floats(g, threads), one = cv_thread_floats(g, 1);
    return (all > one ? all : one) * sizeof(float);
}

static keel_status conv_infer(kl_opctx *c)
{
    conv_geom g;
    keel_status st = geometry(c, &g);
    if (st)
        return st;
    kl_conv_set_output(&g, c->out[0], KEEL_FLOAT);
    return KEEL_OK;
}

/* Output columns per sgemm block: whole output rows for im2col (which
 * unfolds row by row), any count for pointwise. */
static int64_t block_cols(const conv_geom *g)
{
    int64_t ck = g->c / g->group * g->k_size, mg = g->m / g->group;
    int64_t per_col = (is_pointwise(g) ? mg : ck + mg) * (int64_t)sizeof(float);
    int64_t cols = BLOCK_BYTES / per_col;
    if (cols < 64)
        cols = 64;
    if (!is_pointwise(g)) {
        int64_t ow = g->out[2];
        cols = cols / ow * ow;
        if (cols < ow)
            cols = ow;
    } else
        cols = (cols + 15) / 16 * 16;
    return cols < g->out_size ? cols : g->out_size;
}

/* Row stride of the columns for ops/kernels/pointwise.c: a multiple of 16, so
 * that its 16-column loads stay in one cache line and it reads them in
 * place instead of copying the block once more. */
static int64_t col_stride(int64_t cols)
{
    return (cols + 15) / 16 * 16;
}

/* Whether run() gives the session's threads whole images, each on one
 * thread, rather than splitting each image's conv over them: for every
 * group of `threads` images of a batch (the images left over are split).
 * Not depthwise, whose planes share out over the whole batch already. */
static bool by_images(const conv_geom *g, int threads)
{
    return threads > 1 && g->n >= threads && !is_depthwise(g);
}

/* Scratch of one image's conv on `threads` threads (kl_opctx's pool). */
static size_t image_scratch(kl_opctx *c, const conv_geom *g, int threads)
{
    if (is_depthwise(g))
        return kl_dw_scratch(g, threads);
    size_t col_bytes = (size_t)(g->c / g->group * g->k_size * col_stride(block_cols(g))) * sizeof(float);
    size_t bytes = is_pointwise(g) ? 0 : col_bytes;
    /* run() uses it when prepare() packs the weights (constant ones): a
     * column buffer per thread, then the product's; else the buffer above */
    if (own_gemm(g) && kl_input_const(c, 1)) {
        const conv_geom one = one_group(g);
        if (!is_pointwise(g))
            bytes = unfolds_in_product(g) ? 0 : col_bytes * (size_t)threads;
        bytes += kl_pw_scratch(g->kern, one.m, one.c * g->k_size, g->out_size, threads);
    }
    if (cv_applies(g) && kl_input_const(c, 1)) {
        size_t cv = cv_scratch(g, threads);
        bytes = cv > bytes ? cv : bytes;
    }
    if (kl_wino_applies(g)) { /* run() uses it when prepare() packed the filters */
        size_t wino = kl_wino_scratch(g, threads);
        bytes = wino > bytes ? wino : bytes;
    }
    return bytes;
}

/* Bytes of each thread's part of the scratch when it runs whole images:
 * a one-thread conv's. */
static size_t image_slot_bytes(kl_opctx *c, const conv_geom *g)
{
    return kl_conv_slot_bytes(image_scratch(c, g, 1));
}

static size_t conv_scratch(kl_opctx *c)
{
    conv_geom g;
    if (geometry(c, &g) || c->env->reference) /* the reference needs none */
        return 0;
    const int threads = kl_pool_threads(c->pool);
    size_t bytes = image_scratch(c, &g, threads);
    if (by_images(&g, threads)) {
        size_t all = (size_t)threads * image_slot_bytes(c, &g);
        bytes = all > bytes ? all : bytes;
    }
    return bytes;
}

static int64_t conv_macs(kl_opctx *c)
{
    conv_geom g;
    if (geometry(c, &g))
        return 0;
    return g.n * g.m * g.out_size * (g.c / g.group) * g.k_size;
}

/* ---- kernels ------------------------------------------------------------------ */


typedef struct im2col_job {
    const kl_conv_geom *g;
    const float *x;
    int64_t r0, r1, ldc;
    float *col;
} im2col_job;

static void im2col_channels(void *arg, int64_t lo, int64_t hi)
{
    const im2col_job *j = arg;
    const kl_conv_geom *g = j->g;
    g->kern->im2col.fn(g, j->x, lo * g->k_size, (hi - lo) * g->k_size, j->r0 * g->out[2], j->r1 * g->out[2],
           j->col + lo * g->k_size * j->ldc, j->ldc);
}

/* im2col with the input channels split over the session's threads (on
 * one thread it was half of a two-thread stem conv's time). */
static void im2col_par(kl_opctx *c, const conv_geom *g, const float *x, int64_t cg, int64_t r0, int64_t r1,
                       float *col, int64_t ldc)
{
    im2col_job j = {g, x, r0, r1, ldc, col};
    int64_t floats = cg * g->k_size * (r1 - r0) * g->out[2];
    kl_parallel_for(floats >= 16384 ? c->pool : NULL, cg, im2col_channels, &j);
}

/* sgemm over blocks of output columns, each finished (bias, epilogue)
 * while it is in cache. */
static void gemm_group(kl_opctx *c, const conv_geom *g, const float *xg, const float *wg, const float *bias,
                       float *yg, size_t y_offset)
{
    const int64_t cg = g->c / g->group, mg = g->m / g->group, ck = cg * g->k_size;
    const bool pointwise = is_pointwise(g);
    const int64_t cols = block_cols(g), ow = g->out[2];
    for (int64_t p0 = 0; p0 < g->out_size; p0 += cols) {
        int64_t nc = g->out_size - p0 < cols ? g->out_size - p0 : cols;
        const float *b = xg + p0;
        int ldb = (int)g->out_size;
        if (!pointwise) {
            im2col_par(c, g, xg, cg, p0 / ow, (p0 + nc) / ow, c->scratch, nc);
            b = c->scratch;
            ldb = (int)nc;
        }
        kl_sgemm(c, false, false, mg, nc, ck, 1.0f, wg, ck, b, ldb, 0.0f, yg + p0, g->out_size);
        for (int64_t m = 0; m < mg; m++) {
            float *row = yg + m * g->out_size + p0;
            kl_epilogue_bias_apply(&c->epi, bias ? bias[m] : 0.0f, row, y_offset + (size_t)(m * g->out_size + p0),
                                   (size_t)nc);
        }
    }
}

/* Output rows per im2col block of an own-product conv: at most
 * block_cols' worth of columns, and on several threads a row count whose
 * blocks share out evenly (35 rows as 9 blocks of 4 gave one thread 20
 * rows and the other 15, as 12 of 3, 18 and 17; 17 rows as 4 blocks of 5,
 * 10 and 7, as 6 of 3, 9 and 8). */
static int64_t block_rows(const conv_geom *g, int threads)
{
    const int64_t rows = g->out_size / g->out[2], most = block_cols(g) / g->out[2];
    int64_t best = most, best_load = -1;
    for (int64_t r = most; r >= 1 && r * 3 >= most; r--) {
        /* the busiest thread's rows: the first ceil(blocks / threads) blocks */
        int64_t blocks = (rows + r - 1) / r, first = (blocks + threads - 1) / threads * r;
        int64_t load = first < rows ? first : rows;
        if (best_load < 0 || load < best_load) {
            best = r;
            best_load = load;
        }
    }
    return best;
}

typedef struct igemm_job {
    kl_opctx *c;
    const conv_geom *g;
    const float *x, *packed, *bias;
    float *y;
    size_t y_offset;
    int64_t rows, ldc;      /* output rows per block; row stride of a block's columns */
    float *cols, *work;     /* one column buffer per thread; the product's scratch */
} igemm_job;

/* Blocks [lo, hi) of output rows, each unfolded and multiplied by the
 * thread that owns it: unfolded on one core and multiplied on the other,
 * each block's columns crossed between the cores' caches (Inception-v3's
 * 5x5 convs gained much less from the second thread). */
static void igemm_blocks(void *arg, int64_t lo, int64_t hi)
{
    const igemm_job *j = arg;
    const conv_geom *g = j->g;
    const int64_t ck = g->c * g->k_size, ow = g->out[2], oh = g->out_size / ow;
    float *col = j->cols + (size_t)kl_pool_slot(j->c->pool, 0, lo) * (size_t)(ck * j->ldc);
    for (int64_t b = lo; b < hi; b++) {
        int64_t r0 = b * j->rows, r1 = r0 + j->rows < oh ? r0 + j->rows : oh, p0 = r0 * ow;
        g->kern->im2col.fn(g, j->x, 0, ck, p0, r1 * ow, col, j->ldc);
        kl_pw_run_here(j->c, g->m, ck, (r1 - r0) * ow, g->out_size, col, j->ldc, j->packed, j->bias, j->y + p0,
                       g->out_size, j->y_offset + (size_t)p0, j->work);
    }
}

/* One image's input for im2col_fill. */
typedef struct unfold_src {
    const conv_geom *g;
    const float *x;
} unfold_src;

static void im2col_fill(const void *arg, int64_t kb, int64_t kc, int64_t j0, int64_t j1, float *dst, int64_t ld)
{
    const unfold_src *u = arg;
    u->g->kern->im2col.fn(u->g, u->x, kb, kc, j0, j1, dst, ld);
}

/* One image through ops/kernels/pointwise.c's product on packed weights: straight
 * on the input for 1x1, else on im2col's columns (on AVX-512 made by the
 * product step by step; otherwise whole blocks of output rows per
 * thread). */
static void own_gemm_image(kl_opctx *c, const conv_geom *g, const float *x, const float *packed, const float *bias,
                           float *y, size_t y_offset)
{
    const int64_t ck = g->c * g->k_size, ow = g->out[2], oh = g->out_size / ow;
    if (is_pointwise(g)) {
        kl_pw_run(c, g->m, ck, g->out_size, x, g->out_size, packed, bias, y, g->out_size, y_offset, c->scratch);
        return;
    }
    if (unfolds_in_product(g)) {
        const unfold_src u = {g, x};
        kl_pw_run_filled(c, g->m, ck, g->out_size, im2col_fill, &u, packed, bias, y, g->out_size, y_offset,
                         c->scratch);
        return;
    }
    int threads = kl_pool_threads(c->pool);
    igemm_job j = {c, g, x, packed, bias, y, y_offset, block_rows(g, threads), col_stride(block_cols(g)),
                   c->scratch, NULL};
    j.work = j.cols + (size_t)threads * (size_t)(ck * j.ldc);
    kl_parallel_for_fine(kl_conv_pool(c, g->m * g->out_size * ck), (oh + j.rows - 1) / j.rows, 4, igemm_blocks, &j);
}

/* One image's channel-vector product: items are ranges of positions,
 * each with its columns unfolded by the thread that multiplies them
 * (unless 1x1), or (by_blocks) blocks of W over every position. */
typedef struct cv_job {
    const kl_cv_span *s;
    const conv_geom *g;
    const float *x;
    kl_pool *pool;
    bool by_blocks;        /* items are blocks of W over every position, not ranges */
    int64_t ranges;
    float *scratch;        /* each thread's cv_thread_floats */
    size_t per_thread;
} cv_job;

static void cv_items(void *arg, int64_t lo, int64_t hi)
{
    const cv_job *j = arg;
    const conv_geom *g = j->g;
    const int64_t n = g->out_size, ck = g->c * g->k_size, blocks = kl_cv_blocks(g->m);
    float *cols = j->scratch + (size_t)kl_pool_slot(j->pool, 0, lo) * j->per_thread;
    if (j->by_blocks) { /* 1x1: X in place */
        g->kern->cvprod.fn(j->s, j->x, n, lo, hi, 0, n, cols);
        return;
    }
    for (int64_t r = lo; r < hi; r++) {
        const int64_t j0 = cv_range_at(n, j->ranges, r), j1 = cv_range_at(n, j->ranges, r + 1);
        const float *x = j->x + j0;
        int64_t ldx = n;
        float *sums = cols;
        if (!is_pointwise(g)) {
            g->kern->im2col.fn(g, j->x, 0, ck, j0, j1, cols, j1 - j0);
            x = cols, ldx = j1 - j0;
            sums += ck * ldx;
        }
        g->kern->cvprod.fn(j->s, x, ldx, 0, blocks, j0, j1, sums);
    }
}

/* One image through the channel-vector product, on the input for 1x1,
 * else on its unfolded columns; each thread takes a range of positions
 * (its own columns, unfolded by itself) through every block of W, or
 * blocks of W (cv_by_blocks). */
static void cv_image(kl_opctx *c, const conv_geom *g, const float *x, const float *packed, const float *bias, float *y,
                     size_t y_offset)
{
    kl_pool *pool = kl_conv_pool(c, g->m * g->out_size * g->c * g->k_size);
    const int threads = kl_pool_threads(pool);
    const kl_cv_span s = {.m = g->m, .k = g->c * g->k_size, .n = g->out_size, .packed = packed, .bias = bias,
                          .y = y, .y_offset = y_offset, .epi = &c->epi};
    cv_job j = {&s, g, x, pool, cv_by_blocks(g, threads), cv_ranges(g, threads), c->scratch,
                cv_thread_floats(g, threads)};
    kl_parallel_for_fine(pool, j.by_blocks ? kl_cv_blocks(g->m) : j.ranges, j.by_blocks ? KL_CV_SPLIT_RANGES : 1,
                         cv_items, &j);
}

typedef struct conv_state {
    const float *wino;    /* Winograd-transformed filters, or NULL */
    const float *cv;      /* weights packed for the channel-vector products, or NULL */
    const float *pw;      /* weights packed for the pointwise kernel, or NULL */
    float *own;           /* whichever is set when this plan owns it (bytes) */
    size_t bytes;
} conv_state;

/* The forms prepare() packs the weights in (kl_pack_fn's `form`). */
enum { FORM_PANELS = 1, FORM_WINOGRAD = 2, FORM_CV = 3 };

static int form_of(const conv_geom *g)
{
    return cv_applies(g) ? FORM_CV : kl_wino_applies(g) ? FORM_WINOGRAD : FORM_PANELS;
}

/* The weights in `form` (kl_pack_fn), each group's panels apart. */
static void *pack_weights(kl_env *env, kl_opctx *c, int form, size_t *bytes)
{
    conv_geom g;
    geometry(c, &g);
    if (form == FORM_WINOGRAD)
        return kl_wino_pack(env, &g, c->in[1]->data, bytes);
    if (form == FORM_CV) {
        *bytes = kl_cv_packed_floats(g.m, g.c * g.k_size) * sizeof(float);
        float *p = kl_alloc(env, *bytes);
        if (p)
            kl_cv_pack(g.m, g.c * g.k_size, c->in[1]->data, p);
        return p;
    }
    const conv_geom one = one_group(&g);
    const int64_t ck = one.c * g.k_size;
    const size_t per = kl_pw_packed_floats(g.kern, one.m, ck);
    *bytes = (size_t)g.group * per * sizeof(float);
    float *pw = kl_alloc(env, *bytes);
    if (pw)
        for (int64_t gi = 0; gi < g.group; gi++)
            kl_pw_pack_into(g.kern, one.m, ck, (const float *)c->in[1]->data + gi * one.m * ck,
                            pw + (size_t)gi * per);
    return pw;
}

/* Packs constant weights once: the model's weights into the model's
 * store, shared by its sessions; others (computed at creation) for this
 * plan alone. */
static keel_status conv_prepare(kl_opctx *c)
{
    conv_geom g;
    if (geometry(c, &g) || !kl_input_const(c, 1))
        return KEEL_OK;
    if (c->env->reference || is_depthwise(&g) || !(kl_wino_applies(&g) || cv_applies(&g) || own_gemm(&g)))
        return kl_input_hold(c, 1); /* run() reads them as they are */
    conv_state *st = kl_alloc(c->env, sizeof *st);
    if (!st)
        return KEEL_ERR_NOMEM;
    memset(st, 0, sizeof *st);
    const int form = form_of(&g);
    const void *packed;
    keel_status rc = kl_shared_pack(c, 1, form, pack_weights, &packed);
    if (!rc && !packed && !(packed = st->own = pack_weights(c->env, c, form, &st->bytes)))
        rc = KEEL_ERR_NOMEM; /* (weights not the model's: never released, always there) */
    if (rc) {
        kl_free(c->env, st, sizeof *st);
        return rc;
    }
    if (form == FORM_WINOGRAD)
        st->wino = packed;
    else if (form == FORM_CV)
        st->cv = packed;
    else
        st->pw = packed;
    c->state = st;
    return KEEL_OK;
}

static void conv_release(kl_env *env, void *state)
{
    conv_state *st = state;
    if (!st)
        return;
    kl_free(env, st->own, st->bytes);
    kl_free(env, st, sizeof *st);
}

/* Images [n0, n1) of the batch, each on c's threads (all on the calling
 * thread when c->pool is NULL); stops early, without a message, once the
 * run must stop (kl_op_stopping). */
static void run_images(kl_opctx *c, const conv_geom *g, int64_t n0, int64_t n1)
{
    const float *x = c->in[0]->data, *w = c->in[1]->data;
    const float *bias = c->n_in > 2 && c->in[2] ? c->in[2]->data : NULL;
    float *y = c->out[0]->data;
    const conv_state *st = c->state;
    const conv_geom one = one_group(g);
    const int64_t ck = one.c * g->k_size;
    const size_t per = st && st->pw ? kl_pw_packed_floats(g->kern, one.m, ck) : 0;
    for (int64_t n = n0; n < n1 && !kl_op_stopping(c); n++) {
        const size_t at = (size_t)(n * g->m * g->out_size);
        if (st && st->wino) {
            kl_wino_run(c, g, x, st->wino, bias, y, n, n + 1);
            continue;
        }
        if (st && st->cv) {
            cv_image(c, g, x + n * g->c * g->in_size, st->cv, bias, y + at, at);
            continue;
        }
        for (int64_t gi = 0; gi < g->group; gi++) {
            const int64_t ng = n * g->group + gi;
            const size_t y_offset = (size_t)(ng * one.m * g->out_size);
            const float *xg = x + ng * one.c * g->in_size;
            const float *bg = bias ? bias + gi * one.m : NULL;
            if (st && st->pw)
                own_gemm_image(c, &one, xg, st->pw + (size_t)gi * per, bg, y + y_offset, y_offset);
            else
                gemm_group(c, g, xg, w + gi * one.m * ck, bg, y + y_offset, y_offset);
        }
    }
}

/* Whole images, each on one thread with its own part of the scratch. */
typedef struct images_job {
    kl_opctx *c;
    const conv_geom *g;
    kl_pool *pool;     /* the pool the images share out on (NULL: inline) */
    size_t slot_bytes; /* image_slot_bytes */
} images_job;

static void image_range(void *arg, int64_t lo, int64_t hi)
{
    const images_job *j = arg;
    kl_opctx one = kl_conv_ctx_alone(j->c, kl_pool_slot(j->pool, 0, lo), j->slot_bytes);
    run_images(&one, j->g, lo, hi);
}

static keel_status conv_run(kl_opctx *c)
{
    conv_geom g;
    geometry(c, &g); /* validated by infer */
    if (c->env->reference)
        return kl_ref_conv(c, &g);
    if (is_depthwise(&g)) {
        const float *bias = c->n_in > 2 && c->in[2] ? c->in[2]->data : NULL;
        kl_dw_run(c, &g, c->in[0]->data, c->in[1]->data, bias, c->out[0]->data);
        return KEEL_OK;
    }
    const int threads = kl_pool_threads(c->pool);
    int64_t split_from = 0; /* images from here on are split over the threads */
    if (by_images(&g, threads)) {
        split_from = g.n / threads * threads;
        const int64_t macs = split_from * g.m * g.out_size * (g.c / g.group) * g.k_size;
        images_job j = {c, &g, kl_conv_pool(c, macs), image_slot_bytes(c, &g)};
        kl_parallel_for(j.pool, split_from, image_range, &j);
    }
    run_images(c, &g, split_from, g.n);
    return kl_op_check_cancel(c);
}

static const kl_op conv_op = {.type = "Conv", .since = 1, .min_inputs = 2, .max_inputs = 3,
                              .flags = KL_OP_EPILOGUE | KL_OP_PRE_PAD, .infer = conv_infer, .run = conv_run,
                              .scratch = conv_scratch, .macs = conv_macs, .prepare = conv_prepare,
                              .release = conv_release, .residual_input = 3, .batch = KL_BATCH_PER_IMAGE};

const kl_op *const kl_opfile_conv[] = {&conv_op, NULL};
