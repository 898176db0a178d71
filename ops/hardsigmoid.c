/* hardsigmoid.c -- HardSigmoid: max(0, min(1, alpha * x + beta)),
 * alpha default 0.2, beta default 0.5. */
#include "drivers/eltwise.h"

#define HARD_SIGMOID(T, x, alpha, beta) KL_CLAMP01(T, (alpha) * (x) + (beta))

KL_UNARY_FLOAT_KERNELS(hardsigmoid, HARD_SIGMOID)

static keel_status hardsigmoid_infer(kl_opctx *c)
{
    return kl_unary_infer(c, hardsigmoid_kernels);
}

static keel_status hardsigmoid_run(kl_opctx *c)
{
    const kl_unary_args args = {kl_attr_float(c->node, "alpha", 0.2f),
                                kl_attr_float(c->node, "beta", 0.5f)};
    return kl_unary_run(c, hardsigmoid_kernels, &args);
}

static const kl_op hardsigmoid = {.type = "HardSigmoid", .since = 1, .min_inputs = 1,
                                  .max_inputs = 1, .flags = KL_OP_INPLACE,
                                  .infer = hardsigmoid_infer, .run = hardsigmoid_run, .batch = KL_BATCH_ELEMENTWISE};

const kl_op *const kl_opfile_hardsigmoid[] = {&hardsigmoid, NULL};
