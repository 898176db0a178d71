/* globalmaxpool.c -- GlobalMaxPool: the maximum over all spatial dims of an
 * N x C x D1 x ... float tensor of rank 3 or more; the output is
 * N x C x 1 x ... x 1.  NaN inputs never win (as in ONNX Runtime); a plane of
 * NaN gives -inf. */
#include <math.h>

#include "kernels/mathfn.h"
#include "drivers/pool.h"

/* A plane's maximum, through a KL_HOT function so it is built for AVX2 too. */
KL_HOT static float plane_max(const float *restrict x, int64_t n)
{
    return kl_max_f32(x, n);
}

static keel_status gmp_infer(kl_opctx *c)
{
    return kl_global_pool_infer(c, "there is no maximum");
}

static keel_status gmp_run(kl_opctx *c)
{
    return kl_global_pool_run(c, plane_max);
}

static const kl_op gmp_op = {
    .type = "GlobalMaxPool", .domain = "", .since = 1, .min_inputs = 1, .max_inputs = 1,
    .infer = gmp_infer, .run = gmp_run,
};

const kl_op *const kl_opfile_globalmaxpool[] = {&gmp_op, NULL};
