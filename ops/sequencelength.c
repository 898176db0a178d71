/* sequencelength.c -- SequenceLength: the number of tensors in a sequence,
 * as an int64 scalar. */
#include "drivers/sequence.h"

static keel_status length_infer(kl_opctx *c)
{
    const kl_tensor *seq;
    keel_status st = kl_seq_input(c, 0, &seq);
    if (!st)
        kl_set_shape(c->out[0], KEEL_INT64, 0, NULL);
    return st;
}

static keel_status length_run(kl_opctx *c)
{
    *(int64_t *)c->out[0]->data = c->in[0]->dims[0];
    return KEEL_OK;
}

static const kl_op sequencelength = {.type = "SequenceLength", .since = 11, .min_inputs = 1, .max_inputs = 1,
                                     .flags = KL_OP_VALUES, .infer = length_infer, .run = length_run};

const kl_op *const kl_opfile_sequencelength[] = {&sequencelength, NULL};
