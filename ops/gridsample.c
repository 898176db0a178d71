/* gridsample.c -- GridSample (opset 16, 2-D): samples X [N, C, H, W] at
 * the normalized positions of grid [N, Ho, Wo, 2] (x then y, in [-1, 1]).
 * mode bilinear | nearest | bicubic (A = -0.75); padding_mode zeros |
 * border | reflection decides what lies outside; align_corners says
 * whether -1 and 1 are the centres or the outer edges of the corner
 * pixels.  Out-of-range handling follows PyTorch's grid_sample, whose
 * exports this op comes from. */
#include <math.h>
#include <string.h>

#include "op.h"

typedef enum { PAD_ZEROS, PAD_BORDER, PAD_REFLECTION } pad_mode;
typedef enum { MODE_BILINEAR, MODE_NEAREST, MODE_BICUBIC } sample_mode;

typedef struct sampler {
    sample_mode mode;
    pad_mode pad;
    bool align;
    int64_t h, w;
    const float *plane;   /* one channel of one image */
} sampler;

static float unnormalize(const sampler *s, float g, int64_t size)
{
    return s->align ? (g + 1) / 2 * (float)(size - 1) : ((g + 1) * (float)size - 1) / 2;
}

/* Mirrors x into [low2 / 2, high2 / 2] (bounds given doubled). */
static float reflect(float x, int64_t low2, int64_t high2)
{
    if (low2 == high2)
        return 0;
    float lo = (float)low2 / 2, span = (float)(high2 - low2) / 2;
    x = fabsf(x - lo);
    /* the parity of the flips, from x modulo two spans: floor(x / span)
     * itself may not fit an int (x up to 3e38) */
    float extra = fmodf(x, span);
    bool even = fmodf(x, 2 * span) < span;
    return even ? extra + lo : span - extra + lo;
}

/* Reflection padding repeats every two spans of the image: x moved by
 * whole periods to within a few of them (the taps reflect the same). */
static float near_period(const sampler *s, float x, int64_t size)
{
    float lo = s->align ? 0.0f : -0.5f, period = 2.0f * (float)(s->align ? size - 1 : size);
    if (period <= 0 || fabsf(x) <= 4 * period)
        return x;
    return lo + fmodf(x - lo, period);
}

static float clip(float x, int64_t size)
{
    return x < 0 ? 0 : x > (float)(size - 1) ? (float)(size - 1) : x;
}

/* The padding applied to a coordinate (bilinear and nearest). */
static float pad_coord(const sampler *s, float x, int64_t size)
{
    if (s->pad == PAD_BORDER)
        return clip(x, size);
    if (s->pad == PAD_REFLECTION) {
        x = s->align ? reflect(x, 0, 2 * (size - 1)) : reflect(x, -1, 2 * size - 1);
        return clip(x, size);
    }
    return x;
}

/* The pixel at integer (y, x), 0 outside. */
static float pixel(const sampler *s, int64_t y, int64_t x)
{
    return y < 0 || y >= s->h || x < 0 || x >= s->w ? 0 : s->plane[y * s->w + x];
}

/* A bicubic tap: the padding applied to the tap's own position. */
static float tap(const sampler *s, int64_t y, int64_t x)
{
    if (s->pad == PAD_ZEROS)
        return pixel(s, y, x);
    float fy = pad_coord(s, (float)y, s->h), fx = pad_coord(s, (float)x, s->w);
    return pixel(s, (int64_t)fy, (int64_t)fx);
}

static void cubic_weights(float t, float *w)
{
    const float a = -0.75f;
    float x1 = t + 1, x2 = t, x3 = 1 - t, x4 = 2 - t;
    w[0] = ((a * x1 - 5 * a) * x1 + 8 * a) * x1 - 4 * a;
    w[1] = ((a + 2) * x2 - (a + 3)) * x2 * x2 + 1;
    w[2] = ((a + 2) * x3 - (a + 3)) * x3 * x3 + 1;
    w[3] = ((a * x4 - 5 * a) * x4 + 8 * a) * x4 - 4 * a;
}

static float sample(const sampler *s, float gx, float gy)
{
    float x = unnormalize(s, gx, s->w), y = unnormalize(s, gy, s->h);
    /* NaN or far-off grid values sample as the region just outside the
     * border does (NaN: the top-left one); converting them to int64 would
     * be undefined */
    if (s->pad == PAD_REFLECTION) { /* periodic: far values move back by whole periods */
        x = isfinite(x) ? near_period(s, x, s->w) : -8.0f;
        y = isfinite(y) ? near_period(s, y, s->h) : -8.0f;
    } else {
        x = x >= -8.0f ? (x <= (float)s->w + 8.0f ? x : (float)s->w + 8.0f) : -8.0f;
        y = y >= -8.0f ? (y <= (float)s->h + 8.0f ? y : (float)s->h + 8.0f) : -8.0f;
    }
    if (s->mode == MODE_BICUBIC) {
        float x0 = floorf(x), y0 = floorf(y), wx[4], wy[4], acc = 0;
        cubic_weights(x - x0, wx);
        cubic_weights(y - y0, wy);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                acc += wy[i] * wx[j] * tap(s, (int64_t)y0 - 1 + i, (int64_t)x0 - 1 + j);
        return acc;
    }
    x = pad_coord(s, x, s->w);
    y = pad_coord(s, y, s->h);
    if (s->mode == MODE_NEAREST)
        return pixel(s, (int64_t)nearbyintf(y), (int64_t)nearbyintf(x));
    int64_t x0 = (int64_t)floorf(x), y0 = (int64_t)floorf(y);
    float fx = x - (float)x0, fy = y - (float)y0;
    return (1 - fy) * ((1 - fx) * pixel(s, y0, x0) + fx * pixel(s, y0, x0 + 1)) +
           fy * ((1 - fx) * pixel(s, y0 + 1, x0) + fx * pixel(s, y0 + 1, x0 + 1));
}

static keel_status read_modes(kl_opctx *c, sampler *s)
{
    const char *mode = kl_attr_str(c->node, "mode", "bilinear");
    const char *pad = kl_attr_str(c->node, "padding_mode", "zeros");
    s->mode = strcmp(mode, "bilinear") == 0 ? MODE_BILINEAR : strcmp(mode, "nearest") == 0 ? MODE_NEAREST
              : strcmp(mode, "bicubic") == 0 ? MODE_BICUBIC : (sample_mode)-1;
    s->pad = strcmp(pad, "zeros") == 0 ? PAD_ZEROS : strcmp(pad, "border") == 0 ? PAD_BORDER
             : strcmp(pad, "reflection") == 0 ? PAD_REFLECTION : (pad_mode)-1;
    if ((int)s->mode < 0 || (int)s->pad < 0)
        return kl_op_fail(c, KEEL_ERR_INVALID, "mode '%s' or padding_mode '%s'", mode, pad);
    s->align = kl_attr_int(c->node, "align_corners", 0) != 0;
    return KEEL_OK;
}

static keel_status gridsample_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0], *g = c->in[1];
    sampler s;
    keel_status st = read_modes(c, &s);
    if (st)
        return st;
    if (x->dtype != KEEL_FLOAT || g->dtype != KEEL_FLOAT || x->rank != 4 || g->rank != 4 || g->dims[3] != 2 ||
        g->dims[0] != x->dims[0])
        return kl_op_fail(c, KEEL_ERR_SHAPE, "X must be float [N, C, H, W] and grid float [N, Ho, Wo, 2]");
    kl_set_shape(c->out[0], KEEL_FLOAT, 4, (int64_t[]){x->dims[0], x->dims[1], g->dims[1], g->dims[2]});
    return KEEL_OK;
}

static keel_status gridsample_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0], *g = c->in[1];
    sampler s;
    keel_status st = read_modes(c, &s);
    if (st)
        return st;
    s.h = x->dims[2];
    s.w = x->dims[3];
    int64_t n = x->dims[0], ch = x->dims[1], pts = g->dims[1] * g->dims[2];
    float *out = c->out[0]->data;
    for (int64_t b = 0; b < n; b++) {
        const float *grid = (const float *)g->data + b * pts * 2;
        for (int64_t k = 0; k < ch; k++) {
            s.plane = (const float *)x->data + (b * ch + k) * s.h * s.w;
            float *o = out + (b * ch + k) * pts;
            for (int64_t p = 0; p < pts; p++)
                o[p] = sample(&s, grid[2 * p], grid[2 * p + 1]);
        }
    }
    return KEEL_OK;
}

static const kl_op gridsample = {.type = "GridSample", .since = 16, .min_inputs = 2,
                                 .max_inputs = 2, .infer = gridsample_infer, .run = gridsample_run};

const kl_op *const kl_opfile_gridsample[] = {&gridsample, NULL};
