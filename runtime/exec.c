/* exec.c -- the executor: runs a session's steps in order (a view passes
 * its input's storage on; a dynamic step is inferred and given buffers
 * first), subgraphs for control-flow ops, and stops on request. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "exec.h"
#include "session.h"
#include "split.h"

double kl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- stopping ------------------------------------------------------------------- */

/* Why the work of plan p must stop now ("" when it need not), read through
 * the session of its outermost plan. */
static const char *stop_reason(const kl_plan *p, char *buf, size_t size)
{
    while (p->parent)
        p = p->parent;
    const keel_session *s = p->owner;
    buf[0] = 0;
    if (!s)
        return buf;
    if (atomic_load_explicit(&s->cancel, memory_order_relaxed))
        snprintf(buf, size, "cancelled");
    else if (s->deadline_ns > 0 && kl_now_ns() > s->deadline_ns)
        snprintf(buf, size, "stopped: the time limit of %llu ms has passed",
                 (unsigned long long)s->env.time_limit_ms);
    return buf;
}

keel_status kl_op_check_cancel(kl_opctx *c)
{
    char why[96];
    if (!c->plan || !*stop_reason(c->plan, why, sizeof why))
        return KEEL_OK;
    return kl_op_fail(c, KEEL_ERR_CANCELLED, "%s", why);
}

bool kl_op_stopping(const kl_opctx *c)
{
    char why[96];
    return c->plan && *stop_reason(c->plan, why, sizeof why);
}

void kl_session_arm_deadline(keel_session *s)
{
    s->deadline_ns = s->env.time_limit_ms ? kl_now_ns() + (double)s->env.time_limit_ms * 1e6 : 0;
}

void keel_session_cancel(keel_session *s)
{
    if (s)
        atomic_store(&s->cancel, 1);
}

/* ---- running ------------------------------------------------------------------ */

const char *keel_session_errmsg(const keel_session *s)
{
    return s ? s->env.msg : "";
}

keel_status keel_session_run(keel_session *s, const keel_tensor *inputs, keel_tensor *outputs)
{
    return kl_session_run_timed(s, inputs, outputs, NULL);
}

/* What a run clocks of each step k that runs a kernel (a NULL clock:
 * nothing, and no clock is read). */
typedef struct step_clock {
    double *step_ns;            /* step_ns[k] += its wall time, when not NULL */
    int n;                      /* entries of start_ns and end_ns */
    double *start_ns, *end_ns;  /* when it began and ended, when not NULL */
} step_clock;

static void clock_step(const step_clock *c, int k, double t0, double t1)
{
    if (c->step_ns)
        c->step_ns[k] += t1 - t0;
    if (c->start_ns && k < c->n) {
        c->start_ns[k] = t0;
        c->end_ns[k] = t1;
    }
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

/* The slot whose tensor t is, in c's plan (NULL if t is not one). */
static kl_slot *slot_of(const kl_opctx *c, const kl_tensor *t)
{
    kl_plan *p = c->plan;
    if (!p || !t || !p->n_values)
        return NULL;
    const char *at = (const char *)t - offsetof(kl_slot, t);
    const char *first = (const char *)p->slots, *end = (const char *)(p->slots + p->n_values);
    if (at < first || at >= end || (size_t)(at - first) % sizeof(kl_slot))
        return NULL;
    return (kl_slot *)at;
}

keel_status kl_out_value(kl_opctx *c, int k, const kl_tensor *v)
{
    kl_slot *sl = slot_of(c, c->out[k]);
    if (!sl || !sl->dynamic)
        return kl_op_fail(c, KEEL_ERR_RUNTIME, "output %d is not a value planned at run time", k);
    if (v->dtype == KEEL_NONE) { /* no data: nothing to keep */
        kl_free(c->env, sl->dyn_cap ? sl->t.data : NULL, sl->dyn_cap);
        sl->dyn_cap = 0;
        sl->t = *v;
        sl->t.data = NULL;
        return KEEL_OK;
    }
    size_t bytes = kl_value_bytes(v);
    keel_status st = grow(c->env, &sl->t.data, &sl->dyn_cap, bytes);
    if (st)
        return kl_op_fail(c, st, "out of memory for output %d (%zu bytes)", k, bytes);
    void *block = sl->t.data;
    kl_box_copy(v, block, &sl->t);
    sl->t.data = block; /* (also for an empty sequence: the buffer is kept) */
    return KEEL_OK;
}

keel_status kl_out_sequence(kl_opctx *c, int k, const kl_tensor *items, int64_t n)
{
    kl_tensor seq = {.dtype = KEEL_SEQUENCE, .rank = 1, .dims = {n}, .data = (void *)items};
    return kl_out_value(c, k, &seq);
}

static const char *value_name(const kl_opctx *c, const kl_tensor *t)
{
    const kl_slot *sl = slot_of(c, t);
    return sl && sl->name ? sl->name : "?";
}

/* Whether c's inputs (and with `outputs`, its outputs as inferred) are
 * of kinds its op takes: string tensors, sequences and empty optionals
 * only where the op says so. */
keel_status kl_ctx_check_kinds(kl_opctx *c, bool outputs)
{
    if (c->op->flags & KL_OP_VALUES)
        return KEEL_OK;
    for (int k = 0; k < c->n_in; k++)
        if (c->in[k] && kl_dtype_boxed(c->in[k]->dtype))
            return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "input %d '%s' is a %s value; this op takes tensors of "
                              "numbers", k, value_name(c, c->in[k]), kl_dtype_name(c->in[k]->dtype));
    for (int k = 0; outputs && k < c->n_out; k++)
        if (c->out[k] && kl_dtype_boxed(c->out[k]->dtype))
            return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "output %d '%s' would be a %s value; this op gives "
                              "tensors of numbers", k, value_name(c, c->out[k]), kl_dtype_name(c->out[k]->dtype));
    return KEEL_OK;
}

/* A step whose shapes depend on this run's data: infer now, size its
 * buffers (kept and reused by later runs), then run it.  Outputs that are
 * strings, sequences or empty optionals get theirs from run()
 * (kl_out_value). */
static keel_status run_dynamic(kl_plan *s, kl_step *stp)
{
    kl_opctx *c = &stp->ctx;
    keel_status st = kl_ctx_check_kinds(c, false);
    if (!st)
        st = c->op->infer(c);
    if (st == KL_DEFERRED) /* an input it needs has no data even now */
        st = KEEL_ERR_UNSUPPORTED;
    if (!st)
        st = kl_ctx_check_outputs(s, c);
    if (!st)
        st = kl_ctx_check_kinds(c, true);
    const kl_snode *n = &s->nodes[stp->node];
    for (int k = 0; !st && k < n->n_out; k++) {
        if (n->out[k] < 0)
            continue;
        kl_slot *o = &s->slots[n->out[k]];
        if (!kl_dtype_boxed(o->t.dtype))
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

/* A run's watcher (keel_session_run_watched). */
typedef struct run_watch {
    keel_watch_fn fn;
    void *user;
    int order;
} run_watch;

/* Tells w about model value v of plan p, computed by the kernel of the
 * session's node `step` (NULL: v's producer, or none for a graph input). */
static keel_status watch_value(kl_plan *p, run_watch *w, int v, const kl_snode *step)
{
    const kl_graph *g = p->g;
    const kl_value *val = &g->values[v];
    keel_value_event ev = {.value = val->name, .node = "", .op_type = "", .node_index = -1,
                           .order = w->order++};
    if (val->kind == KL_VALUE_NODE && val->producer >= 0) {
        const kl_node *n = &g->nodes[val->producer];
        ev.node = n->name;
        ev.op_type = n->op_type;
        ev.node_index = val->producer;
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] == v)
                ev.output_index = k;
    }
    ev.step_node = step ? step->src->name : ev.node;
    ev.step_op_type = step ? kl_snode_type(step) : ev.op_type;
    const kl_slot *sl = &p->slots[v];
    keel_tensor t = sl->t;
    keel_status st = w->fn(w->user, &ev, &t);
    if (st)
        return kl_error(&p->env, st, "%s: the run's watcher stopped it at value '%s' (%s)", p->model->name,
                        val->name, keel_status_string(st));
    return KEEL_OK;
}

/* Tells w about the values that exist before the first step: the graph
 * inputs, then the model's values computed at planning, in node order. */
static keel_status watch_start(kl_plan *p, run_watch *w)
{
    const kl_graph *g = p->g;
    keel_status st = KEEL_OK;
    for (int k = 0; k < g->n_inputs && !st; k++)
        st = watch_value(p, w, g->inputs[k], NULL);
    for (int i = 0; i < g->n_nodes && !st; i++)
        for (int k = 0; k < g->nodes[i].n_out && !st; k++) {
            int v = g->nodes[i].out[k];
            if (v >= 0 && p->slots[v].is_const)
                st = watch_value(p, w, v, NULL);
        }
    return st;
}

/* Tells w about the model's values step k produced. */
static keel_status watch_step(kl_plan *p, run_watch *w, const kl_step *stp)
{
    const kl_snode *n = &p->nodes[stp->node];
    keel_status st = KEEL_OK;
    for (int k = 0; k < n->n_out && !st; k++)
        if (n->out[k] >= 0 && n->out[k] < p->g->n_values)
            st = watch_value(p, w, n->out[k], n);
    return st;
}

static keel_status run_steps(kl_plan *s, const step_clock *clock, run_watch *watch)
{
    if (watch) {
        keel_status st = watch_start(s, watch);
        if (st)
            return st;
    }
    for (int k = 0; k < s->n_steps; k++) {
        kl_step *st = &s->steps[k];
        char why[96];
        if (*stop_reason(s, why, sizeof why)) {
            char at[KL_ERRMSG / 2];
            return kl_error(&s->env, KEEL_ERR_CANCELLED, "%s: run %s before %s", s->model->name, why,
                            kl_snode_str(&s->nodes[st->node], at, sizeof at));
        }
        if (st->view) {
            st->ctx.out[0]->data = st->ctx.in[0]->data;
            keel_status rc = watch ? watch_step(s, watch, st) : KEEL_OK;
            if (rc)
                return rc;
            continue;
        }
        double t0 = clock ? kl_now_ns() : 0;
        keel_status rc = st->dynamic ? run_dynamic(s, st) : st->op->run(&st->ctx);
        if (clock)
            clock_step(clock, k, t0, kl_now_ns());
        if (rc) {
            kl_error_prefix(&s->env, "%s", s->model->name);
            return rc;
        }
        if (watch && (rc = watch_step(s, watch, st)))
            return rc;
    }
    return KEEL_OK;
}

keel_status kl_plan_run_steps(kl_plan *p)
{
    return run_steps(p, NULL, NULL);
}

/* Copies the outputs of a finished subgraph run into new tensors. */
static keel_status take_outputs(kl_plan *sub, kl_env *env, kl_tensor **outs)
{
    const kl_graph *g = sub->g;
    for (int k = 0; k < g->n_outputs; k++)
        if (!(outs[k] = kl_value_new(env, &sub->slots[g->outputs[k]].t)))
            return KEEL_ERR_NOMEM;
    return KEEL_OK;
}

keel_status kl_run_subgraph(kl_opctx *c, const kl_graph *g, const kl_tensor *const *inputs,
                            int n_inputs, kl_tensor **outs)
{
    const kl_plan *parent = c->plan;
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
    kl_plan *sub = kl_alloc(&env, sizeof *sub);
    if (!sub)
        return kl_op_fail(c, KEEL_ERR_NOMEM, "out of memory for subgraph '%s'", g->name);
    sub->env = env;
    sub->model = parent->model;
    sub->g = g;
    sub->parent = parent;
    keel_status st = kl_session_build_subgraph(sub, inputs, n_inputs);
    if (!st)
        st = run_steps(sub, NULL, NULL);
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
    kl_plan_free(sub);
    return st;
}

/* Gives the caller output k of a finished run of p. */
static keel_status give_output(keel_session *s, const kl_plan *p, int k, keel_tensor *o)
{
    const kl_slot *sl = &p->slots[p->g->outputs[k]];
    size_t n = kl_nbytes(&sl->t);
    if (!o->data) { /* lend the session's own buffer until the next run */
        *o = sl->t;
        return KEEL_OK;
    }
    if (kl_dtype_boxed(sl->t.dtype))
        return kl_error(&s->env, KEEL_ERR_ARGUMENT, "%s: output '%s' is a %s value; pass data = NULL to receive it",
                        s->model->name, p->g->values[p->g->outputs[k]].name, kl_dtype_name(sl->t.dtype));
    if (sl->dynamic)
        return kl_error(&s->env, KEEL_ERR_ARGUMENT,
                        "%s: output '%s' has a shape that depends on the data; pass data = NULL to receive it",
                        s->model->name, p->g->values[p->g->outputs[k]].name);
    void *dst = o->data;
    *o = sl->t;
    o->data = dst;
    if (n)
        memcpy(dst, sl->t.data, n);
    return KEEL_OK;
}

/* Runs plan p of s on these inputs (of its shapes). */
static keel_status run_plan(keel_session *s, kl_plan *p, const keel_tensor *inputs, keel_tensor *outputs,
                            const step_clock *clock, run_watch *watch)
{
    const kl_graph *g = p->g;
    for (int k = 0; k < g->n_inputs; k++) {
        kl_slot *sl = &p->slots[g->inputs[k]];
        if (kl_decl_at_run(&g->values[g->inputs[k]].decl))
            sl->t = inputs[k];
        else if (!sl->is_const)
            sl->t.data = inputs[k].data;
    }
    p->env.status = KEEL_OK;
    p->env.msg[0] = 0;
    /* a clock or a watcher sees the plan's own steps */
    keel_status rc = p->n_image_plans && !clock && !watch ? kl_split_run(p) : run_steps(p, clock, watch);
    if (rc) {
        kl_session_take_error(s, p, rc);
        return rc;
    }
    for (int k = 0; k < g->n_outputs && !rc; k++)
        rc = give_output(s, p, k, &outputs[k]);
    return rc;
}

/* A string, sequence or optional input: valid, and of its declared kind. */
static keel_status check_run_value(keel_session *s, const kl_value *v, const keel_tensor *in)
{
    char what[KL_ERRMSG / 2];
    snprintf(what, sizeof what, "%s: input '%s'", s->model->name, v->name);
    const kl_decl *d = &v->decl;
    if (in->dtype == KEEL_NONE && !d->optional)
        return kl_error(&s->env, KEEL_ERR_ARGUMENT, "%s is empty (KEEL_NONE); it is not optional", what);
    keel_status st = kl_value_check(&s->env, in, what);
    if (st || in->dtype == KEEL_NONE)
        return st;
    if ((d->dtype == KEEL_SEQUENCE) != (in->dtype == KEEL_SEQUENCE) ||
        (d->dtype && d->dtype != KEEL_SEQUENCE && d->dtype != in->dtype))
        return kl_error(&s->env, KEEL_ERR_ARGUMENT, "%s is a %s value; the model declares %s%s", what,
                        kl_dtype_name(in->dtype), d->optional ? "an optional " : "", kl_dtype_name(d->dtype));
    const kl_tensor *items = in->data;
    if (in->dtype == KEEL_SEQUENCE && d->elem_dtype && in->dims[0] && items[0].dtype != d->elem_dtype)
        return kl_error(&s->env, KEEL_ERR_ARGUMENT, "%s holds %s tensors; the model declares a sequence of %s", what,
                        kl_dtype_name(items[0].dtype), kl_dtype_name(d->elem_dtype));
    return KEEL_OK;
}

/* The plan for these inputs, after checking what no plan checks: that
 * each is there with its data. */
static keel_status plan_of_run(keel_session *s, const keel_tensor *inputs, kl_plan **out)
{
    const kl_graph *g = s->g;
    for (int k = 0; k < g->n_inputs; k++) {
        const keel_tensor *in = &inputs[k];
        const kl_value *v = &g->values[g->inputs[k]];
        if (kl_decl_at_run(&v->decl)) {
            keel_status st = check_run_value(s, v, in);
            if (st)
                return st;
            continue;
        }
        if (in->rank < 0 || in->rank > KL_MAX_RANK)
            return kl_error(&s->env, KEEL_ERR_ARGUMENT, "%s: input '%s' has rank %d", s->model->name,
                            g->values[g->inputs[k]].name, in->rank);
        int64_t numel;
        if (!kl_checked_numel(in->rank, in->dims, &numel))
            return kl_error(&s->env, KEEL_ERR_SHAPE, "%s: input '%s' has negative or overflowing dims",
                            s->model->name, g->values[g->inputs[k]].name);
        if (!in->data && kl_nbytes(in))
            return kl_error(&s->env, KEEL_ERR_ARGUMENT, "%s: input '%s' has no data",
                            s->model->name, g->values[g->inputs[k]].name);
    }
    kl_session_arm_deadline(s);
    keel_status st = kl_session_plan_for(s, inputs, out);
    if (!st && (*out)->arena != s->arena)
        kl_plan_place(*out, s->arena);
    return st;
}

static keel_status run_clocked(keel_session *s, const keel_tensor *inputs, keel_tensor *outputs,
                               const step_clock *clock, run_watch *watch)
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
    kl_plan *p;
    keel_status rc = plan_of_run(s, inputs, &p);
    if (!rc)
        rc = run_plan(s, p, inputs, outputs, clock, watch);
    s->deadline_ns = 0;
    if (rc == KEEL_ERR_CANCELLED)
        atomic_store(&s->cancel, 0); /* this run answered the cancel */
    s->runs += !rc;
    return rc;
}

keel_status kl_session_run_timed(keel_session *s, const keel_tensor *inputs, keel_tensor *outputs,
                                 double *step_ns)
{
    const step_clock clock = {.step_ns = step_ns};
    return run_clocked(s, inputs, outputs, step_ns ? &clock : NULL, NULL);
}

keel_status kl_session_run_traced(keel_session *s, const keel_tensor *inputs, keel_tensor *outputs,
                                  int n_steps, double *start_ns, double *end_ns)
{
    const step_clock clock = {.n = n_steps, .start_ns = start_ns, .end_ns = end_ns};
    return run_clocked(s, inputs, outputs, start_ns && end_ns ? &clock : NULL, NULL);
}

keel_status keel_session_run_watched(keel_session *s, const keel_tensor *inputs, keel_tensor *outputs,
                                     keel_watch_fn watch, void *user)
{
    run_watch w = {.fn = watch, .user = user};
    return run_clocked(s, inputs, outputs, NULL, watch ? &w : NULL);
}
