/* instancenormalization.c -- InstanceNormalization (opsets 1 and 6),
 * float: each channel of each batch item of X [N, C, D1, ...] is
 * normalized over its spatial dims, y = (x - mean) / sqrt(var + epsilon) *
 * scale[c] + B[c].  Opset 1's consumed_inputs is accepted and ignored. */
#include <math.h>

#include "drivers/eltwise.h"
#include "drivers/norm.h"

static keel_status in_infer(kl_opctx *c)
{
    static const int types[] = {KEEL_FLOAT, 0};
    keel_status st;
    for (int i = 0; i < 3; i++)
        if ((st = kl_require_dtype(c, i, types)))
            return st;
    const kl_tensor *x = c->in[0];
    if (x->rank < 3)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "X has rank %d; expected 3 or more (N, C, D1, ...)", x->rank);
    for (int i = 1; i < 3; i++) {
        const kl_tensor *t = c->in[i];
        if (t->rank != 1 || t->dims[0] != x->dims[1]) {
            char buf[128];
            return kl_op_fail(c, KEEL_ERR_SHAPE, "input %d is %s; expected %lld values, one per channel", i,
                              kl_shape_str(t, buf, sizeof buf), (long long)x->dims[1]);
        }
    }
    kl_set_shape(c->out[0], KEEL_FLOAT, x->rank, x->dims);
    return KEEL_OK;
}

/* mean and variance of each of the N * C planes */
static size_t in_scratch(kl_opctx *c)
{
    return (size_t)(c->in[0]->dims[0] * c->in[0]->dims[1]) * 2 * sizeof(double);
}

static keel_status in_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    const int64_t channels = x->dims[1], planes = x->dims[0] * channels;
    const int64_t len = kl_dims_product(x->dims, 2, x->rank);
    const float *scale = c->in[1]->data, *bias = c->in[2]->data;
    const float eps = kl_attr_float(c->node, "epsilon", 1e-5f);
    double *mean = c->scratch, *var = mean + planes;
    bool reduced[KL_MAX_RANK];
    kl_reduce_trailing(reduced, x->rank, 2);
    kl_group_moments(c->env->kern, x->data, x->rank, x->dims, reduced, mean, var);
    for (int64_t p = 0; p < planes; p++) {
        const int64_t ch = p % channels;
        const float a = scale[ch] / sqrtf((float)var[p] + eps);
        const float b = bias[ch] - (float)mean[p] * a;
        const float *src = (const float *)x->data + p * len;
        float *dst = (float *)c->out[0]->data + p * len;
        for (int64_t i = 0; i < len; i++)
            dst[i] = src[i] * a + b;
    }
    return KEEL_OK;
}

#define IN_OP(NAME, SINCE, UNTIL)                                                                 \
    static const kl_op NAME = {.type = "InstanceNormalization", .since = SINCE, .until = UNTIL,   \
                               .min_inputs = 3, .max_inputs = 3, .infer = in_infer,               \
                               .run = in_run, .scratch = in_scratch}

IN_OP(in_v1, 1, 5);  /* consumed_inputs */
IN_OP(in_v6, 6, 0);

const kl_op *const kl_opfile_instancenormalization[] = {&in_v1, &in_v6, NULL};
