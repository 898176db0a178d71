/* sigmoid.c -- Sigmoid: 1 / (1 + exp(-x)).  float32 goes through the
 * kernel table's vectorized sigmoid (ops/kernels/kernels.h) in blocks split over the
 * session's threads (kl_map_f32): with exp() per element, EfficientNet's unfused
 * Sigmoids (a model exported without constant folding) took half its
 * time. */
#include <string.h>
#include <tgmath.h>

#include "drivers/eltwise.h"
#include "kernels/kernels.h"

/* exp(-x) overflows to inf for very negative x, giving the right limit 0. */
#define SIGMOID(T, x, alpha, beta) ((T)1 / ((T)1 + exp(-(x))))

KL_UNARY_FLOAT_KERNELS(sigmoid, SIGMOID)

static keel_status sigmoid_infer(kl_opctx *c)
{
    return kl_unary_infer(c, sigmoid_kernels);
}

/* the table's sigmoid works in place */
static void sigmoid_block(float *y, const float *x, size_t n, const void *kern)
{
    if (y != x)
        memcpy(y, x, n * sizeof(float));
    ((const kl_kernels *)kern)->sigmoid.fn(y, n, false);
}

static keel_status sigmoid_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    if (x->dtype == KEEL_FLOAT) {
        kl_map_f32(c->pool, sigmoid_block, c->env->kern, c->out[0]->data, x->data, kl_numel(x));
        return KEEL_OK;
    }
    const kl_unary_args none = {0, 0};
    return kl_unary_run(c, sigmoid_kernels, &none);
}

static const kl_op sigmoid = {.type = "Sigmoid", .since = 1, .min_inputs = 1, .max_inputs = 1,
                              .flags = KL_OP_INPLACE, .infer = sigmoid_infer, .run = sigmoid_run,
                              .batch = KL_BATCH_ELEMENTWISE};

const kl_op *const kl_opfile_sigmoid[] = {&sigmoid, NULL};
