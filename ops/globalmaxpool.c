/* globalmaxpool.c -- GlobalMaxPool: the maximum over all spatial dims of an
 * N x C x D1 x ... float tensor of rank 3 or more; the output is
 * N x C x 1 x ... x 1.  NaN inputs never win (as in ONNX Runtime); a plane of
 * NaN gives -inf. */
#include <math.h>

#include "drivers/pool.h"
#include "kernels/kernels.h"

static keel_status gmp_infer(kl_opctx *c)
{
    return kl_global_pool_infer(c, "there is no maximum");
}

static keel_status gmp_run(kl_opctx *c)
{
    return kl_global_pool_run(c, c->env->kern->plane_max.fn);
}

static const kl_op gmp_op = {.type = "GlobalMaxPool", .since = 1, .min_inputs = 1, .max_inputs = 1,
                             .infer = gmp_infer, .run = gmp_run, .batch = KL_BATCH_PER_IMAGE};

const kl_op *const kl_opfile_globalmaxpool[] = {&gmp_op, NULL};
