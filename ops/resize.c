/* resize.c -- Resize (opsets 10, 11, 13, 18 without antialias, axes and
 * keep_aspect_ratio_policy) and Upsample (7, 9): every output element is a
 * weighted sum of input elements, separable over the dims.  For each dim
 * and output coordinate a table of taps (input index, weight) is built
 * once per run: one tap for nearest, two for linear, four for cubic.
 *
 * The output coordinate maps to the input through
 * coordinate_transformation_mode (half_pixel by default from opset 11;
 * opset 10 and Upsample use asymmetric with floor for nearest). */
#include <math.h>
#include <string.h>

#include "drivers/eltwise.h"

#define MAX_TAPS 4

typedef enum { MODE_NEAREST, MODE_LINEAR, MODE_CUBIC } resize_mode;

typedef struct resize_cfg {
    resize_mode mode;
    const char *ctm, *nearest;
    float cubic_a, extrapolation;
    bool exclude_outside;
    float scales[KL_MAX_RANK];
    int64_t out[KL_MAX_RANK];
    float roi[2 * KL_MAX_RANK];
    bool has_roi;
    bool from_sizes;         /* output lengths given, not derived from scales */
} resize_cfg;

typedef struct tap {
    int64_t index;
    float weight;
} tap;

static bool present(const kl_opctx *c, int i)
{
    return i < c->n_in && c->in[i] && kl_numel(c->in[i]) > 0;
}

static keel_status read_floats(kl_opctx *c, int i, float *dst, int64_t count, const char *what)
{
    const kl_tensor *t = c->in[i];
    if (t->dtype != KEEL_FLOAT || kl_numel(t) != count)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "%s must be %lld floats", what, (long long)count);
    if (!t->data)
        return kl_op_needs_data(c, i);
    memcpy(dst, t->data, (size_t)count * sizeof *dst);
    return KEEL_OK;
}

/* Where scales and sizes are among the inputs for this op and opset. */
static void input_slots(const kl_opctx *c, bool upsample, int *roi, int *scales, int *sizes)
{
    bool v10 = upsample || c->opset < 11;
    *roi = v10 ? -1 : 1;
    *scales = v10 ? 1 : 2;
    *sizes = v10 ? -1 : 3;
}

static keel_status read_mode(kl_opctx *c, bool upsample, resize_cfg *g)
{
    const char *mode = kl_attr_str(c->node, "mode", "nearest");
    g->mode = strcmp(mode, "nearest") == 0 ? MODE_NEAREST
              : strcmp(mode, "linear") == 0 || strcmp(mode, "bilinear") == 0 ? MODE_LINEAR
              : strcmp(mode, "cubic") == 0 ? MODE_CUBIC : (resize_mode)-1;
    bool v10 = upsample || c->opset < 11;
    g->ctm = v10 ? "asymmetric" : kl_attr_str(c->node, "coordinate_transformation_mode", "half_pixel");
    g->nearest = v10 ? "floor" : kl_attr_str(c->node, "nearest_mode", "round_prefer_floor");
    g->cubic_a = kl_attr_float(c->node, "cubic_coeff_a", -0.75f);
    g->exclude_outside = kl_attr_int(c->node, "exclude_outside", 0) != 0;
    g->extrapolation = kl_attr_float(c->node, "extrapolation_value", 0.0f);
    if ((int)g->mode < 0 || (v10 && g->mode == MODE_CUBIC))
        return kl_op_fail(c, KEEL_ERR_INVALID, "mode '%s'", mode);
    static const char *const ctms[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                       "tf_half_pixel_for_nn", "tf_crop_and_resize", NULL};
    static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil", NULL};
    bool ok_ctm = false, ok_nearest = false;
    for (int k = 0; ctms[k]; k++)
        ok_ctm = ok_ctm || strcmp(g->ctm, ctms[k]) == 0;
    for (int k = 0; nearests[k]; k++)
        ok_nearest = ok_nearest || strcmp(g->nearest, nearests[k]) == 0;
    if (!ok_ctm || !ok_nearest)
        return kl_op_fail(c, KEEL_ERR_INVALID, "coordinate_transformation_mode '%s' or nearest_mode '%s'", g->ctm,
                          g->nearest);
    if (kl_attr_int(c->node, "antialias", 0) || kl_attr_has(c->node, "axes") ||
        strcmp(kl_attr_str(c->node, "keep_aspect_ratio_policy", "stretch"), "stretch"))
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "antialias, axes and keep_aspect_ratio_policy (opset 18)");
    return KEEL_OK;
}

static keel_status configure(kl_opctx *c, bool upsample, resize_cfg *g)
{
    g->from_sizes = false;
    const kl_tensor *x = c->in[0];
    int r = x->rank, roi_i, scales_i, sizes_i;
    keel_status st = read_mode(c, upsample, g);
    if (st)
        return st;
    input_slots(c, upsample, &roi_i, &scales_i, &sizes_i);
    g->has_roi = roi_i >= 0 && present(c, roi_i);
    if (g->has_roi && (st = read_floats(c, roi_i, g->roi, 2 * r, "roi")))
        return st;
    if (upsample && c->opset < 9) {
        const float *s;
        if (kl_attr_floats(c->node, "scales", &s) != r)
            return kl_op_fail(c, KEEL_ERR_INVALID, "attribute scales must have %d values", r);
        memcpy(g->scales, s, (size_t)r * sizeof *s);
    } else if (sizes_i >= 0 && present(c, sizes_i)) {
        int n = 0;
        if ((st = kl_input_ints(c, sizes_i, g->out, KL_MAX_RANK, &n)))
            return st;
        if (n != r)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "sizes has %d values for rank %d", n, r);
        for (int d = 0; d < r; d++)
            g->scales[d] = x->dims[d] ? (float)g->out[d] / (float)x->dims[d] : 1.0f;
        g->from_sizes = true;
        return KEEL_OK;
    } else if (present(c, scales_i)) {
        if ((st = read_floats(c, scales_i, g->scales, r, "scales")))
            return st;
    } else {
        return kl_op_fail(c, KEEL_ERR_INVALID, "needs scales or sizes");
    }
    for (int d = 0; d < r; d++) {
        if (!(g->scales[d] > 0))
            return kl_op_fail(c, KEEL_ERR_INVALID, "scale %g", (double)g->scales[d]);
        if ((st = kl_checked_count(c, floor((double)x->dims[d] * (double)g->scales[d]), "an output dim", &g->out[d])))
            return st;
    }
    return KEEL_OK;
}

/* The input coordinate of output coordinate o along one dim. */
/* (tf_crop_and_resize is handled by taps_of, which knows roi's layout.) */
static double source_coord(const resize_cfg *g, int d, int64_t o, int64_t in, int64_t out)
{
    double s = g->scales[d], x = (double)o;
    const char *m = g->ctm;
    if (strcmp(m, "half_pixel") == 0)
        return (x + 0.5) / s - 0.5;
    if (strcmp(m, "pytorch_half_pixel") == 0)
        return out > 1 ? (x + 0.5) / s - 0.5 : 0;
    if (strcmp(m, "align_corners") == 0) {
        /* with scales, the reference divides by in * scale - 1, not by
         * the rounded length - 1 */
        double len = g->from_sizes ? (double)out : (double)in * s;
        return out == 1 ? 0 : x * (double)(in - 1) / (len - 1);
    }
    if (strcmp(m, "tf_half_pixel_for_nn") == 0)
        return (x + 0.5) / s;
    return x / s; /* asymmetric */
}

static int64_t nearest_index(const resize_cfg *g, double x)
{
    const char *m = g->nearest;
    if (strcmp(m, "floor") == 0)
        return (int64_t)floor(x);
    if (strcmp(m, "ceil") == 0)
        return (int64_t)ceil(x);
    double f = floor(x);
    if (x - f == 0.5)
        return strcmp(m, "round_prefer_ceil") == 0 ? (int64_t)f + 1 : (int64_t)f;
    return (int64_t)round(x);
}

static void cubic_weights(double t, double a, double *w)
{
    double x1 = t + 1, x2 = t, x3 = 1 - t, x4 = 2 - t;
    w[0] = ((a * x1 - 5 * a) * x1 + 8 * a) * x1 - 4 * a;
    w[1] = ((a + 2) * x2 - (a + 3)) * x2 * x2 + 1;
    w[2] = ((a + 2) * x3 - (a + 3)) * x3 * x3 + 1;
    w[3] = ((a * x4 - 5 * a) * x4 + 8 * a) * x4 - 4 * a;
}

static int64_t clamp(int64_t i, int64_t n)
{
    return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/* Taps of output coordinate o along dim d; returns their count, 0 when
 * the coordinate lies outside (tf_crop_and_resize: extrapolation). */
static int taps_of(const resize_cfg *g, int rank, int d, int64_t o, int64_t in, tap *t)
{
    int64_t out = g->out[d];
    double x;
    if (strcmp(g->ctm, "tf_crop_and_resize") == 0) {
        double start = g->has_roi ? g->roi[d] : 0, end = g->has_roi ? g->roi[rank + d] : 1;
        x = out > 1 ? start * (double)(in - 1) + (double)o * (end - start) * (double)(in - 1) / (double)(out - 1)
                    : 0.5 * (start + end) * (double)(in - 1);
        if (x < 0 || x > (double)(in - 1))
            return 0;
    } else {
        x = source_coord(g, d, o, in, out);
    }
    /* a NaN or far-off coordinate (hostile roi or scales) reads the edge,
     * as any coordinate past it does; converting it to int64 would be
     * undefined behaviour */
    if (!(x >= -4.0))
        x = -4.0;
    else if (x > (double)in + 4.0)
        x = (double)in + 4.0;
    if (g->mode == MODE_NEAREST) {
        t[0] = (tap){clamp(nearest_index(g, x), in), 1.0f};
        return 1;
    }
    if (g->mode == MODE_LINEAR) {
        x = x < 0 ? 0 : x > (double)(in - 1) ? (double)(in - 1) : x;
        int64_t x0 = (int64_t)floor(x), x1 = x0 + 1 < in ? x0 + 1 : x0;
        double f = x - (double)x0;
        t[0] = (tap){x0, (float)(1 - f)};
        t[1] = (tap){x1, (float)f};
        return 2;
    }
    int64_t x0 = (int64_t)floor(x);
    double w[4], sum = 0;
    cubic_weights(x - (double)x0, g->cubic_a, w);
    for (int k = 0; k < 4; k++) {
        int64_t i = x0 - 1 + k;
        if (g->exclude_outside && (i < 0 || i >= in))
            w[k] = 0;
        sum += w[k];
        t[k] = (tap){clamp(i, in), (float)w[k]};
    }
    if (g->exclude_outside && sum != 0)
        for (int k = 0; k < 4; k++)
            t[k].weight = (float)(w[k] / sum);
    return 4;
}

static keel_status infer_as(kl_opctx *c, bool upsample)
{
    const kl_tensor *x = c->in[0];
    resize_cfg g;
    keel_status st = configure(c, upsample, &g);
    if (st)
        return st;
    if (x->dtype != KEEL_FLOAT && (g.mode != MODE_NEAREST || !kl_dtype_supported(x->dtype)))
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "%s input with mode other than nearest", kl_dtype_name(x->dtype));
    kl_set_shape(c->out[0], x->dtype, x->rank, g.out);
    return KEEL_OK;
}

/* scratch: per dim and output coordinate, MAX_TAPS taps and a count */
static size_t resize_scratch(kl_opctx *c)
{
    int64_t total = 0;
    for (int d = 0; d < c->out[0]->rank; d++)
        total += c->out[0]->dims[d];
    return (size_t)total * (MAX_TAPS * sizeof(tap) + sizeof(int));
}

/* Adds the weighted taps of dims d.. to *acc (float data). */
static void gather(const resize_cfg *g, const kl_tensor *x, tap *const *tables, int *const *counts,
                   const int64_t *pos, int d, int64_t base, float weight, double *acc)
{
    if (d == x->rank) {
        *acc += (double)weight * ((const float *)x->data)[base];
        return;
    }
    const tap *t = tables[d] + pos[d] * MAX_TAPS;
    int64_t stride = kl_dims_product(x->dims, d + 1, x->rank);
    for (int k = 0; k < counts[d][pos[d]]; k++)
        if (t[k].weight != 0)
            gather(g, x, tables, counts, pos, d + 1, base + t[k].index * stride, weight * t[k].weight, acc);
}

static keel_status run_as(kl_opctx *c, bool upsample)
{
    const kl_tensor *x = c->in[0];
    kl_tensor *out = c->out[0];
    resize_cfg g;
    keel_status st = configure(c, upsample, &g);
    if (st)
        return st;
    int r = x->rank;
    tap *tables[KL_MAX_RANK];
    int *counts[KL_MAX_RANK];
    char *mem = c->scratch;
    for (int d = 0; d < r; d++) {
        tables[d] = (tap *)mem;
        mem += (size_t)out->dims[d] * MAX_TAPS * sizeof(tap);
    }
    for (int d = 0; d < r; d++) {
        counts[d] = (int *)mem;
        mem += (size_t)out->dims[d] * sizeof(int);
        for (int64_t o = 0; o < out->dims[d]; o++)
            counts[d][o] = taps_of(&g, r, d, o, x->dims[d], tables[d] + o * MAX_TAPS);
    }
    size_t es = kl_dtype_size(x->dtype);
    int64_t pos[KL_MAX_RANK] = {0}, n = kl_numel(out);
    for (int64_t i = 0; i < n; i++) {
        bool outside = false;
        for (int d = 0; d < r; d++)
            outside = outside || counts[d][pos[d]] == 0;
        if (x->dtype == KEEL_FLOAT) {
            double acc = 0;
            if (!outside)
                gather(&g, x, tables, counts, pos, 0, 0, 1.0f, &acc);
            ((float *)out->data)[i] = outside ? g.extrapolation : (float)acc;
        } else { /* nearest on any type: copy the one tap */
            int64_t off = 0;
            for (int d = 0; d < r; d++)
                off = off * x->dims[d] + tables[d][pos[d] * MAX_TAPS].index;
            memcpy((char *)out->data + (size_t)i * es, (const char *)x->data + (size_t)off * es, es);
        }
        for (int d = r - 1; d >= 0; d--) {
            if (++pos[d] < out->dims[d])
                break;
            pos[d] = 0;
        }
    }
    return KEEL_OK;
}

static keel_status resize_infer(kl_opctx *c) { return infer_as(c, false); }
static keel_status resize_run(kl_opctx *c) { return run_as(c, false); }
static keel_status upsample_infer(kl_opctx *c) { return infer_as(c, true); }
static keel_status upsample_run(kl_opctx *c) { return run_as(c, true); }

static const kl_op resize10 = {.type = "Resize", .since = 10, .until = 10, .min_inputs = 2,
                               .max_inputs = 2, .infer = resize_infer, .run = resize_run,
                               .scratch = resize_scratch};
static const kl_op resize11 = {.type = "Resize", .since = 11, .min_inputs = 1, .max_inputs = 4,
                               .infer = resize_infer, .run = resize_run, .scratch = resize_scratch};
static const kl_op upsample7 = {.type = "Upsample", .since = 7, .until = 8, .min_inputs = 1,
                                .max_inputs = 1, .infer = upsample_infer, .run = upsample_run,
                                .scratch = resize_scratch};
static const kl_op upsample9 = {.type = "Upsample", .since = 9, .until = 9, .min_inputs = 2,
                                .max_inputs = 2, .infer = upsample_infer, .run = upsample_run,
                                .scratch = resize_scratch};

const kl_op *const kl_opfile_resize[] = {&resize10, &resize11, &upsample7, &upsample9, NULL};
