/* roialign.c -- RoiAlign: for each region rois[r] = (x1, y1, x2, y2) of
 * image batch_indices[r], an output_height x output_width grid of bins,
 * each the average (or max) of sampling_ratio^2 bilinear samples (adaptive
 * when 0).  coordinate_transformation_mode (opset 16) half_pixel shifts
 * the scaled box by half a pixel; output_half_pixel (opset 10's only
 * behaviour) does not and makes boxes at least one pixel wide. */
#include <math.h>
#include <string.h>

#include "op.h"

#define MAX_RATIO 1024

typedef struct roi_cfg {
    int64_t oh, ow, ratio;
    float scale;
    bool half_pixel, max_mode;
} roi_cfg;

static keel_status read_cfg(kl_opctx *c, roi_cfg *g)
{
    const char *mode = kl_attr_str(c->node, "mode", "avg");
    const char *ctm = kl_attr_str(c->node, "coordinate_transformation_mode",
                                  c->opset >= 16 ? "half_pixel" : "output_half_pixel");
    g->oh = kl_attr_int(c->node, "output_height", 1);
    g->ow = kl_attr_int(c->node, "output_width", 1);
    g->ratio = kl_attr_int(c->node, "sampling_ratio", 0);
    g->scale = kl_attr_float(c->node, "spatial_scale", 1.0f);
    g->max_mode = strcmp(mode, "max") == 0;
    g->half_pixel = strcmp(ctm, "half_pixel") == 0;
    if ((!g->max_mode && strcmp(mode, "avg")) || (!g->half_pixel && strcmp(ctm, "output_half_pixel")))
        return kl_op_fail(c, KEEL_ERR_INVALID, "mode '%s' or coordinate_transformation_mode '%s'", mode, ctm);
    if (g->oh < 1 || g->ow < 1 || g->ratio < 0)
        return kl_op_fail(c, KEEL_ERR_INVALID, "output size and sampling_ratio must be positive");
    /* ratio^2 samples per output element: a hostile ratio is a hang */
    if (g->ratio > MAX_RATIO)
        return kl_op_fail(c, KEEL_ERR_LIMIT, "sampling_ratio %lld is above %d", (long long)g->ratio, MAX_RATIO);
    if (!isfinite(g->scale))
        return kl_op_fail(c, KEEL_ERR_INVALID, "spatial_scale %g", (double)g->scale);
    return KEEL_OK;
}

static keel_status roialign_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0], *rois = c->in[1], *idx = c->in[2];
    roi_cfg g;
    keel_status st = read_cfg(c, &g);
    if (st)
        return st;
    if (x->dtype != KEEL_FLOAT || x->rank != 4 || rois->dtype != KEEL_FLOAT || rois->rank != 2 ||
        rois->dims[1] != 4 || idx->dtype != KEEL_INT64 || idx->rank != 1 || idx->dims[0] != rois->dims[0])
        return kl_op_fail(c, KEEL_ERR_SHAPE, "X float [N, C, H, W], rois float [R, 4], batch_indices int64 [R]");
    kl_set_shape(c->out[0], KEEL_FLOAT, 4, (int64_t[]){rois->dims[0], x->dims[1], g.oh, g.ow});
    return KEEL_OK;
}

/* The four weighted corners of a bilinear sample of one plane, with
 * RoiAlign's edge rules (all 0 outside).  avg mode adds them; max mode
 * keeps the largest, as the reference implementation does. */
static void corners(const float *p, int64_t h, int64_t w, float y, float x, float v[4])
{
    v[0] = v[1] = v[2] = v[3] = 0;
    if (y < -1.0f || y > (float)h || x < -1.0f || x > (float)w)
        return;
    y = y <= 0 ? 0 : y;
    x = x <= 0 ? 0 : x;
    int64_t y0 = (int64_t)y, x0 = (int64_t)x, y1 = y0 + 1, x1 = x0 + 1;
    if (y0 >= h - 1) {
        y0 = y1 = h - 1;
        y = (float)y0;
    }
    if (x0 >= w - 1) {
        x0 = x1 = w - 1;
        x = (float)x0;
    }
    float ly = y - (float)y0, lx = x - (float)x0, hy = 1 - ly, hx = 1 - lx;
    v[0] = hy * hx * p[y0 * w + x0];
    v[1] = hy * lx * p[y0 * w + x1];
    v[2] = ly * hx * p[y1 * w + x0];
    v[3] = ly * lx * p[y1 * w + x1];
}

static float combine(bool max_mode, const float v[4])
{
    if (!max_mode)
        return v[0] + v[1] + v[2] + v[3];
    float m = v[0];
    for (int i = 1; i < 4; i++)
        m = v[i] > m ? v[i] : m;
    return m;
}

static keel_status roialign_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0], *rois = c->in[1], *idx = c->in[2];
    roi_cfg g;
    keel_status st = read_cfg(c, &g);
    if (st)
        return st;
    int64_t n = x->dims[0], ch = x->dims[1], h = x->dims[2], w = x->dims[3];
    const float *box = rois->data;
    const int64_t *bi = idx->data;
    float *out = c->out[0]->data, off = g.half_pixel ? 0.5f : 0.0f;
    for (int64_t r = 0; r < rois->dims[0]; r++, box += 4) {
        if (bi[r] < 0 || bi[r] >= n)
            return kl_op_fail(c, KEEL_ERR_RUNTIME, "batch_indices[%lld] = %lld is outside [0, %lld)", (long long)r,
                              (long long)bi[r], (long long)n);
        float x1 = box[0] * g.scale - off, y1 = box[1] * g.scale - off;
        float rw = box[2] * g.scale - off - x1, rh = box[3] * g.scale - off - y1;
        if (!g.half_pixel) {
            rw = rw > 1 ? rw : 1;
            rh = rh > 1 ? rh : 1;
        }
        /* the adaptive sample grid grows with the box: a NaN or far-off box
         * (beyond 16 times the feature map) would be a hang or an undefined
         * float -> int64 conversion */
        if (!(isfinite(x1) && isfinite(y1) && fabsf(rw) <= 16.0f * (float)(w + 1) &&
              fabsf(rh) <= 16.0f * (float)(h + 1) &&
              fabsf(x1) <= 16.0f * (float)(w + 1) && fabsf(y1) <= 16.0f * (float)(h + 1)))
            return kl_op_fail(c, KEEL_ERR_RUNTIME, "roi %lld (%g, %g, %g, %g) is not finite or lies far outside "
                              "the %lld x %lld feature map", (long long)r, (double)box[0], (double)box[1],
                              (double)box[2], (double)box[3], (long long)h, (long long)w);
        float bh = rh / (float)g.oh, bw = rw / (float)g.ow;
        int64_t gh = g.ratio ? g.ratio : (int64_t)ceilf(rh / (float)g.oh);
        int64_t gw = g.ratio ? g.ratio : (int64_t)ceilf(rw / (float)g.ow);
        gh = gh < 1 ? 1 : gh;
        gw = gw < 1 ? 1 : gw;
        for (int64_t k = 0; k < ch; k++) {
            const float *plane = (const float *)x->data + (bi[r] * ch + k) * h * w;
            for (int64_t py = 0; py < g.oh; py++)
                for (int64_t px = 0; px < g.ow; px++) {
                    float acc = 0;
                    bool first = true;
                    for (int64_t iy = 0; iy < gh; iy++)
                        for (int64_t ix = 0; ix < gw; ix++) {
                            float yy = y1 + (float)py * bh + ((float)iy + 0.5f) * bh / (float)gh;
                            float xx = x1 + (float)px * bw + ((float)ix + 0.5f) * bw / (float)gw;
                            float v[4];
                            corners(plane, h, w, yy, xx, v);
                            float val = combine(g.max_mode, v);
                            if (!g.max_mode)
                                acc += val;
                            else if (first || val > acc)
                                acc = val;
                            first = false;
                        }
                    out[((r * ch + k) * g.oh + py) * g.ow + px] = g.max_mode ? acc : acc / (float)(gh * gw);
                }
        }
    }
    return KEEL_OK;
}

static const kl_op roialign = {.type = "RoiAlign", .since = 10, .min_inputs = 3, .max_inputs = 3,
                               .infer = roialign_infer, .run = roialign_run};

const kl_op *const kl_opfile_roialign[] = {&roialign, NULL};
