/* globalaveragepool.c -- GlobalAveragePool: the mean over all spatial dims
 * of an N x C x D1 x ... float tensor of rank 3 or more; the output is
 * N x C x 1 x ... x 1.  Each plane is summed with eight partial sums, which
 * vectorize and keep the rounding error low on large planes. */
#include "op.h"

static inline float plane_mean(const float *restrict x, int64_t n)
{
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += x[i + j];
    float tail = 0;
    for (; i < n; i++)
        tail += x[i];
    float sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    return (sum + tail) / (float)n;
}

typedef struct gap_job {
    const float *x;
    float *y;
    int64_t size;
} gap_job;

KL_HOT static void gap_planes(void *arg, int64_t lo, int64_t hi)
{
    const gap_job *j = arg;
    for (int64_t p = lo; p < hi; p++)
        j->y[p] = plane_mean(j->x + p * j->size, j->size);
}

static keel_status gap_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    static const int types[] = {KEEL_FLOAT, 0};
    keel_status st = kl_require_dtype(c, 0, types);
    if (st)
        return st;
    if (x->rank < 3)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input has rank %d; expected 3 or more (N, C and spatial "
                          "dims)", x->rank);
    int64_t dims[KL_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int i = 2; i < x->rank; i++) {
        if (x->dims[i] == 0)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "spatial dim %d is empty: there is nothing to average",
                              i - 2);
        dims[i] = 1;
    }
    kl_set_shape(c->out[0], KEEL_FLOAT, x->rank, dims);
    return KEEL_OK;
}

static keel_status gap_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    int64_t planes = x->dims[0] * x->dims[1];
    if (planes == 0)
        return KEEL_OK;
    gap_job j = {x->data, c->out[0]->data, kl_numel(x) / planes};
    if (kl_numel(x) < ((int64_t)1 << 15))
        gap_planes(&j, 0, planes);
    else
        kl_parallel_for(c->pool, planes, gap_planes, &j);
    return KEEL_OK;
}

static const kl_op gap_op = {
    .type = "GlobalAveragePool", .domain = "", .since = 1, .min_inputs = 1, .max_inputs = 1,
    .infer = gap_infer, .run = gap_run,
};

const kl_op *const kl_opfile_globalaveragepool[] = {&gap_op, NULL};
