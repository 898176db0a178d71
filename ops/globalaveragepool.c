/* globalaveragepool.c -- GlobalAveragePool: the mean over all spatial dims
 * of an N x C x D1 x ... float tensor of rank 3 or more; the output is
 * N x C x 1 x ... x 1.  Each plane is summed with eight partial sums, which
 * vectorize and keep the rounding error low on large planes. */
#include "drivers/pool.h"

KL_HOT static float plane_mean(const float *restrict x, int64_t n)
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

static keel_status gap_infer(kl_opctx *c)
{
    return kl_global_pool_infer(c, "there is nothing to average");
}

static keel_status gap_run(kl_opctx *c)
{
    return kl_global_pool_run(c, plane_mean);
}

static const kl_op gap_op = {
    .type = "GlobalAveragePool", .domain = "", .since = 1, .min_inputs = 1, .max_inputs = 1,
    .infer = gap_infer, .run = gap_run,
};

const kl_op *const kl_opfile_globalaveragepool[] = {&gap_op, NULL};
