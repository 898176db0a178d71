/* winograd.c -- 3x3 stride-1 convolution by Winograd's minimal filtering
 * F(4x4, 3x3) (Lavin & Gray 2015): each 4x4 output tile comes from a 6x6
 * input tile, V = Bt d B, and the 6x6 transformed filter U = G g Gt
 * through 36 elementwise products summed over the input channels (one
 * sgemm per product position), then Y = At M A.  That is 36 multiplies
 * for 16 outputs instead of 144.
 *
 * The filters are transformed once (kl_wino_pack, at session creation)
 * into U[36][m][c].  Tiles are processed in blocks of whole tile rows so
 * that the transformed inputs V[36][c][tiles] and products M[36][m][tiles]
 * of a block stay near the cache; the output transform adds the bias and
 * applies the fused epilogue to the block's rows while they are hot.
 *
 * Only convolutions with 64 input channels or more take this path: the
 * transforms cost accuracy, and on the backbones the thin layers near the
 * input (Inception-v3's 32-channel stem) are where that error grows most
 * through the layers after them. */
#include <cblas.h>
#include <string.h>

#include "conv_kernels.h"

#define BLOCK_BYTES (12u << 20) /* V and M of one block of tile rows */
/* Fewer tiles make 36 thin products whose cost is reading and packing the
 * transformed filters (4x the original's size): direct im2col wins there
 * (7x7 stages). */
#define MIN_TILES 16

bool kl_wino_applies(const kl_conv_geom *g)
{
    return g->nsp >= 2 && g->in[0] == 1 && g->k[0] == 1 && g->group == 1 && g->k[1] == 3 && g->k[2] == 3 &&
           g->stride[1] == 1 && g->stride[2] == 1 && g->dil[1] == 1 && g->dil[2] == 1 && g->c >= 64 &&
           g->m >= 16 && (g->out[1] + 3) / 4 * ((g->out[2] + 3) / 4) >= MIN_TILES;
}

typedef struct wino_shape {
    int64_t th, tw;       /* tile rows and columns */
    int64_t rows;         /* tile rows per block */
} wino_shape;

static wino_shape shape_of(const kl_conv_geom *g)
{
    wino_shape s = {(g->out[1] + 3) / 4, (g->out[2] + 3) / 4, 1};
    int64_t row_bytes = 36 * (g->c + g->m) * s.tw * (int64_t)sizeof(float);
    s.rows = BLOCK_BYTES / row_bytes;
    if (s.rows < 1)
        s.rows = 1;
    if (s.rows > s.th)
        s.rows = s.th;
    return s;
}

static int64_t work_floats(const wino_shape *s);

size_t kl_wino_scratch(const kl_conv_geom *g, int threads)
{
    wino_shape s = shape_of(g);
    return (size_t)(36 * (g->c + g->m) * s.rows * s.tw + threads * work_floats(&s)) * sizeof(float);
}

/* ---- transforms --------------------------------------------------------- */

/* The interpolation points are 0, 1, -1, 2, -1/2 and infinity: in float32
 * they lose about half as much as the textbook 0, +-1, +-2 (measured on
 * random 64-channel tiles: 6.5e-5 against 1.3e-4 max abs error; direct
 * summation 2.7e-5), which keeps the deep backbones inside 1e-3/1e-4.
 * G below; Bt and At are in BT_1D and AT_1D. */
static const double wino_g[6][3] = {
    {1, 0, 0},
    {-1.0 / 3, -1.0 / 3, -1.0 / 3},
    {1.0 / 3, -1.0 / 3, 1.0 / 3},
    {1.0 / 15, 2.0 / 15, 4.0 / 15},
    {-16.0 / 15, 8.0 / 15, -4.0 / 15},
    {0, 0, 1},
};

/* u = G g for one column of 3 */
static void filter_1d(const double *g, int step, double *u, int ustep)
{
    for (int i = 0; i < 6; i++)
        u[i * ustep] = wino_g[i][0] * g[0] + wino_g[i][1] * g[step] + wino_g[i][2] * g[2 * step];
}

float *kl_wino_pack(kl_env *env, const kl_conv_geom *g, const float *w, size_t *bytes)
{
    *bytes = (size_t)(36 * g->m * g->c) * sizeof(float);
    float *u = kl_alloc(env, *bytes);
    if (!u)
        return NULL;
    for (int64_t m = 0; m < g->m; m++)
        for (int64_t c = 0; c < g->c; c++) {
            double k[9], t[18], r[36];  /* kernel 3x3, G k: 6x3, G k Gt: 6x6 */
            for (int i = 0; i < 9; i++)
                k[i] = w[(m * g->c + c) * 9 + i];
            for (int col = 0; col < 3; col++)
                filter_1d(k + col, 3, t + col, 3);
            for (int row = 0; row < 6; row++)
                filter_1d(t + row * 3, 1, r + row * 6, 1);
            for (int e = 0; e < 36; e++)
                u[(e * g->m + m) * g->c + c] = (float)r[e];
        }
    return u;
}

/* Bt applied to six values (d0..d5) into t[0..5 * ts] */
#define BT_6(d0, d1, d2, d3, d4, d5, t, ts)              \
    do {                                                 \
        (t)[0] = d0 + 1.5f * (d1 - d3) - 2.0f * d2 + d4; \
        (t)[(ts)] = d4 - d1 - 2.5f * d2 - 0.5f * d3;     \
        (t)[2 * (ts)] = d1 + 0.5f * d2 - 2.5f * d3 + d4; \
        (t)[3 * (ts)] = 0.5f * (d3 - d1) - d2 + d4;      \
        (t)[4 * (ts)] = 2.0f * (d1 - d3) - d2 + d4;      \
        (t)[5 * (ts)] = d1 + 1.5f * (d2 - d4) - 2.0f * d3 + d5; \
    } while (0)

/* At applied to six values (m0..m5) into o[0..3 * os] */
#define AT_6(m0, m1, m2, m3, m4, m5, o, os)                  \
    do {                                                     \
        float a_ = (m1) + (m2), b_ = (m1) - (m2);            \
        (o)[0] = (m0) + a_ + (m3) + (m4);                    \
        (o)[(os)] = b_ + 2.0f * (m3) - 0.5f * (m4);          \
        (o)[2 * (os)] = a_ + 4.0f * (m3) + 0.25f * (m4);     \
        (o)[3 * (os)] = b_ + 8.0f * (m3) - 0.125f * (m4) + (m5); \
    } while (0)

typedef struct wino_job {
    kl_opctx *c;
    const kl_conv_geom *g;
    wino_shape s;
    const float *x, *bias;
    float *y;
    float *v, *mm;          /* V[36][c][tiles] and M[36][m][tiles] of the block */
    float *work;            /* per-thread rows for the transforms */
    int64_t row0, nrows;    /* the block: tile rows [row0, row0 + nrows) */
    size_t y_offset;        /* element offset of y in the output (for the residual) */
} wino_job;

/* Floats of one thread's work area: six padded input rows and their
 * column transforms, or one tile row's 6x6 partial outputs and 4 rows. */
static int64_t work_floats(const wino_shape *s)
{
    int64_t in = 12 * (s->tw * 4 + 2), out = 24 * s->tw + 16 * s->tw;
    return ((in > out ? in : out) + 15) / 16 * 16;
}

static float *thread_work(const wino_job *j, int64_t n, int64_t lo)
{
    return j->work + (size_t)kl_pool_slot(j->c->pool, n, lo) * (size_t)work_floats(&j->s);
}

/* Six input rows from iy0, columns from ix0, zero outside the plane. */
static void load_rows(const kl_conv_geom *g, const float *plane, int64_t iy0, int64_t ix0, int64_t width,
                      float *rows)
{
    const int64_t ih = g->in[1], iw = g->in[2];
    int64_t lo = -ix0 > 0 ? -ix0 : 0, hi = iw - ix0 < width ? iw - ix0 : width;
    for (int i = 0; i < 6; i++, rows += width) {
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

/* V of one tile row of one channel: Bt down the columns of the six rows,
 * then Bt along each transformed row, tile by tile. */
KL_HOT static void input_tile_row(const float *restrict rows, float *restrict cols, int64_t width, int64_t tw,
                                  float *restrict v, int64_t estride)
{
    const float *r0 = rows, *r1 = r0 + width, *r2 = r1 + width, *r3 = r2 + width, *r4 = r3 + width,
                *r5 = r4 + width;
    for (int64_t x = 0; x < width; x++)
        BT_6(r0[x], r1[x], r2[x], r3[x], r4[x], r5[x], cols + x, width);
    for (int k = 0; k < 6; k++) {
        const float *restrict cr = cols + k * width;
        float *restrict vk = v + 6 * k * estride;
        for (int64_t t = 0; t < tw; t++) {
            const float *d = cr + 4 * t;
            BT_6(d[0], d[1], d[2], d[3], d[4], d[5], vk + t, estride);
        }
    }
}

static void input_channels(void *arg, int64_t lo, int64_t hi)
{
    const wino_job *j = arg;
    const kl_conv_geom *g = j->g;
    const int64_t tw = j->s.tw, width = tw * 4 + 2, tiles = j->nrows * tw, estride = g->c * tiles;
    float *rows = thread_work(j, g->c, lo), *cols = rows + 6 * width;
    for (int64_t ch = lo; ch < hi; ch++) {
        const float *plane = j->x + ch * g->in_size;
        for (int64_t r = 0; r < j->nrows; r++) {
            load_rows(g, plane, (j->row0 + r) * 4 - g->pad[1], -g->pad[2], width, rows);
            input_tile_row(rows, cols, width, tw, j->v + ch * tiles + r * tw, estride);
        }
    }
}

/* Outputs of one tile row of one channel into out[4][tw * 4]: At down each
 * tile's six rows (over all tiles at once), then At along them. */
KL_HOT static void output_tile_row(const float *restrict mm, int64_t estride, int64_t tw, float bias,
                                   float *restrict part, float *restrict out)
{
    /* part[(r * 6 + j) * tw + t] = (At M)[r][j] of tile t */
    for (int col = 0; col < 6; col++) {
        const float *e0 = mm + col * estride, *e1 = e0 + 6 * estride, *e2 = e1 + 6 * estride,
                    *e3 = e2 + 6 * estride, *e4 = e3 + 6 * estride, *e5 = e4 + 6 * estride;
        for (int64_t t = 0; t < tw; t++)
            AT_6(e0[t], e1[t], e2[t], e3[t], e4[t], e5[t], part + col * tw + t, 6 * tw);
    }
    for (int r = 0; r < 4; r++) {
        const float *p = part + r * 6 * tw;
        float *restrict o = out + r * tw * 4;
        for (int64_t t = 0; t < tw; t++) {
            float q[4];
            AT_6(p[t], p[tw + t], p[2 * tw + t], p[3 * tw + t], p[4 * tw + t], p[5 * tw + t], q, 1);
            for (int i = 0; i < 4; i++)
                o[4 * t + i] = q[i] + bias;
        }
    }
}

static void output_channels(void *arg, int64_t lo, int64_t hi)
{
    const wino_job *j = arg;
    const kl_conv_geom *g = j->g;
    const int64_t tw = j->s.tw, tiles = j->nrows * tw, estride = g->m * tiles;
    const int64_t oh = g->out[1], ow = g->out[2];
    const int64_t y0 = j->row0 * 4, y1 = (j->row0 + j->nrows) * 4 < oh ? (j->row0 + j->nrows) * 4 : oh;
    float *part = thread_work(j, g->m, lo), *out = part + 24 * tw;
    for (int64_t m = lo; m < hi; m++) {
        float *plane = j->y + m * g->out_size;
        const float bias = j->bias ? j->bias[m] : 0.0f;
        for (int64_t r = 0; r < j->nrows; r++) {
            output_tile_row(j->mm + m * tiles + r * tw, estride, tw, bias, part, out);
            int64_t oy0 = (j->row0 + r) * 4, nr = oh - oy0 < 4 ? oh - oy0 : 4;
            for (int64_t i = 0; i < nr; i++)
                memcpy(plane + (oy0 + i) * ow, out + i * tw * 4, (size_t)ow * sizeof *out);
        }
        kl_epilogue_apply(&j->c->epi, plane + y0 * ow, j->y_offset + (size_t)(m * g->out_size + y0 * ow),
                          (size_t)((y1 - y0) * ow));
    }
}

void kl_wino_run(kl_opctx *c, const kl_conv_geom *g, const float *x, const float *packed, const float *bias,
                 float *y)
{
    wino_job j = {.c = c, .g = g, .s = shape_of(g), .bias = bias};
    j.v = c->scratch;
    j.mm = j.v + 36 * g->c * j.s.rows * j.s.tw;
    j.work = j.mm + 36 * g->m * j.s.rows * j.s.tw;
    for (int64_t n = 0; n < g->n; n++) {
        j.x = x + n * g->c * g->in_size;
        j.y = y + n * g->m * g->out_size;
        j.y_offset = (size_t)(n * g->m * g->out_size);
        for (j.row0 = 0; j.row0 < j.s.th; j.row0 += j.s.rows) {
            j.nrows = j.s.th - j.row0 < j.s.rows ? j.s.th - j.row0 : j.s.rows;
            const int tiles = (int)(j.nrows * j.s.tw);
            kl_parallel_for(c->pool, g->c, input_channels, &j);
            for (int e = 0; e < 36; e++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->m, tiles, (int)g->c, 1.0f,
                            packed + e * g->m * g->c, (int)g->c, j.v + e * g->c * tiles, tiles, 0.0f,
                            j.mm + e * g->m * tiles, tiles);
            kl_parallel_for(c->pool, g->m, output_channels, &j);
        }
    }
}
