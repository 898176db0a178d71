/* if.c -- If: runs then_branch or else_branch by the value of `cond`.
 * The branches may give outputs of different shapes, so the node is
 * planned when cond is known (at creation if it is constant, else at every
 * run); the chosen branch runs in infer() and run() hands its outputs over. */
#include "drivers/control.h"
#include "../runtime/exec.h"

static const kl_graph *branch_of(kl_opctx *c, bool cond)
{
    const kl_attr *a = kl_node_attr(c->node, cond ? "then_branch" : "else_branch");
    return a && a->type == KL_ATTR_GRAPH ? a->g : NULL;
}

static keel_status if_infer(kl_opctx *c)
{
    const kl_tensor *cond = c->in[0];
    if (kl_dtype_boxed(cond->dtype))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "cond is a %s value; a bool tensor expected", kl_dtype_name(cond->dtype));
    if (kl_numel(cond) != 1)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "cond must hold one value, not %lld", (long long)kl_numel(cond));
    if (!branch_of(c, true) || !branch_of(c, false))
        return kl_op_fail(c, KEEL_ERR_INVALID, "needs graph attributes then_branch and else_branch");
    if (!cond->data)
        return kl_op_needs_data(c, 0);
    const kl_graph *g = branch_of(c, kl_tensor_truth(cond));
    if (g->n_outputs != c->n_out)
        return kl_op_fail(c, KEEL_ERR_INVALID, "branch '%s' has %d outputs; the node has %d", g->name,
                          g->n_outputs, c->n_out);
    kl_results *r = kl_results_new(c->env, g->n_outputs);
    if (!r)
        return KEEL_ERR_NOMEM;
    keel_status st = kl_run_subgraph(c, g, NULL, 0, r->t);
    if (st) {
        kl_results_free(c->env, r);
        return st;
    }
    return kl_results_publish(c, r);
}

static const kl_op if_op = {.type = "If", .since = 1, .min_inputs = 1, .max_inputs = 1,
                            .flags = KL_OP_VALUES, .infer = if_infer, .run = kl_results_copy_out,
                            .release = kl_results_free};

const kl_op *const kl_opfile_if[] = {&if_op, NULL};
