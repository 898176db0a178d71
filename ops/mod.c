/* mod.c -- Mod: the remainder of x / y with broadcasting.  fmod = 0 (the
 * default): the sign follows the divisor, as Python's %; fmod = 1: the sign
 * follows the dividend, as C's fmod and %.  An integer divisor of 0 is a
 * run-time error; x mod -1 is 0 (INT_MIN % -1 would trap). */
#include <math.h>

#include "drivers/eltwise.h"

/* (T)-1 < 0 tells signed types; constant false for unsigned ones. */
#pragma GCC diagnostic ignored "-Wtype-limits"

#define IS_SIGNED(T) ((T)-1 < 0)
#define TRUNC_INT(T, U, x, y) (IS_SIGNED(T) && (y) == (T)-1 ? (T)0 : (T)((x) % (y)))
#define FLOOR_INT(T, U, x, y) \
    (TRUNC_INT(T, U, x, y) != 0 && ((TRUNC_INT(T, U, x, y) < 0) != ((y) < 0)) ? (T)(TRUNC_INT(T, U, x, y) + (y)) \
                                                                           : TRUNC_INT(T, U, x, y))
#define TRUNC_FLOAT(T, U, x, y) fmod(x, y)
#define FLOOR_FLOAT(T, U, x, y)                                                                          \
    (fmod(x, y) != 0 && ((fmod(x, y) < 0) != ((y) < 0)) ? fmod(x, y) + (y) : fmod(x, y))

KL_BINARY_KERNELS(fmod, TRUNC_FLOAT, TRUNC_INT)
KL_BINARY_KERNELS(pymod, FLOOR_FLOAT, FLOOR_INT)

static const kl_binary_kernel *kernels_of(const kl_opctx *c)
{
    return kl_attr_int(c->node, "fmod", 0) ? fmod_kernels : pymod_kernels;
}

static keel_status check_divisors(kl_opctx *c)
{
    const kl_tensor *y = c->in[1];
    if (y->dtype == KEEL_FLOAT || y->dtype == KEEL_DOUBLE || y->dtype == KEEL_FLOAT16)
        return KEEL_OK;
    int64_t n = kl_numel(y);
    size_t es = kl_dtype_size(y->dtype);
    for (int64_t i = 0; i < n; i++) {
        const unsigned char *p = (const unsigned char *)y->data + (size_t)i * es;
        bool zero = true;
        for (size_t b = 0; b < es; b++)
            zero = zero && p[b] == 0;
        if (zero)
            return kl_op_fail(c, KEEL_ERR_RUNTIME, "integer division by zero");
    }
    return KEEL_OK;
}

static keel_status mod_infer(kl_opctx *c)
{
    return kl_binary_infer(c, kernels_of(c), false);
}

static keel_status mod_run(kl_opctx *c)
{
    return kl_binary_run(c, kernels_of(c), check_divisors, false);
}

static const kl_op mod_op = {.type = "Mod", .since = 10, .min_inputs = 2, .max_inputs = 2,
                             .flags = KL_OP_INPLACE, .infer = mod_infer, .run = mod_run};

const kl_op *const kl_opfile_mod[] = {&mod_op, NULL};
