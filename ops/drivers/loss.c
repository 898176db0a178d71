/* ops/drivers/loss.c -- the losses of ops/drivers/loss.h.  The input is viewed as
 * [N, C, D] with D = d1 * ... * dk; sums are kept in double. */
#include <math.h>
#include <string.h>

#include "eltwise.h"
#include "loss.h"

typedef enum loss_reduction { LOSS_NONE, LOSS_SUM, LOSS_MEAN } loss_reduction;

typedef struct loss_geom {
    int64_t n, classes, d;
    loss_reduction reduction;
    bool has_ignore;
    int64_t ignore_index;
} loss_geom;

static keel_status read_reduction(kl_opctx *c, loss_reduction *r)
{
    const char *s = kl_attr_str(c->node, "reduction", "mean");
    if (strcmp(s, "none") == 0)
        *r = LOSS_NONE;
    else if (strcmp(s, "sum") == 0)
        *r = LOSS_SUM;
    else if (strcmp(s, "mean") == 0)
        *r = LOSS_MEAN;
    else
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'reduction' is '%s'; expected none, sum or mean", s);
    return KEEL_OK;
}

static keel_status geometry(kl_opctx *c, loss_geom *g)
{
    static const int float_types[] = {KEEL_FLOAT, KEEL_DOUBLE, 0};
    static const int index_types[] = {KEEL_INT32, KEEL_INT64, 0};
    keel_status st;
    if ((st = kl_require_dtype(c, 0, float_types)) || (st = kl_require_dtype(c, 1, index_types)) ||
        (st = read_reduction(c, &g->reduction)))
        return st;
    const kl_tensor *x = c->in[0], *t = c->in[1], *w = c->n_in > 2 ? c->in[2] : NULL;
    char xs[128], ts[128];
    if (x->rank < 2)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input is %s; expected rank 2 or more (N, C, ...)",
                          kl_shape_str(x, xs, sizeof xs));
    bool fits = t->rank == x->rank - 1 && t->dims[0] == x->dims[0];
    for (int k = 1; fits && k < t->rank; k++)
        fits = t->dims[k] == x->dims[k + 1];
    if (!fits)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "target %s does not match input %s (expected input's shape without dim 1)",
                          kl_shape_str(t, ts, sizeof ts), kl_shape_str(x, xs, sizeof xs));
    if (w) {
        if (w->dtype != x->dtype)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "weight has type %s; the input has %s",
                              kl_dtype_name(w->dtype), kl_dtype_name(x->dtype));
        if (w->rank != 1 || w->dims[0] != x->dims[1])
            return kl_op_fail(c, KEEL_ERR_SHAPE, "weight is %s; expected %lld values, one per class",
                              kl_shape_str(w, ts, sizeof ts), (long long)x->dims[1]);
    }
    g->n = x->dims[0];
    g->classes = x->dims[1];
    g->d = kl_dims_product(x->dims, 2, x->rank);
    g->has_ignore = kl_attr_has(c->node, "ignore_index");
    g->ignore_index = kl_attr_int(c->node, "ignore_index", 0);
    return KEEL_OK;
}

keel_status kl_loss_infer(kl_opctx *c, bool softmax)
{
    loss_geom g = {0};
    keel_status st = geometry(c, &g);
    if (st)
        return st;
    const kl_tensor *x = c->in[0], *t = c->in[1];
    if (g.reduction == LOSS_NONE)
        kl_set_shape(c->out[0], x->dtype, t->rank, t->dims);
    else
        kl_set_shape(c->out[0], x->dtype, 0, NULL);
    if (c->n_out > 1 && c->out[1]) {
        if (!softmax)
            return kl_op_fail(c, KEEL_ERR_INVALID, "the op has one output, not %d", c->n_out);
        kl_set_shape(c->out[1], x->dtype, x->rank, x->dims);
    }
    return KEEL_OK;
}

size_t kl_loss_scratch(kl_opctx *c, bool softmax)
{
    /* log_prob when output 1 is not asked for */
    return softmax ? kl_nbytes(c->in[0]) : 0;
}

static double get(const void *data, int dtype, int64_t i)
{
    return dtype == KEEL_FLOAT ? ((const float *)data)[i] : ((const double *)data)[i];
}

static void put(void *data, int dtype, int64_t i, double v)
{
    if (dtype == KEEL_FLOAT)
        ((float *)data)[i] = (float)v;
    else
        ((double *)data)[i] = v;
}

static int64_t get_index(const kl_tensor *t, int64_t i)
{
    return t->dtype == KEEL_INT64 ? ((const int64_t *)t->data)[i] : ((const int32_t *)t->data)[i];
}

/* log(softmax(x)) along C into out, both [N, C, D]. */
static void log_softmax(const loss_geom *g, int dtype, const void *x, void *out)
{
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t d = 0; d < g->d; d++) {
            int64_t base = n * g->classes * g->d + d;
            double m = -INFINITY, sum = 0;
            for (int64_t k = 0; k < g->classes; k++)
                m = fmax(m, get(x, dtype, base + k * g->d));
            for (int64_t k = 0; k < g->classes; k++)
                sum += exp(get(x, dtype, base + k * g->d) - m);
            double lse = m + log(sum);
            for (int64_t k = 0; k < g->classes; k++)
                put(out, dtype, base + k * g->d, get(x, dtype, base + k * g->d) - lse);
        }
}

keel_status kl_loss_run(kl_opctx *c, bool softmax)
{
    loss_geom g = {0};
    keel_status st = geometry(c, &g);
    if (st)
        return st;
    const kl_tensor *x = c->in[0], *t = c->in[1], *w = c->n_in > 2 ? c->in[2] : NULL;
    const int dtype = x->dtype;
    const void *logp = x->data;
    if (softmax) {
        void *dst = c->n_out > 1 && c->out[1] ? c->out[1]->data : c->scratch;
        log_softmax(&g, dtype, x->data, dst);
        logp = dst;
    }
    void *y = c->out[0]->data;
    double total = 0, weight_sum = 0;
    for (int64_t n = 0; n < g.n; n++)
        for (int64_t d = 0; d < g.d; d++) {
            int64_t at = n * g.d + d, cls = get_index(t, at);
            double loss = 0, weight = 0;
            if (!g.has_ignore || cls != g.ignore_index) {
                if (cls < 0 || cls >= g.classes)
                    return kl_op_fail(c, KEEL_ERR_RUNTIME, "target %lld is not a class index in [0, %lld)",
                                      (long long)cls, (long long)g.classes);
                weight = w ? get(w->data, dtype, cls) : 1.0;
                loss = -get(logp, dtype, (n * g.classes + cls) * g.d + d) * weight;
            }
            if (g.reduction == LOSS_NONE)
                put(y, dtype, at, loss);
            total += loss;
            weight_sum += weight;
        }
    if (g.reduction == LOSS_SUM)
        put(y, dtype, 0, total);
    else if (g.reduction == LOSS_MEAN)
        put(y, dtype, 0, total / weight_sum);
    return KEEL_OK;
}
