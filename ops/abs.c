/* abs.c -- Abs: |x| for float, double and the integer types (the most
 * negative integer wraps to itself, as in two's complement). */
#include "drivers/unary.h"

#define ABS_FLOAT(T, x, alpha, beta) fabs(x)
#define ABS_SIGNED(T, U, x) ((x) < 0 ? (T)(0u - (U)(x)) : (x))
#define ABS_I8(T, x, alpha, beta) ABS_SIGNED(T, uint8_t, x)
#define ABS_I16(T, x, alpha, beta) ABS_SIGNED(T, uint16_t, x)
#define ABS_I32(T, x, alpha, beta) ABS_SIGNED(T, uint32_t, x)
#define ABS_I64(T, x, alpha, beta) ABS_SIGNED(T, uint64_t, x)
#define ABS_UNSIGNED(T, x, alpha, beta) (x)

KL_UNARY_FN(abs_f32, float, ABS_FLOAT)
KL_UNARY_FN(abs_f64, double, ABS_FLOAT)
KL_UNARY_FN(abs_i8, int8_t, ABS_I8)
KL_UNARY_FN(abs_i16, int16_t, ABS_I16)
KL_UNARY_FN(abs_i32, int32_t, ABS_I32)
KL_UNARY_FN(abs_i64, int64_t, ABS_I64)
KL_UNARY_FN(abs_u8, uint8_t, ABS_UNSIGNED)
KL_UNARY_FN(abs_u16, uint16_t, ABS_UNSIGNED)
KL_UNARY_FN(abs_u32, uint32_t, ABS_UNSIGNED)
KL_UNARY_FN(abs_u64, uint64_t, ABS_UNSIGNED)

static const kl_unary_kernel abs_kernels[] = {
    {KEEL_FLOAT, abs_f32}, {KEEL_DOUBLE, abs_f64}, {KEEL_INT8, abs_i8},   {KEEL_INT16, abs_i16},
    {KEEL_INT32, abs_i32}, {KEEL_INT64, abs_i64},  {KEEL_UINT8, abs_u8},  {KEEL_UINT16, abs_u16},
    {KEEL_UINT32, abs_u32}, {KEEL_UINT64, abs_u64}, {0, NULL}};

static keel_status abs_infer(kl_opctx *c)
{
    return kl_unary_infer(c, abs_kernels);
}

static keel_status abs_run(kl_opctx *c)
{
    const kl_unary_args none = {0, 0};
    return kl_unary_run(c, abs_kernels, &none);
}

static const kl_op abs_op = {.type = "Abs", .since = 1, .min_inputs = 1, .max_inputs = 1,
                             .flags = KL_OP_INPLACE, .infer = abs_infer, .run = abs_run, .batch = KL_BATCH_ELEMENTWISE};

const kl_op *const kl_opfile_abs[] = {&abs_op, NULL};
