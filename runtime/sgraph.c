/* sgraph.c -- the session graph: the model's nodes with this session's
 * value ids, which passes rewrite without touching the model (shared by
 * every session of it). */
#include <stdio.h>
#include <string.h>

#include "session.h"

static int *copy_ids(kl_env *env, const int *ids, int n, int cap)
{
    int *out = kl_alloc(env, (size_t)(cap ? cap : 1) * sizeof *out);
    if (out && n)
        memcpy(out, ids, (size_t)n * sizeof *out);
    return out;
}

/* The releasable weight that is value v of the main graph, or NULL.  The
 * loader adds them in the order of their initializers, whose value ids
 * grow: a binary search (plans are made at run time, for new shapes). */
static kl_weight *weight_of(const keel_model *m, int v)
{
    int lo = 0, hi = m->n_weights;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (m->weights[mid].value < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->n_weights && m->weights[lo].value == v ? &m->weights[lo] : NULL;
}

keel_status kl_sgraph_init(kl_plan *s)
{
    const kl_graph *g = s->g;
    s->cap_values = g->n_values + 16;
    s->n_values = g->n_values;
    s->n_nodes = g->n_nodes;
    s->cap_nodes = g->n_nodes ? g->n_nodes : 1;
    s->slots = kl_alloc(&s->env, (size_t)s->cap_values * sizeof *s->slots);
    s->nodes = kl_alloc(&s->env, (size_t)s->cap_nodes * sizeof *s->nodes);
    if (!s->slots || !s->nodes)
        return KEEL_ERR_NOMEM;
    for (int v = 0; v < g->n_values; v++) {
        const kl_value *val = &g->values[v];
        kl_slot *sl = &s->slots[v];
        sl->name = val->name;
        sl->from_model = true;
        sl->computed = val->kind == KL_VALUE_NODE;
        if (val->kind == KL_VALUE_INIT) {
            sl->t = *val->init;
            sl->known = sl->is_const = true;
            sl->source = val;
            sl->weight = g == s->model->graph ? weight_of(s->model, v) : NULL;
        }
    }
    /* an embedder's op may read any input at any time: weights stay held */
    for (int v = 0; s->model->n_custom && v < g->n_values; v++) {
        keel_status st = kl_plan_hold(s, v);
        if (st)
            return st;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const kl_node *src = &g->nodes[i];
        kl_snode *n = &s->nodes[i];
        n->src = src;
        n->n_in = src->n_in;
        n->n_out = src->n_out;
        n->n_deps = src->n_deps;
        n->cap_in = src->n_deps;
        n->in = copy_ids(&s->env, src->in, src->n_deps, src->n_deps);
        n->out = copy_ids(&s->env, src->out, src->n_out, src->n_out);
        if (!n->in || !n->out)
            return KEEL_ERR_NOMEM;
    }
    return KEEL_OK;
}

static void free_node(kl_env *env, kl_snode *n)
{
    kl_free(env, n->in, (size_t)(n->cap_in ? n->cap_in : 1) * sizeof *n->in);
    kl_free(env, n->out, (size_t)(n->n_out ? n->n_out : 1) * sizeof *n->out);
    n->in = n->out = NULL;
}

void kl_sgraph_free(kl_plan *s)
{
    for (int i = 0; s->nodes && i < s->n_nodes; i++)
        free_node(&s->env, &s->nodes[i]);
    kl_free(&s->env, s->nodes, (size_t)s->cap_nodes * sizeof *s->nodes);
    s->nodes = NULL;
    for (int i = 0; i < s->n_made; i++) {
        kl_node_clear(&s->env, s->made[i]);
        kl_free(&s->env, s->made[i], sizeof *s->made[i]);
    }
    kl_free(&s->env, s->made, (size_t)s->cap_made * sizeof *s->made);
    s->made = NULL;
    s->n_made = s->cap_made = 0;
    for (int v = 0; s->slots && v < s->n_values; v++) {
        kl_slot *sl = &s->slots[v];
        if (sl->owns_data)
            kl_free(&s->env, sl->t.data, kl_nbytes(&sl->t));
        else if (sl->dynamic && sl->dyn_cap)
            kl_free(&s->env, sl->t.data, sl->dyn_cap);
        kl_strfree(&s->env, sl->own_name);
    }
    kl_free(&s->env, s->slots, (size_t)s->cap_values * sizeof *s->slots);
    s->slots = NULL;
}

keel_status kl_snode_set_input(kl_plan *s, kl_snode *n, int k, int v)
{
    if (k >= n->n_in) {
        const int extra = k + 1 - n->n_in, deps = n->n_deps - n->n_in;
        if (n->n_deps + extra > n->cap_in) {
            int cap = n->n_deps + extra;
            int *in = kl_alloc(&s->env, (size_t)cap * sizeof *in);
            if (!in)
                return KEEL_ERR_NOMEM;
            memcpy(in, n->in, (size_t)n->n_deps * sizeof *in);
            kl_free(&s->env, n->in, (size_t)(n->cap_in ? n->cap_in : 1) * sizeof *n->in);
            n->in = in;
            n->cap_in = cap;
        }
        /* the subgraphs' dependencies stay after the inputs */
        memmove(n->in + k + 1, n->in + n->n_in, (size_t)deps * sizeof *n->in);
        for (int j = n->n_in; j <= k; j++)
            n->in[j] = -1;
        n->n_in = k + 1;
        n->n_deps = n->n_in + deps;
    }
    n->in[k] = v;
    return KEEL_OK;
}

/* A new constant value holding t's bytes: owned (t freed into it) or the
 * model's (t borrowed). */
static int add_value(kl_plan *s, kl_tensor *t, bool owned, const char *name_fmt, const char *node_name);

int kl_sgraph_add_const(kl_plan *s, kl_tensor *t, const char *name_fmt, const char *node_name)
{
    return add_value(s, t, true, name_fmt, node_name);
}

int kl_sgraph_add_shared(kl_plan *s, const kl_tensor *t, const char *name_fmt, const char *node_name)
{
    return add_value(s, (kl_tensor *)t, false, name_fmt, node_name);
}

/* Room for one more value. */
static bool value_room(kl_plan *s)
{
    if (s->n_values == s->cap_values) {
        int cap = s->cap_values * 2;
        kl_slot *slots = kl_alloc(&s->env, (size_t)cap * sizeof *slots);
        if (!slots)
            return false;
        memcpy(slots, s->slots, (size_t)s->n_values * sizeof *slots);
        kl_free(&s->env, s->slots, (size_t)s->cap_values * sizeof *s->slots);
        s->slots = slots;
        s->cap_values = cap;
    }
    return true;
}

int kl_sgraph_add_value(kl_plan *s, const char *name_fmt, const char *node_name)
{
    if (!value_room(s))
        return -1;
    char name[256];
    snprintf(name, sizeof name, name_fmt, node_name);
    kl_slot *sl = &s->slots[s->n_values];
    memset(sl, 0, sizeof *sl);
    if (!(sl->own_name = kl_strdup(&s->env, name)))
        return -1;
    sl->name = sl->own_name;
    sl->computed = true;
    return s->n_values++;
}

static int add_value(kl_plan *s, kl_tensor *t, bool owned, const char *name_fmt, const char *node_name)
{
    const int v = kl_sgraph_add_value(s, name_fmt, node_name);
    if (v < 0) {
        if (owned)
            kl_tensor_free(&s->env, t);
        return -1;
    }
    kl_slot *sl = &s->slots[v];
    sl->computed = false;
    sl->t = *t;
    sl->known = sl->is_const = true;
    sl->owns_data = owned;
    sl->source = owned ? NULL : t;
    if (owned)
        kl_free(&s->env, t, sizeof *t); /* the slot took its data */
    return v;
}

void kl_sgraph_compact(kl_plan *s)
{
    int n = 0;
    for (int i = 0; i < s->n_nodes; i++) {
        if (s->nodes[i].dead)
            free_node(&s->env, &s->nodes[i]);
        else
            s->nodes[n++] = s->nodes[i];
    }
    s->n_nodes = n;
}

keel_status kl_sgraph_insert(kl_plan *s, int at, int count)
{
    if (s->n_nodes + count > s->cap_nodes) {
        int cap = 2 * s->cap_nodes > s->n_nodes + count ? 2 * s->cap_nodes : s->n_nodes + count;
        kl_snode *nodes = kl_alloc(&s->env, (size_t)cap * sizeof *nodes);
        if (!nodes)
            return KEEL_ERR_NOMEM;
        memcpy(nodes, s->nodes, (size_t)s->n_nodes * sizeof *nodes);
        kl_free(&s->env, s->nodes, (size_t)s->cap_nodes * sizeof *s->nodes);
        s->nodes = nodes;
        s->cap_nodes = cap;
    }
    memmove(s->nodes + at + count, s->nodes + at, (size_t)(s->n_nodes - at) * sizeof *s->nodes);
    memset(s->nodes + at, 0, (size_t)count * sizeof *s->nodes);
    s->n_nodes += count;
    return KEEL_OK;
}

keel_status kl_snode_init(kl_plan *s, kl_snode *n, const kl_node *src, const kl_op *op, int n_in, int n_out)
{
    memset(n, 0, sizeof *n);
    n->src = src;
    n->op = op;
    n->n_in = n->n_deps = n->cap_in = n_in;
    n->n_out = n_out;
    n->in = kl_alloc(&s->env, (size_t)(n_in ? n_in : 1) * sizeof *n->in);
    n->out = kl_alloc(&s->env, (size_t)(n_out ? n_out : 1) * sizeof *n->out);
    if (!n->in || !n->out) {
        free_node(&s->env, n);
        return KEEL_ERR_NOMEM;
    }
    for (int k = 0; k < n_in; k++)
        n->in[k] = -1;
    for (int k = 0; k < n_out; k++)
        n->out[k] = -1;
    return KEEL_OK;
}

/* Room in s->made for one more node. */
static bool made_room(kl_plan *s)
{
    if (s->n_made < s->cap_made)
        return true;
    int cap = s->cap_made ? 2 * s->cap_made : 16;
    kl_node **made = kl_alloc(&s->env, (size_t)cap * sizeof *made);
    if (!made)
        return false;
    if (s->n_made)
        memcpy(made, s->made, (size_t)s->n_made * sizeof *made);
    kl_free(&s->env, s->made, (size_t)s->cap_made * sizeof *s->made);
    s->made = made;
    s->cap_made = cap;
    return true;
}

static bool copy_attrs(kl_env *env, kl_node *n, const kl_attr *attrs, int n_attr)
{
    n->attr = kl_alloc(env, (size_t)(n_attr ? n_attr : 1) * sizeof *n->attr);
    if (!n->attr)
        return false;
    n->n_attr = n_attr;
    for (int a = 0; a < n_attr; a++) {
        kl_attr *d = &n->attr[a];
        d->type = attrs[a].type;
        d->i = attrs[a].i;
        d->f = attrs[a].f;
        if (!(d->name = kl_strdup(env, attrs[a].name)))
            return false;
    }
    return true;
}

kl_node *kl_sgraph_new_node(kl_plan *s, const kl_node *like, const char *type, const kl_attr *attrs, int n_attr)
{
    if (!made_room(s))
        return NULL;
    kl_node *n = kl_alloc(&s->env, sizeof *n);
    if (!n)
        return NULL;
    n->file_index = like->file_index;
    n->name = kl_strdup(&s->env, like->name);
    n->op_type = kl_strdup(&s->env, type);
    n->domain = kl_strdup(&s->env, "");
    if (!n->name || !n->op_type || !n->domain || !copy_attrs(&s->env, n, attrs, n_attr)) {
        kl_node_clear(&s->env, n);
        kl_free(&s->env, n, sizeof *n);
        return NULL;
    }
    s->made[s->n_made++] = n;
    return n;
}

bool kl_sgraph_made(const kl_plan *s, const kl_node *n)
{
    for (int i = 0; i < s->n_made; i++)
        if (s->made[i] == n)
            return true;
    return false;
}

keel_status kl_sgraph_uses_init(kl_plan *s, kl_sgraph_uses *u)
{
    u->n_values = s->n_values;
    u->producer = kl_alloc(&s->env, (size_t)(s->n_values ? s->n_values : 1) * sizeof(int));
    u->readers = kl_alloc(&s->env, (size_t)(s->n_values ? s->n_values : 1) * sizeof(int));
    if (!u->producer || !u->readers)
        return KEEL_ERR_NOMEM;
    for (int v = 0; v < s->n_values; v++)
        u->producer[v] = -1;
    for (int i = 0; i < s->n_nodes; i++) {
        const kl_snode *n = &s->nodes[i];
        for (int k = 0; !n->dead && k < n->n_deps; k++)
            if (n->in[k] >= 0)
                u->readers[n->in[k]]++;
        for (int k = 0; !n->dead && k < n->n_out; k++)
            if (n->out[k] >= 0)
                u->producer[n->out[k]] = i;
    }
    for (int k = 0; k < s->g->n_outputs; k++)
        u->readers[s->g->outputs[k]]++;
    return KEEL_OK;
}

void kl_sgraph_uses_free(kl_plan *s, kl_sgraph_uses *u)
{
    const size_t bytes = (size_t)(u->n_values ? u->n_values : 1) * sizeof(int);
    kl_free(&s->env, u->producer, bytes);
    kl_free(&s->env, u->readers, bytes);
    u->producer = u->readers = NULL;
}

const char *kl_snode_str(const kl_snode *n, char *buf, size_t size)
{
    snprintf(buf, size, "node %d '%s' (%s)", n->src->file_index, n->src->name, kl_snode_type(n));
    return buf;
}
