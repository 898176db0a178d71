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
    info->macs = p->macs;
    info->arena_bytes = p->arena_size;
    info->intermediate_bytes = p->sum_intermediates;
    info->n_folded = p->n_folded;
    info->n_fused = p->n_fused;
    info->n_dynamic = p->n_dynamic;
    info->n_values = p->n_values;
}

void kl_inspect_step(const keel_session *s, int k, kl_step_info *info)
{
    const kl_plan *p = newest(s);
    const kl_step *st = &p->steps[k];
    const kl_node *n = p->nodes[st->node].src;
    info->node_name = n->name;
    info->op_type = n->op_type;
    info->runs_kernel = !st->view;
    info->macs = st->op->macs && !st->dynamic && !st->view ? st->op->macs((kl_opctx *)&st->ctx) : 0;
}

keel_status kl_inspect_run_timed(keel_session *s, const keel_tensor *inputs, keel_tensor *outputs,
                                 double *step_ns)
{
    return kl_session_run_timed(s, inputs, outputs, step_ns);
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
}

void kl_inspect_pass_op(const keel_session *s, int k, int t, const char **op_type, int *count)
{
    *op_type = newest(s)->records[k].types[t];
    *count = newest(s)->records[k].counts[t];
}
