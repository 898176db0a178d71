/* conv.c -- Conv (1-D, 2-D, 3-D; groups, depthwise, dilations, strides,
 * pads, auto_pad) for float32.
 *
 * Every shape is handled as 3-D (D, H, W) with unit dims filling in for
 * lower ranks.  Three kernels:
 *   - pointwise (1x1, stride 1, no padding): one sgemm straight on the input;
 *   - depthwise (one input and one output channel per group): a direct loop;
 *   - everything else: im2col into scratch, then sgemm per group.
 * Bias and the fused epilogue (kl_epilogue) are applied per output channel
 * while its plane is still in cache. */
#include <cblas.h>
#include <string.h>

#include "op.h"

#define SP 3  /* spatial dims handled: D, H, W */

typedef struct conv_geom {
    int nsp;                    /* spatial rank of the model's tensors (1-3) */
    int64_t n, c, m, group;     /* batch, in channels, out channels, groups */
    int64_t in[SP], out[SP], k[SP], stride[SP], dil[SP], pad[SP]; /* pad = leading pad */
    int64_t in_size, out_size, k_size; /* products over the spatial dims */
} conv_geom;

static keel_status read_ints(kl_opctx *c, const char *name, int nsp, int64_t dflt, int64_t *vals,
                             int count_mult)
{
    const int64_t *v;
    int n = kl_attr_ints(c->node, name, &v);
    if (n < 0) {
        for (int i = 0; i < nsp * count_mult; i++)
            vals[i] = dflt;
        return KEEL_OK;
    }
    if (n != nsp * count_mult)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute '%s' has %d values; %d expected", name, n,
                          nsp * count_mult);
    for (int i = 0; i < n; i++)
        vals[i] = v[i];
    return KEEL_OK;
}

/* Output extent and leading pad for one spatial dim; false if it does not fit. */
static bool extent(const char *auto_pad, int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb,
                   int64_t pe, int64_t *out, int64_t *lead)
{
    int64_t span = (k - 1) * d + 1;
    if (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0) {
        *out = (in + s - 1) / s;
        int64_t total = (*out - 1) * s + span - in;
        if (total < 0)
            total = 0;
        *lead = strcmp(auto_pad, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
        return *out > 0;
    }
    if (strcmp(auto_pad, "VALID") == 0)
        pb = pe = 0;
    *lead = pb;
    if (in + pb + pe < span)
        return false;
    *out = (in + pb + pe - span) / s + 1;
    return true;
}

static keel_status geometry(kl_opctx *c, conv_geom *g)
{
    const kl_tensor *x = c->in[0], *w = c->in[1];
    memset(g, 0, sizeof *g);
    if (x->dtype != KEEL_FLOAT || w->dtype != KEEL_FLOAT)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "only float tensors are supported (got %s, %s)",
                          kl_dtype_name(x->dtype), kl_dtype_name(w->dtype));
    if (x->rank < 3 || x->rank > 2 + SP || w->rank != x->rank)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input rank %d and weight rank %d: expected equal ranks 3 to 5",
                          x->rank, w->rank);
    g->nsp = x->rank - 2;
    g->n = x->dims[0];
    g->c = x->dims[1];
    g->m = w->dims[0];
    g->group = kl_attr_int(c->node, "group", 1);
    if (g->group < 1 || g->c % g->group || g->m % g->group || w->dims[1] * g->group != g->c)
        return kl_op_fail(c, KEEL_ERR_SHAPE,
                          "input has %lld channels, weight %lld x %lld, group %lld: they do not fit",
                          (long long)g->c, (long long)g->m, (long long)w->dims[1], (long long)g->group);
    const kl_tensor *b = c->n_in > 2 ? c->in[2] : NULL;
    if (b && (b->dtype != KEEL_FLOAT || kl_numel(b) != g->m || b->rank != 1))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "bias must be float[%lld]", (long long)g->m);
    int64_t ks[SP], strides[SP], dils[SP], pads[2 * SP];
    keel_status st;
    if ((st = read_ints(c, "strides", g->nsp, 1, strides, 1)) ||
        (st = read_ints(c, "dilations", g->nsp, 1, dils, 1)) ||
        (st = read_ints(c, "pads", g->nsp, 0, pads, 2)))
        return st;
    if (read_ints(c, "kernel_shape", g->nsp, -1, ks, 1))
        return c->env->status;
    const char *auto_pad = kl_attr_str(c->node, "auto_pad", "NOTSET");
    g->in_size = g->out_size = g->k_size = 1;
    for (int i = 0; i < SP; i++) {
        int s = i - (SP - g->nsp); /* index into the model's spatial dims, <0 for filler */
        if (s < 0) {
            g->in[i] = g->out[i] = g->k[i] = g->stride[i] = g->dil[i] = 1;
            continue;
        }
        g->in[i] = x->dims[2 + s];
        g->k[i] = w->dims[2 + s];
        g->stride[i] = strides[s];
        g->dil[i] = dils[s];
        if (ks[s] != -1 && ks[s] != g->k[i])
            return kl_op_fail(c, KEEL_ERR_SHAPE, "kernel_shape says %lld, the weight %lld",
                              (long long)ks[s], (long long)g->k[i]);
        if (g->stride[i] < 1 || g->dil[i] < 1 || pads[s] < 0 || pads[s + g->nsp] < 0 || g->k[i] < 1)
            return kl_op_fail(c, KEEL_ERR_INVALID, "strides, dilations and kernel must be positive, pads not negative");
        if (!extent(auto_pad, g->in[i], g->k[i], g->stride[i], g->dil[i], pads[s], pads[s + g->nsp],
                    &g->out[i], &g->pad[i]))
            return kl_op_fail(c, KEEL_ERR_SHAPE, "spatial dim %d of size %lld is smaller than the kernel's reach",
                              s, (long long)g->in[i]);
        g->in_size *= g->in[i];
        g->out_size *= g->out[i];
        g->k_size *= g->k[i];
    }
    return KEEL_OK;
}

static bool is_pointwise(const conv_geom *g)
{
    for (int i = 0; i < SP; i++)
        if (g->k[i] != 1 || g->stride[i] != 1 || g->pad[i] != 0)
            return false;
    return true;
}

/* One input and one output channel per group, and a 1-D or 2-D shape: the
 * direct kernel handles it. */
static bool is_depthwise(const conv_geom *g)
{
    return g->group == g->c && g->group == g->m && g->group > 1 && g->in[0] == 1 && g->k[0] == 1;
}

static keel_status conv_infer(kl_opctx *c)
{
    conv_geom g;
    keel_status st = geometry(c, &g);
    if (st)
        return st;
    int64_t dims[2 + SP] = {g.n, g.m};
    for (int s = 0; s < g.nsp; s++)
        dims[2 + s] = g.out[SP - g.nsp + s];
    kl_set_shape(c->out[0], KEEL_FLOAT, 2 + g.nsp, dims);
    return KEEL_OK;
}

static size_t conv_scratch(kl_opctx *c)
{
    conv_geom g;
    if (geometry(c, &g) || is_pointwise(&g) || is_depthwise(&g))
        return 0;
    return (size_t)(g.c / g.group * g.k_size * g.out_size) * sizeof(float);
}

static int64_t conv_macs(kl_opctx *c)
{
    conv_geom g;
    if (geometry(c, &g))
        return 0;
    return g.n * g.m * g.out_size * (g.c / g.group) * g.k_size;
}

/* ---- kernels ------------------------------------------------------------------ */

/* Unfolds one group's input [cg, D, H, W] into col [cg * K, out_size]. */
static void im2col(const conv_geom *g, const float *restrict x, int64_t cg, float *restrict col)
{
    const int64_t od = g->out[0], oh = g->out[1], ow = g->out[2];
    for (int64_t ch = 0; ch < cg; ch++)
        for (int64_t kd = 0; kd < g->k[0]; kd++)
            for (int64_t kh = 0; kh < g->k[1]; kh++)
                for (int64_t kw = 0; kw < g->k[2]; kw++) {
                    const float *plane = x + ch * g->in_size;
                    for (int64_t z = 0; z < od; z++) {
                        int64_t iz = z * g->stride[0] - g->pad[0] + kd * g->dil[0];
                        for (int64_t y = 0; y < oh; y++, col += ow) {
                            int64_t iy = y * g->stride[1] - g->pad[1] + kh * g->dil[1];
                            if (iz < 0 || iz >= g->in[0] || iy < 0 || iy >= g->in[1]) {
                                memset(col, 0, (size_t)ow * sizeof *col);
                                continue;
                            }
                            const float *row = plane + (iz * g->in[1] + iy) * g->in[2];
                            int64_t ix0 = kw * g->dil[2] - g->pad[2], s = g->stride[2];
                            for (int64_t xo = 0; xo < ow; xo++) {
                                int64_t ix = ix0 + xo * s;
                                col[xo] = (ix >= 0 && ix < g->in[2]) ? row[ix] : 0.0f;
                            }
                        }
                    }
                }
}

/* One channel of a depthwise convolution, 2-D (D is 1 here or folded). */
static void depthwise_plane(const conv_geom *g, const float *restrict x, const float *restrict w,
                            float bias, float *restrict y)
{
    const int64_t ih = g->in[1], iw = g->in[2], oh = g->out[1], ow = g->out[2];
    const int64_t sh = g->stride[1], sw = g->stride[2], dh = g->dil[1], dw = g->dil[2];
    for (int64_t oy = 0; oy < oh; oy++) {
        float *restrict out = y + oy * ow;
        for (int64_t ox = 0; ox < ow; ox++)
            out[ox] = bias;
        for (int64_t kh = 0; kh < g->k[1]; kh++) {
            int64_t iy = oy * sh - g->pad[1] + kh * dh;
            if (iy < 0 || iy >= ih)
                continue;
            const float *row = x + iy * iw;
            for (int64_t kw = 0; kw < g->k[2]; kw++) {
                const float wv = w[kh * g->k[2] + kw];
                int64_t off = kw * dw - g->pad[2];
                /* output columns whose input column off + ox*sw is inside the row */
                int64_t lo = off < 0 ? (-off + sw - 1) / sw : 0;
                int64_t hi = (iw - 1 - off) < 0 ? 0 : (iw - 1 - off) / sw + 1;
                if (hi > ow)
                    hi = ow;
                if (sw == 1)
                    for (int64_t ox = lo; ox < hi; ox++)
                        out[ox] += wv * row[off + ox];
                else
                    for (int64_t ox = lo; ox < hi; ox++)
                        out[ox] += wv * row[off + ox * sw];
            }
        }
    }
}

static void finish_channel(kl_opctx *c, float *y, const float *bias, int64_t m, size_t offset,
                           int64_t count, bool add_bias)
{
    if (add_bias && bias)
        for (int64_t i = 0; i < count; i++)
            y[i] += bias[m];
    kl_epilogue_apply(&c->epi, y, offset, (size_t)count);
}

static keel_status conv_run(kl_opctx *c)
{
    conv_geom g;
    geometry(c, &g); /* validated by infer */
    const float *x = c->in[0]->data, *w = c->in[1]->data;
    const float *bias = c->n_in > 2 && c->in[2] ? c->in[2]->data : NULL;
    float *y = c->out[0]->data;
    const int64_t cg = g.c / g.group, mg = g.m / g.group, ck = cg * g.k_size;
    const bool depthwise = is_depthwise(&g);
    const bool pointwise = is_pointwise(&g);
    for (int64_t n = 0; n < g.n; n++) {
        const float *xn = x + n * g.c * g.in_size;
        float *yn = y + n * g.m * g.out_size;
        for (int64_t gi = 0; gi < g.group; gi++) {
            const float *xg = xn + gi * cg * g.in_size;
            const float *wg = w + gi * mg * ck;
            float *yg = yn + gi * mg * g.out_size;
            if (depthwise) {
                depthwise_plane(&g, xg, wg, bias ? bias[gi] : 0.0f, yg);
                finish_channel(c, yg, bias, gi, (size_t)((yg - y)), g.out_size, false);
                continue;
            }
            const float *col = xg;
            if (!pointwise) {
                im2col(&g, xg, cg, c->scratch);
                col = c->scratch;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mg, (int)g.out_size, (int)ck,
                        1.0f, wg, (int)ck, col, (int)g.out_size, 0.0f, yg, (int)g.out_size);
            for (int64_t m = 0; m < mg; m++) {
                float *row = yg + m * g.out_size;
                finish_channel(c, row, bias, gi * mg + m, (size_t)(row - y), g.out_size, true);
            }
        }
    }
    return KEEL_OK;
}

static const kl_op conv_op = {
    .type = "Conv", .domain = "", .since = 1, .until = 0,
    .min_inputs = 2, .max_inputs = 3, .flags = KL_OP_EPILOGUE,
    .infer = conv_infer, .run = conv_run, .scratch = conv_scratch, .macs = conv_macs,
};

const kl_op *const kl_opfile_conv[] = {&conv_op, NULL};
