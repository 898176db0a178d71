/* sequenceerase.c -- SequenceErase: a copy of a sequence without the
 * tensor at a position (default: the last). */
#include "drivers/sequence.h"

static keel_status erase_infer(kl_opctx *c)
{
    const kl_tensor *seq;
    keel_status st = kl_seq_input(c, 0, &seq);
    int64_t pos;
    if (!st)
        st = kl_seq_position(c, 1, seq->dims[0], false, seq->dims[0] - 1, &pos);
    if (!st)
        kl_seq_set_shape(c, 0, seq->dims[0] - 1);
    return st;
}

static keel_status erase_run(kl_opctx *c)
{
    const kl_tensor *seq = c->in[0], *items = seq->data;
    int64_t n = seq->dims[0], pos;
    keel_status st = kl_seq_position(c, 1, n, false, n - 1, &pos);
    if (st)
        return st;
    kl_tensor *out = kl_alloc(c->env, (size_t)n * sizeof *out);
    if (!out)
        return kl_op_fail(c, KEEL_ERR_NOMEM, "out of memory");
    for (int64_t i = 0, j = 0; i < n; i++)
        if (i != pos)
            out[j++] = items[i];
    st = kl_out_sequence(c, 0, out, n - 1);
    kl_free(c->env, out, (size_t)n * sizeof *out);
    return st;
}

static const kl_op sequenceerase = {.type = "SequenceErase", .since = 11, .min_inputs = 1, .max_inputs = 2,
                                    .flags = KL_OP_VALUES, .infer = erase_infer, .run = erase_run};

const kl_op *const kl_opfile_sequenceerase[] = {&sequenceerase, NULL};
