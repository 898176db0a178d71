/* bitshift.c -- BitShift: x shifted LEFT or RIGHT (attribute direction) by
 * y bits, unsigned types, with broadcasting; shifts of the width or more
 * give 0. */
#include <string.h>

#include "drivers/eltwise.h"

#define WIDTH(T) ((T)(sizeof(T) * 8))
#define SHIFT_LEFT(T, U, x, y) ((y) >= WIDTH(T) ? (T)0 : (T)((x) << (y)))
#define SHIFT_RIGHT(T, U, x, y) ((y) >= WIDTH(T) ? (T)0 : (T)((x) >> (y)))

#define SHIFT_KERNELS(NAME, EXPR)                                                              \
    KL_BINARY_FN(NAME##_u8, uint8_t, uint8_t, EXPR)                                            \
    KL_BINARY_FN(NAME##_u16, uint16_t, uint16_t, EXPR)                                         \
    KL_BINARY_FN(NAME##_u32, uint32_t, uint32_t, EXPR)                                         \
    KL_BINARY_FN(NAME##_u64, uint64_t, uint64_t, EXPR)                                         \
    static const kl_binary_kernel NAME##_kernels[] = {{KEEL_UINT8, NAME##_u8},                 \
                                                      {KEEL_UINT16, NAME##_u16},               \
                                                      {KEEL_UINT32, NAME##_u32},               \
                                                      {KEEL_UINT64, NAME##_u64}, {0, NULL}};

SHIFT_KERNELS(left, SHIFT_LEFT)
SHIFT_KERNELS(right, SHIFT_RIGHT)

static const kl_binary_kernel *kernels_of(kl_opctx *c)
{
    const char *dir = kl_attr_str(c->node, "direction", "");
    return strcmp(dir, "LEFT") == 0 ? left_kernels : strcmp(dir, "RIGHT") == 0 ? right_kernels : NULL;
}

static keel_status bitshift_infer(kl_opctx *c)
{
    const kl_binary_kernel *k = kernels_of(c);
    if (!k)
        return kl_op_fail(c, KEEL_ERR_INVALID, "direction must be LEFT or RIGHT");
    return kl_binary_infer(c, k, false);
}

static keel_status bitshift_run(kl_opctx *c)
{
    return kl_binary_run(c, kernels_of(c), NULL, false);
}

static const kl_op bitshift = {.type = "BitShift", .since = 11, .min_inputs = 2, .max_inputs = 2,
                               .flags = KL_OP_INPLACE, .infer = bitshift_infer,
                               .run = bitshift_run};

const kl_op *const kl_opfile_bitshift[] = {&bitshift, NULL};
