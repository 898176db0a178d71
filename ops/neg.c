/* neg.c -- Neg: -x for float, double and the signed integers (the most
 * negative integer wraps to itself). */
#include "drivers/unary.h"

#define NEG_FLOAT(T, x, alpha, beta) (-(x))
#define NEG_I8(T, x, alpha, beta) ((T)(0u - (uint8_t)(x)))
#define NEG_I16(T, x, alpha, beta) ((T)(0u - (uint16_t)(x)))
#define NEG_I32(T, x, alpha, beta) ((T)(0u - (uint32_t)(x)))
#define NEG_I64(T, x, alpha, beta) ((T)(0u - (uint64_t)(x)))

KL_UNARY_FN(neg_f32, float, NEG_FLOAT)
KL_UNARY_FN(neg_f64, double, NEG_FLOAT)
KL_UNARY_FN(neg_i8, int8_t, NEG_I8)
KL_UNARY_FN(neg_i16, int16_t, NEG_I16)
KL_UNARY_FN(neg_i32, int32_t, NEG_I32)
KL_UNARY_FN(neg_i64, int64_t, NEG_I64)

static const kl_unary_kernel neg_kernels[] = {
    {KEEL_FLOAT, neg_f32}, {KEEL_DOUBLE, neg_f64}, {KEEL_INT8, neg_i8},
    {KEEL_INT16, neg_i16}, {KEEL_INT32, neg_i32},  {KEEL_INT64, neg_i64}, {0, NULL}};

static keel_status neg_infer(kl_opctx *c)
{
    return kl_unary_infer(c, neg_kernels);
}

static keel_status neg_run(kl_opctx *c)
{
    const kl_unary_args none = {0, 0};
    return kl_unary_run(c, neg_kernels, &none);
}

static const kl_op neg_op = {.type = "Neg", .since = 1, .min_inputs = 1, .max_inputs = 1,
                             .flags = KL_OP_INPLACE, .infer = neg_infer, .run = neg_run, .batch = KL_BATCH_ELEMENTWISE};

const kl_op *const kl_opfile_neg[] = {&neg_op, NULL};
