/* variadic.h -- Sum, Mean, Max and Min: one or more inputs of one type,
 * broadcast numpy-style together, folded pairwise with a binary kernel. */
#ifndef KL_VARIADIC_H
#define KL_VARIADIC_H

#include "eltwise.h"

keel_status kl_variadic_infer(kl_opctx *c, const kl_binary_kernel *kernels);
/* mean: divide the sum by the input count afterwards (float types). */
keel_status kl_variadic_run(kl_opctx *c, const kl_binary_kernel *kernels, bool mean);

/* Descriptors over OP_kernels; opsets before 8 had no broadcasting, which
 * numpy broadcasting covers. */
#define KL_VARIADIC_OPFILE(OP, TYPE, MEAN)                                              \
    static keel_status OP##_infer(kl_opctx *c)                                          \
    {                                                                                   \
        return kl_variadic_infer(c, OP##_kernels);                                      \
    }                                                                                   \
    static keel_status OP##_run(kl_opctx *c)                                            \
    {                                                                                   \
        return kl_variadic_run(c, OP##_kernels, MEAN);                                  \
    }                                                                                   \
    static const kl_op OP##_op = {.type = TYPE, .since = 1, .min_inputs = 1,            \
                                  .max_inputs = -1, .infer = OP##_infer,                \
                                  .run = OP##_run, .batch = KL_BATCH_ELEMENTWISE};      \
    const kl_op *const kl_opfile_##OP[] = {&OP##_op, NULL};

#endif
