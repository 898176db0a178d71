/* meanvariancenormalization.c -- MeanVarianceNormalization (opsets 9 and
 * 13), float: y = (x - mean) / (sqrt(var) + 1e-9) with mean and variance
 * over attribute `axes` (default [0, 2, 3]: per channel of NCHW). */
#include <math.h>
#include <string.h>

#include "drivers/norm.h"

static keel_status mvn_axes(kl_opctx *c, bool *reduced, int64_t *groups)
{
    const kl_tensor *x = c->in[0];
    static const int64_t default_axes[] = {0, 2, 3};
    const int64_t *axes = default_axes;
    int n = kl_attr_ints(c->node, "axes", &axes);
    if (n < 0) {
        axes = default_axes;
        n = 3;
    }
    memset(reduced, 0, KL_MAX_RANK * sizeof *reduced);
    for (int i = 0; i < n; i++) {
        int axis;
        keel_status st = kl_norm_axis(c, axes[i], x->rank, &axis);
        if (st)
            return st;
        reduced[axis] = true;
    }
    *groups = 1;
    for (int d = 0; d < x->rank; d++)
        if (!reduced[d])
            *groups *= x->dims[d];
    return KEEL_OK;
}

static keel_status mvn_infer(kl_opctx *c)
{
    static const int types[] = {KEEL_FLOAT, 0};
    bool reduced[KL_MAX_RANK];
    int64_t groups;
    keel_status st = kl_require_dtype(c, 0, types);
    if (!st)
        st = mvn_axes(c, reduced, &groups);
    if (!st)
        kl_set_shape(c->out[0], KEEL_FLOAT, c->in[0]->rank, c->in[0]->dims);
    return st;
}

static size_t mvn_scratch(kl_opctx *c)
{
    bool reduced[KL_MAX_RANK];
    int64_t groups = 0;
    return mvn_axes(c, reduced, &groups) ? 0 : (size_t)groups * 2 * sizeof(double);
}

static keel_status mvn_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    bool reduced[KL_MAX_RANK];
    int64_t groups;
    keel_status st = mvn_axes(c, reduced, &groups);
    if (st)
        return st;
    double *mean = c->scratch, *var = mean + groups;
    kl_group_moments(c->env->kern, x->data, x->rank, x->dims, reduced, mean, var);
    for (int64_t g = 0; g < groups; g++)
        var[g] = 1.0 / (sqrt(var[g]) + 1e-9); /* now the scale */
    kl_group_walk w;
    kl_group_walk_init(&w, x->rank, x->dims, reduced);
    const float *src = x->data;
    float *dst = c->out[0]->data;
    for (int64_t i = 0, n = kl_numel(x); i < n; i++, kl_group_walk_next(&w))
        dst[i] = (float)((src[i] - mean[w.group]) * var[w.group]);
    return KEEL_OK;
}

/* Opset 13 adds bfloat16 only. */
static const kl_op mvn_v9 = {.type = "MeanVarianceNormalization", .since = 9, .min_inputs = 1,
                             .max_inputs = 1, .infer = mvn_infer, .run = mvn_run,
                             .scratch = mvn_scratch};

const kl_op *const kl_opfile_meanvariancenormalization[] = {&mvn_v9, NULL};
