/* batchnormalization.c -- BatchNormalization in inference mode, float:
 * y = (x - mean) / sqrt(var + epsilon) * scale + B per channel (dim 1) of an
 * N x C x D1 x ... input of rank 2 or more; scale, B, mean and var hold C
 * values each.  Per channel, a = scale / sqrt(var + epsilon) and
 * b = B - mean * a are computed in run() and y = x * a + b is applied over
 * the channel's contiguous plane.
 *
 * Opsets 1-5 (spatial must be 1; is_test and consumed_inputs accepted), 6
 * and 7 (spatial must be 1), 9 and 14/15.  With training_mode=1 (14+) the
 * statistics are the batch's (population variance over all dims but 1),
 * and outputs 1 and 2 are the updated running statistics,
 * input * momentum + batch * (1 - momentum).  The training outputs of
 * opsets before 14 (saved mean and variance) are refused. */
#include <math.h>

#include "drivers/norm.h"
#include "kernels/kernels.h"

static keel_status bn_infer(kl_opctx *c)
{
    static const int types[] = {KEEL_FLOAT, 0};
    static const char *const names[] = {"X", "scale", "B", "mean", "var"};
    keel_status st;
    for (int i = 0; i < 5; i++)
        if ((st = kl_require_dtype(c, i, types)))
            return st;
    const kl_tensor *x = c->in[0];
    if (c->opset < 9) {
        int64_t spatial = kl_attr_int(c->node, "spatial", 1);
        if (spatial != 1)
            return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "attribute 'spatial' is %lld; only spatial=1 "
                              "(statistics per channel) is supported", (long long)spatial);
    }
    int64_t training = c->opset >= 14 ? kl_attr_int(c->node, "training_mode", 0) : 0;
    if (training != 0 && training != 1)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'training_mode' is %lld; expected 0 or 1",
                          (long long)training);
    for (int k = 1; k < c->n_out; k++)
        if (c->out[k] && !training)
            return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "output %d (a training statistic) is requested; "
                              "it is computed only with training_mode=1 (opset 14 and later)", k);
    if (x->rank < 2)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "X has rank %d; expected 2 or more (N, C, ...)", x->rank);
    int64_t channels = x->dims[1];
    for (int i = 1; i < 5; i++) {
        const kl_tensor *t = c->in[i];
        if (t->rank != 1 || t->dims[0] != channels) {
            char buf[128];
            return kl_op_fail(c, KEEL_ERR_SHAPE, "input %s is %s; expected %lld values, one per channel",
                              names[i], kl_shape_str(t, buf, sizeof buf), (long long)channels);
        }
    }
    kl_set_shape(c->out[0], KEEL_FLOAT, x->rank, x->dims);
    for (int k = 1; k < c->n_out; k++)
        if (c->out[k])
            kl_set_shape(c->out[k], KEEL_FLOAT, 1, &channels);
    return KEEL_OK;
}

static bool training(kl_opctx *c)
{
    return c->opset >= 14 && kl_attr_int(c->node, "training_mode", 0) == 1;
}

/* Training: the batch's mean and variance per channel, in double and as
 * float. */
static size_t bn_scratch(kl_opctx *c)
{
    return training(c) ? (size_t)c->in[0]->dims[1] * 2 * (sizeof(double) + sizeof(float)) : 0;
}

/* Batch statistics into mean and var (channels floats each, in scratch)
 * and the running statistics into outputs 1 and 2. */
static void batch_statistics(kl_opctx *c, float *mean, float *var)
{
    const kl_tensor *x = c->in[0];
    const int64_t channels = x->dims[1];
    double *batch_mean = c->scratch, *batch_var = batch_mean + channels;
    bool reduced[KL_MAX_RANK];
    for (int d = 0; d < x->rank; d++)
        reduced[d] = d != 1;
    kl_group_moments(c->env->kern, x->data, x->rank, x->dims, reduced, batch_mean, batch_var);
    const float momentum = kl_attr_float(c->node, "momentum", 0.9f);
    const float *in_mean = c->in[3]->data, *in_var = c->in[4]->data;
    float *run_mean = c->n_out > 1 && c->out[1] ? c->out[1]->data : NULL;
    float *run_var = c->n_out > 2 && c->out[2] ? c->out[2]->data : NULL;
    for (int64_t ch = 0; ch < channels; ch++) {
        mean[ch] = (float)batch_mean[ch];
        var[ch] = (float)batch_var[ch];
        if (run_mean)
            run_mean[ch] = in_mean[ch] * momentum + mean[ch] * (1 - momentum);
        if (run_var)
            run_var[ch] = in_var[ch] * momentum + var[ch] * (1 - momentum);
    }
}

typedef struct bn_job {
    const float *x, *scale, *bias, *mean, *var;
    float *y;
    float eps;
    int64_t channels, size;   /* size: elements of one channel's plane */
    klk_bn_plane_fn *plane;   /* the session's kernel (ops/kernels/norm.c) */
} bn_job;

static void bn_planes(void *arg, int64_t lo, int64_t hi)
{
    const bn_job *j = arg;
    const int64_t n = j->size;
    for (int64_t p = lo; p < hi; p++) {
        int64_t ch = p % j->channels;
        const float a = j->scale[ch] / sqrtf(j->var[ch] + j->eps);
        j->plane(j->x + p * n, j->y + p * n, n, a, j->bias[ch] - j->mean[ch] * a);
    }
}

static keel_status bn_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    int64_t planes = x->dims[0] * x->dims[1], numel = kl_numel(x);
    const float *mean = c->in[3]->data, *var = c->in[4]->data;
    if (training(c)) {
        float *batch_mean = (float *)((double *)c->scratch + 2 * x->dims[1]);
        batch_statistics(c, batch_mean, batch_mean + x->dims[1]);
        mean = batch_mean;
        var = batch_mean + x->dims[1];
    }
    if (numel == 0)
        return KEEL_OK;
    bn_job j = {x->data, c->in[1]->data, c->in[2]->data, mean, var,
                c->out[0]->data, kl_attr_float(c->node, "epsilon", 1e-5f), x->dims[1], numel / planes, c->env->kern->bn_plane.fn};
    if (numel < ((int64_t)1 << 15))
        bn_planes(&j, 0, planes);
    else
        kl_parallel_for(c->pool, planes, bn_planes, &j);
    return KEEL_OK;
}

/* In training mode the statistics are the batch's. */
static bool bn_images_apart(const kl_opctx *c)
{
    return c->opset < 14 || kl_attr_int(c->node, "training_mode", 0) == 0;
}

#define BN_OP(NAME, SINCE, UNTIL)                                                               \
    static const kl_op NAME = {.type = "BatchNormalization", .since = SINCE, .until = UNTIL,    \
                               .min_inputs = 5, .max_inputs = 5, .flags = KL_OP_INPLACE,        \
                               .infer = bn_infer, .run = bn_run, .scratch = bn_scratch,        \
                               .batch = KL_BATCH_PER_IMAGE, .images_apart = bn_images_apart}

BN_OP(bn_v1, 1, 5);    /* spatial, is_test, consumed_inputs (opset 1) */
BN_OP(bn_v6, 6, 6);    /* spatial, is_test */
BN_OP(bn_v7, 7, 8);    /* spatial */
BN_OP(bn_v9, 9, 13);   /* statistics always per channel */
BN_OP(bn_v14, 14, 14); /* training_mode */
BN_OP(bn_v15, 15, 0);  /* scale and B may differ in type from X (float only here) */

const kl_op *const kl_opfile_batchnormalization[] = {&bn_v1, &bn_v6, &bn_v7, &bn_v9, &bn_v14, &bn_v15, NULL};
