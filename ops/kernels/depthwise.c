/* depthwise.c -- convolution with one input and one output channel per
 * group (MobileNet, EfficientNet, ShuffleNet).  Each plane is copied once
 * into a zero-padded buffer so that the tap loops need no bounds checks;
 * the common shapes (3x3, 5x5 and 7x7, stride 1 and 2) get loops whose sizes
 * are compile-time constants, which gcc unrolls over the taps and
 * vectorizes over the output row.  Where the kernel table has them, the
 * same shapes go to its x86 kernels instead (ops/kernels/x86/depthwise_*.c):
 * rows 8 wide (dw_rows), or, on small maps, 8 or 16 channels interleaved
 * (dw_group8, dw_group16).  The fused epilogue runs on each plane while it
 * is in cache; planes are split over the session's threads. */
#include <string.h>

#include "kernels.h"

bool kl_dw_applies(const kl_conv_geom *g)
{
    return g->group == g->c && g->group == g->m && g->group > 1 && g->in[0] == 1 && g->k[0] == 1;
}

/* Output rows are computed 8-wide: a 7- or 14-wide row (the late stages)
 * would otherwise run mostly in the loop's scalar remainder. */
static int64_t wide_cols(const kl_conv_geom *g)
{
    return (g->out[2] + 7) / 8 * 8;
}

/* Extent of the padded plane the taps read. */
static void padded_dims(const kl_conv_geom *g, int64_t *ph, int64_t *pw)
{
    *ph = (g->out[1] - 1) * g->stride[1] + (g->k[1] - 1) * g->dil[1] + 1;
    *pw = (wide_cols(g) - 1) * g->stride[2] + (g->k[2] - 1) * g->dil[2] + 1;
}

/* Per thread: the padded plane, then the 8-wide output rows. */
/* Extent of the padded plane for the channel-blocked kernel (no rounding
 * of the output row). */
void kl_dw_blocked_dims(const kl_conv_geom *g, int64_t *ph, int64_t *pw)
{
    *ph = (g->out[1] - 1) * g->stride[1] + (g->k[1] - 1) * g->dil[1] + 1;
    *pw = (g->out[2] - 1) * g->stride[2] + (g->k[2] - 1) * g->dil[2] + 1;
}

/* Channels of a group of the channel-blocked kernel, at most. */
#define MAX_LANES 16

/* Floats the channel-blocked kernel needs: MAX_LANES interleaved padded
 * planes and outputs, the weights and bias of as many channels. */
static int64_t blocked_floats(const kl_conv_geom *g)
{
    int64_t ph, pw;
    kl_dw_blocked_dims(g, &ph, &pw);
    return MAX_LANES * (ph * pw + g->out_size + g->k[1] * g->k[2] + 1);
}

static int64_t thread_floats(const kl_conv_geom *g)
{
    int64_t ph, pw;
    padded_dims(g, &ph, &pw);
    int64_t rows = ph * (pw + 1) + g->out[1] * wide_cols(g); /* + 1: fill_interior's split rounds pw up */
    int64_t blocked = blocked_floats(g);
    return rows > blocked ? rows : blocked;
}

size_t kl_dw_scratch(const kl_conv_geom *g, int threads)
{
    return (size_t)thread_floats(g) * sizeof(float) * (size_t)threads;
}

static void pad_plane(const kl_conv_geom *g, const float *restrict x, float *restrict buf, int64_t ph,
                      int64_t pw)
{
    const int64_t ih = g->in[1], iw = g->in[2], top = g->pad[1], left = g->pad[2];
    /* columns [lo, hi) of a padded row come from the input row */
    int64_t lo = left < pw ? left : pw, hi = left + iw < pw ? left + iw : pw;
    for (int64_t r = 0; r < ph; r++, buf += pw) {
        int64_t iy = r - top;
        if (iy < 0 || iy >= ih || hi <= lo) {
            memset(buf, 0, (size_t)pw * sizeof *buf);
            continue;
        }
        memset(buf, 0, (size_t)lo * sizeof *buf);
        memcpy(buf + lo, x + iy * iw + (lo - left), (size_t)(hi - lo) * sizeof *buf);
        memset(buf + hi, 0, (size_t)(pw - hi) * sizeof *buf);
    }
}

/* One output row; K and S are constants where this is inlined. */
static inline __attribute__((always_inline)) void dw_row(float *restrict out, const float *restrict r,
                                                         int64_t pw, const float *restrict w, int K, int S,
                                                         int64_t ow, float bias)
{
    for (int64_t ox = 0; ox < ow; ox++) {
        float s = bias;
        for (int kh = 0; kh < K; kh++)
            for (int kw = 0; kw < K; kw++)
                s += w[kh * K + kw] * r[kh * pw + ox * S + kw];
        out[ox] = s;
    }
}

#define DW_PLANE(NAME, K, S)                                                                              \
    static void NAME(const float *restrict buf, int64_t pw, const float *restrict w, float bias,  \
                            float *restrict y, int64_t oh, int64_t ow)                                    \
    {                                                                                                     \
        for (int64_t oy = 0; oy < oh; oy++)                                                               \
            dw_row(y + oy * ow, buf + oy * (S) * pw, pw, w, K, S, ow, bias);                              \
    }
DW_PLANE(dw_3x3s1, 3, 1)
DW_PLANE(dw_3x3s2, 3, 2)
DW_PLANE(dw_5x5s1, 5, 1)
DW_PLANE(dw_5x5s2, 5, 2)
DW_PLANE(dw_7x7s1, 7, 1)
DW_PLANE(dw_7x7s2, 7, 2)

/* Any kernel size, stride and dilation. */
static void dw_generic(const kl_conv_geom *g, const float *restrict buf, int64_t pw, const float *restrict w,
                       float bias, float *restrict y)
{
    const int64_t oh = g->out[1], ow = g->out[2], kh = g->k[1], kw = g->k[2];
    const int64_t sh = g->stride[1], sw = g->stride[2], dh = g->dil[1], dw = g->dil[2];
    for (int64_t oy = 0; oy < oh; oy++)
        for (int64_t ox = 0; ox < ow; ox++) {
            float s = bias;
            for (int64_t a = 0; a < kh; a++)
                for (int64_t b = 0; b < kw; b++)
                    s += w[a * kw + b] * buf[(oy * sh + a * dh) * pw + ox * sw + b * dw];
            y[oy * ow + ox] = s;
        }
}

typedef void (*dw_plane_fn)(const float *, int64_t, const float *, float, float *, int64_t, int64_t);

static dw_plane_fn fast_kernel(const kl_conv_geom *g)
{
    if (g->k[1] != g->k[2] || g->stride[1] != g->stride[2] || g->dil[1] != 1 || g->dil[2] != 1)
        return NULL;
    int k = (int)g->k[1], s = (int)g->stride[1];
    if (k == 3)
        return s == 1 ? dw_3x3s1 : s == 2 ? dw_3x3s2 : NULL;
    if (k == 5)
        return s == 1 ? dw_5x5s1 : s == 2 ? dw_5x5s2 : NULL;
    if (k == 7)
        return s == 1 ? dw_7x7s1 : s == 2 ? dw_7x7s2 : NULL;
    return NULL;
}



/* Columns [c0, c1) of a padded row (row[c] its value) into its even
 * columns e[c / 2] and odd columns o[c / 2]. */
void klk_dw_split_row_generic(const float *restrict row, int64_t c0, int64_t c1, float *restrict e, float *restrict o)
{
    for (int64_t c = c0 + (c0 & 1); c < c1; c += 2)
        e[c >> 1] = row[c];
    for (int64_t c = c0 | 1; c < c1; c += 2)
        o[c >> 1] = row[c];
}


/* dst[i] = src[2 i] for i < n (stride-2 rows of im2col). */
void klk_take_even_generic(float *dst, const float *src, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = src[2 * i];
}

/* The input plane into the interior of the padded plane (ph x pw), whose
 * border the caller zeroed once: for stride 1 as it is, for stride 2
 * split into its even and odd columns, each ph x half with
 * half = (pw + 1) / 2, e then o in buf. */
static void fill_interior(const kl_conv_geom *g, const float *restrict x, float *restrict buf, int64_t ph, int64_t pw,
                          bool split)
{
    const int64_t ih = g->in[1], iw = g->in[2], top = g->pad[1], left = g->pad[2], half = (pw + 1) / 2;
    int64_t y0 = top, y1 = top + ih < ph ? top + ih : ph, x1 = left + iw < pw ? left + iw : pw;
    for (int64_t r = y0; r < y1; r++) {
        const float *restrict row = x + (r - top) * iw - left;
        if (!split) {
            float *restrict dst = buf + r * pw;
            for (int64_t c = left; c < x1; c++)
                dst[c] = row[c];
            continue;
        }
        g->kern->dw_split_row.fn(row, left, x1, buf + r * half, buf + (ph + r) * half);
    }
}


/* Square kernels of one stride and no dilation: the channel-blocked
 * kernels take any size (3x3, 5x5 and 7x7 at stride 1 and 2 with their
 * loops unrolled, others with the size and stride as arguments). */
static bool square_undilated(const kl_conv_geom *g)
{
    return g->k[1] == g->k[2] && g->stride[1] == g->stride[2] && g->dil[1] == 1 && g->dil[2] == 1;
}

/* The channel-blocked kernel of the table for this convolution and its
 * lanes (*lanes), or NULL: maps of at most 56x56 out (beyond, its buffers
 * outgrow L2 and the row kernel measured as fast) of square undilated
 * kernels with channels in groups of 16 (dw_group16) or 8 (dw_group8). */
static klk_dw_group_fn *blocked_kernel(const kl_conv_geom *g, int *lanes)
{
    const kl_kernels *k = g->kern;
    *lanes = k->dw_group16.fn && g->c % 16 == 0 ? 16 : 8;
    klk_dw_group_fn *fn = *lanes == 16 ? k->dw_group16.fn : k->dw_group8.fn;
    if (!fn || !square_undilated(g) || g->c % *lanes != 0 || g->out_size > 3136)
        return NULL;
    return fn;
}

/* Zeroes the part of L interleaved padded planes (ph x pw) that the
 * input does not cover: rows above and below it, columns left and right
 * of it.  Only this part: a job runs in several ranges per thread, and
 * zeroing the whole plane each time cost more than the taps on 56x56. */
static void zero_border(const kl_conv_geom *g, float *pad, int64_t ph, int64_t pw, int L)
{
    const int64_t top = g->pad[1], left = g->pad[2];
    int64_t y1 = top + g->in[1] < ph ? top + g->in[1] : ph, x1 = left + g->in[2] < pw ? left + g->in[2] : pw;
    int64_t y0 = top < ph ? top : ph, x0 = left < pw ? left : pw;
    memset(pad, 0, (size_t)(L * y0 * pw) * sizeof *pad);
    memset(pad + L * y1 * pw, 0, (size_t)(L * (ph - y1) * pw) * sizeof *pad);
    for (int64_t r = y0; r < y1; r++) {
        memset(pad + L * r * pw, 0, (size_t)(L * x0) * sizeof *pad);
        memset(pad + L * (r * pw + x1), 0, (size_t)(L * (pw - x1)) * sizeof *pad);
    }
}

typedef struct dw_job {
    kl_opctx *c;
    const kl_conv_geom *g;
    const float *x, *w, *bias;
    float *y;
    int64_t planes;
} dw_job;

static void dw_planes(void *arg, int64_t lo, int64_t hi)
{
    const dw_job *j = arg;
    const kl_conv_geom *g = j->g;
    int64_t ph, pw;
    padded_dims(g, &ph, &pw);
    float *buf = (float *)j->c->scratch + (size_t)kl_pool_slot(j->c->pool, j->planes, lo) * (size_t)thread_floats(g);
    float *rows = buf + ph * pw;
    const int64_t oh = g->out[1], ow = g->out[2], wide = wide_cols(g);
    int lanes;
    klk_dw_group_fn *blocked = blocked_kernel(g, &lanes);
    if (blocked) { /* items are groups of `lanes` channels */
        int64_t bph, bpw;
        kl_dw_blocked_dims(g, &bph, &bpw);
        float *cb = (float *)j->c->scratch +
                    (size_t)kl_pool_slot(j->c->pool, j->planes / lanes, lo) * (size_t)thread_floats(g);
        zero_border(g, cb, bph, bpw, lanes); /* the border, zero for every group */
        for (int64_t grp = lo; grp < hi; grp++) {
            int64_t p = grp * lanes;
            blocked(g, j->x + p * g->in_size, j->w, j->bias, j->y + p * g->out_size, p % g->c, cb);
            kl_epilogue_apply(&j->c->epi, j->y + p * g->out_size, (size_t)(p * g->out_size),
                              (size_t)(lanes * g->out_size));
        }
        return;
    }
    dw_plane_fn fast = fast_kernel(g);
    klk_dw_rows_fn *fast8 = fast ? g->kern->dw_rows.fn : NULL;
    const int64_t ksize = g->k[1] * g->k[2], half = (pw + 1) / 2;
    if (fast8) /* the border, zero for every plane */
        memset(buf, 0, (size_t)(ph * (pw + 1)) * sizeof *buf);
    for (int64_t p = lo; p < hi; p++) {
        int64_t ch = p % g->c;
        float *y = j->y + p * g->out_size;
        float bias = j->bias ? j->bias[ch] : 0.0f;
        if (fast8) {
            bool split = g->stride[1] == 2;
            fill_interior(g, j->x + p * g->in_size, buf, ph, pw, split);
            fast8((int)g->k[1], (int)g->stride[1], buf, buf + ph * half, split ? half : pw, j->w + ch * ksize, bias,
                  y, oh, ow);
            kl_epilogue_apply(&j->c->epi, y, (size_t)(p * g->out_size), (size_t)g->out_size);
            continue;
        }
        pad_plane(g, j->x + p * g->in_size, buf, ph, pw);
        if (fast && wide == ow)
            fast(buf, pw, j->w + ch * ksize, bias, y, oh, ow);
        else if (fast) {
            fast(buf, pw, j->w + ch * ksize, bias, rows, oh, wide);
            for (int64_t r = 0; r < oh; r++)
                memcpy(y + r * ow, rows + r * wide, (size_t)ow * sizeof *y);
        } else
            dw_generic(g, buf, pw, j->w + ch * ksize, bias, y);
        kl_epilogue_apply(&j->c->epi, y, (size_t)(p * g->out_size), (size_t)g->out_size);
    }
}

void kl_dw_run(kl_opctx *c, const kl_conv_geom *g, const float *x, const float *w, const float *bias, float *y)
{
    dw_job j = {c, g, x, w, bias, y, g->n * g->c};
    int64_t items = j.planes;
    int lanes;
    if (blocked_kernel(g, &lanes))
        items = j.planes / lanes; /* groups of `lanes` channels */
    kl_parallel_for(kl_conv_pool(c, j.planes * g->out_size * g->k_size), items, dw_planes, &j);
}
