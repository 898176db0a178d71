/* winograd.c -- 3x3 stride-1 convolution by Winograd's minimal filtering
 * (Lavin & Gray 2015).  Each t x t output tile comes from an a x a input
 * tile (a = t + 2), V = Bt d B, and the a x a transformed filter
 * U = G g Gt, through a*a elementwise products summed over the input
 * channels (one sgemm per product position), then Y = At M A:
 *   F(4x4, 3x3): 36 multiplies for 16 outputs instead of 144;
 *   F(2x2, 3x3): 16 for 4 instead of 36.
 * F(4x4) loses more accuracy in float32, so it is kept for convolutions
 * with 64 input channels or more; thinner ones (the layers near the input,
 * where an error grows through everything after it: Inception-v3's
 * 32-channel stem failed the backbone check with F(4x4)) take F(2x2).
 *
 * The filters are transformed once (kl_wino_pack, at session creation)
 * into U[a*a][m][c].  Tiles are processed in blocks of whole tile rows so
 * that the transformed inputs V[a*a][c][tiles] and products
 * M[a*a][m][tiles] of a block stay near the cache; the output transform
 * adds the bias and applies the fused epilogue to the block's rows while
 * they are hot.  Where the kernel table has them (x86), F(2x2)'s
 * transforms read the input plane and write the output plane in place
 * (wino_input_plane, wino_output_plane); elsewhere they go through padded
 * rows in the thread's work area. */
#include <string.h>

#include "blas.h"
#include "kernels.h"

#define BLOCK_BYTES (12u << 20) /* V and M of one block of tile rows */
/* Through sgemm, products over fewer than about 14x14 outputs are too
 * thin: their cost is packing the transformed filters at every call, and
 * im2col + sgemm wins.  ops/kernels/pointwise.c's kernel on filters packed once
 * does well down to 7x7 (one 16-column tile of F(2x2) per product). */
#define MIN_OUTPUTS_SGEMM 196
#define MIN_OUTPUTS_OWN 49

/* One algorithm: its tiles; the transforms are the kernel table's
 * (ops/kernels/winograd_transform.c). */
typedef struct wino_kind {
    int t, a;                      /* output tile t x t, input tile a x a */
} wino_kind;

static const wino_kind *kind_of(const kl_conv_geom *g);

/* The products through ops/kernels/pointwise.c's kernel (else sgemm). */
static bool own_products(const kl_conv_geom *g)
{
    return g->c <= 1280 && kl_pw_usable(g->kern);
}

bool kl_wino_applies(const kl_conv_geom *g)
{
    return g->nsp >= 2 && g->in[0] == 1 && g->k[0] == 1 && g->group == 1 && g->k[1] == 3 && g->k[2] == 3 &&
           g->stride[1] == 1 && g->stride[2] == 1 && g->dil[1] == 1 && g->dil[2] == 1 && g->c >= 16 &&
           g->m >= 16 && g->out[1] * g->out[2] >= (own_products(g) ? MIN_OUTPUTS_OWN : MIN_OUTPUTS_SGEMM);
}

typedef struct wino_shape {
    const wino_kind *k;
    int64_t th, tw;       /* tile rows and columns */
    int64_t rows;         /* tile rows per block */
} wino_shape;

/* Tile rows whose V and M fit in `bytes`, at least one. */
static int64_t rows_within(const kl_conv_geom *g, const wino_shape *s, int64_t bytes)
{
    const int64_t row_bytes = s->k->a * s->k->a * (g->c + g->m) * s->tw * (int64_t)sizeof(float);
    return bytes / row_bytes > 1 ? bytes / row_bytes : 1;
}

static wino_shape shape_of(const kl_conv_geom *g)
{
    const wino_kind *k = kind_of(g);
    wino_shape s = {k, (g->out[1] + k->t - 1) / k->t, (g->out[2] + k->t - 1) / k->t, 1};
    s.rows = rows_within(g, &s, BLOCK_BYTES);
    if (s.rows > s.th)
        s.rows = s.th;
    return s;
}

/* Tiles of a block as V and M lay them out: a multiple of 16, so that
 * the products read their rows in place, aligned, instead of copying
 * them (49 tiles of a 14x14 map). */
static int64_t tile_stride(const wino_shape *s, int64_t nrows)
{
    return (nrows * s->tw + 15) / 16 * 16;
}

/* Floats of one thread's work area: a padded input rows and their column
 * transforms, or one tile row's t x a partial outputs and t output rows. */
static int64_t work_floats(const wino_shape *s)
{
    int64_t a = s->k->a, t = s->k->t;
    int64_t in = 2 * a * (s->tw * t + 2), out = t * a * s->tw + t * t * s->tw;
    return ((in > out ? in : out) + 15) / 16 * 16;
}

/* Bytes of the scratch of blocks of s.rows tile rows on `threads` threads:
 * V and M of a block, each thread's work rows, the products' areas. */
static size_t scratch_of(const kl_conv_geom *g, const wino_shape *s, int threads)
{
    const int64_t e = s->k->a * s->k->a, ldt = tile_stride(s, s->rows);
    size_t own = own_products(g) ? kl_pw_scratch(g->kern, g->m, g->c, ldt, threads) : 0;
    return (size_t)(e * (g->c + g->m) * ldt + threads * work_floats(s)) * sizeof(float) + own;
}

/* Two threads or more run a map in bands of tile rows, one per thread,
 * each through all three steps on V and M of its own, when a band has at
 * least this many tiles (a 56x56 map's 392 on two threads): the input a
 * thread reads (written by its band of the conv before), V, M and its rows
 * of Y then stay in its own caches.  Split step by step, each step by
 * another dim, V and M changed cores twice per conv, and ResNet-18's
 * 56x56 convs ran no faster on two threads than on one.  Bands of a
 * 28x28 map (98 tiles) ran slower than the steps split. */
#define BAND_MIN_TILES 192

/* Tile rows per band of g on `threads` threads, or 0 when the map runs
 * step by step on all of them. */
static int64_t band_rows(const kl_conv_geom *g, const wino_shape *s, int threads)
{
    if (threads < 2 || !own_products(g))
        return 0;
    const int64_t rows = (s->th + threads - 1) / threads;
    return rows * s->tw >= BAND_MIN_TILES ? rows : 0;
}

/* V and M of one block of a band: a thread's band runs in blocks that
 * stay in its own L2 (2 MB on the EPYCs measured).  A whole band as one
 * block (3.2 MB for half a 56x56 map at 64 channels) went through L3,
 * which the two threads share.  One thread keeps BLOCK_BYTES: its
 * products ran best on the largest blocks. */
#define BAND_BLOCK_BYTES (1536u << 10)

/* The shape of one band's blocks: at most a band's rows, in L2. */
static wino_shape band_shape(const kl_conv_geom *g, const wino_shape *s, int64_t rows)
{
    wino_shape b = *s;
    const int64_t fit = rows_within(g, s, BAND_BLOCK_BYTES);
    b.rows = s->rows < rows ? s->rows : rows;
    b.rows = b.rows < fit ? b.rows : fit;
    return b;
}

/* Bytes of each thread's part of the scratch when a map runs in bands. */
static size_t band_slot_bytes(const kl_conv_geom *g, const wino_shape *s, int64_t rows)
{
    const wino_shape b = band_shape(g, s, rows);
    return kl_conv_slot_bytes(scratch_of(g, &b, 1));
}

size_t kl_wino_scratch(const kl_conv_geom *g, int threads)
{
    const wino_shape s = shape_of(g);
    size_t bytes = scratch_of(g, &s, threads);
    const int64_t rows = band_rows(g, &s, threads);
    if (rows) {
        size_t bands = (size_t)threads * band_slot_bytes(g, &s, rows);
        bytes = bands > bytes ? bands : bytes;
    }
    return bytes;
}

/* Built with -DKL_WINOGRAD_F4 only (see kind_of). */
static const wino_kind f4x4 __attribute__((unused)) = {4, 6};
static const wino_kind f2x2 = {2, 4};

/* F(4x4) on 64 channels or more (see the top) and at least 14x14 outputs:
 * on 7x7, F(2x2)'s 16 tiles fill the kernel's 16 columns exactly where
 * F(4x4) would leave 12 of them empty. */
static const wino_kind *kind_of(const kl_conv_geom *g)
{
#ifdef KL_WINOGRAD_F4
    return g->c >= 64 && g->out[1] * g->out[2] >= 196 ? &f4x4 : &f2x2;
#else
    /* F(4x4)'s error, small per layer, adds up over a deep stack of 3x3
     * convolutions: VGG-19 with BatchNorm (16 of them) ended at twice the
     * zoo's tolerance.  Until it is made more accurate, F(2x2) only. */
    (void)g;
    return &f2x2;
#endif
}

/* Filters transformed per block of this many (a multiple of every isa's
 * panel rows), each block packed before the next: no plain copy of all of
 * U, which at 16/9 of the weights was most of a session's page faults. */
#define PACK_BLOCK_ROWS 24

/* U as sgemm takes it, or each U[e] packed for ops/kernels/pointwise.c's kernel. */
float *kl_wino_pack(kl_env *env, const kl_conv_geom *g, const float *w, size_t *bytes)
{
    const wino_kind *k = kind_of(g);
    const int64_t e_count = k->a * k->a;
    if (!own_products(g)) {
        *bytes = (size_t)(e_count * g->m * g->c) * sizeof(float);
        float *u = kl_alloc(env, *bytes);
        if (u)
            g->kern->wino_filters.fn(g, k->t, w, 0, g->m, u);
        return u;
    }
    const int64_t block = g->m < PACK_BLOCK_ROWS ? g->m : PACK_BLOCK_ROWS;
    const size_t per = kl_pw_packed_floats(g->kern, g->m, g->c), block_bytes = (size_t)(e_count * block * g->c) * sizeof(float);
    *bytes = (size_t)e_count * per * sizeof(float);
    float *u = kl_alloc(env, block_bytes), *p = u ? kl_alloc(env, *bytes) : NULL;
    for (int64_t m0 = 0; p && m0 < g->m; m0 += block) {
        const int64_t rows = g->m - m0 < block ? g->m - m0 : block;
        g->kern->wino_filters.fn(g, k->t, w, m0, rows, u);
        for (int64_t e = 0; e < e_count; e++)
            kl_pw_pack_rows(g->kern, g->m, g->c, m0, rows, u + e * rows * g->c, p + (size_t)e * per);
    }
    kl_free(env, u, block_bytes);
    return p;
}

/* ---- driver -------------------------------------------------------------------- */

typedef struct wino_job {
    kl_opctx *c;
    const kl_conv_geom *g;
    wino_shape s;
    const float *x0, *bias; /* the batch's input */
    float *y0;              /* the batch's output */
    const float *x;         /* the image's input and output */
    float *y;
    float *v, *mm;          /* V[a*a][c][tiles] and M[a*a][m][tiles] of the block */
    float *work;            /* per-thread rows for the transforms */
    float *pw_work;         /* per-thread areas of ops/kernels/pointwise.c's kernel */
    const float *packed;
    int64_t row0, nrows;    /* the block: tile rows [row0, row0 + nrows) */
    int64_t ldt;            /* tile_stride of the block */
    size_t y_offset;        /* element offset of y in the output (for the residual) */
} wino_job;

static float *thread_work(const wino_job *j, int64_t n, int64_t lo)
{
    return j->work + (size_t)kl_pool_slot(j->c->pool, n, lo) * (size_t)work_floats(&j->s);
}

/* `count` input rows from iy0, columns from ix0, zero outside the plane. */
static void load_rows(const kl_conv_geom *g, const float *plane, int64_t iy0, int64_t ix0, int64_t width,
                      int count, float *rows)
{
    const int64_t ih = g->in[1], iw = g->in[2];
    int64_t lo = -ix0 > 0 ? -ix0 : 0, hi = iw - ix0 < width ? iw - ix0 : width;
    for (int i = 0; i < count; i++, rows += width) {
        int64_t iy = iy0 + i;
        if (iy < 0 || iy >= ih || hi <= lo) {
            memset(rows, 0, (size_t)width * sizeof *rows);
            continue;
        }
        memset(rows, 0, (size_t)lo * sizeof *rows);
        memcpy(rows + lo, plane + iy * iw + ix0 + lo, (size_t)(hi - lo) * sizeof *rows);
        memset(rows + hi, 0, (size_t)(width - hi) * sizeof *rows);
    }
}

static void input_channels(void *arg, int64_t lo, int64_t hi)
{
    const wino_job *j = arg;
    const kl_conv_geom *g = j->g;
    const wino_kind *k = j->s.k;
    const int64_t tw = j->s.tw, width = tw * k->t + 2, ldt = j->ldt, estride = g->c * ldt;
    float *rows = thread_work(j, g->c, lo), *cols = rows + k->a * width;
    klk_wino_input_plane_fn *direct = k->t == 2 ? g->kern->wino_input_plane.fn : NULL;
    for (int64_t ch = lo; ch < hi; ch++) {
        const float *plane = j->x + ch * g->in_size;
        for (int64_t r = 0; r < j->nrows; r++) {
            const int64_t iy0 = (j->row0 + r) * k->t - g->pad[1];
            float *v = j->v + ch * ldt + r * tw;
            if (direct) {
                direct(plane, g->in[1], g->in[2], iy0, -g->pad[2], tw, v, estride);
                continue;
            }
            load_rows(g, plane, iy0, -g->pad[2], width, k->a, rows);
            g->kern->wino_input.fn(k->t, rows, cols, width, tw, v, estride);
        }
    }
}

static void output_channels(void *arg, int64_t lo, int64_t hi)
{
    const wino_job *j = arg;
    const kl_conv_geom *g = j->g;
    const wino_kind *k = j->s.k;
    const int64_t tw = j->s.tw, ldt = j->ldt, estride = g->m * ldt;
    const int64_t oh = g->out[1], ow = g->out[2], t = k->t;
    const int64_t y0 = j->row0 * t, y1 = (j->row0 + j->nrows) * t < oh ? (j->row0 + j->nrows) * t : oh;
    float *part = thread_work(j, g->m, lo), *out = part + t * k->a * tw;
    klk_wino_output_plane_fn *direct = t == 2 ? g->kern->wino_output_plane.fn : NULL;
    for (int64_t m = lo; m < hi; m++) {
        float *plane = j->y + m * g->out_size;
        const float bias = j->bias ? j->bias[m] : 0.0f;
        for (int64_t r = 0; r < j->nrows; r++) {
            const int64_t oy0 = (j->row0 + r) * t, nr = oh - oy0 < t ? oh - oy0 : t;
            const float *mm = j->mm + m * ldt + r * tw;
            if (direct) {
                direct(mm, estride, tw, bias, plane + oy0 * ow, ow, nr);
                continue;
            }
            g->kern->wino_output.fn(t, mm, estride, tw, bias, part, out);
            for (int64_t i = 0; i < nr; i++)
                memcpy(plane + (oy0 + i) * ow, out + i * tw * t, (size_t)ow * sizeof *out);
        }
        kl_epilogue_apply(&j->c->epi, plane + y0 * ow, j->y_offset + (size_t)(m * g->out_size + y0 * ow),
                          (size_t)((y1 - y0) * ow));
    }
}

/* Products e in [lo, hi) through ops/kernels/pointwise.c's kernel. */
static void own_product_range(void *arg, int64_t lo, int64_t hi)
{
    const wino_job *j = arg;
    const kl_conv_geom *g = j->g;
    const int64_t tiles = j->nrows * j->s.tw, ldt = j->ldt, rows_ldt = tile_stride(&j->s, j->s.rows);
    size_t per = kl_pw_packed_floats(g->kern, g->m, g->c);
    float *work = (float *)((char *)j->pw_work +
                            (size_t)kl_pool_slot(j->c->pool, j->s.k->a * j->s.k->a, lo) *
                                kl_pw_scratch(g->kern, g->m, g->c, rows_ldt, 1));
    for (int64_t e = lo; e < hi; e++)
        kl_pw_product(g->kern, g->m, g->c, tiles, j->v + e * g->c * ldt, ldt, j->packed + (size_t)e * per,
                      j->mm + e * g->m * ldt, ldt, work);
}

/* Tile rows [r0, r1) of image n in blocks of j->s.rows, each block's
 * steps split over c's threads (run inline when c->pool is NULL); j holds
 * the conv's operands, and its areas are laid out here in c's scratch. */
static void run_rows(kl_opctx *c, wino_job *j, int64_t n, int64_t r0, int64_t r1)
{
    const kl_conv_geom *g = j->g;
    const int64_t e_count = j->s.k->a * j->s.k->a;
    j->c = c;
    j->v = c->scratch;
    j->mm = j->v + e_count * g->c * tile_stride(&j->s, j->s.rows);
    j->work = j->mm + e_count * g->m * tile_stride(&j->s, j->s.rows);
    j->pw_work = j->work + kl_pool_threads(c->pool) * work_floats(&j->s);
    j->x = j->x0 + n * g->c * g->in_size;
    j->y = j->y0 + n * g->m * g->out_size;
    j->y_offset = (size_t)(n * g->m * g->out_size);
    const bool own = own_products(g);
    for (j->row0 = r0; j->row0 < r1; j->row0 += j->s.rows) {
        j->nrows = r1 - j->row0 < j->s.rows ? r1 - j->row0 : j->s.rows;
        j->ldt = tile_stride(&j->s, j->nrows);
        const int tiles = (int)(j->nrows * j->s.tw);
        kl_pool *pool = kl_conv_pool(c, e_count * g->c * g->m * tiles);
        kl_parallel_for_fine(pool, g->c, 4, input_channels, j);
        if (own)
            kl_parallel_for_fine(pool, e_count, 4, own_product_range, j);
        else
            for (int64_t e = 0; e < e_count; e++)
                kl_sgemm(c, false, false, g->m, tiles, g->c, 1.0f, j->packed + e * g->m * g->c, g->c,
                         j->v + e * g->c * j->ldt, j->ldt, 0.0f, j->mm + e * g->m * j->ldt, j->ldt);
        kl_parallel_for_fine(pool, g->m, 4, output_channels, j);
    }
}

/* One image's map in bands of tile rows, one per thread. */
typedef struct band_job {
    kl_opctx *c;
    const wino_job *conv;
    int64_t n, rows;     /* the image; tile rows per band */
    size_t slot_bytes;   /* band_slot_bytes */
} band_job;

static void run_band(void *arg, int64_t lo, int64_t hi)
{
    const band_job *b = arg;
    (void)hi;
    kl_opctx one = kl_conv_ctx_alone(b->c, (int)lo, b->slot_bytes);
    wino_job j = *b->conv;
    j.s = band_shape(b->conv->g, &b->conv->s, b->rows);
    const int64_t r0 = lo * b->rows, r1 = r0 + b->rows < j.s.th ? r0 + b->rows : j.s.th;
    if (r0 < r1)
        run_rows(&one, &j, b->n, r0, r1);
}

void kl_wino_run(kl_opctx *c, const kl_conv_geom *g, const float *x, const float *packed, const float *bias,
                 float *y, int64_t n0, int64_t n1)
{
    wino_job j = {.g = g, .s = shape_of(g), .bias = bias, .x0 = x, .y0 = y, .packed = packed};
    const int threads = kl_pool_threads(c->pool);
    const int64_t rows = band_rows(g, &j.s, threads);
    for (int64_t n = n0; n < n1; n++) {
        if (!rows) {
            run_rows(c, &j, n, 0, j.s.th);
            continue;
        }
        band_job b = {c, &j, n, rows, band_slot_bytes(g, &j.s, rows)};
        kl_parallel_for_each_thread(c->pool, run_band, &b);
    }
}
