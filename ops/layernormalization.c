/* layernormalization.c -- LayerNormalization (opset 17), float: each
 * slice X[i0, ..., i(axis-1), :, ...] is normalized over the dims from
 * `axis` (default -1) on, y = (x - mean) / sqrt(var + epsilon) * Scale + B,
 * with Scale and the optional B broadcast to X.shape[axis:].  Optional
 * outputs Mean and InvStdDev have X's rank with 1 for the normalized
 * dims.  Only stash_type 1 (float statistics) exists for float input.
 * The pass fuse_norm makes it from the decomposed form of older opsets.
 * The slices go to the kernel table's layernorm, split over the
 * session's threads (each slice computed alike on any of them). */
#include "drivers/eltwise.h"
#include "kernels/kernels.h"

typedef struct ln_geom {
    int axis;
    int64_t groups, len;             /* slices, elements in each */
} ln_geom;

/* Scale or B (input i) must broadcast to X.shape[axis:]. */
static keel_status check_affine(kl_opctx *c, int i, int axis)
{
    const kl_tensor *x = c->in[0], *t = c->in[i];
    char xs[128], ts[128];
    if (t->dtype != KEEL_FLOAT)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "input %d has type %s; only float is supported", i,
                          kl_dtype_name(t->dtype));
    bool fits = t->rank <= x->rank - axis;
    for (int k = 0; fits && k < t->rank; k++) {
        int64_t dt = t->dims[t->rank - 1 - k], dx = x->dims[x->rank - 1 - k];
        fits = dt == dx || dt == 1;
    }
    if (!fits)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input %d (%s) does not broadcast to the normalized dims of X %s from axis %d",
                          i, kl_shape_str(t, ts, sizeof ts), kl_shape_str(x, xs, sizeof xs), axis);
    return KEEL_OK;
}

static keel_status geometry(kl_opctx *c, ln_geom *g)
{
    static const int types[] = {KEEL_FLOAT, 0};
    const kl_tensor *x = c->in[0];
    keel_status st;
    if ((st = kl_require_dtype(c, 0, types)))
        return st;
    if (x->rank == 0)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "X is a scalar; there is nothing to normalize over");
    if ((st = kl_norm_axis(c, kl_attr_int(c->node, "axis", -1), x->rank, &g->axis)))
        return st;
    int64_t stash = kl_attr_int(c->node, "stash_type", 1);
    if (stash != 1)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "stash_type %lld; only 1 (float statistics) is supported",
                          (long long)stash);
    if ((st = check_affine(c, 1, g->axis)))
        return st;
    if (c->n_in > 2 && c->in[2] && (st = check_affine(c, 2, g->axis)))
        return st;
    g->groups = kl_dims_product(x->dims, 0, g->axis);
    g->len = kl_dims_product(x->dims, g->axis, x->rank);
    return KEEL_OK;
}

static keel_status ln_infer(kl_opctx *c)
{
    ln_geom g;
    keel_status st = geometry(c, &g);
    if (st)
        return st;
    const kl_tensor *x = c->in[0];
    kl_set_shape(c->out[0], KEEL_FLOAT, x->rank, x->dims);
    int64_t stat_dims[KL_MAX_RANK];
    for (int d = 0; d < x->rank; d++)
        stat_dims[d] = d < g.axis ? x->dims[d] : 1;
    for (int k = 1; k < c->n_out && k < 3; k++)
        if (c->out[k])
            kl_set_shape(c->out[k], KEEL_FLOAT, x->rank, stat_dims);
    return KEEL_OK;
}

/* Scratch: Scale and B expanded to len floats each. */
static size_t ln_scratch(kl_opctx *c)
{
    ln_geom g;
    if (geometry(c, &g))
        return 0;
    return (size_t)g.len * 2 * sizeof(float);
}

/* Input i broadcast to the normalized dims into dst (len floats); 0 when
 * the input is absent. */
static void expand(kl_opctx *c, int i, int axis, float *dst, int64_t len)
{
    const kl_tensor *x = c->in[0], *t = i < c->n_in ? c->in[i] : NULL;
    if (!t) {
        for (int64_t k = 0; k < len; k++)
            dst[k] = 0;
        return;
    }
    int rank = x->rank - axis;
    int64_t strides[KL_MAX_RANK], step = (int64_t)sizeof(float);
    for (int k = rank - 1; k >= 0; k--) {
        int tk = k - (rank - t->rank);
        bool real = tk >= 0 && t->dims[tk] != 1;
        strides[k] = real ? step : 0;
        if (tk >= 0)
            step *= t->dims[tk];
    }
    kl_copy_strided(dst, t->data, rank, x->dims + axis, strides, sizeof(float));
}

/* Slices [lo, hi) of X through the kernel table's rows. */
typedef struct ln_job {
    const kl_kernels *kern;
    const float *x, *scale, *bias;
    float *y, *mean, *inv;
    int64_t len;
    float eps;
} ln_job;

static void ln_rows(void *arg, int64_t lo, int64_t hi)
{
    const ln_job *j = arg;
    j->kern->layernorm.fn(j->x + lo * j->len, j->y + lo * j->len, hi - lo, j->len, j->scale, j->bias, j->eps,
                          j->mean ? j->mean + lo : NULL, j->inv ? j->inv + lo : NULL);
}

static keel_status ln_run(kl_opctx *c)
{
    ln_geom g;
    keel_status st = geometry(c, &g);
    if (st)
        return st;
    float *scale = c->scratch, *bias = scale + g.len;
    if (g.len == 0 || g.groups == 0)
        return KEEL_OK;
    expand(c, 1, g.axis, scale, g.len);
    expand(c, 2, g.axis, bias, g.len);
    /* the slices are contiguous: X's dims from axis on */
    ln_job j = {c->env->kern, c->in[0]->data, scale, bias, c->out[0]->data,
                c->n_out > 1 && c->out[1] ? c->out[1]->data : NULL, c->n_out > 2 && c->out[2] ? c->out[2]->data : NULL,
                g.len, kl_attr_float(c->node, "epsilon", 1e-5f)};
    kl_parallel_for(g.groups * g.len >= 16384 ? c->pool : NULL, g.groups, ln_rows, &j);
    return KEEL_OK;
}

static bool ln_images_apart(const kl_opctx *c)
{
    return kl_axis_not_batch(c, -1);
}

static const kl_op ln_v17 = {.type = "LayerNormalization", .since = 17, .min_inputs = 2,
                             .max_inputs = 3, .infer = ln_infer, .run = ln_run,
                             .scratch = ln_scratch, .batch = KL_BATCH_PER_IMAGE,
                             .images_apart = ln_images_apart};

const kl_op *const kl_opfile_layernormalization[] = {&ln_v17, NULL};
