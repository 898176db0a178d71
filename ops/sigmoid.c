/* sigmoid.c -- Sigmoid: 1 / (1 + exp(-x)).  float32 goes through the
 * kernel table's vectorized sigmoid (ops/kernels/kernels.h) in blocks split over the
 * session's threads: with exp() per element, EfficientNet's unfused
 * Sigmoids (a model exported without constant folding) took half its
 * time. */
#include <string.h>
#include <tgmath.h>

#include "drivers/eltwise.h"
#include "kernels/kernels.h"

/* exp(-x) overflows to inf for very negative x, giving the right limit 0. */
#define SIGMOID(T, x, alpha, beta) ((T)1 / ((T)1 + exp(-(x))))

#define BLOCK 4096 /* floats per item */

KL_UNARY_FLOAT_KERNELS(sigmoid, SIGMOID)

static keel_status sigmoid_infer(kl_opctx *c)
{
    return kl_unary_infer(c, sigmoid_kernels);
}

typedef struct sigmoid_job {
    const float *x;
    float *y;
    int64_t n;
    klk_sigmoid_fn *sigmoid;
} sigmoid_job;

static void sigmoid_blocks(void *arg, int64_t lo, int64_t hi)
{
    const sigmoid_job *j = arg;
    for (int64_t b = lo; b < hi; b++) {
        int64_t i0 = b * BLOCK, n = j->n - i0 < BLOCK ? j->n - i0 : BLOCK;
        if (j->y != j->x) /* else in place */
            memcpy(j->y + i0, j->x + i0, (size_t)n * sizeof(float));
        j->sigmoid(j->y + i0, (size_t)n, false);
    }
}

static keel_status sigmoid_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    if (x->dtype == KEEL_FLOAT) {
        sigmoid_job j = {x->data, c->out[0]->data, kl_numel(x), c->env->kern->sigmoid.fn};
        int64_t blocks = (j.n + BLOCK - 1) / BLOCK;
        kl_parallel_for(blocks > 1 ? c->pool : NULL, blocks, sigmoid_blocks, &j);
        return KEEL_OK;
    }
    const kl_unary_args none = {0, 0};
    return kl_unary_run(c, sigmoid_kernels, &none);
}

static const kl_op sigmoid = {.type = "Sigmoid", .since = 1, .min_inputs = 1, .max_inputs = 1,
                              .flags = KL_OP_INPLACE, .infer = sigmoid_infer, .run = sigmoid_run};

const kl_op *const kl_opfile_sigmoid[] = {&sigmoid, NULL};
