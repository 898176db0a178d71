/* equal.c -- Equal: x == y elementwise with broadcasting, as bool; for
 * strings (opset 19's, taken at every opset) byte for byte. */
#include <string.h>

#include "drivers/eltwise.h"

#define EQUAL(T, U, x, y) ((x) == (y))

KL_BINARY_FN_TO(numbers_f32, float, uint8_t, float, EQUAL)
KL_BINARY_FN_TO(numbers_f64, double, uint8_t, double, EQUAL)
KL_BINARY_FN_TO(numbers_i8, int8_t, uint8_t, uint8_t, EQUAL)
KL_BINARY_FN_TO(numbers_i16, int16_t, uint8_t, uint16_t, EQUAL)
KL_BINARY_FN_TO(numbers_i32, int32_t, uint8_t, uint32_t, EQUAL)
KL_BINARY_FN_TO(numbers_i64, int64_t, uint8_t, uint64_t, EQUAL)
KL_BINARY_FN_TO(numbers_u8, uint8_t, uint8_t, uint8_t, EQUAL)
KL_BINARY_FN_TO(numbers_u16, uint16_t, uint8_t, uint16_t, EQUAL)
KL_BINARY_FN_TO(numbers_u32, uint32_t, uint8_t, uint32_t, EQUAL)
KL_BINARY_FN_TO(numbers_u64, uint64_t, uint8_t, uint64_t, EQUAL)

static void equal_str(void *out, const void *a, const void *b, int64_t n, kl_operands mode)
{
    uint8_t *o = out;
    const char *const *va = a, *const *vb = b;
    for (int64_t i = 0; i < n; i++)
        o[i] = strcmp(va[mode == KL_A_SCALAR ? 0 : i], vb[mode == KL_B_SCALAR ? 0 : i]) == 0;
}

static const kl_binary_kernel equal_kernels[] = {
    {KEEL_FLOAT, numbers_f32},  {KEEL_DOUBLE, numbers_f64}, {KEEL_INT8, numbers_i8},
    {KEEL_INT16, numbers_i16},  {KEEL_INT32, numbers_i32},  {KEEL_INT64, numbers_i64},
    {KEEL_UINT8, numbers_u8},   {KEEL_UINT16, numbers_u16}, {KEEL_UINT32, numbers_u32},
    {KEEL_UINT64, numbers_u64}, {KEEL_BOOL, numbers_u8},    {KEEL_STRING, equal_str},
    {0, NULL}};

KL_BINARY_OPFILE_AS(equal, "Equal", NULL, KEEL_BOOL, KL_OP_VALUES)
