/* ops/drivers/softmax.h -- the shared implementation of Softmax, LogSoftmax and
 * Hardmax (float).
 *
 * Opsets 1-12 coerce the input to 2-D at `axis` (default 1) and normalize
 * each row over all the dims from `axis` on together; 13+ normalize along
 * `axis` alone (default -1).  Softmax and LogSoftmax subtract the maximum
 * first, so large inputs do not overflow; Hardmax marks the first maximum
 * of each row with 1 and everything else with 0.  All three can run in
 * place (output 0 in input 0's buffer). */
#ifndef KL_SOFTMAX_COMMON_H
#define KL_SOFTMAX_COMMON_H

#include "../op.h"

typedef enum kl_softmax_kind { KL_SOFTMAX, KL_LOGSOFTMAX, KL_HARDMAX } kl_softmax_kind;

#define KL_SOFTMAX_CHUNK 64 /* rows handled together when they are not contiguous */

keel_status kl_softmax_infer(kl_opctx *c);
keel_status kl_softmax_run(kl_opctx *c, kl_softmax_kind kind);
/* The axis is not the batch's (kl_op.images_apart). */
bool kl_softmax_images_apart(const kl_opctx *c);

/* Defines the descriptors of TYPE (opsets 1-10, 11-12: coerced to 2-D;
 * 13+: along one axis) computing KIND, and the file's list kl_opfile_OP. */
#define KL_SOFTMAX_OPFILE(OP, TYPE, KIND)                                                     \
    static keel_status OP##_run(kl_opctx *c)                                                 \
    {                                                                                        \
        return kl_softmax_run(c, KIND);                                                      \
    }                                                                                        \
    static const kl_op OP##_v1 = {.type = TYPE, .since = 1, .until = 10, .min_inputs = 1,    \
                                  .max_inputs = 1, .flags = KL_OP_INPLACE,                   \
                                  .infer = kl_softmax_infer, .run = OP##_run,                \
                                  .batch = KL_BATCH_PER_IMAGE,                               \
                                  .images_apart = kl_softmax_images_apart};                  \
    static const kl_op OP##_v11 = {.type = TYPE, .since = 11, .until = 12, .min_inputs = 1,  \
                                   .max_inputs = 1, .flags = KL_OP_INPLACE,                  \
                                   .infer = kl_softmax_infer, .run = OP##_run,               \
                                   .batch = KL_BATCH_PER_IMAGE,                              \
                                   .images_apart = kl_softmax_images_apart};                 \
    static const kl_op OP##_v13 = {.type = TYPE, .since = 13, .min_inputs = 1,               \
                                   .max_inputs = 1, .flags = KL_OP_INPLACE,                  \
                                   .infer = kl_softmax_infer, .run = OP##_run,               \
                                   .batch = KL_BATCH_PER_IMAGE,                              \
                                   .images_apart = kl_softmax_images_apart};                 \
    const kl_op *const kl_opfile_##OP[] = {&OP##_v1, &OP##_v11, &OP##_v13, NULL};

#endif
