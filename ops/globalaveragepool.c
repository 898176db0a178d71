/* globalaveragepool.c -- GlobalAveragePool: the mean over all spatial dims
 * of an N x C x D1 x ... float tensor of rank 3 or more; the output is
 * N x C x 1 x ... x 1.  Each plane is summed with eight partial sums, which
 * vectorize and keep the rounding error low on large planes. */
#include "drivers/pool.h"
#include "kernels/kernels.h"

static keel_status gap_infer(kl_opctx *c)
{
    return kl_global_pool_infer(c, "there is nothing to average");
}

static keel_status gap_run(kl_opctx *c)
{
    return kl_global_pool_run(c, c->env->kern->plane_mean.fn);
}

static const kl_op gap_op = {.type = "GlobalAveragePool", .since = 1, .min_inputs = 1,
                             .max_inputs = 1, .infer = gap_infer, .run = gap_run, .batch = KL_BATCH_PER_IMAGE};

const kl_op *const kl_opfile_globalaveragepool[] = {&gap_op, NULL};
