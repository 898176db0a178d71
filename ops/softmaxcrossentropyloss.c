/* softmaxcrossentropyloss.c -- SoftmaxCrossEntropyLoss (opsets 12, 13):
 * NegativeLogLikelihoodLoss of log(softmax(scores)) along the class dim,
 * which is output 1 (log_prob) when asked for; see ops/drivers/loss.h. */
#include "drivers/loss.h"

static keel_status sce_infer(kl_opctx *c)
{
    return kl_loss_infer(c, true);
}

static keel_status sce_run(kl_opctx *c)
{
    return kl_loss_run(c, true);
}

static size_t sce_scratch(kl_opctx *c)
{
    return kl_loss_scratch(c, true);
}

/* Opset 13 adds bfloat16 only. */
static const kl_op sce_v12 = {.type = "SoftmaxCrossEntropyLoss", .since = 12, .min_inputs = 2,
                              .max_inputs = 3, .infer = sce_infer, .run = sce_run,
                              .scratch = sce_scratch};

const kl_op *const kl_opfile_softmaxcrossentropyloss[] = {&sce_v12, NULL};
