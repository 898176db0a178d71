/* sign.c -- Sign: -1, 0 or 1 by the sign of x (NaN stays NaN), for float,
 * double and the integer types. */
#include "drivers/unary.h"

#define SIGN(T, x, alpha, beta) ((x) > 0 ? (T)1 : (x) < 0 ? (T)-1 : (x))
#define SIGN_UNSIGNED(T, x, alpha, beta) ((x) > 0 ? (T)1 : (T)0)

KL_UNARY_FN(sign_f32, float, SIGN)
KL_UNARY_FN(sign_f64, double, SIGN)
KL_UNARY_FN(sign_i8, int8_t, SIGN)
KL_UNARY_FN(sign_i16, int16_t, SIGN)
KL_UNARY_FN(sign_i32, int32_t, SIGN)
KL_UNARY_FN(sign_i64, int64_t, SIGN)
KL_UNARY_FN(sign_u8, uint8_t, SIGN_UNSIGNED)
KL_UNARY_FN(sign_u16, uint16_t, SIGN_UNSIGNED)
KL_UNARY_FN(sign_u32, uint32_t, SIGN_UNSIGNED)
KL_UNARY_FN(sign_u64, uint64_t, SIGN_UNSIGNED)

static const kl_unary_kernel sign_kernels[] = {
    {KEEL_FLOAT, sign_f32}, {KEEL_DOUBLE, sign_f64}, {KEEL_INT8, sign_i8},   {KEEL_INT16, sign_i16},
    {KEEL_INT32, sign_i32}, {KEEL_INT64, sign_i64},  {KEEL_UINT8, sign_u8},  {KEEL_UINT16, sign_u16},
    {KEEL_UINT32, sign_u32}, {KEEL_UINT64, sign_u64}, {0, NULL}};

static keel_status sign_infer(kl_opctx *c)
{
    return kl_unary_infer(c, sign_kernels);
}

static keel_status sign_run(kl_opctx *c)
{
    const kl_unary_args none = {0, 0};
    return kl_unary_run(c, sign_kernels, &none);
}

static const kl_op sign_op = {.type = "Sign", .since = 9, .min_inputs = 1, .max_inputs = 1,
                              .flags = KL_OP_INPLACE, .infer = sign_infer, .run = sign_run};

const kl_op *const kl_opfile_sign[] = {&sign_op, NULL};
