/* sequenceempty.c -- SequenceEmpty: a sequence of no tensors (the dtype
 * attribute names what it would hold). */
#include "drivers/sequence.h"

static keel_status empty_infer(kl_opctx *c)
{
    int64_t dtype = kl_attr_int(c->node, "dtype", KEEL_FLOAT);
    if (!kl_dtype_supported((int)dtype) || dtype != (int)dtype)
        return kl_op_fail(c, KEEL_ERR_INVALID, "dtype %lld is not a tensor element type keel holds", (long long)dtype);
    kl_seq_set_shape(c, 0, 0);
    return KEEL_OK;
}

static keel_status empty_run(kl_opctx *c)
{
    return kl_out_sequence(c, 0, NULL, 0);
}

static const kl_op sequenceempty = {.type = "SequenceEmpty", .since = 11, .min_inputs = 0, .max_inputs = 0,
                                    .flags = KL_OP_VALUES | KL_OP_NO_FOLD, .infer = empty_infer, .run = empty_run};

const kl_op *const kl_opfile_sequenceempty[] = {&sequenceempty, NULL};
