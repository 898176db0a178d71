/* leakyrelu.c -- LeakyRelu: x < 0 ? alpha * x : x (alpha default 0.01). */
#include "drivers/eltwise.h"

#define LEAKY_RELU(T, x, alpha, beta) ((x) < 0 ? (alpha) * (x) : (x))

KL_UNARY_FLOAT_KERNELS(leakyrelu, LEAKY_RELU)

static keel_status leakyrelu_infer(kl_opctx *c)
{
    return kl_unary_infer(c, leakyrelu_kernels);
}

static keel_status leakyrelu_run(kl_opctx *c)
{
    const kl_unary_args args = {kl_attr_float(c->node, "alpha", 0.01f), 0};
    return kl_unary_run(c, leakyrelu_kernels, &args);
}

static const kl_op leakyrelu = {.type = "LeakyRelu", .since = 1, .min_inputs = 1, .max_inputs = 1,
                                .flags = KL_OP_INPLACE, .infer = leakyrelu_infer,
                                .run = leakyrelu_run, .batch = KL_BATCH_ELEMENTWISE};

const kl_op *const kl_opfile_leakyrelu[] = {&leakyrelu, NULL};
