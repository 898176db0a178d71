/* sigmoid.c -- Sigmoid: 1 / (1 + exp(-x)). */
#include <tgmath.h>

#include "eltwise.h"

/* exp(-x) overflows to inf for very negative x, giving the right limit 0. */
#define SIGMOID(T, x, alpha, beta) ((T)1 / ((T)1 + exp(-(x))))

KL_UNARY_FLOAT_KERNELS(sigmoid, SIGMOID)

static keel_status sigmoid_infer(kl_opctx *c)
{
    return kl_unary_infer(c, sigmoid_kernels);
}

static keel_status sigmoid_run(kl_opctx *c)
{
    const kl_unary_args none = {0, 0};
    return kl_unary_run(c, sigmoid_kernels, &none);
}

static const kl_op sigmoid = {"Sigmoid", "", 1, 0, 1, 1, KL_OP_INPLACE,
                              sigmoid_infer, sigmoid_run, NULL, NULL};

const kl_op *const kl_opfile_sigmoid[] = {&sigmoid, NULL};
