/* sequenceinsert.c -- SequenceInsert: a copy of a sequence with a tensor
 * inserted at a position (default: at the end). */
#include "drivers/sequence.h"

static keel_status insert_infer(kl_opctx *c)
{
    const kl_tensor *seq;
    keel_status st = kl_seq_input(c, 0, &seq);
    int64_t pos;
    if (!st) {
        const kl_tensor *items = seq->data;
        st = kl_seq_check_item(c, c->in[1], seq->dims[0] ? items[0].dtype : 0, "input 1");
    }
    if (!st)
        st = kl_seq_position(c, 2, seq->dims[0], true, seq->dims[0], &pos);
    if (!st)
        kl_seq_set_shape(c, 0, seq->dims[0] + 1);
    return st;
}

static keel_status insert_run(kl_opctx *c)
{
    const kl_tensor *seq = c->in[0], *items = seq->data;
    int64_t n = seq->dims[0], pos;
    keel_status st = kl_seq_position(c, 2, n, true, n, &pos);
    if (st)
        return st;
    kl_tensor *out = kl_alloc(c->env, (size_t)(n + 1) * sizeof *out);
    if (!out)
        return kl_op_fail(c, KEEL_ERR_NOMEM, "out of memory");
    for (int64_t i = 0, j = 0; i <= n; i++)
        out[i] = i == pos ? *c->in[1] : items[j++];
    st = kl_out_sequence(c, 0, out, n + 1);
    kl_free(c->env, out, (size_t)(n + 1) * sizeof *out);
    return st;
}

static const kl_op sequenceinsert = {.type = "SequenceInsert", .since = 11, .min_inputs = 2, .max_inputs = 3,
                                     .flags = KL_OP_VALUES, .infer = insert_infer, .run = insert_run};

const kl_op *const kl_opfile_sequenceinsert[] = {&sequenceinsert, NULL};
