/* fold.c -- the pass `fold`: dtypes and shapes inferred in topological
 * order; a node whose inputs are all known at creation runs once and
 * leaves the session graph, its outputs becoming constants; a node whose
 * output shapes depend on data not known yet is marked dynamic (inferred
 * and given buffers at every run), and so is everything reading it. */
#include <string.h>

#include "session.h"

static bool foldable(const kl_plan *s, const kl_snode *n)
{
    if (n->op->flags & KL_OP_NO_FOLD)
        return false;
    for (int k = 0; k < n->n_deps; k++) {
        if (n->in[k] < 0)
            continue;
        const kl_slot *in = &s->slots[n->in[k]];
        if (!in->is_const && !((n->op->flags & KL_OP_SHAPE_ONLY) && k == 0))
            return false;
    }
    return true;
}

/* Runs c's node once, prepared as a step would be (scratch() sizes for
 * the prepared kernel; kl_ctx_free releases what prepare() built), into
 * the output buffers its slots already point at. */
static keel_status run_once(kl_plan *s, const kl_op *op, kl_opctx *c)
{
    size_t scratch = op->scratch ? op->scratch(c) : 0;
    if (scratch && !(c->scratch = kl_alloc(&s->env, scratch)))
        return KEEL_ERR_NOMEM;
    c->scratch_size = scratch;
    keel_status st = op->prepare ? op->prepare(c) : KEEL_OK;
    if (!st)
        st = op->run(c);
    kl_free(&s->env, c->scratch, scratch);
    c->scratch = NULL;
    return st;
}

/* Runs a node at creation time; its outputs become the plan's constants. */
static keel_status fold_node(kl_plan *s, kl_snode *n, kl_opctx *c)
{
    for (int k = 0; k < n->n_out; k++) {
        if (n->out[k] < 0)
            continue;
        kl_slot *o = &s->slots[n->out[k]];
        keel_status st = kl_tensor_alloc_data(&s->env, &o->t);
        if (st)
            return st;
        o->is_const = o->owns_data = true;
    }
    keel_status st = run_once(s, n->op, c);
    n->dead = true;
    s->n_folded++;
    return st;
}

/* fold_node with every input's bytes present: weights the model released
 * are held for the run, and let go after it. */
static keel_status fold_held(kl_plan *s, kl_snode *n, kl_opctx *c)
{
    bool held[KL_SHARED_MAX_VALUES];
    if (n->n_deps > KL_SHARED_MAX_VALUES) /* (only Conv reads such weights: none here) */
        return fold_node(s, n, c);
    keel_status st = kl_plan_hold_values(s, n->in, n->n_deps, held);
    if (!st)
        st = fold_node(s, n, c);
    kl_plan_unhold_values(s, n->in, n->n_deps, held);
    return st;
}

typedef struct fold_job {
    kl_plan *s;
    kl_snode *n;
    kl_opctx *c;
} fold_job;

/* The node's outputs, computed into new tensors of the model's (kl_make_fn). */
static keel_status make_folded(kl_env *env, void *arg, kl_tensor **made)
{
    fold_job *j = arg;
    for (int k = 0; k < j->n->n_out; k++) {
        const kl_tensor *t = j->n->out[k] >= 0 ? &j->s->slots[j->n->out[k]].t : NULL;
        if (!(made[k] = t ? kl_tensor_new(env, t->dtype, t->rank, t->dims) : kl_tensor_new(env, KEEL_FLOAT, 0, NULL)))
            return KEEL_ERR_NOMEM;
        if (t)
            j->s->slots[j->n->out[k]].t.data = made[k]->data;
    }
    keel_status st = run_once(j->s, j->n->op, j->c);
    for (int k = 0; k < j->n->n_out; k++) /* the slots take the model's tensors below */
        if (j->n->out[k] >= 0)
            j->s->slots[j->n->out[k]].t.data = NULL;
    return st;
}

/* A node whose inputs are all the model's own bytes (initializers, or
 * what was computed from them once per model) folds once per model: its
 * outputs become the model's, shared by every plan (Constant nodes holding
 * weights, chains transposing or casting them).  *done false: the plan
 * folds it itself. */
static keel_status fold_shared(kl_plan *s, kl_snode *n, kl_opctx *c, bool *done)
{
    const kl_tensor *out[4];
    *done = false;
    if (n->n_deps > KL_SHARED_MAX_VALUES || n->n_out > 4 || !n->n_out)
        return KEEL_OK;
    fold_job j = {s, n, c};
    keel_status st = kl_shared_tensors(s, n->src, s->env.kern, n->in, n->n_deps, n->n_out, make_folded, &j, out);
    if (st || !out[0])
        return st;
    for (int k = 0; k < n->n_out; k++) {
        if (n->out[k] < 0)
            continue;
        kl_slot *o = &s->slots[n->out[k]];
        o->t.data = out[k]->data;
        o->is_const = true;
        o->owns_data = false;
        o->source = out[k];
    }
    n->dead = true;
    s->n_folded++;
    *done = true;
    return KEEL_OK;
}

static bool reads_dynamic(const kl_plan *s, const kl_snode *n)
{
    for (int k = 0; k < n->n_deps; k++)
        if (n->in[k] >= 0 && s->slots[n->in[k]].dynamic)
            return true;
    return false;
}

static void defer_node(kl_plan *s, kl_snode *n)
{
    n->dynamic = true;
    s->n_dynamic++;
    s->env.status = KEEL_OK;
    s->env.msg[0] = 0;
    for (int k = 0; k < n->n_out; k++) {
        if (n->out[k] < 0)
            continue;
        kl_slot *o = &s->slots[n->out[k]];
        const kl_decl *d = &s->g->values[n->out[k]].decl;
        o->known = o->dynamic = true;
        o->t.dtype = d->has_type ? d->dtype : 0;
        o->t.rank = -1;
    }
}

/* Output 0, or with KL_OP_ANY_OUTPUT any output at all. */
static bool has_required_output(const kl_snode *n)
{
    for (int k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0)
            return k == 0 || (n->op->flags & KL_OP_ANY_OUTPUT);
    return false;
}

/* The node's inputs as its op requires them. */
static keel_status check_node(kl_plan *s, const kl_snode *n)
{
    const kl_op *op = n->op;
    char at[KL_ERRMSG / 2];
    kl_snode_str(n, at, sizeof at);
    if (n->n_in < op->min_inputs || (op->max_inputs >= 0 && n->n_in > op->max_inputs))
        return kl_error(&s->env, KEEL_ERR_INVALID, "%s: %s: has %d inputs; the op takes %d to %d", s->model->name,
                        at, n->n_in, op->min_inputs, op->max_inputs);
    if (!has_required_output(n))
        return kl_error(&s->env, KEEL_ERR_INVALID, "%s: %s: has no first output", s->model->name, at);
    for (int k = 0; k < op->min_inputs && k < n->n_in; k++)
        if (n->in[k] < 0)
            return kl_error(&s->env, KEEL_ERR_INVALID, "%s: %s: required input %d is empty", s->model->name, at, k);
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && !s->slots[n->in[k]].known)
            return kl_error(&s->env, KEEL_ERR_UNSUPPORTED, "%s: %s: input '%s' has no known type", s->model->name,
                            at, s->slots[n->in[k]].name);
    return KEEL_OK;
}

/* Whether the node gives a string tensor, a sequence or an empty
 * optional: those are made at each run, in buffers of their own. */
static bool gives_values(const kl_opctx *c)
{
    for (int k = 0; k < c->n_out; k++)
        if (c->out[k] && kl_dtype_boxed(c->out[k]->dtype))
            return true;
    return false;
}

static keel_status infer_node(kl_plan *s, kl_snode *n)
{
    keel_status st = check_node(s, n);
    if (st)
        return st;
    if (reads_dynamic(s, n)) { /* its input shapes are only known at run time */
        defer_node(s, n);
        return KEEL_OK;
    }
    kl_opctx c;
    st = kl_ctx_fill(s, n, &c);
    if (!st)
        st = kl_ctx_check_kinds(&c, false);
    if (!st)
        st = n->op->infer(&c);
    if (st == KL_DEFERRED || (!st && gives_values(&c))) {
        kl_ctx_free(s, n, &c);
        defer_node(s, n);
        return KEEL_OK;
    }
    if (!st)
        st = kl_ctx_check_outputs(s, &c);
    if (!st)
        st = kl_ctx_check_kinds(&c, true);
    bool done = false;
    if (!st && foldable(s, n))
        st = fold_shared(s, n, &c, &done);
    if (!st && !done && foldable(s, n))
        st = fold_held(s, n, &c);
    kl_ctx_free(s, n, &c);
    if (st) {
        if (st != KEEL_ERR_NOMEM || !strstr(s->env.msg, s->model->name))
            kl_error_prefix(&s->env, "%s", s->model->name);
        return st;
    }
    for (int k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0)
            s->slots[n->out[k]].known = true;
    return KEEL_OK;
}

keel_status kl_pass_fold(kl_plan *s)
{
    for (int i = 0; i < s->n_nodes; i++) {
        keel_status st = infer_node(s, &s->nodes[i]);
        if (st)
            return st;
    }
    kl_sgraph_compact(s);
    const kl_graph *g = s->g;
    for (int k = 0; k < g->n_outputs; k++)
        if (!s->slots[g->outputs[k]].known)
            return kl_error(&s->env, KEEL_ERR_INVALID, "%s: graph output '%s' has no known shape", s->model->name,
                            s->slots[g->outputs[k]].name);
    return KEEL_OK;
}
