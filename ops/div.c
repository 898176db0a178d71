/* div.c -- Div: elementwise a / b with broadcasting.  Integer division
 * truncates toward zero like C; a zero divisor is a run-time error. */
#include "drivers/eltwise.h"

#define DIV_FLOAT(T, U, x, y) ((x) / (y))
/* x / -1 is computed as a wrapping negation: INT_MIN / -1 would trap.
 * (T)-1 < 0 tells signed types; for unsigned ones it is constant false,
 * which is the point, so gcc's warning about it is off here. */
#pragma GCC diagnostic ignored "-Wtype-limits"
#define DIV_INT(T, U, x, y) \
    ((T)-1 < 0 && (y) == (T)-1 ? (T)((U)0 - (U)(x)) : (T)((x) / (y)))

KL_BINARY_KERNELS(div, DIV_FLOAT, DIV_INT)

static bool has_zero(const void *data, int dtype, int64_t n)
{
#define SCAN_AS(T)                                       \
    for (int64_t i = 0; i < n; i++)                      \
        if (((const T *)data)[i] == 0)                   \
            return true;                                 \
    return false;
    switch (dtype) {
    case KEEL_INT8: case KEEL_UINT8: SCAN_AS(uint8_t)
    case KEEL_INT16: case KEEL_UINT16: SCAN_AS(uint16_t)
    case KEEL_INT32: case KEEL_UINT32: SCAN_AS(uint32_t)
    case KEEL_INT64: case KEEL_UINT64: SCAN_AS(uint64_t)
    default: return false; /* floating point: x / 0 is inf or nan */
    }
#undef SCAN_AS
}

static keel_status check_divisors(kl_opctx *c)
{
    const kl_tensor *b = c->in[1];
    if (has_zero(b->data, b->dtype, kl_numel(b)))
        return kl_op_fail(c, KEEL_ERR_RUNTIME, "integer division by zero");
    return KEEL_OK;
}

KL_BINARY_OPFILE(div, "Div", check_divisors)
