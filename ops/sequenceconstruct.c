/* sequenceconstruct.c -- SequenceConstruct: a sequence of its inputs, all
 * tensors of one element type. */
#include <stdio.h>

#include "drivers/sequence.h"

static keel_status construct_infer(kl_opctx *c)
{
    for (int k = 0; k < c->n_in; k++) {
        char what[32];
        snprintf(what, sizeof what, "input %d", k);
        if (!c->in[k])
            return kl_op_fail(c, KEEL_ERR_INVALID, "%s is missing", what);
        keel_status st = kl_seq_check_item(c, c->in[k], c->in[0]->dtype, what);
        if (st)
            return st;
    }
    kl_seq_set_shape(c, 0, c->n_in);
    return KEEL_OK;
}

static keel_status construct_run(kl_opctx *c)
{
    kl_tensor *items = kl_alloc(c->env, (size_t)c->n_in * sizeof *items);
    if (!items)
        return kl_op_fail(c, KEEL_ERR_NOMEM, "out of memory");
    for (int k = 0; k < c->n_in; k++)
        items[k] = *c->in[k];
    keel_status st = kl_out_sequence(c, 0, items, c->n_in);
    kl_free(c->env, items, (size_t)c->n_in * sizeof *items);
    return st;
}

static const kl_op sequenceconstruct = {.type = "SequenceConstruct", .since = 11, .min_inputs = 1,
                                        .max_inputs = -1, .flags = KL_OP_VALUES | KL_OP_NO_FOLD,
                                        .infer = construct_infer, .run = construct_run};

const kl_op *const kl_opfile_sequenceconstruct[] = {&sequenceconstruct, NULL};
