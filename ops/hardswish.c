/* hardswish.c -- HardSwish (opset 14): x * max(0, min(1, x / 6 + 0.5)). */
#include "drivers/eltwise.h"

#define HARD_SWISH(T, x, alpha, beta) ((x) * KL_CLAMP01(T, (x) / 6 + (T)0.5))

KL_UNARY_FLOAT_KERNELS(hardswish, HARD_SWISH)

static keel_status hardswish_infer(kl_opctx *c)
{
    return kl_unary_infer(c, hardswish_kernels);
}

static keel_status hardswish_run(kl_opctx *c)
{
    const kl_unary_args none = {0, 0};
    return kl_unary_run(c, hardswish_kernels, &none);
}

static const kl_op hardswish = {.type = "HardSwish", .since = 14, .min_inputs = 1, .max_inputs = 1,
                                .flags = KL_OP_INPLACE, .infer = hardswish_infer,
                                .run = hardswish_run, .batch = KL_BATCH_ELEMENTWISE};

const kl_op *const kl_opfile_hardswish[] = {&hardswish, NULL};
