/* depthwise.c -- convolution with one input and one output channel per
 * group (MobileNet, EfficientNet, ShuffleNet).  Each plane is copied once
 * into a zero-padded buffer so that the tap loops need no bounds checks;
 * the common shapes (3x3 and 5x5, stride 1 and 2) get loops whose sizes
 * are compile-time constants, which gcc unrolls over the taps and
 * vectorizes over the output row.  The fused epilogue runs on each plane
 * while it is in cache; planes are split over the session's threads. */
#include <string.h>

#include "conv_kernels.h"

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
static int64_t thread_floats(const kl_conv_geom *g)
{
    int64_t ph, pw;
    padded_dims(g, &ph, &pw);
    return ph * pw + g->out[1] * wide_cols(g);
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
    KL_HOT static void NAME(const float *restrict buf, int64_t pw, const float *restrict w, float bias,  \
                            float *restrict y, int64_t oh, int64_t ow)                                    \
    {                                                                                                     \
        for (int64_t oy = 0; oy < oh; oy++)                                                               \
            dw_row(y + oy * ow, buf + oy * (S) * pw, pw, w, K, S, ow, bias);                              \
    }
DW_PLANE(dw_3x3s1, 3, 1)
DW_PLANE(dw_3x3s2, 3, 2)
DW_PLANE(dw_5x5s1, 5, 1)
DW_PLANE(dw_5x5s2, 5, 2)

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
    return NULL;
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
    dw_plane_fn fast = fast_kernel(g);
    const int64_t ksize = g->k[1] * g->k[2];
    for (int64_t p = lo; p < hi; p++) {
        int64_t ch = p % g->c;
        float *y = j->y + p * g->out_size;
        float bias = j->bias ? j->bias[ch] : 0.0f;
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
    kl_parallel_for(kl_conv_pool(c, j.planes * g->out_size), j.planes, dw_planes, &j);
}
