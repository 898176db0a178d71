/* negativeloglikelihoodloss.c -- NegativeLogLikelihoodLoss (opsets 12, 13):
 * the loss of log-probabilities against class indices; see ops/drivers/loss.h. */
#include "drivers/loss.h"

static keel_status nll_infer(kl_opctx *c)
{
    return kl_loss_infer(c, false);
}

static keel_status nll_run(kl_opctx *c)
{
    return kl_loss_run(c, false);
}

/* Opset 13 adds bfloat16 only. */
static const kl_op nll_v12 = {.type = "NegativeLogLikelihoodLoss", .since = 12, .min_inputs = 2,
                              .max_inputs = 3, .infer = nll_infer, .run = nll_run};

const kl_op *const kl_opfile_negativeloglikelihoodloss[] = {&nll_v12, NULL};
