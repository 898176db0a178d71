/* sequenceat.c -- SequenceAt: the tensor at a position of a sequence
 * (negative positions count from the end). */
#include "drivers/sequence.h"

/* The item the node reads, into *item. */
static keel_status item_of(kl_opctx *c, const kl_tensor **item)
{
    const kl_tensor *seq;
    keel_status st = kl_seq_input(c, 0, &seq);
    int64_t pos;
    if (!st)
        st = kl_seq_position(c, 1, seq->dims[0], false, 0, &pos);
    if (!st)
        *item = &((const kl_tensor *)seq->data)[pos];
    return st;
}

static keel_status at_infer(kl_opctx *c)
{
    const kl_tensor *item;
    keel_status st = item_of(c, &item);
    if (!st)
        kl_value_set_shape(c, 0, item);
    return st;
}

static keel_status at_run(kl_opctx *c)
{
    const kl_tensor *item;
    keel_status st = item_of(c, &item);
    return st ? st : kl_value_give(c, 0, item);
}

static const kl_op sequenceat = {.type = "SequenceAt", .since = 11, .min_inputs = 2, .max_inputs = 2,
                                 .flags = KL_OP_VALUES, .infer = at_infer, .run = at_run};

const kl_op *const kl_opfile_sequenceat[] = {&sequenceat, NULL};
