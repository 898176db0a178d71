/* sequencemap.c -- SequenceMap: runs the `body` subgraph once per item of
 * the input sequence; body input k is item i of input k when that is a
 * sequence (of the same length), else input k whole; body output j of
 * every run makes output sequence j. */
#include <string.h>

#include "drivers/control.h"
#include "drivers/sequence.h"

#define MAX_MAP_VALUES 64

static keel_status map_infer(kl_opctx *c)
{
    const kl_attr *a = kl_node_attr(c->node, "body");
    if (!a || a->type != KL_ATTR_GRAPH)
        return kl_op_fail(c, KEEL_ERR_INVALID, "needs a graph attribute 'body'");
    if (c->n_in > MAX_MAP_VALUES || c->n_out > MAX_MAP_VALUES)
        return kl_op_fail(c, KEEL_ERR_LIMIT, "more than %d inputs or outputs", MAX_MAP_VALUES);
    if (a->g->n_inputs != c->n_in || a->g->n_outputs != c->n_out)
        return kl_op_fail(c, KEEL_ERR_INVALID, "body takes %d inputs and gives %d outputs; the node has %d and %d",
                          a->g->n_inputs, a->g->n_outputs, c->n_in, c->n_out);
    const kl_tensor *seq;
    keel_status st = kl_seq_input(c, 0, &seq);
    for (int k = 1; !st && k < c->n_in; k++) {
        const kl_tensor *x = c->in[k];
        if (!x)
            return kl_op_fail(c, KEEL_ERR_INVALID, "input %d is missing", k);
        if (x->rank < 0)
            return kl_op_needs_data(c, k);
        if (x->dtype == KEEL_NONE)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "input %d is an empty optional", k);
        if (x->dtype == KEEL_SEQUENCE && x->dims[0] != seq->dims[0])
            return kl_op_fail(c, KEEL_ERR_SHAPE, "input %d is a sequence of %lld items; input 0 has %lld", k,
                              (long long)x->dims[0], (long long)seq->dims[0]);
    }
    for (int j = 0; !st && j < c->n_out; j++)
        if (c->out[j])
            kl_seq_set_shape(c, j, seq->dims[0]);
    return st;
}

/* Runs the body on item i; its outputs into outs[i * n_out + j]. */
static keel_status map_item(kl_opctx *c, const kl_graph *body, int64_t i, kl_tensor **outs)
{
    const kl_tensor *ins[MAX_MAP_VALUES];
    for (int k = 0; k < c->n_in; k++)
        ins[k] = c->in[k]->dtype == KEEL_SEQUENCE ? &((const kl_tensor *)c->in[k]->data)[i] : c->in[k];
    return kl_run_subgraph(c, body, ins, c->n_in, outs + i * c->n_out);
}

/* Output j: a sequence of the runs' output j. */
static keel_status give_output(kl_opctx *c, int j, kl_tensor **outs, int64_t n)
{
    kl_tensor *items = kl_alloc(c->env, (size_t)(n ? n : 1) * sizeof *items);
    if (!items)
        return kl_op_fail(c, KEEL_ERR_NOMEM, "out of memory");
    keel_status st = KEEL_OK;
    for (int64_t i = 0; i < n && !st; i++) {
        items[i] = *outs[i * c->n_out + j];
        st = kl_seq_check_item(c, &items[i], items[0].dtype, "a body output");
    }
    if (!st)
        st = kl_out_sequence(c, j, items, n);
    kl_free(c->env, items, (size_t)(n ? n : 1) * sizeof *items);
    return st;
}

static keel_status map_run(kl_opctx *c)
{
    const kl_graph *body = kl_node_attr(c->node, "body")->g;
    int64_t n = c->in[0]->dims[0];
    size_t count = (size_t)(n * c->n_out);
    kl_tensor **outs = kl_alloc(c->env, (count ? count : 1) * sizeof *outs);
    if (!outs)
        return kl_op_fail(c, KEEL_ERR_NOMEM, "out of memory");
    keel_status st = KEEL_OK;
    int64_t done = 0;
    for (; done < n && !st; done++)
        st = map_item(c, body, done, outs);
    for (int j = 0; j < c->n_out && !st; j++)
        if (c->out[j])
            st = give_output(c, j, outs, n);
    for (size_t k = 0; k < count; k++)
        kl_tensor_free(c->env, outs[k]);
    kl_free(c->env, outs, (count ? count : 1) * sizeof *outs);
    return st;
}

static const kl_op sequencemap = {.type = "SequenceMap", .since = 17, .min_inputs = 1, .max_inputs = -1,
                                  .flags = KL_OP_VALUES | KL_OP_NO_FOLD, .infer = map_infer, .run = map_run};

const kl_op *const kl_opfile_sequencemap[] = {&sequencemap, NULL};
