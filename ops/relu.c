/* relu.c -- Relu: max(0, x).  Opset 14 added the signed integer types. */
#include "drivers/eltwise.h"

#define RELU(T, x, alpha, beta) ((x) < 0 ? (T)0 : (x)) /* keeps NaN */

KL_UNARY_FN(relu_f32, float, RELU)
KL_UNARY_FN(relu_f64, double, RELU)
KL_UNARY_FN(relu_i8, int8_t, RELU)
KL_UNARY_FN(relu_i32, int32_t, RELU)
KL_UNARY_FN(relu_i64, int64_t, RELU)

static const kl_unary_kernel relu_kernels[] = {
    {KEEL_FLOAT, relu_f32}, {KEEL_DOUBLE, relu_f64}, {KEEL_INT8, relu_i8},
    {KEEL_INT32, relu_i32}, {KEEL_INT64, relu_i64}, {0, NULL}};

static keel_status relu_infer(kl_opctx *c)
{
    return kl_unary_infer(c, relu_kernels);
}

static keel_status relu_run(kl_opctx *c)
{
    const kl_unary_args none = {0, 0};
    return kl_unary_run(c, relu_kernels, &none);
}

static const kl_op relu = {.type = "Relu", .since = 1, .min_inputs = 1, .max_inputs = 1,
                           .flags = KL_OP_INPLACE, .infer = relu_infer, .run = relu_run, .batch = KL_BATCH_ELEMENTWISE};

const kl_op *const kl_opfile_relu[] = {&relu, NULL};
