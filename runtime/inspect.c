/* inspect.c -- the introspection tools use (inspect.h). */
#include <string.h>

#include "inspect.h"
#include "session.h"
#include "../ops/registry.h"

static bool is_float_type(int dtype)
{
    return dtype == KEEL_FLOAT || dtype == KEEL_DOUBLE || dtype == KEEL_FLOAT16 || dtype == KEEL_BFLOAT16;
}

void kl_inspect_model(const keel_model *m, kl_model_info *info)
{
    const kl_graph *g = m->graph;
    memset(info, 0, sizeof *info);
    info->name = m->name;
    info->n_opsets = m->n_opsets;
    info->n_nodes = g->n_nodes;
    info->n_values = g->n_values;
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].kind == KL_VALUE_INIT && is_float_type(g->values[v].init->dtype))
            info->parameters += kl_numel(g->values[v].init);
}

void kl_inspect_opset(const keel_model *m, int k, const char **domain, int64_t *version)
{
    *domain = m->opsets[k].domain;
    *version = m->opsets[k].version;
}

void kl_inspect_node(const keel_model *m, int i, kl_node_info *info)
{
    const kl_node *n = &m->graph->nodes[i];
    int opset = (int)kl_model_opset(m, n->domain);
    info->name = n->name;
    info->op_type = n->op_type;
    info->domain = n->domain;
    info->supported = kl_custom_find(m, n->domain, n->op_type, opset) || kl_registry_find(n->domain, n->op_type, opset);
    info->n_in = n->n_in;
    info->n_out = n->n_out;
    info->in = n->in;
    info->out = n->out;
}

int kl_inspect_io_value(const keel_model *m, bool output, int k)
{
    return output ? m->graph->outputs[k] : m->graph->inputs[k];
}

/* The plan the session ran last (or made at creation), NULL before any. */
static const kl_plan *newest(const keel_session *s)
{
    return s->n_plans ? s->plans[0] : NULL;
}

void kl_inspect_plan(const keel_session *s, kl_plan_info *info)
{
    memset(info, 0, sizeof *info);
    info->isa = (keel_isa)s->env.isa;
    const kl_plan *p = newest(s);
    if (!p)
        return;
    info->planned = true;
    info->n_steps = p->n_steps;
    info->n_nodes = p->n_nodes;
    info->macs = p->macs;
    info->arena_bytes = p->arena_size;
    info->intermediate_bytes = p->sum_intermediates;
    info->n_folded = p->n_folded;
    info->n_fused = p->n_fused;
    info->n_dynamic = p->n_dynamic;
    info->n_values = p->n_values;
    info->split_batch = p->batch;
    info->n_image_plans = p->n_image_plans;
    info->image_arena_bytes = p->n_image_plans ? p->image_plans[0]->arena_size : 0;
}

void kl_inspect_step(const keel_session *s, int k, kl_step_info *info)
{
    const kl_plan *p = newest(s);
    const kl_step *st = &p->steps[k];
    const kl_snode *n = &p->nodes[st->node];
    info->node_name = n->src->name;
    info->op_type = kl_snode_type(n);
    info->runs_kernel = !st->view;
    info->macs = st->op->macs && !st->dynamic && !st->view ? st->op->macs((kl_opctx *)&st->ctx) : 0;
    info->node = st->node;
}

/* ---- the session graph's nodes and the model nodes fused into them ---- */

/* The walk behind a label: from the value a session node writes back to
 * its own model node, over the model nodes that left the graph. */
#define FUSED_MAX 16
typedef struct fused_walk {
    const kl_plan *p;
    int self;                 /* the session node's model node (-1: a pass made it) */
    int seen[FUSED_MAX];      /* model nodes listed so far */
    int n_seen;
    char *buf;
    size_t size, used;
} fused_walk;

/* Whether a live session node writes value v. */
static bool written_live(const kl_plan *p, int v)
{
    for (int i = 0; i < p->n_nodes; i++)
        for (int k = 0; k < p->nodes[i].n_out; k++)
            if (p->nodes[i].out[k] == v)
                return true;
    return false;
}

static bool live_source(const kl_plan *p, int model_node)
{
    for (int i = 0; i < p->n_nodes; i++)
        if (p->nodes[i].src == &p->g->nodes[model_node])
            return true;
    return false;
}

static bool listed(const fused_walk *w, int node)
{
    for (int k = 0; k < w->n_seen; k++)
        if (w->seen[k] == node)
            return true;
    return false;
}

static void walk_value(fused_walk *w, int v);

/* Lists model node `node` after the gone nodes it read from, unless it
 * is the session node's own, still in the graph, or listed. */
static void walk_node(fused_walk *w, int node)
{
    const kl_plan *p = w->p;
    if (node < 0 || node == w->self || listed(w, node) || w->n_seen == FUSED_MAX || live_source(p, node))
        return;
    w->seen[w->n_seen++] = node;
    const kl_node *n = &p->g->nodes[node];
    for (int k = 0; k < n->n_in; k++)
        walk_value(w, n->in[k]);
    kl_appendf(w->buf, w->size, &w->used, "+%s", n->op_type);
}

/* Value v leads to fused work only if a model node computed it, no live
 * node writes it and it was not folded to a constant. */
static void walk_value(fused_walk *w, int v)
{
    const kl_plan *p = w->p;
    if (v < 0 || v >= p->g->n_values || p->g->values[v].kind != KL_VALUE_NODE || p->slots[v].is_const ||
        written_live(p, v))
        return;
    walk_node(w, p->g->values[v].producer);
}

/* "Pad+" for a padding taken over, the op type, then "+OP" for each
 * model node whose output the node now writes in its stead (fused
 * BatchNormalization, bias and residual Adds, activations, the gate and
 * Mul of a gated one, a GELU's nodes).  A node a pass retyped (ai.keel's
 * Gelu in place of an Erf) lists its own model node and those before it
 * too. */
static void fused_label(const kl_plan *p, const kl_snode *n, char *buf, size_t size)
{
    const int self = kl_sgraph_made(p, n->src) ? -1 : (int)(n->src - p->g->nodes);
    fused_walk w = {.p = p, .self = self, .buf = buf, .size = size};
    buf[0] = 0;
    kl_appendf(buf, size, &w.used, "%s%s", n->has_pre_pad ? "Pad+" : "", kl_snode_type(n));
    if (p->parent || n->n_out < 1 || n->out[0] < 0 || n->out[0] >= p->g->n_values ||
        p->g->values[n->out[0]].kind != KL_VALUE_NODE)
        return;
    if (strcmp(kl_snode_type(n), n->src->op_type) != 0) {
        for (int k = 0; k < n->src->n_in; k++)
            walk_value(&w, n->src->in[k]);
        kl_appendf(buf, size, &w.used, "+%s", n->src->op_type);
    }
    walk_node(&w, p->g->values[n->out[0]].producer);
}

void kl_inspect_snode(const keel_session *s, int i, kl_snode_info *info)
{
    const kl_plan *p = newest(s);
    const kl_snode *n = &p->nodes[i];
    info->name = n->src->name;
    info->op_type = kl_snode_type(n);
    info->n_in = n->n_in;
    info->n_out = n->n_out;
    info->in = n->in;
    info->out = n->out;
    fused_label(p, n, info->label, sizeof info->label);
}

keel_status kl_inspect_run_timed(keel_session *s, const keel_tensor *inputs, keel_tensor *outputs,
                                 double *step_ns)
{
    return kl_session_run_timed(s, inputs, outputs, step_ns);
}

keel_status kl_inspect_run_traced(keel_session *s, const keel_tensor *inputs, keel_tensor *outputs,
                                  int n_steps, double *start_ns, double *end_ns)
{
    return kl_session_run_traced(s, inputs, outputs, n_steps, start_ns, end_ns);
}

double kl_inspect_now_ns(void)
{
    return kl_now_ns();
}

bool kl_inspect_value(const keel_session *s, int v, const char **name, keel_tensor *t, bool *constant)
{
    const kl_plan *p = newest(s);
    if (!p || v >= p->n_values)
        return false;
    const kl_slot *sl = &p->slots[v];
    if (!sl->known || (sl->from_model && p->g->values[v].kind == KL_VALUE_INIT))
        return false;
    *name = sl->name;
    *t = sl->t;
    t->data = NULL;
    *constant = sl->is_const;
    return true;
}

int kl_inspect_pass_count(const keel_session *s)
{
    return newest(s) ? newest(s)->n_records : 0;
}

void kl_inspect_pass(const keel_session *s, int k, kl_pass_info *info)
{
    const kl_pass_record *r = &newest(s)->records[k];
    info->pass = r->pass;
    info->n_nodes = r->n_nodes;
    info->n_op_types = r->n_types;
    info->note = r->note;
    info->start_ns = r->start_ns;
    info->ns = r->ns;
}

void kl_inspect_pass_op(const keel_session *s, int k, int t, const char **op_type, int *count)
{
    *op_type = newest(s)->records[k].types[t];
    *count = newest(s)->records[k].counts[t];
}
