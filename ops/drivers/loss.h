/* ops/drivers/loss.h -- NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss
 * (opsets 12 and 13; float and double).
 *
 * Input [N, C, d1, ..., dk] (k >= 0), target [N, d1, ..., dk] of int32 or
 * int64 class indices, optional weight [C].  Each position's loss is
 * -weight[t] * input[n, t, d] with t = target[n, d]; a position whose
 * target equals attribute ignore_index has loss and weight 0.  reduction
 * "none" returns the losses (shaped like target), "sum" their sum, "mean"
 * (the default) their sum divided by the sum of the weights used.
 * SoftmaxCrossEntropyLoss first takes log(softmax(scores)) along C and can
 * return it as output 1 (log_prob). */
#ifndef KL_LOSS_COMMON_H
#define KL_LOSS_COMMON_H

#include "../op.h"

keel_status kl_loss_infer(kl_opctx *c, bool softmax);
keel_status kl_loss_run(kl_opctx *c, bool softmax);
size_t kl_loss_scratch(kl_opctx *c, bool softmax);

#endif
