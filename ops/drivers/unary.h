/* unary.h -- one-line definitions of the float activations and math
 * functions on top of the unary driver of eltwise.h: an op file states its
 * formula (over T, which is float or double; <tgmath.h> picks sinf or sin)
 * and the attributes that feed alpha and beta. */
#ifndef KL_UNARY_H
#define KL_UNARY_H

#include <tgmath.h>

#include "../kernels/kernels.h"
#include "eltwise.h"

/* Defines Type's kernels for float and double computing EXPR(T, x, alpha,
 * beta), and its descriptor for opsets 1 on; alpha and beta come from the
 * float attributes A_NAME and B_NAME (NULL: the default is a constant). */
#define KL_UNARY_FLOAT_OPFILE(OP, TYPE, EXPR, A_NAME, A_DEFAULT, B_NAME, B_DEFAULT)                 \
    KL_UNARY_FLOAT_KERNELS(OP, EXPR)                                                                \
    static keel_status OP##_infer(kl_opctx *c)                                                      \
    {                                                                                               \
        return kl_unary_infer(c, OP##_kernels);                                                     \
    }                                                                                               \
    static keel_status OP##_run(kl_opctx *c)                                                        \
    {                                                                                               \
        const char *a_name = A_NAME, *b_name = B_NAME;                                              \
        kl_unary_args args = {a_name ? kl_attr_float(c->node, a_name, A_DEFAULT) : A_DEFAULT,        \
                              b_name ? kl_attr_float(c->node, b_name, B_DEFAULT) : B_DEFAULT};       \
        return kl_unary_run(c, OP##_kernels, &args);                                                \
    }                                                                                               \
    static const kl_op OP##_op = {.type = TYPE, .since = 1, .min_inputs = 1, .max_inputs = 1,       \
                                  .flags = KL_OP_INPLACE, .infer = OP##_infer, .run = OP##_run,     \
                                  .batch = KL_BATCH_ELEMENTWISE};                                   \
    const kl_op *const kl_opfile_##OP[] = {&OP##_op, NULL};

/* KL_UNARY_FLOAT_OPFILE without attributes, whose float32 goes through
 * the kernel table's KERNEL (a klk_map_fn) over the session's threads;
 * double keeps EXPR. */
#define KL_UNARY_MAP_OPFILE(OP, TYPE, EXPR, KERNEL)                                                 \
    KL_UNARY_FLOAT_KERNELS(OP, EXPR)                                                                \
    static keel_status OP##_infer(kl_opctx *c)                                                      \
    {                                                                                               \
        return kl_unary_infer(c, OP##_kernels);                                                     \
    }                                                                                               \
    static void OP##_block(float *y, const float *x, size_t n, const void *kern)                    \
    {                                                                                               \
        ((const kl_kernels *)kern)->KERNEL.fn(y, x, n);                                             \
    }                                                                                               \
    static keel_status OP##_run(kl_opctx *c)                                                        \
    {                                                                                               \
        const kl_tensor *x = c->in[0];                                                              \
        if (x->dtype == KEEL_FLOAT) {                                                               \
            kl_map_f32(c->pool, OP##_block, c->env->kern, c->out[0]->data, x->data, kl_numel(x));    \
            return KEEL_OK;                                                                         \
        }                                                                                           \
        const kl_unary_args none = {0, 0};                                                          \
        return kl_unary_run(c, OP##_kernels, &none);                                                \
    }                                                                                               \
    static const kl_op OP##_op = {.type = TYPE, .since = 1, .min_inputs = 1, .max_inputs = 1,       \
                                  .flags = KL_OP_INPLACE, .infer = OP##_infer, .run = OP##_run,     \
                                  .batch = KL_BATCH_ELEMENTWISE};                                   \
    const kl_op *const kl_opfile_##OP[] = {&OP##_op, NULL};

#endif
