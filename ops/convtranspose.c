/* convtranspose.c -- ConvTranspose (opsets 1 and 11; 1-D, 2-D, 3-D),
 * float: X [N, C, D1, ...], W [C, M/group, k1, ...], optional B [M].
 *
 * Along each spatial dim the output has
 *   stride * (in - 1) + output_padding + (k - 1) * dilation + 1 - pads
 * elements.  With output_shape (spatial dims, or all dims) the output has
 * that size and the pads are derived from it; auto_pad SAME_UPPER or
 * SAME_LOWER makes the output in * stride.  Derived pads put the odd one
 * at the end for SAME_UPPER and at the start otherwise; they are negative
 * (output beyond the input's reach, left at the bias) when output_shape
 * is larger than the natural size.
 *
 * Per batch item and group: cols = W_g^T * X_g, an sgemm giving each
 * (output channel, kernel offset) row its contributions at every input
 * position, then col2im adds each one where it lands in the output. */
#include <string.h>

#include "drivers/reference.h"
#include "kernels/blas.h"
#include "kernels/kernels.h"

#define SP KL_CONV_SP /* spatial dims handled: D, H, W; lower ranks get unit dims */


/* INTS attribute `name` with `count` values into vals, or dflt for each. */
static keel_status ints_attr(kl_opctx *c, const char *name, int count, int64_t dflt, int64_t *vals)
{
    const int64_t *v;
    int n = kl_attr_ints(c->node, name, &v);
    for (int i = 0; i < count; i++)
        vals[i] = i < n ? v[i] : dflt;
    if (n >= 0 && n != count)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute '%s' has %d values; %d expected", name, n, count);
    return KEEL_OK;
}

static keel_status check_inputs(kl_opctx *c, ct_geom *g)
{
    const kl_tensor *x = c->in[0], *w = c->in[1], *b = c->n_in > 2 ? c->in[2] : NULL;
    if (x->dtype != KEEL_FLOAT || w->dtype != KEEL_FLOAT || (b && b->dtype != KEEL_FLOAT))
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "only float tensors are supported");
    if (x->rank < 3 || x->rank > 2 + SP || w->rank != x->rank)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input rank %d and weight rank %d: expected equal ranks 3 to 5",
                          x->rank, w->rank);
    g->nsp = x->rank - 2;
    g->n = x->dims[0];
    g->c = x->dims[1];
    g->group = kl_attr_int(c->node, "group", 1);
    if (g->group < 1 || g->c % g->group || w->dims[0] != g->c)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input has %lld channels, weight dim 0 is %lld, group %lld: they do not fit",
                          (long long)g->c, (long long)w->dims[0], (long long)g->group);
    g->m = w->dims[1] * g->group;
    if (b && (b->rank != 1 || b->dims[0] != g->m))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "B must hold %lld values, one per output channel", (long long)g->m);
    return KEEL_OK;
}

/* output_shape: the spatial dims, or all dims (N and C are then ignored);
 * *given is false when absent. */
static keel_status read_output_shape(kl_opctx *c, int nsp, int64_t *shape, bool *given)
{
    const int64_t *v;
    int n = kl_attr_ints(c->node, "output_shape", &v);
    *given = n >= 0;
    if (n < 0)
        return KEEL_OK;
    if (n != nsp && n != nsp + 2)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'output_shape' has %d values; %d expected", n, nsp);
    for (int s = 0; s < nsp; s++)
        shape[s] = v[n - nsp + s];
    return KEEL_OK;
}

static int64_t floor_half(int64_t v)
{
    return v >= 0 ? v / 2 : -((1 - v) / 2);
}

static keel_status geometry(kl_opctx *c, ct_geom *g)
{
    memset(g, 0, sizeof *g);
    keel_status st = check_inputs(c, g);
    if (st)
        return st;
    const int nsp = g->nsp;
    const kl_tensor *x = c->in[0], *w = c->in[1];
    int64_t ks[SP], strides[SP], dils[SP], out_pad[SP], pads[2 * SP], out_shape[SP];
    bool shape_given;
    if ((st = ints_attr(c, "strides", nsp, 1, strides)) || (st = ints_attr(c, "dilations", nsp, 1, dils)) ||
        (st = ints_attr(c, "pads", 2 * nsp, 0, pads)) || (st = ints_attr(c, "output_padding", nsp, 0, out_pad)) ||
        (st = ints_attr(c, "kernel_shape", nsp, -1, ks)) ||
        (st = read_output_shape(c, nsp, out_shape, &shape_given)))
        return st;
    const char *auto_pad = kl_attr_str(c->node, "auto_pad", "NOTSET");
    const bool same = strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0;
    if (!same && strcmp(auto_pad, "NOTSET") != 0 && strcmp(auto_pad, "VALID") != 0)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'auto_pad' is '%s'", auto_pad);
    g->in_size = g->out_size = g->k_size = 1;
    for (int i = 0; i < SP; i++) {
        int s = i - (SP - nsp); /* the model's spatial dim, < 0 for filler */
        if (s < 0) {
            g->in[i] = g->out[i] = g->k[i] = g->stride[i] = g->dil[i] = 1;
            continue;
        }
        g->in[i] = x->dims[2 + s];
        g->k[i] = w->dims[2 + s];
        g->stride[i] = strides[s];
        g->dil[i] = dils[s];
        if (ks[s] != -1 && ks[s] != g->k[i])
            return kl_op_fail(c, KEEL_ERR_SHAPE, "kernel_shape says %lld, the weight %lld", (long long)ks[s],
                              (long long)g->k[i]);
        if (g->stride[i] < 1 || g->dil[i] < 1 || g->k[i] < 1 || pads[s] < 0 || pads[s + nsp] < 0 ||
            out_pad[s] < 0 || out_pad[s] >= (g->stride[i] > g->dil[i] ? g->stride[i] : g->dil[i]))
            return kl_op_fail(c, KEEL_ERR_INVALID, "strides, dilations and kernel must be positive, pads not negative, "
                              "output_padding below the stride or dilation");
        /* hostile strides, dilations, pads or output_shape overflow int64
         * here: checked, since signed overflow is undefined behaviour */
        int64_t full, reach, total;
        bool over = __builtin_mul_overflow(g->stride[i], g->in[i] - 1, &full) ||
                    __builtin_mul_overflow(g->k[i] - 1, g->dil[i], &reach) ||
                    __builtin_add_overflow(full, reach, &full) || __builtin_add_overflow(full, out_pad[s] + 1, &full);
        if (shape_given && out_shape[s] < 0)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "output_shape has a negative dim %lld", (long long)out_shape[s]);
        if (!over && (shape_given || same)) {
            over = !shape_given && __builtin_mul_overflow(g->in[i], g->stride[i], &g->out[i]);
            if (shape_given)
                g->out[i] = out_shape[s];
            /* negative when output_shape asks for more than the input
             * reaches: the extra is left at the bias */
            total = full - g->out[i]; /* both >= 0: no overflow */
            int64_t half = floor_half(total);
            g->pad[i] = strcmp(auto_pad, "SAME_UPPER") == 0 ? half : total - half;
        } else if (!over) {
            if (strcmp(auto_pad, "VALID") == 0)
                pads[s] = pads[s + nsp] = 0;
            g->pad[i] = pads[s];
            over = __builtin_sub_overflow(full - pads[s], pads[s + nsp], &g->out[i]);
        }
        if (over)
            return kl_op_fail(c, KEEL_ERR_LIMIT, "spatial dim %d of the output overflows", s);
        if (g->out[i] < 0)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "the pads leave spatial dim %d with a negative size", s);
        if (__builtin_mul_overflow(g->out_size, g->out[i], &g->out_size))
            return kl_op_fail(c, KEEL_ERR_LIMIT, "the output's spatial size overflows");
        g->in_size *= g->in[i];
        g->k_size *= g->k[i];
    }
    return KEEL_OK;
}

static keel_status ct_infer(kl_opctx *c)
{
    ct_geom g;
    keel_status st = geometry(c, &g);
    if (st)
        return st;
    int64_t dims[2 + SP] = {g.n, g.m};
    for (int s = 0; s < g.nsp; s++)
        dims[2 + s] = g.out[SP - g.nsp + s];
    kl_set_shape(c->out[0], KEEL_FLOAT, 2 + g.nsp, dims);
    return KEEL_OK;
}

/* cols of one group: (M/group * kernel) rows of in_size */
static size_t ct_scratch(kl_opctx *c)
{
    ct_geom g;
    if (geometry(c, &g) || c->env->reference) /* the reference needs none */
        return 0;
    return (size_t)(g.m / g.group * g.k_size * g.in_size) * sizeof(float);
}

static int64_t ct_macs(kl_opctx *c)
{
    ct_geom g;
    if (geometry(c, &g))
        return 0;
    return g.n * g.c * (g.m / g.group) * g.k_size * g.in_size;
}



static keel_status ct_run(kl_opctx *c)
{
    ct_geom g;
    keel_status st = geometry(c, &g);
    if (st)
        return st;
    if (c->env->reference)
        return kl_ref_conv_transpose(c, &g);
    const float *x = c->in[0]->data, *w = c->in[1]->data;
    const float *bias = c->n_in > 2 && c->in[2] ? c->in[2]->data : NULL;
    float *y = c->out[0]->data, *cols = c->scratch;
    const int64_t cg = g.c / g.group, mg = g.m / g.group, rows = mg * g.k_size;
    for (int64_t n = 0; n < g.n; n++)
        for (int64_t gi = 0; gi < g.group; gi++) {
            float *yg = y + (n * g.m + gi * mg) * g.out_size;
            for (int64_t m = 0; m < mg; m++)
                for (int64_t i = 0; i < g.out_size; i++)
                    yg[m * g.out_size + i] = bias ? bias[gi * mg + m] : 0.0f;
            if (cg == 0 || g.in_size == 0)
                continue;
            const float *xg = x + (n * g.c + gi * cg) * g.in_size, *wg = w + gi * cg * rows;
            kl_sgemm(c, true, false, rows, g.in_size, cg, 1.0f, wg, rows, xg, g.in_size, 0.0f, cols, g.in_size);
            c->env->kern->col2im.fn(&g, cols, mg, yg);
        }
    return KEEL_OK;
}

/* Opset 11 only clarified the pads derived from output_shape. */
static const kl_op ct_v1 = {.type = "ConvTranspose", .since = 1, .min_inputs = 2, .max_inputs = 3,
                            .infer = ct_infer, .run = ct_run, .scratch = ct_scratch,
                            .macs = ct_macs};

const kl_op *const kl_opfile_convtranspose[] = {&ct_v1, NULL};
