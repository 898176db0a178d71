/* session.c -- from a loaded model to something that runs:
 *   1. resolve every node to an operator implementation (all missing ops
 *      are reported at once);
 *   2. infer dtypes and shapes in topological order, running nodes whose
 *      inputs are all known at creation (constant folding);
 *   3. plan: lifetimes over the remaining schedule, views and in-place
 *      reuse, then one arena with offsets placed greedily by size;
 *   4. run: walk the schedule; nothing is allocated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "session.h"
#include "../ops/registry.h"

#define ARENA_ALIGN 64
#define KL_MAX_BOUND_VALUES 64

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- stopping ------------------------------------------------------------------- */

/* Why the work of s must stop now ("" when it need not), read through the
 * outermost session. */
static const char *stop_reason(const keel_session *s, char *buf, size_t size)
{
    while (s->parent)
        s = s->parent;
    buf[0] = 0;
    if (atomic_load_explicit(&s->cancel, memory_order_relaxed))
        snprintf(buf, size, "cancelled");
    else if (s->deadline_ns > 0 && now_ns() > s->deadline_ns)
        snprintf(buf, size, "stopped: the time limit of %llu ms has passed",
                 (unsigned long long)s->env.time_limit_ms);
    return buf;
}

keel_status kl_op_check_cancel(kl_opctx *c)
{
    char why[96];
    if (!c->session || !*stop_reason(c->session, why, sizeof why))
        return KEEL_OK;
    return kl_op_fail(c, KEEL_ERR_CANCELLED, "%s", why);
}

static void arm_deadline(keel_session *s)
{
    s->deadline_ns = s->env.time_limit_ms ? now_ns() + (double)s->env.time_limit_ms * 1e6 : 0;
}

void keel_session_cancel(keel_session *s)
{
    if (s)
        atomic_store(&s->cancel, 1);
}

static size_t align_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

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

static keel_status check_attr_kinds(keel_session *s, const kl_node *n)
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

static keel_status resolve_ops(keel_session *s)
{
    const kl_graph *g = s->g;
    int64_t onnx_opset = kl_model_opset(s->model, "");
    if (onnx_opset > KL_MAX_OPSET)
        return kl_error(&s->env, KEEL_ERR_UNSUPPORTED, "%s: the model imports ai.onnx opset %lld; keel knows opsets 1 to %d",
                        s->model->name, (long long)onnx_opset, KL_MAX_OPSET);
    for (int i = 0; i < g->n_nodes; i++) {
        keel_status st = check_attr_kinds(s, &g->nodes[i]);
        if (st)
            return st;
    }
    char msg[KL_ERRMSG] = "";
    size_t used = 0;
    int missing = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const kl_node *n = &g->nodes[i];
        int opset = (int)kl_model_opset(s->model, n->domain);
        s->ops[i] = kl_custom_find(s->model, n->domain, n->op_type, opset);
        if (!s->ops[i])
            s->ops[i] = kl_registry_find(n->domain, n->op_type, opset);
        if (s->ops[i])
            continue;
        /* one line per distinct (domain, op): list its nodes after it */
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = !s->ops[j] && strcmp(g->nodes[j].op_type, n->op_type) == 0 &&
                   strcmp(g->nodes[j].domain, n->domain) == 0;
        if (seen)
            continue;
        missing++;
        const char *why = kl_registry_knows(n->domain, n->op_type) ? "not at this opset" : "unknown op";
        kl_appendf(msg, sizeof msg, &used, "%s%s%s%s (opset %d, %s): nodes", missing > 1 ? "; " : "",
                   n->domain[0] ? n->domain : "", n->domain[0] ? "." : "", n->op_type, opset, why);
        int listed = 0;
        for (int j = i; j < g->n_nodes; j++) {
            const kl_node *o = &g->nodes[j];
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

/* ---- 2. shapes and folding ------------------------------------------------ */

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

static keel_status bind_inputs(keel_session *s, const keel_dim_binding *dims, int n_dims,
                               const keel_tensor *shapes)
{
    const kl_graph *g = s->g;
    for (int k = 0; k < g->n_inputs; k++) {
        const kl_value *v = &g->values[g->inputs[k]];
        kl_slot *slot = &s->slots[g->inputs[k]];
        const kl_decl *d = &v->decl;
        const keel_tensor *given = shapes && shapes[k].dtype ? &shapes[k] : NULL;
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
                if (given->dims[i] < 0 || (d->rank >= 0 && d->dims[i] >= 0 && d->dims[i] != given->dims[i]))
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
                if (!found)
                    slot->defaulted = true;
                if (slot->t.dims[i] < 0)
                    return kl_error(&s->env, KEEL_ERR_SHAPE, "%s: input '%s' dim %d bound to %lld",
                                    s->model->name, v->name, i, (long long)slot->t.dims[i]);
            }
        }
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

static keel_status fill_ctx(keel_session *s, int node_index, kl_opctx *c)
{
    const kl_node *n = &s->g->nodes[node_index];
    memset(c, 0, sizeof *c);
    c->op = s->ops[node_index];
    c->node = n;
    c->opset = (int)kl_model_opset(s->model, n->domain);
    c->env = &s->env;
    c->session = s;
    c->n_in = n->n_in;
    c->n_out = n->n_out;
    /* one spare input slot: the optimizer may give a Conv the bias it lacked */
    c->in = kl_alloc(&s->env, (size_t)(n->n_in + 1) * sizeof *c->in);
    c->out = kl_alloc(&s->env, (size_t)(n->n_out ? n->n_out : 1) * sizeof *c->out);
    if (!c->in || !c->out)
        return KEEL_ERR_NOMEM;
    for (int k = 0; k < n->n_in; k++)
        c->in[k] = n->in[k] >= 0 ? &s->slots[n->in[k]].t : NULL;
    for (int k = 0; k < n->n_out; k++)
        c->out[k] = n->out[k] >= 0 ? &s->slots[n->out[k]].t : NULL;
    return KEEL_OK;
}

static void free_ctx(keel_session *s, kl_opctx *c)
{
    if (!c->node)
        return; /* never filled */
    if (c->state && c->op->release)
        c->op->release(&s->env, c->state);
    c->state = NULL;
    kl_free(&s->env, c->in, (size_t)(c->node->n_in + 1) * sizeof *c->in);
    kl_free(&s->env, c->out, (size_t)(c->n_out ? c->n_out : 1) * sizeof *c->out);
    c->in = c->out = NULL;
}

static bool foldable(const keel_session *s, const kl_node *n, const kl_op *op)
{
    if (op->flags & KL_OP_NO_FOLD)
        return false;
    for (int k = 0; k < n->n_deps; k++) {
        if (n->in[k] < 0)
            continue;
        const kl_slot *in = &s->slots[n->in[k]];
        if (!in->is_const && !((op->flags & KL_OP_SHAPE_ONLY) && k == 0))
            return false;
    }
    return true;
}

/* Runs a node at creation time; its outputs become session-owned constants.
 * It is prepared as a step would be (scratch() sizes for the prepared
 * kernel); free_ctx releases what prepare() built. */
static keel_status fold_node(keel_session *s, int i, kl_opctx *c, const kl_op *op)
{
    const kl_node *n = &s->g->nodes[i];
    for (int k = 0; k < n->n_out; k++) {
        if (n->out[k] < 0)
            continue;
        kl_slot *o = &s->slots[n->out[k]];
        keel_status st = kl_tensor_alloc_data(&s->env, &o->t);
        if (st)
            return st;
        o->is_const = o->owns_data = true;
    }
    size_t scratch = op->scratch ? op->scratch(c) : 0;
    if (scratch && !(c->scratch = kl_alloc(&s->env, scratch)))
        return KEEL_ERR_NOMEM;
    c->scratch_size = scratch;
    keel_status st = op->prepare ? op->prepare(c) : KEEL_OK;
    if (!st)
        st = op->run(c);
    kl_free(&s->env, c->scratch, scratch);
    c->scratch = NULL;
    s->folded[i] = true;
    s->n_folded++;
    return st;
}

static keel_status check_outputs(keel_session *s, kl_opctx *c)
{
    for (int k = 0; k < c->n_out; k++) {
        kl_tensor *t = c->out[k];
        if (!t)
            continue;
        int64_t numel;
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

static bool reads_dynamic(const keel_session *s, const kl_node *n)
{
    for (int k = 0; k < n->n_deps; k++)
        if (n->in[k] >= 0 && s->slots[n->in[k]].dynamic)
            return true;
    return false;
}

/* Node i's output shapes depend on data: it is inferred, given buffers
 * and run at every run, and so is everything downstream of it. */
static void defer_node(keel_session *s, int i)
{
    const kl_node *n = &s->g->nodes[i];
    s->dynamic[i] = true;
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
static bool has_required_output(const kl_node *n, const kl_op *op)
{
    for (int k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0)
            return k == 0 || (op->flags & KL_OP_ANY_OUTPUT);
    return false;
}

static keel_status infer_all(keel_session *s)
{
    const kl_graph *g = s->g;
    for (int i = 0; i < g->n_nodes; i++) {
        const kl_node *n = &g->nodes[i];
        const kl_op *op = s->ops[i];
        if (n->n_in < op->min_inputs || (op->max_inputs >= 0 && n->n_in > op->max_inputs))
            return kl_error(&s->env, KEEL_ERR_INVALID,
                            "%s: node %d '%s' (%s): has %d inputs; the op takes %d to %d",
                            s->model->name, n->file_index, n->name, n->op_type, n->n_in,
                            op->min_inputs, op->max_inputs);
        if (!has_required_output(n, op))
            return kl_error(&s->env, KEEL_ERR_INVALID, "%s: node %d '%s' (%s): has no first output",
                            s->model->name, n->file_index, n->name, n->op_type);
        for (int k = 0; k < op->min_inputs && k < n->n_in; k++)
            if (n->in[k] < 0)
                return kl_error(&s->env, KEEL_ERR_INVALID, "%s: node %d '%s' (%s): required input %d is empty",
                                s->model->name, n->file_index, n->name, n->op_type, k);
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0 && !s->slots[n->in[k]].known)
                return kl_error(&s->env, KEEL_ERR_UNSUPPORTED,
                                "%s: node %d '%s' (%s): input '%s' has no known type",
                                s->model->name, n->file_index, n->name, n->op_type,
                                g->values[n->in[k]].name);
        if (reads_dynamic(s, n)) { /* its input shapes are only known at run time */
            defer_node(s, i);
            continue;
        }
        kl_opctx c;
        keel_status st = fill_ctx(s, i, &c);
        if (!st)
            st = op->infer(&c);
        if (st == KL_DEFERRED) {
            free_ctx(s, &c);
            defer_node(s, i);
            continue;
        }
        if (!st)
            st = check_outputs(s, &c);
        if (!st && foldable(s, n, op))
            st = fold_node(s, i, &c, op);
        free_ctx(s, &c);
        if (st) {
            if (st != KEEL_ERR_NOMEM || !strstr(s->env.msg, s->model->name))
                kl_error_prefix(&s->env, "%s", s->model->name);
            return st;
        }
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0)
                s->slots[n->out[k]].known = true;
    }
    return KEEL_OK;
}

/* ---- 3. planning ----------------------------------------------------------- */

static int root_of(const keel_session *s, int v)
{
    while (s->slots[v].root != v)
        v = s->slots[v].root;
    return v;
}

static bool is_arena_value(const keel_session *s, int v)
{
    return s->g->values[v].kind == KL_VALUE_NODE && !s->slots[v].is_const && !s->slots[v].dynamic;
}

static void extend(keel_session *s, int v, int step)
{
    kl_slot *r = &s->slots[root_of(s, v)];
    if (step > r->last)
        r->last = step;
}

static keel_status build_steps(keel_session *s)
{
    const kl_graph *g = s->g;
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        n += !s->folded[i];
    if (!(s->steps = kl_alloc(&s->env, (size_t)n * sizeof *s->steps)))
        return KEEL_ERR_NOMEM;
    s->n_steps = n; /* set with the allocation; entries are filled below */
    n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (s->folded[i])
            continue;
        kl_step *st = &s->steps[n++];
        st->node = i;
        st->op = s->ops[i];
        keel_status rc = fill_ctx(s, i, &st->ctx);
        if (rc)
            return rc;
        st->ctx.epi = s->epi[i];
        st->ctx.epi.kern = s->env.kern;
        if (s->conv_w[i]) {
            st->ctx.in[1] = s->conv_w[i];
            st->ctx.in[2] = s->conv_b[i];
            st->ctx.n_in = 3;
        }
        if (s->pre_pad_src[i] >= 0) {
            st->ctx.in[0] = &s->slots[s->pre_pad_src[i]].t;
            st->ctx.pre_pad = s->pre_pad[i];
        }
        st->dynamic = s->dynamic[i];
        st->view_input = s->alias_input[i] >= 0 ? s->alias_input[i] : 0;
        const kl_tensor *in0 = st->ctx.in[st->view_input], *out0 = st->ctx.out[0];
        /* a view only when nothing else is asked of the node (Dropout's mask) */
        bool single_output = g->nodes[i].n_out == 1 || (g->nodes[i].n_out > 1 && g->nodes[i].out[1] < 0);
        st->view = !st->dynamic && ((st->op->flags & KL_OP_VIEW) || s->alias_input[i] >= 0) && in0 && out0 &&
                   single_output && ((kl_nbytes(in0) == kl_nbytes(out0) && in0->dtype == out0->dtype) ||
                                     s->read_through[i]);
        if (st->op->macs && !st->dynamic)
            s->macs += st->op->macs(&st->ctx);
    }
    return KEEL_OK;
}

/* Lifetimes (def/last per storage root) with views folded into roots. */
static void compute_lifetimes(keel_session *s)
{
    const kl_graph *g = s->g;
    for (int v = 0; v < g->n_values; v++) {
        s->slots[v].root = v;
        s->slots[v].root_offset = 0;
        s->slots[v].def = s->slots[v].last = -1;
        s->slots[v].nbytes = s->slots[v].known && !s->slots[v].dynamic ? kl_nbytes(&s->slots[v].t) : 0;
    }
    for (int k = 0; k < s->n_steps; k++) {
        kl_step *st = &s->steps[k];
        const kl_node *n = &g->nodes[st->node];
        for (int j = 0; j < n->n_deps; j++)
            if (n->in[j] >= 0)
                extend(s, n->in[j], k);
        for (int j = 0; j < n->n_out; j++) {
            int v = n->out[j];
            if (v < 0)
                continue;
            if (j == 0 && st->view)
                s->slots[v].root = root_of(s, n->in[st->view_input]);
            else
                s->slots[v].def = k;
            extend(s, v, k);
        }
    }
    for (int k = 0; k < g->n_outputs; k++)
        extend(s, g->outputs[k], s->n_steps);
}

/* Concat along an axis with nothing before it (channels at batch 1: the
 * Inception, GoogLeNet and SqueezeNet blocks): the storage of each input
 * (through the views on it: a fused Relu's output is a view of its
 * Conv's) becomes a slice of the output's, so its producer writes it in
 * place and the Concat has nothing to copy (concat_run skips inputs
 * already there).  The output's storage then lives from the first
 * input's step on.  Runs before plan_inplace, so nothing is written over
 * a slice while the output lives.  Skipped: inputs whose storage is
 * larger than they are, already a slice, given twice, or a graph input or
 * constant. */
static void plan_concat(keel_session *s)
{
    const kl_graph *g = s->g;
    for (int k = 0; k < s->n_steps; k++) {
        const kl_step *st = &s->steps[k];
        const kl_node *n = &g->nodes[st->node];
        if (strcmp(n->op_type, "Concat") || n->domain[0] || st->dynamic || st->view || n->out[0] < 0)
            continue;
        const int out = n->out[0];
        const kl_tensor *ot = &s->slots[out].t;
        int64_t axis = kl_attr_int(n, "axis", 1);
        axis = axis < 0 ? axis + ot->rank : axis;
        bool leading_ones = axis >= 0 && axis < ot->rank;
        for (int d = 0; leading_ones && d < axis; d++)
            leading_ones = ot->dims[d] == 1;
        if (!is_arena_value(s, out) || s->slots[out].root != out || !leading_ones)
            continue;
        kl_slot *r = &s->slots[out];
        size_t at = 0;
        for (int j = 0; j < n->n_in; j++) {
            const int v = n->in[j];
            if (v < 0)
                continue;
            const int c = root_of(s, v);
            kl_slot *p = &s->slots[c];
            bool twice = false;
            for (int q = 0; q < n->n_in; q++)
                twice |= q != j && n->in[q] >= 0 && root_of(s, n->in[q]) == c;
            if (c != out && is_arena_value(s, c) && is_arena_value(s, v) && !twice && p->def >= 0 && p->def < k &&
                p->nbytes == s->slots[v].nbytes && p->t.dtype == ot->dtype) {
                p->root = out;
                p->root_offset = at;
                r->def = p->def < r->def ? p->def : r->def;
                r->last = p->last > r->last ? p->last : r->last;
            }
            at += s->slots[v].nbytes;
        }
    }
}

/* Lets an elementwise step write over an input that dies at that step.
 * An output already placed in other storage (a slice of a Concat's
 * output) keeps its place. */
static void plan_inplace(keel_session *s)
{
    const kl_graph *g = s->g;
    for (int k = 0; k < s->n_steps; k++) {
        kl_step *st = &s->steps[k];
        const kl_node *n = &g->nodes[st->node];
        if (!(st->op->flags & KL_OP_INPLACE) || st->view || st->dynamic || n->n_out < 1 || n->out[0] < 0 ||
            s->slots[n->out[0]].root != n->out[0])
            continue;
        int out = n->out[0];
        for (int j = 0; j < n->n_in; j++) {
            if (n->in[j] < 0)
                continue;
            int r = root_of(s, n->in[j]);
            const kl_tensor *a = &s->slots[n->in[j]].t, *o = &s->slots[out].t;
            if (!is_arena_value(s, r) || s->slots[r].last != k || a->dtype != o->dtype ||
                !kl_same_shape(a, o) || s->slots[r].nbytes != s->slots[out].nbytes)
                continue;
            /* every input sharing that storage must read element i as element i */
            bool safe = true;
            for (int q = 0; q < n->n_in; q++)
                if (n->in[q] >= 0 && root_of(s, n->in[q]) == r && !kl_same_shape(&s->slots[n->in[q]].t, o))
                    safe = false;
            if (!safe)
                continue;
            s->slots[r].last = s->slots[out].last > k ? s->slots[out].last : k;
            s->slots[out].root = r;
            break;
        }
    }
}

typedef struct block {
    int def, last;
    size_t size, offset;
    int value;            /* -1 for scratch */
    int step;
} block;

static int by_size_desc(const void *a, const void *b)
{
    const block *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return x->def - y->def;
}

/* Greedy by size: each block goes at the lowest offset clear of every
 * already-placed block whose lifetime overlaps its own. */
static void place_blocks(block *b, int nb, size_t *total)
{
    qsort(b, (size_t)nb, sizeof *b, by_size_desc);
    size_t end = 0;
    for (int i = 0; i < nb; i++) {
        size_t off = 0;
        for (bool moved = true; moved;) {
            moved = false;
            for (int j = 0; j < i; j++) {
                if (b[j].def > b[i].last || b[i].def > b[j].last)
                    continue;
                if (off < b[j].offset + b[j].size && b[j].offset < off + b[i].size) {
                    off = align_up(b[j].offset + b[j].size);
                    moved = true;
                }
            }
        }
        b[i].offset = off;
        if (off + b[i].size > end)
            end = off + b[i].size;
    }
    *total = end;
}

static keel_status plan_arena(keel_session *s)
{
    const kl_graph *g = s->g;
    int nb = 0;
    block *b = kl_alloc(&s->env, (size_t)(g->n_values + s->n_steps + 1) * sizeof *b);
    if (!b)
        return KEEL_ERR_NOMEM;
    for (int v = 0; v < g->n_values; v++) {
        kl_slot *sl = &s->slots[v];
        /* what every computed value would take with a buffer of its own:
         * the yardstick for the plan (views and fused values included) */
        if (is_arena_value(s, v))
            s->sum_intermediates += sl->nbytes;
        if (!is_arena_value(s, v) || sl->def < 0)
            continue;
        if (sl->root == v)
            b[nb++] = (block){sl->def, sl->last, align_up(sl->nbytes), 0, v, -1};
    }
    for (int k = 0; k < s->n_steps; k++) {
        kl_step *st = &s->steps[k];
        st->ctx.scratch_size = st->op->scratch && !st->dynamic ? st->op->scratch(&st->ctx) : 0;
        if (st->ctx.scratch_size)
            b[nb++] = (block){k, k, align_up(st->ctx.scratch_size), 0, -1, k};
    }
    size_t total;
    place_blocks(b, nb, &total);
    if (total > s->env.max_arena_bytes) {
        kl_free(&s->env, b, (size_t)(g->n_values + s->n_steps + 1) * sizeof *b);
        return kl_error(&s->env, KEEL_ERR_LIMIT, "%s: the planned arena of %zu bytes exceeds the limit of %llu",
                        s->model->name, total, (unsigned long long)s->env.max_arena_bytes);
    }
    s->arena_size = total;
    s->arena = kl_alloc(&s->env, total ? total : ARENA_ALIGN);
    keel_status st = s->arena ? KEEL_OK : KEEL_ERR_NOMEM;
    for (int i = 0; s->arena && i < nb; i++) {
        if (b[i].value >= 0) {
            kl_slot *sl = &s->slots[b[i].value];
            sl->offset = b[i].offset;
            sl->in_arena = true;
            sl->t.data = s->arena + b[i].offset;
        } else {
            kl_step *stp = &s->steps[b[i].step];
            stp->scratch_offset = b[i].offset;
            stp->ctx.scratch = s->arena + b[i].offset;
        }
    }
    /* in-place aliases share their root's bytes, Concat inputs at their
     * slice of it */
    for (int v = 0; s->arena && v < g->n_values; v++)
        if (is_arena_value(s, v) && s->slots[v].root != v && s->slots[v].def >= 0) {
            size_t at = 0;
            for (int u = v; s->slots[u].root != u; u = s->slots[u].root)
                at += s->slots[u].root_offset;
            s->slots[v].t.data = (uint8_t *)s->slots[root_of(s, v)].t.data + at;
        }
    kl_free(&s->env, b, (size_t)(g->n_values + s->n_steps + 1) * sizeof *b);
    return st;
}

/* A value that holds bytes of the arena from its own first to last step
 * (views and values never computed hold none of their own). */
static bool holds_arena_bytes(const keel_session *s, int v)
{
    const kl_slot *x = &s->slots[v];
    return is_arena_value(s, v) && x->def >= 0 && x->t.data && (const uint8_t *)x->t.data >= s->arena &&
           (const uint8_t *)x->t.data < s->arena + s->arena_size;
}

/* A computed value placed in the arena whose bytes do not all lie inside it. */
static bool strays_from_arena(const keel_session *s, int v)
{
    const kl_slot *x = &s->slots[v];
    if (!is_arena_value(s, v) || x->def < 0 || !x->nbytes)
        return false;
    const uint8_t *p = x->t.data;
    return !p || p < s->arena || (size_t)(p - s->arena) > s->arena_size ||
           x->nbytes > s->arena_size - (size_t)(p - s->arena);
}

int kl_session_plan_conflicts(const keel_session *s)
{
    int conflicts = 0;
    const kl_graph *g = s->g;
    for (int a = 0; a < g->n_values; a++) {
        conflicts += strays_from_arena(s, a);
        if (!holds_arena_bytes(s, a))
            continue;
        const kl_slot *x = &s->slots[a];
        const size_t xo = (size_t)((const uint8_t *)x->t.data - s->arena);
        /* each value over its own lifetime: a Concat input written in place
         * (a slice of its output's storage) from its own step on */
        for (int b = a + 1; b < g->n_values; b++) {
            if (!holds_arena_bytes(s, b) || root_of(s, a) == root_of(s, b))
                continue;
            const kl_slot *y = &s->slots[b];
            const size_t yo = (size_t)((const uint8_t *)y->t.data - s->arena);
            if (x->def > y->last || y->def > x->last)
                continue;
            if (xo < yo + y->nbytes && yo < xo + x->nbytes)
                conflicts++;
        }
        for (int k = 0; k < s->n_steps; k++) {
            const kl_step *st = &s->steps[k];
            if (!st->ctx.scratch_size || k < x->def || k > x->last)
                continue;
            if (xo < st->scratch_offset + st->ctx.scratch_size && st->scratch_offset < xo + x->nbytes)
                conflicts++;
        }
    }
    return conflicts;
}

/* ---- creation and teardown ---------------------------------------------------- */

static void copy_err(const kl_env *env, char *err, size_t err_size)
{
    if (err && err_size) {
        snprintf(err, err_size, "%s", env->msg[0] ? env->msg : keel_status_string(env->status));
    }
}

/* A subgraph's formal inputs and the values it reads from enclosing
 * scopes are all known when it runs: they become constants (borrowed, not
 * copied), so the subgraph folds as far as its ops allow. */
static keel_status bind_subgraph(keel_session *s, const kl_tensor *const *sub_in, int n_sub_in)
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
        const keel_session *p = s->parent;
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
 * subgraph with its formal inputs (sub_in) and enclosing values. */
static keel_status build(keel_session *s, const keel_dim_binding *dims, int n_dims,
                         const keel_tensor *input_shapes, const kl_tensor *const *sub_in, int n_sub_in)
{
    const kl_graph *g = s->g;
    keel_status st = KEEL_OK;
    s->slots = kl_alloc(&s->env, (size_t)(g->n_values ? g->n_values : 1) * sizeof *s->slots);
    s->ops = kl_alloc(&s->env, (size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof *s->ops);
    s->folded = kl_alloc(&s->env, (size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof *s->folded);
    s->dynamic = kl_alloc(&s->env, (size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof *s->dynamic);
    size_t nn = (size_t)(g->n_nodes ? g->n_nodes : 1);
    s->alias_input = kl_alloc(&s->env, nn * sizeof *s->alias_input);
    s->epi = kl_alloc(&s->env, nn * sizeof *s->epi);
    s->conv_w = kl_alloc(&s->env, nn * sizeof *s->conv_w);
    s->conv_b = kl_alloc(&s->env, nn * sizeof *s->conv_b);
    s->pre_pad_src = kl_alloc(&s->env, nn * sizeof *s->pre_pad_src);
    s->pre_pad = kl_alloc(&s->env, nn * sizeof *s->pre_pad);
    s->read_through = kl_alloc(&s->env, nn * sizeof *s->read_through);
    if (!s->slots || !s->ops || !s->folded || !s->dynamic || !s->alias_input || !s->epi || !s->conv_w || !s->conv_b ||
        !s->pre_pad_src || !s->pre_pad || !s->read_through)
        st = KEEL_ERR_NOMEM;
    for (int i = 0; !st && i < g->n_nodes; i++)
        s->alias_input[i] = s->pre_pad_src[i] = -1;
    for (int v = 0; !st && v < g->n_values; v++) {
        const kl_value *val = &g->values[v];
        if (val->kind == KL_VALUE_INIT) {
            s->slots[v].t = *val->init;
            s->slots[v].known = s->slots[v].is_const = true;
        }
    }
    if (!st)
        st = resolve_ops(s);
    if (!st)
        st = s->parent ? bind_subgraph(s, sub_in, n_sub_in) : bind_inputs(s, dims, n_dims, input_shapes);
    if (!st)
        st = infer_all(s);
    for (int k = 0; !st && k < g->n_outputs; k++)
        if (!s->slots[g->outputs[k]].known)
            st = kl_error(&s->env, KEEL_ERR_INVALID, "%s: graph output '%s' has no known shape",
                          s->model->name, g->values[g->outputs[k]].name);
    if (!st && s->env.optimize)
        st = kl_optimize(s);
    if (!st)
        st = build_steps(s);
    if (!st && s->env.threads > 1 && !(s->pool = kl_pool_new(&s->env, s->env.threads)))
        st = KEEL_ERR_NOMEM;
    for (int k = 0; !st && k < s->n_steps; k++)
        s->steps[k].ctx.pool = s->pool;
    if (!st) {
        compute_lifetimes(s);
        plan_concat(s);
        plan_inplace(s);
        st = plan_arena(s);
    }
    for (int k = 0; !st && k < s->n_steps; k++) {
        kl_step *stp = &s->steps[k];
        if (!stp->view && !stp->dynamic && stp->op->prepare && (st = stp->op->prepare(&stp->ctx)) != KEEL_OK &&
            !strstr(s->env.msg, s->model->name))
            kl_error_prefix(&s->env, "%s", s->model->name);
    }
    return st;
}

/* What a caller may want to know about a plan that nonetheless succeeded. */
static void log_notes(const keel_session *s)
{
    const kl_graph *g = s->g;
    for (int k = 0; k < g->n_inputs; k++)
        if (s->slots[g->inputs[k]].defaulted)
            kl_log(&s->env, KEEL_LOG_WARNING, "%s: input '%s' has a symbolic dim bound by nothing; planned as 1",
                   s->model->name, g->values[g->inputs[k]].name);
    if (s->n_dynamic)
        kl_log(&s->env, KEEL_LOG_INFO, "%s: %d nodes depend on data and are planned at each run",
               s->model->name, s->n_dynamic);
    for (int k = 0; k < g->n_outputs; k++) {
        const kl_decl *d = &g->values[g->outputs[k]].decl;
        const kl_tensor *t = &s->slots[g->outputs[k]].t;
        bool differs = t->rank >= 0 && d->rank >= 0 && d->rank != t->rank;
        for (int i = 0; !differs && t->rank >= 0 && i < d->rank; i++)
            differs = d->dims[i] >= 0 && d->dims[i] != t->dims[i];
        if (differs)
            kl_log(&s->env, KEEL_LOG_WARNING, "%s: output '%s' is declared with another shape than inference gives",
                   s->model->name, g->values[g->outputs[k]].name);
    }
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
    arm_deadline(s);
    keel_status st = build(s, dims, n_dims, input_shapes, NULL, 0);
    s->deadline_ns = 0;
    if (st) {
        if (st == KEEL_ERR_NOMEM && !s->env.msg[0])
            kl_error(&s->env, st, "%s: out of memory", model->name);
        copy_err(&s->env, err, err_size);
        keel_session_free(s);
        return st;
    }
    log_notes(s);
    *out = s;
    return KEEL_OK;
}

void keel_session_free(keel_session *s)
{
    if (!s)
        return;
    kl_env env = s->env;
    const kl_graph *g = s->g;
    kl_pool_free(s->pool);
    if (s->steps) {
        for (int k = 0; k < s->n_steps; k++) {
            kl_step *st = &s->steps[k];
            if (st->dynamic)
                kl_free(&s->env, st->ctx.scratch, st->dyn_scratch_cap);
            free_ctx(s, &st->ctx);
        }
        kl_free(&env, s->steps, (size_t)s->n_steps * sizeof *s->steps);
    }
    if (s->slots) {
        for (int v = 0; v < g->n_values; v++)
            if (s->slots[v].owns_data)
                kl_free(&env, s->slots[v].t.data, kl_nbytes(&s->slots[v].t));
            else if (s->slots[v].dynamic && s->slots[v].dyn_cap)
                kl_free(&env, s->slots[v].t.data, s->slots[v].dyn_cap);
        kl_free(&env, s->slots, (size_t)(g->n_values ? g->n_values : 1) * sizeof *s->slots);
    }
    size_t nn = (size_t)(g->n_nodes ? g->n_nodes : 1);
    for (int i = 0; s->conv_w && s->conv_b && i < g->n_nodes; i++) {
        kl_tensor_free(&env, s->conv_w[i]);
        kl_tensor_free(&env, s->conv_b[i]);
    }
    kl_free(&env, s->alias_input, nn * sizeof *s->alias_input);
    kl_free(&env, s->epi, nn * sizeof *s->epi);
    kl_free(&env, s->conv_w, nn * sizeof *s->conv_w);
    kl_free(&env, s->conv_b, nn * sizeof *s->conv_b);
    kl_free(&env, s->pre_pad_src, nn * sizeof *s->pre_pad_src);
    kl_free(&env, s->pre_pad, nn * sizeof *s->pre_pad);
    kl_free(&env, s->read_through, nn * sizeof *s->read_through);
    kl_free(&env, s->ops, (size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof *s->ops);
    kl_free(&env, s->folded, (size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof *s->folded);
    kl_free(&env, s->dynamic, (size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof *s->dynamic);
    kl_free(&env, s->arena, s->arena_size ? s->arena_size : ARENA_ALIGN);
    kl_free(&env, s, sizeof *s);
}

/* ---- 4. running ------------------------------------------------------------------ */

const char *keel_session_errmsg(const keel_session *s)
{
    return s ? s->env.msg : "";
}

keel_status keel_session_run(keel_session *s, const keel_tensor *inputs, keel_tensor *outputs)
{
    return kl_session_run_timed(s, inputs, outputs, NULL);
}

/* Grows a buffer kept between runs to `need` bytes (contents not kept). */
static keel_status grow(kl_env *env, void **buf, size_t *cap, size_t need)
{
    if (need <= *cap && *buf)
        return KEEL_OK;
    kl_free(env, *buf, *cap);
    *cap = 0;
    if (!(*buf = kl_alloc(env, need ? need : 1)))
        return KEEL_ERR_NOMEM;
    *cap = need ? need : 1;
    return KEEL_OK;
}

/* A step whose shapes depend on this run's data: infer now, size its
 * buffers (kept and reused by later runs), then run it. */
static keel_status run_dynamic(keel_session *s, kl_step *stp)
{
    kl_opctx *c = &stp->ctx;
    keel_status st = c->op->infer(c);
    if (st == KL_DEFERRED) /* an input it needs has no data even now */
        st = KEEL_ERR_UNSUPPORTED;
    if (!st)
        st = check_outputs(s, c);
    const kl_node *n = &s->g->nodes[stp->node];
    for (int k = 0; !st && k < n->n_out; k++) {
        if (n->out[k] < 0)
            continue;
        kl_slot *o = &s->slots[n->out[k]];
        st = grow(&s->env, &o->t.data, &o->dyn_cap, kl_nbytes(&o->t));
    }
    if (!st && c->op->scratch) {
        c->scratch_size = c->op->scratch(c);
        st = grow(&s->env, &c->scratch, &stp->dyn_scratch_cap, c->scratch_size);
    }
    if (!st && c->op->prepare) {
        if (c->state && c->op->release)
            c->op->release(&s->env, c->state);
        c->state = NULL;
        st = c->op->prepare(c);
    }
    return st ? st : c->op->run(c);
}

static keel_status run_steps(keel_session *s, double *step_ns)
{
    for (int k = 0; k < s->n_steps; k++) {
        kl_step *st = &s->steps[k];
        char why[96];
        if (*stop_reason(s, why, sizeof why)) {
            const kl_node *n = &s->g->nodes[st->node];
            return kl_error(&s->env, KEEL_ERR_CANCELLED, "%s: run %s before node %d '%s' (%s)",
                            s->model->name, why, n->file_index, n->name, n->op_type);
        }
        if (st->view) {
            st->ctx.out[0]->data = st->ctx.in[st->view_input]->data;
            continue;
        }
        double t0 = step_ns ? now_ns() : 0;
        keel_status rc = st->dynamic ? run_dynamic(s, st) : st->op->run(&st->ctx);
        if (step_ns)
            step_ns[k] += now_ns() - t0;
        if (rc) {
            kl_error_prefix(&s->env, "%s", s->model->name);
            return rc;
        }
    }
    return KEEL_OK;
}

/* Copies the outputs of a finished subgraph run into new tensors. */
static keel_status take_outputs(keel_session *sub, kl_env *env, kl_tensor **outs)
{
    const kl_graph *g = sub->g;
    for (int k = 0; k < g->n_outputs; k++) {
        const kl_tensor *t = &sub->slots[g->outputs[k]].t;
        if (!(outs[k] = kl_tensor_new(env, t->dtype, t->rank, t->dims)))
            return KEEL_ERR_NOMEM;
        if (kl_nbytes(t))
            memcpy(outs[k]->data, t->data, kl_nbytes(t));
    }
    return KEEL_OK;
}

keel_status kl_run_subgraph(kl_opctx *c, const kl_graph *g, const kl_tensor *const *inputs,
                            int n_inputs, kl_tensor **outs)
{
    const keel_session *parent = c->session;
    for (int k = 0; k < g->n_outputs; k++)
        outs[k] = NULL;
    if (!parent)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "subgraphs run only inside a session");
    keel_status stop = kl_op_check_cancel(c);
    if (stop)
        return stop;
    kl_env env = parent->env;
    env.threads = 1;
    env.optimize = 0;
    env.status = KEEL_OK;
    env.msg[0] = 0;
    keel_session *sub = kl_alloc(&env, sizeof *sub);
    if (!sub)
        return kl_op_fail(c, KEEL_ERR_NOMEM, "out of memory for subgraph '%s'", g->name);
    sub->env = env;
    sub->model = parent->model;
    sub->g = g;
    sub->parent = parent;
    keel_status st = build(sub, NULL, 0, NULL, inputs, n_inputs);
    if (!st)
        st = run_steps(sub, NULL);
    if (!st)
        st = take_outputs(sub, c->env, outs);
    if (st == KL_DEFERRED) {
        kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "subgraph '%s' reads values not known yet", g->name);
        st = KL_DEFERRED;
    } else if (st) {
        kl_op_fail(c, st, "subgraph '%s': %s", g->name,
                   sub->env.msg[0] ? sub->env.msg : keel_status_string(st));
        for (int k = 0; k < g->n_outputs; k++) {
            kl_tensor_free(c->env, outs[k]);
            outs[k] = NULL;
        }
    }
    keel_session_free(sub);
    return st;
}

keel_status kl_session_run_timed(keel_session *s, const keel_tensor *inputs, keel_tensor *outputs,
                                 double *step_ns)
{
    if (!s)
        return KEEL_ERR_ARGUMENT;
    const kl_graph *g = s->g;
    s->env.status = KEEL_OK;
    s->env.msg[0] = 0;
    if (g->n_inputs && !inputs)
        return kl_error(&s->env, KEEL_ERR_ARGUMENT, "keel_session_run: inputs is NULL");
    if (g->n_outputs && !outputs)
        return kl_error(&s->env, KEEL_ERR_ARGUMENT, "keel_session_run: outputs is NULL");
    for (int k = 0; k < g->n_inputs; k++) {
        kl_slot *sl = &s->slots[g->inputs[k]];
        const keel_tensor *in = &inputs[k];
        if (in->dtype != sl->t.dtype || !kl_same_shape(in, &sl->t)) {
            char want[256], got[256];
            return kl_error(&s->env, KEEL_ERR_SHAPE, "%s: input '%s' is %s; the session was planned for %s",
                            s->model->name, g->values[g->inputs[k]].name,
                            kl_shape_str(in, got, sizeof got), kl_shape_str(&sl->t, want, sizeof want));
        }
        if (!in->data && kl_nbytes(in))
            return kl_error(&s->env, KEEL_ERR_ARGUMENT, "%s: input '%s' has no data",
                            s->model->name, g->values[g->inputs[k]].name);
        if (sl->is_const) {
            if (memcmp(in->data, sl->t.data, kl_nbytes(in)) != 0)
                return kl_error(&s->env, KEEL_ERR_ARGUMENT,
                                "%s: input '%s' was bound to a value at session creation; this run passes another",
                                s->model->name, g->values[g->inputs[k]].name);
            continue;
        }
        sl->t.data = in->data;
    }
    arm_deadline(s);
    keel_status rc = run_steps(s, step_ns);
    s->deadline_ns = 0;
    if (rc == KEEL_ERR_CANCELLED)
        atomic_store(&s->cancel, 0); /* this run answered the cancel */
    if (rc)
        return rc;
    for (int k = 0; k < g->n_outputs; k++) {
        const kl_slot *sl = &s->slots[g->outputs[k]];
        keel_tensor *o = &outputs[k];
        size_t n = kl_nbytes(&sl->t);
        if (!o->data) { /* lend the session's own buffer until the next run */
            *o = sl->t;
            continue;
        }
        if (sl->dynamic)
            return kl_error(&s->env, KEEL_ERR_ARGUMENT,
                            "%s: output '%s' has a shape that depends on the data; pass data = NULL to receive it",
                            s->model->name, g->values[g->outputs[k]].name);
        void *dst = o->data;
        *o = sl->t;
        o->data = dst;
        if (n)
            memcpy(dst, sl->t.data, n);
    }
    return KEEL_OK;
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

static keel_status slot_info(const keel_session *s, int v, keel_tensor *info)
{
    *info = s->slots[v].t;
    info->data = NULL;
    return KEEL_OK;
}

keel_status keel_session_input_info(const keel_session *s, int i, keel_tensor *info)
{
    if (!s || !info || i < 0 || i >= s->g->n_inputs)
        return KEEL_ERR_ARGUMENT;
    return slot_info(s, s->g->inputs[i], info);
}

keel_status keel_session_output_info(const keel_session *s, int i, keel_tensor *info)
{
    if (!s || !info || i < 0 || i >= s->g->n_outputs)
        return KEEL_ERR_ARGUMENT;
    return slot_info(s, s->g->outputs[i], info);
}
