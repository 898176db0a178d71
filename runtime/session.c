/* session.c -- a session's life: creation (operators resolved, inputs
 * bound, then the passes of passes.c over the session graph), runs (the
 * steps in order; nothing is allocated unless shapes depend on data),
 * subgraph runs for control-flow ops, and teardown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "split.h"
#include "../ops/registry.h"

#define KL_MAX_BOUND_VALUES 64

/* ---- 1. operator resolution --------------------------------------------- */

/* The newest ai.onnx opset keel knows the semantics of. */
#define KL_MAX_OPSET 18

/* Attribute names whose kind is the same in every ONNX operator that has
 * them: a file giving another kind is refused instead of the attribute
 * being silently ignored. */
static const struct { const char *name; kl_attr_type type; } kl_attr_kinds[] = {
    {"axis", KL_ATTR_INT}, {"axes", KL_ATTR_INTS}, {"group", KL_ATTR_INT},
    {"strides", KL_ATTR_INTS}, {"pads", KL_ATTR_INTS}, {"dilations", KL_ATTR_INTS},
    {"kernel_shape", KL_ATTR_INTS}, {"perm", KL_ATTR_INTS}, {"keepdims", KL_ATTR_INT},
    {"auto_pad", KL_ATTR_STRING}, {"mode", KL_ATTR_STRING}, {"transA", KL_ATTR_INT},
    {"transB", KL_ATTR_INT}, {"alpha", KL_ATTR_FLOAT}, {"beta", KL_ATTR_FLOAT},
    {"epsilon", KL_ATTR_FLOAT}, {"ceil_mode", KL_ATTR_INT}, {"count_include_pad", KL_ATTR_INT},
    {"to", KL_ATTR_INT}, {"starts", KL_ATTR_INTS}, {"ends", KL_ATTR_INTS},
    {"output_padding", KL_ATTR_INTS}, {"output_shape", KL_ATTR_INTS}, {"storage_order", KL_ATTR_INT},
    {"blocksize", KL_ATTR_INT}, {"then_branch", KL_ATTR_GRAPH}, {"else_branch", KL_ATTR_GRAPH},
    {"body", KL_ATTR_GRAPH},
};

static const char *attr_kind_name(kl_attr_type t)
{
    static const char *const names[] = {"UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH",
                                        "FLOATS", "INTS", "STRINGS", "TENSORS", "GRAPHS"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

static keel_status check_attr_kinds(kl_plan *s, const kl_node *n)
{
    for (int a = 0; a < n->n_attr; a++)
        for (size_t k = 0; k < sizeof kl_attr_kinds / sizeof kl_attr_kinds[0]; k++)
            if (strcmp(n->attr[a].name, kl_attr_kinds[k].name) == 0 && n->attr[a].type != kl_attr_kinds[k].type)
                return kl_error(&s->env, KEEL_ERR_INVALID,
                                "%s: node %d '%s' (%s): attribute '%s' is %s; %s expected", s->model->name,
                                n->file_index, n->name, n->op_type, n->attr[a].name,
                                attr_kind_name(n->attr[a].type), attr_kind_name(kl_attr_kinds[k].type));
    return KEEL_OK;
}

static keel_status resolve_ops(kl_plan *s)
{
    int64_t onnx_opset = kl_model_opset(s->model, "");
    if (onnx_opset > KL_MAX_OPSET)
        return kl_error(&s->env, KEEL_ERR_UNSUPPORTED, "%s: the model imports ai.onnx opset %lld; keel knows opsets 1 to %d",
                        s->model->name, (long long)onnx_opset, KL_MAX_OPSET);
    for (int i = 0; i < s->n_nodes; i++) {
        keel_status st = check_attr_kinds(s, s->nodes[i].src);
        if (st)
            return st;
    }
    char msg[KL_ERRMSG] = "";
    size_t used = 0;
    int missing = 0;
    for (int i = 0; i < s->n_nodes; i++) {
        const kl_node *n = s->nodes[i].src;
        int opset = (int)kl_model_opset(s->model, n->domain);
        const kl_op *op = kl_custom_find(s->model, n->domain, n->op_type, opset);
        if (!op)
            op = kl_registry_find(n->domain, n->op_type, opset);
        if ((s->nodes[i].op = op) != NULL)
            continue;
        /* one line per distinct (domain, op): list its nodes after it */
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = !s->nodes[j].op && strcmp(s->nodes[j].src->op_type, n->op_type) == 0 &&
                   strcmp(s->nodes[j].src->domain, n->domain) == 0;
        if (seen)
            continue;
        missing++;
        const char *why = kl_registry_knows(n->domain, n->op_type) ? "not at this opset" : "unknown op";
        kl_appendf(msg, sizeof msg, &used, "%s%s%s%s (opset %d, %s): nodes", missing > 1 ? "; " : "",
                   n->domain[0] ? n->domain : "", n->domain[0] ? "." : "", n->op_type, opset, why);
        int listed = 0;
        for (int j = i; j < s->n_nodes; j++) {
            const kl_node *o = s->nodes[j].src;
            if (strcmp(o->op_type, n->op_type) || strcmp(o->domain, n->domain))
                continue;
            if (listed++ < 4)
                kl_appendf(msg, sizeof msg, &used, " %d '%s'", o->file_index, o->name);
        }
        if (listed > 4)
            kl_appendf(msg, sizeof msg, &used, " and %d more", listed - 4);
    }
    if (missing)
        return kl_error(&s->env, KEEL_ERR_UNSUPPORTED, "%s: %d operator%s not supported by keel: %s",
                        s->model->name, missing, missing > 1 ? "s are" : " is", msg);
    return KEEL_OK;
}

/* ---- 2. inputs ------------------------------------------------------------ */

static int64_t bound_dim(const keel_dim_binding *dims, int n_dims, const char *param, bool *found)
{
    *found = false;
    for (int i = 0; param && i < n_dims; i++)
        if (dims[i].name && strcmp(dims[i].name, param) == 0) {
            *found = true;
            return dims[i].value;
        }
    return 1;
}

/* Small integer and boolean inputs whose values are given at creation
 * (shape lists, axes, counts, flags) become constants, so what depends on
 * them plans statically; runs must then pass the same values. */
static bool is_bindable_value(const keel_tensor *t)
{
    int64_t n = kl_numel(t);
    return (t->dtype == KEEL_INT64 || t->dtype == KEEL_INT32 || t->dtype == KEEL_BOOL) &&
           n <= KL_MAX_BOUND_VALUES;
}

/* A symbolic dim of input k takes the value it has in the inputs before
 * it (one name, one value). */
static keel_status check_symbols(kl_plan *s, int k)
{
    const kl_graph *g = s->g;
    const kl_decl *d = &g->values[g->inputs[k]].decl;
    for (int i = 0; i < d->rank && i < s->slots[g->inputs[k]].t.rank; i++) {
        if (d->dims[i] >= 0 || !d->params[i])
            continue;
        for (int j = 0; j <= k; j++) {
            const kl_decl *e = &g->values[g->inputs[j]].decl;
            const kl_tensor *t = &s->slots[g->inputs[j]].t;
            for (int a = 0; a < e->rank && a < t->rank && (j < k || a < i); a++)
                if (e->dims[a] < 0 && e->params[a] && strcmp(e->params[a], d->params[i]) == 0 &&
                    t->dims[a] != s->slots[g->inputs[k]].t.dims[i])
                    return kl_error(&s->env, KEEL_ERR_SHAPE,
                                    "%s: input '%s' dim %d ('%s') is %lld, but input '%s' dim %d ('%s') is %lld",
                                    s->model->name, g->values[g->inputs[k]].name, i, d->params[i],
                                    (long long)s->slots[g->inputs[k]].t.dims[i], g->values[g->inputs[j]].name,
                                    a, e->params[a], (long long)t->dims[a]);
        }
    }
    return KEEL_OK;
}

static keel_status bind_inputs(kl_plan *s, const keel_dim_binding *dims, int n_dims,
                               const keel_tensor *shapes)
{
    const kl_graph *g = s->g;
    for (int k = 0; k < g->n_inputs; k++) {
        const kl_value *v = &g->values[g->inputs[k]];
        kl_slot *slot = &s->slots[g->inputs[k]];
        const kl_decl *d = &v->decl;
        const keel_tensor *given = shapes && shapes[k].dtype ? &shapes[k] : NULL;
        if (kl_decl_at_run(d)) { /* strings, sequences, optionals: read at each run */
            slot->t.dtype = d->dtype;
            slot->t.rank = -1;
            slot->known = slot->dynamic = true;
            continue;
        }
        if (!d->has_type || !kl_dtype_supported(d->dtype))
            return kl_error(&s->env, KEEL_ERR_UNSUPPORTED,
                            "%s: graph input '%s' is not a tensor of a type keel supports (%s)",
                            s->model->name, v->name, kl_dtype_name(d->dtype));
        slot->t.dtype = d->dtype;
        if (given) {
            if (given->dtype != d->dtype || (d->rank >= 0 && given->rank != d->rank) ||
                given->rank < 0 || given->rank > KL_MAX_RANK)
                return kl_error(&s->env, KEEL_ERR_SHAPE,
                                "%s: input '%s' was given as %s of rank %d; the model declares %s of rank %d",
                                s->model->name, v->name, kl_dtype_name(given->dtype), given->rank,
                                kl_dtype_name(d->dtype), d->rank);
            slot->t.rank = given->rank;
            for (int i = 0; i < given->rank; i++) {
                if (given->dims[i] < 0 ||
                    (d->rank >= 0 && d->dims[i] >= 0 && d->dims[i] != given->dims[i] && !(s->image && i == 0)))
                    return kl_error(&s->env, KEEL_ERR_SHAPE,
                                    "%s: input '%s' dim %d was given as %lld; the model declares %lld",
                                    s->model->name, v->name, i, (long long)given->dims[i],
                                    (long long)d->dims[i]);
                slot->t.dims[i] = given->dims[i];
            }
        } else {
            if (d->rank < 0)
                return kl_error(&s->env, KEEL_ERR_SHAPE,
                                "%s: input '%s' has no declared shape; give its shape", s->model->name, v->name);
            slot->t.rank = d->rank;
            for (int i = 0; i < d->rank; i++) {
                bool found = true;
                slot->t.dims[i] = d->dims[i] >= 0 ? d->dims[i] : bound_dim(dims, n_dims, d->params[i], &found);
                if (!found) /* (sessions plan only shapes they know: see shapes_known) */
                    return kl_error(&s->env, KEEL_ERR_SHAPE, "%s: input '%s' dim %d ('%s') has no value",
                                    s->model->name, v->name, i, d->params[i] ? d->params[i] : "?");
                if (slot->t.dims[i] < 0)
                    return kl_error(&s->env, KEEL_ERR_SHAPE, "%s: input '%s' dim %d bound to %lld",
                                    s->model->name, v->name, i, (long long)slot->t.dims[i]);
            }
        }
        keel_status sym = check_symbols(s, k);
        if (sym)
            return sym;
        int64_t numel;
        if (!kl_checked_numel(slot->t.rank, slot->t.dims, &numel) ||
            (uint64_t)numel > s->env.max_tensor_bytes / kl_dtype_size(slot->t.dtype))
            return kl_error(&s->env, KEEL_ERR_LIMIT, "%s: input '%s' is larger than the tensor size limit",
                            s->model->name, v->name);
        slot->known = true;
        if (given && given->data && is_bindable_value(given)) {
            keel_status st = kl_tensor_alloc_data(&s->env, &slot->t);
            if (st)
                return st;
            memcpy(slot->t.data, given->data, kl_nbytes(&slot->t));
            slot->is_const = slot->owns_data = true;
        }
    }
    return KEEL_OK;
}

keel_status kl_ctx_fill(kl_plan *s, const kl_snode *n, kl_opctx *c)
{
    memset(c, 0, sizeof *c);
    c->op = n->op;
    c->node = n->src;
    c->opset = n->opset ? n->opset : (int)kl_model_opset(s->model, n->src->domain);
    c->env = &s->env;
    c->plan = s;
    c->n_in = n->n_in;
    c->n_out = n->n_out;
    c->in = kl_alloc(&s->env, (size_t)(n->n_in ? n->n_in : 1) * sizeof *c->in);
    c->out = kl_alloc(&s->env, (size_t)(n->n_out ? n->n_out : 1) * sizeof *c->out);
    if (!c->in || !c->out)
        return KEEL_ERR_NOMEM;
    for (int k = 0; k < n->n_in; k++)
        c->in[k] = n->in[k] >= 0 ? &s->slots[n->in[k]].t : NULL;
    for (int k = 0; k < n->n_out; k++)
        c->out[k] = n->out[k] >= 0 ? &s->slots[n->out[k]].t : NULL;
    c->epi = n->epi;
    c->epi.kern = s->env.kern;
    /* a residual and a bias a pass gave the node reach its kernel as fused
     * work */
    const int r = n->op->residual_input;
    if (r && r < n->n_in) {
        c->epi.residual = c->in[r];
        c->n_in = r;
    }
    if (r && r + 1 < n->n_in && c->in[r + 1]) {
        c->epi.bias = c->in[r + 1]->data;
        c->epi.bias_len = kl_numel(c->in[r + 1]);
    }
    c->pre_pad = n->has_pre_pad ? n->pre_pad : NULL;
    c->in_scale = n->in_scale;
    return KEEL_OK;
}

void kl_ctx_free(kl_plan *s, const kl_snode *n, kl_opctx *c)
{
    if (!c->node)
        return; /* never filled */
    if (c->state && c->op->release)
        c->op->release(&s->env, c->state);
    c->state = NULL;
    kl_free(&s->env, c->in, (size_t)(n->n_in ? n->n_in : 1) * sizeof *c->in);
    kl_free(&s->env, c->out, (size_t)(n->n_out ? n->n_out : 1) * sizeof *c->out);
    c->in = c->out = NULL;
}

keel_status kl_ctx_check_outputs(kl_plan *s, kl_opctx *c)
{
    for (int k = 0; k < c->n_out; k++) {
        kl_tensor *t = c->out[k];
        if (!t)
            continue;
        int64_t numel;
        if (t->dtype == KEEL_NONE || (t->dtype == KEEL_SEQUENCE && t->rank == 1))
            continue;
        if (!kl_dtype_supported(t->dtype) || t->rank < 0 || t->rank > KL_MAX_RANK)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "output %d has no valid type after inference", k);
        if (!kl_checked_numel(t->rank, t->dims, &numel))
            return kl_op_fail(c, KEEL_ERR_SHAPE, "output %d has negative or overflowing dims", k);
        if ((uint64_t)numel > s->env.max_tensor_bytes / kl_dtype_size(t->dtype))
            return kl_op_fail(c, KEEL_ERR_LIMIT, "output %d of %lld elements exceeds the tensor size limit",
                              k, (long long)numel);
    }
    return KEEL_OK;
}

/* ---- plans ---------------------------------------------------------------------- */

static void copy_err(const kl_env *env, char *err, size_t err_size)
{
    if (err && err_size) {
        snprintf(err, err_size, "%s", env->msg[0] ? env->msg : keel_status_string(env->status));
    }
}

/* A subgraph's formal inputs and the values it reads from enclosing
 * scopes are all known when it runs: they become constants (borrowed, not
 * copied), so the subgraph folds as far as its ops allow. */
static keel_status bind_subgraph(kl_plan *s, const kl_tensor *const *sub_in, int n_sub_in)
{
    const kl_graph *g = s->g;
    if (n_sub_in != g->n_inputs)
        return kl_error(&s->env, KEEL_ERR_INVALID, "%s: subgraph '%s' takes %d inputs; it was given %d",
                        s->model->name, g->name, g->n_inputs, n_sub_in);
    for (int k = 0; k < g->n_inputs; k++) {
        kl_slot *sl = &s->slots[g->inputs[k]];
        sl->t = *sub_in[k];
        sl->known = sl->is_const = true;
    }
    for (int v = 0; v < g->n_values; v++) {
        if (g->values[v].kind != KL_VALUE_OUTER)
            continue;
        const kl_plan *p = s->parent;
        int id = kl_graph_find(p->g, g->values[v].name);
        if (id < 0)
            return kl_error(&s->env, KEEL_ERR_INVALID, "%s: subgraph '%s' reads '%s', which has no value here",
                            s->model->name, g->name, g->values[v].name);
        if (!p->slots[id].known || p->slots[id].t.rank < 0 ||
            (!p->slots[id].t.data && kl_nbytes(&p->slots[id].t)))
            return KL_DEFERRED; /* not computed yet: the node runs at run time */
        s->slots[v].t = p->slots[id].t;
        s->slots[v].known = s->slots[v].is_const = true;
    }
    return KEEL_OK;
}

/* Everything session creation does after allocating s (s->env, s->model,
 * s->g and s->parent set): the main graph with its input bindings, or a
 * subgraph with its formal inputs (sub_in) and enclosing values; then the
 * passes. */
static keel_status build(kl_plan *s, const keel_dim_binding *dims, int n_dims,
                         const keel_tensor *input_shapes, const kl_tensor *const *sub_in, int n_sub_in)
{
    keel_status st = kl_sgraph_init(s);
    if (!st)
        st = resolve_ops(s);
    if (!st)
        st = s->parent ? bind_subgraph(s, sub_in, n_sub_in) : bind_inputs(s, dims, n_dims, input_shapes);
    if (!st)
        st = kl_passes_run(s);
    return st;
}

keel_status kl_session_build_subgraph(kl_plan *sub, const kl_tensor *const *inputs, int n_inputs)
{
    return build(sub, NULL, 0, NULL, inputs, n_inputs);
}

void kl_plan_free(kl_plan *p)
{
    if (!p)
        return;
    kl_env env = p->env;
    for (int k = 0; p->steps && k < p->n_steps; k++) {
        kl_step *st = &p->steps[k];
        if (st->dynamic)
            kl_free(&env, st->ctx.scratch, st->dyn_scratch_cap);
        kl_ctx_free(p, &p->nodes[st->node], &st->ctx);
    }
    kl_free(&env, p->steps, (size_t)(p->n_nodes ? p->n_nodes : 1) * sizeof *p->steps);
    for (int v = 0; p->slots && v < p->n_values; v++)
        kl_plan_unhold(p, v);
    kl_passes_free(p);
    kl_sgraph_free(p);
    kl_split_free(p);
    if (!p->owner || p->image) /* a subgraph's plan and a plan of one image own their arenas */
        kl_free(&env, p->arena, p->arena_size ? p->arena_size : 64);
    kl_free(&env, p, sizeof *p);
}

/* What a caller may want to know about a plan that nonetheless succeeded. */
static void log_notes(const kl_plan *p)
{
    const kl_graph *g = p->g;
    if (p->n_dynamic)
        kl_log(&p->env, KEEL_LOG_INFO, "%s: %d nodes depend on data and are planned at each run",
               p->model->name, p->n_dynamic);
    for (int k = 0; k < g->n_outputs; k++) {
        const kl_decl *d = &g->values[g->outputs[k]].decl;
        const kl_tensor *t = &p->slots[g->outputs[k]].t;
        bool differs = t->rank >= 0 && d->rank >= 0 && d->rank != t->rank;
        for (int i = 0; !differs && t->rank >= 0 && i < d->rank; i++)
            differs = d->dims[i] >= 0 && d->dims[i] != t->dims[i];
        if (differs)
            kl_log(&p->env, KEEL_LOG_WARNING, "%s: output '%s' is declared with another shape than inference gives",
                   p->model->name, g->values[g->outputs[k]].name);
    }
}

void kl_session_take_error(keel_session *s, const kl_plan *p, keel_status st)
{
    s->env.status = st;
    memcpy(s->env.msg, p->env.msg, sizeof s->env.msg);
}

/* An empty plan of s, its errors cleared; NULL out of memory. */
static kl_plan *plan_alloc(keel_session *s)
{
    kl_plan *p = kl_alloc(&s->env, sizeof *p);
    if (!p)
        return NULL;
    p->env = s->env;
    p->env.status = KEEL_OK;
    p->env.msg[0] = 0;
    p->model = s->model;
    p->g = s->g;
    p->owner = s;
    p->pool = s->pool;
    p->passes_off = s->passes_off;
    return p;
}

/* A new plan of s for these shapes (see bind_inputs); on failure the
 * message is s's.  image: a plan of one image (kl_session_image_plan). */
static keel_status plan_made(keel_session *s, const keel_tensor *shapes, bool image, kl_plan **out)
{
    *out = NULL;
    double t0 = kl_now_ns();
    kl_plan *p = plan_alloc(s);
    if (!p)
        return kl_error(&s->env, KEEL_ERR_NOMEM, "%s: out of memory", s->model->name);
    if (image) {
        p->pool = NULL;
        p->env.threads = 1;
        p->image = true;
    }
    keel_status st = build(p, s->dims, s->n_dims, shapes, NULL, 0);
    if (!st && !image)
        kl_split_prepare(s, p);
    if (st) {
        if (st == KEEL_ERR_NOMEM && !p->env.msg[0])
            kl_error(&p->env, st, "%s: out of memory", s->model->name);
        kl_session_take_error(s, p, st);
        kl_plan_free(p);
        return st;
    }
    if (image)
        return *out = p, KEEL_OK;
    p->plan_ns = s->last_plan_ns = kl_now_ns() - t0;
    s->plans_made++;
    log_notes(p);
    *out = p;
    return KEEL_OK;
}

static keel_status plan_new(keel_session *s, const keel_tensor *shapes, kl_plan **out)
{
    return plan_made(s, shapes, false, out);
}

keel_status kl_session_image_plan(keel_session *s, const keel_tensor *shapes, kl_plan **out)
{
    return plan_made(s, shapes, true, out);
}

keel_status kl_session_arena(keel_session *s, size_t size, uint8_t **arena)
{
    if (size > s->arena_size || !s->arena) {
        size_t want = size > s->arena_size ? size : s->arena_size;
        uint8_t *grown = kl_alloc(&s->env, want ? want : 64);
        if (!grown)
            return KEEL_ERR_NOMEM;
        kl_free(&s->env, s->arena, s->arena_size ? s->arena_size : 64);
        s->arena = grown;
        s->arena_size = want;
    }
    *arena = s->arena;
    return KEEL_OK;
}

/* Whether plan p was made for these inputs: same types and shapes, and
 * the same values where it bound some. */
static bool plan_fits(const kl_plan *p, const keel_tensor *inputs)
{
    const kl_graph *g = p->g;
    for (int k = 0; k < g->n_inputs; k++) {
        const kl_slot *sl = &p->slots[g->inputs[k]];
        const keel_tensor *in = &inputs[k];
        if (kl_decl_at_run(&g->values[g->inputs[k]].decl))
            continue;
        if (in->dtype != sl->t.dtype || !kl_same_shape(in, &sl->t))
            return false;
        if (sl->is_const && kl_nbytes(in) && (!in->data || memcmp(in->data, sl->t.data, kl_nbytes(in))))
            return false;
    }
    return true;
}

/* Makes plans[k] the most recently used. */
static void to_front(keel_session *s, int k)
{
    kl_plan *p = s->plans[k];
    memmove(s->plans + 1, s->plans, (size_t)k * sizeof *s->plans);
    s->plans[0] = p;
}

/* Adds p as the most recently used plan, dropping the least recently used
 * one past max_plans. */
static void add_plan(keel_session *s, kl_plan *p)
{
    if (s->n_plans == s->max_plans)
        kl_plan_free(s->plans[--s->n_plans]);
    s->plans[s->n_plans++] = p;
    to_front(s, s->n_plans - 1);
}

keel_status kl_session_plan_for(keel_session *s, const keel_tensor *inputs, kl_plan **out)
{
    const kl_graph *g = s->g;
    for (int k = 0; k < s->n_plans; k++)
        if (plan_fits(s->plans[k], inputs)) {
            to_front(s, k);
            *out = s->plans[0];
            return KEEL_OK;
        }
    /* shapes only: values are bound at creation, never by a run */
    keel_tensor *shapes = kl_alloc(&s->env, (size_t)(g->n_inputs ? g->n_inputs : 1) * sizeof *shapes);
    if (!shapes)
        return KEEL_ERR_NOMEM;
    for (int k = 0; k < g->n_inputs; k++) {
        shapes[k] = inputs[k];
        shapes[k].data = NULL;
        if (!shapes[k].dtype) /* "not given" to bind_inputs: refuse it here */
            shapes[k].dtype = -1;
    }
    kl_plan *p;
    keel_status st = plan_new(s, shapes, &p);
    kl_free(&s->env, shapes, (size_t)(g->n_inputs ? g->n_inputs : 1) * sizeof *shapes);
    if (st)
        return st;
    add_plan(s, p);
    *out = p;
    return KEEL_OK;
}

/* ---- sessions ------------------------------------------------------------------- */

/* Whether the creation's shapes and bindings fix every input dim, so a
 * plan can be made ahead. */
static bool shapes_known(const keel_session *s, const keel_tensor *shapes)
{
    const kl_graph *g = s->g;
    for (int k = 0; k < g->n_inputs; k++) {
        const kl_decl *d = &g->values[g->inputs[k]].decl;
        if ((shapes && shapes[k].dtype) || kl_decl_at_run(d))
            continue;
        if (d->rank < 0)
            return false;
        for (int i = 0; i < d->rank; i++) {
            bool found = d->dims[i] >= 0;
            if (!found)
                bound_dim(s->dims, s->n_dims, d->params[i], &found);
            if (!found)
                return false;
        }
    }
    return true;
}

/* Without a plan made ahead, the model's operators are still checked at
 * creation, so that an unsupported one is reported there. */
static keel_status check_ops(keel_session *s)
{
    kl_plan *p = plan_alloc(s);
    if (!p)
        return KEEL_ERR_NOMEM;
    keel_status st = kl_sgraph_init(p);
    if (!st)
        st = resolve_ops(p);
    if (st)
        kl_session_take_error(s, p, st);
    kl_plan_free(p);
    return st;
}

static keel_status copy_dims(keel_session *s, const keel_dim_binding *dims, int n_dims)
{
    if (n_dims <= 0 || !dims)
        return KEEL_OK;
    if (!(s->dims = kl_alloc(&s->env, (size_t)n_dims * sizeof *s->dims)))
        return KEEL_ERR_NOMEM;
    for (int i = 0; i < n_dims; i++) {
        s->n_dims = i + 1;
        s->dims[i].value = dims[i].value;
        if (dims[i].name && !(s->dims[i].name = kl_strdup(&s->env, dims[i].name)))
            return KEEL_ERR_NOMEM;
    }
    return KEEL_OK;
}

#define KL_DEFAULT_MAX_PLANS 8

static keel_status session_init(keel_session *s, const keel_options *opt, const keel_dim_binding *dims,
                                int n_dims, const keel_tensor *input_shapes)
{
    s->max_plans = opt && opt->max_plans > 0 ? opt->max_plans : KL_DEFAULT_MAX_PLANS;
    if (opt && opt->max_plans < 0)
        return kl_error(&s->env, KEEL_ERR_ARGUMENT, "keel_options.max_plans is %d; 0 (default) or more expected",
                        opt->max_plans);
    keel_status st = kl_passes_parse(&s->env, opt ? opt->passes_off : NULL, &s->passes_off);
    if (!st)
        st = copy_dims(s, dims, n_dims);
    if (!st && !(s->plans = kl_alloc(&s->env, (size_t)s->max_plans * sizeof *s->plans)))
        st = KEEL_ERR_NOMEM;
    if (!st && s->env.threads > 1 && !(s->pool = kl_pool_new(&s->env, s->env.threads)))
        st = KEEL_ERR_NOMEM;
    if (st)
        return st;
    if (!shapes_known(s, input_shapes))
        return check_ops(s);
    kl_plan *p;
    st = plan_new(s, input_shapes, &p);
    if (!st)
        add_plan(s, p);
    return st;
}

keel_status keel_session_create(keel_session **out, const keel_model *model,
                                const keel_options *opt, const keel_dim_binding *dims,
                                int n_dims, const keel_tensor *input_shapes, char *err,
                                size_t err_size)
{
    if (out)
        *out = NULL;
    if (!out || !model) {
        if (err && err_size)
            snprintf(err, err_size, "keel_session_create: NULL argument");
        return KEEL_ERR_ARGUMENT;
    }
    kl_env env;
    kl_env_init(&env, opt ? opt : NULL);
    if (!opt) /* without options, use the model's allocator and limits */
        env = model->env;
    env.status = KEEL_OK;
    env.msg[0] = 0;
    keel_session *s = kl_alloc(&env, sizeof *s);
    if (!s) {
        copy_err(&env, err, err_size);
        return KEEL_ERR_NOMEM;
    }
    s->env = env;
    s->model = model;
    s->g = model->graph;
    kl_session_arm_deadline(s);
    keel_status st = session_init(s, opt, dims, n_dims, input_shapes);
    s->deadline_ns = 0;
    if (st) {
        if (st == KEEL_ERR_NOMEM && !s->env.msg[0])
            kl_error(&s->env, st, "%s: out of memory", model->name);
        copy_err(&s->env, err, err_size);
        keel_session_free(s);
        return st;
    }
    s->env.status = KEEL_OK;
    s->env.msg[0] = 0;
    *out = s;
    return KEEL_OK;
}

void keel_session_free(keel_session *s)
{
    if (!s)
        return;
    kl_env env = s->env;
    for (int k = 0; k < s->n_plans; k++)
        kl_plan_free(s->plans[k]);
    kl_free(&env, s->plans, (size_t)s->max_plans * sizeof *s->plans);
    kl_pool_free(s->pool);
    for (int i = 0; i < s->n_dims; i++)
        kl_strfree(&env, (char *)s->dims[i].name);
    kl_free(&env, s->dims, (size_t)s->n_dims * sizeof *s->dims);
    kl_free(&env, s->arena, s->arena_size ? s->arena_size : 64);
    kl_free(&env, s, sizeof *s);
}

void keel_session_get_stats(const keel_session *s, keel_session_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!s)
        return;
    out->runs = s->runs;
    out->plans_made = s->plans_made;
    out->plans_kept = s->n_plans;
    out->arena_bytes = s->arena_size;
    out->last_plan_ms = s->last_plan_ns / 1e6;
}

/* ---- introspection ------------------------------------------------------------------ */

int keel_session_input_count(const keel_session *s) { return s ? s->g->n_inputs : 0; }
int keel_session_output_count(const keel_session *s) { return s ? s->g->n_outputs : 0; }

const char *keel_session_input_name(const keel_session *s, int i)
{
    return s && i >= 0 && i < s->g->n_inputs ? s->g->values[s->g->inputs[i]].name : NULL;
}

const char *keel_session_output_name(const keel_session *s, int i)
{
    return s && i >= 0 && i < s->g->n_outputs ? s->g->values[s->g->outputs[i]].name : NULL;
}

static int index_of(const kl_graph *g, const int *ids, int n, const char *name)
{
    for (int k = 0; name && k < n; k++)
        if (strcmp(g->values[ids[k]].name, name) == 0)
            return k;
    return -1;
}

int keel_session_input_index(const keel_session *s, const char *name)
{
    return s ? index_of(s->g, s->g->inputs, s->g->n_inputs, name) : -1;
}

int keel_session_output_index(const keel_session *s, const char *name)
{
    return s ? index_of(s->g, s->g->outputs, s->g->n_outputs, name) : -1;
}

/* Value v as the newest plan has it. */
static keel_status value_info(const keel_session *s, int v, keel_tensor *info)
{
    *info = s->plans[0]->slots[v].t;
    info->data = NULL;
    return KEEL_OK;
}

/* Before any plan, the declared shapes (-1 for dims not known). */
keel_status keel_session_input_info(const keel_session *s, int i, keel_tensor *info)
{
    if (!s || !info || i < 0 || i >= s->g->n_inputs)
        return KEEL_ERR_ARGUMENT;
    return s->n_plans ? value_info(s, s->g->inputs[i], info) : keel_model_input_info(s->model, i, info, NULL);
}

keel_status keel_session_output_info(const keel_session *s, int i, keel_tensor *info)
{
    if (!s || !info || i < 0 || i >= s->g->n_outputs)
        return KEEL_ERR_ARGUMENT;
    return s->n_plans ? value_info(s, s->g->outputs[i], info) : keel_model_output_info(s->model, i, info, NULL);
}
