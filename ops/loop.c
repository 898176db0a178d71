/* loop.c -- Loop: runs the `body` subgraph while the trip count M and the
 * condition allow, threading N loop-carried values through it and
 * stacking K scan outputs along a new first axis.  Like If, the whole loop
 * runs in infer() once its inputs are known (output shapes depend on how
 * many iterations run) and run() hands the results over. */
#include <string.h>

#include "drivers/control.h"
#include "../runtime/exec.h"

/* Body outputs of every iteration for one scan output, stacked at the end. */
typedef struct scan_list {
    int n, cap;
    kl_tensor **items;
} scan_list;

typedef struct loop_run {
    kl_opctx *c;
    const kl_graph *body;
    int n_carried, n_scan;
    kl_tensor **carried;      /* current loop-carried values (owned) */
    scan_list *scans;
} loop_run;

static keel_status scan_push(kl_env *env, scan_list *l, kl_tensor *t)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 8;
        kl_tensor **grown = kl_alloc(env, (size_t)cap * sizeof *grown);
        if (!grown)
            return KEEL_ERR_NOMEM;
        if (l->n)
            memcpy(grown, l->items, (size_t)l->n * sizeof *grown);
        kl_free(env, l->items, (size_t)l->cap * sizeof *l->items);
        l->items = grown;
        l->cap = cap;
    }
    l->items[l->n++] = t;
    return KEEL_OK;
}

/* Stacks the iterations' tensors of one scan output: [iterations, ...]. */
static keel_status stack_scan(loop_run *L, const scan_list *l, kl_tensor **out)
{
    kl_opctx *c = L->c;
    if (l->n == 0) /* no iteration ran: an empty float vector */
        *out = kl_tensor_new(c->env, KEEL_FLOAT, 1, (int64_t[]){0});
    else if (kl_dtype_boxed(l->items[0]->dtype))
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "a scan output is a %s value; keel stacks tensors of numbers",
                          kl_dtype_name(l->items[0]->dtype));
    else {
        keel_status st = kl_check_same_shapes(c, l->items, l->n, "a scan output");
        if (st)
            return st;
        *out = kl_tensor_stack(c->env, l->items, l->n, 0, false);
    }
    return *out ? KEEL_OK : KEEL_ERR_NOMEM;
}

/* One iteration: body(i, cond, carried...) -> (cond, carried..., scans...). */
static keel_status iterate(loop_run *L, int64_t i, bool *cond)
{
    kl_opctx *c = L->c;
    int n_in = 2 + L->n_carried, n_out = 1 + L->n_carried + L->n_scan;
    uint8_t cond_byte = *cond;
    kl_tensor iter_t = {KEEL_INT64, 0, {0}, &i}, cond_t = {KEEL_BOOL, 0, {0}, &cond_byte};
    const kl_tensor *ins[2 + KL_MAX_LOOP_VALUES];
    kl_tensor *outs[1 + 2 * KL_MAX_LOOP_VALUES];
    ins[0] = &iter_t;
    ins[1] = &cond_t;
    for (int k = 0; k < L->n_carried; k++)
        ins[2 + k] = L->carried[k];
    keel_status st = kl_run_subgraph(c, L->body, ins, n_in, outs);
    if (st)
        return st;
    *cond = kl_numel(outs[0]) == 1 && kl_tensor_truth(outs[0]);
    kl_tensor_free(c->env, outs[0]);
    for (int k = 0; k < L->n_carried; k++) {
        kl_tensor_free(c->env, L->carried[k]);
        L->carried[k] = outs[1 + k];
    }
    for (int j = 0; j < L->n_scan; j++) {
        kl_tensor *t = outs[1 + L->n_carried + j];
        if (st || (st = scan_push(c->env, &L->scans[j], t)))
            kl_tensor_free(c->env, t);
    }
    (void)n_out;
    return st;
}

static keel_status run_loop(loop_run *L, int64_t max_trip, bool cond, kl_results *r)
{
    keel_status st = KEEL_OK;
    for (int64_t i = 0; !st && i < max_trip && cond; i++)
        st = iterate(L, i, &cond);
    for (int k = 0; !st && k < L->n_carried; k++) {
        r->t[k] = L->carried[k];
        L->carried[k] = NULL;
    }
    for (int j = 0; !st && j < L->n_scan; j++)
        st = stack_scan(L, &L->scans[j], &r->t[L->n_carried + j]);
    return st;
}

static keel_status check_body(kl_opctx *c, const kl_graph *body)
{
    int n_carried = c->n_in - 2;
    if (n_carried > KL_MAX_LOOP_VALUES || c->n_out - n_carried > KL_MAX_LOOP_VALUES)
        return kl_op_fail(c, KEEL_ERR_LIMIT, "more than %d loop-carried or scan values", KL_MAX_LOOP_VALUES);
    if (body->n_inputs != 2 + n_carried)
        return kl_op_fail(c, KEEL_ERR_INVALID, "body takes %d inputs; 2 + %d loop-carried expected",
                          body->n_inputs, n_carried);
    if (body->n_outputs != 1 + c->n_out || c->n_out < n_carried)
        return kl_op_fail(c, KEEL_ERR_INVALID, "body gives %d outputs; the node has %d outputs and %d loop-carried values",
                          body->n_outputs, c->n_out, n_carried);
    return KEEL_OK;
}

static keel_status loop_infer(kl_opctx *c)
{
    const kl_attr *a = kl_node_attr(c->node, "body");
    if (!a || a->type != KL_ATTR_GRAPH)
        return kl_op_fail(c, KEEL_ERR_INVALID, "needs a graph attribute 'body'");
    keel_status st = check_body(c, a->g);
    if (st)
        return st;
    for (int k = 0; k < c->n_in; k++)
        if (c->in[k] && (c->in[k]->rank < 0 || (!c->in[k]->data && kl_nbytes(c->in[k]))))
            return kl_op_needs_data(c, k);
    for (int k = 0; k < 2 && k < c->n_in; k++)
        if (c->in[k] && kl_dtype_boxed(c->in[k]->dtype))
            return kl_op_fail(c, KEEL_ERR_SHAPE, "input %d is a %s value; M and cond are tensors", k,
                              kl_dtype_name(c->in[k]->dtype));
    const kl_tensor *m = c->in[0], *cond = c->n_in > 1 ? c->in[1] : NULL;
    if ((m && (kl_numel(m) != 1 || m->dtype != KEEL_INT64)) || (cond && kl_numel(cond) != 1))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "M must be one int64 and cond one bool");
    int n_carried = c->n_in - 2, n_scan = c->n_out - n_carried;
    loop_run L = {c, a->g, n_carried, n_scan, NULL, NULL};
    kl_results *r = kl_results_new(c->env, c->n_out);
    L.carried = kl_alloc(c->env, (size_t)(n_carried + 1) * sizeof *L.carried);
    L.scans = kl_alloc(c->env, (size_t)(n_scan + 1) * sizeof *L.scans);
    st = r && L.carried && L.scans ? KEEL_OK : KEEL_ERR_NOMEM;
    for (int k = 0; !st && k < n_carried; k++)
        if (!(L.carried[k] = kl_value_new(c->env, c->in[2 + k])))
            st = KEEL_ERR_NOMEM;
    if (!st)
        st = run_loop(&L, m ? *(const int64_t *)m->data : INT64_MAX, cond ? kl_tensor_truth(cond) : true, r);
    for (int k = 0; L.carried && k < n_carried; k++)
        kl_tensor_free(c->env, L.carried[k]);
    for (int j = 0; L.scans && j < n_scan; j++) {
        for (int i = 0; i < L.scans[j].n; i++)
            kl_tensor_free(c->env, L.scans[j].items[i]);
        kl_free(c->env, L.scans[j].items, (size_t)L.scans[j].cap * sizeof *L.scans[j].items);
    }
    kl_free(c->env, L.carried, (size_t)(n_carried + 1) * sizeof *L.carried);
    kl_free(c->env, L.scans, (size_t)(n_scan + 1) * sizeof *L.scans);
    if (st) {
        kl_results_free(c->env, r);
        return st;
    }
    return kl_results_publish(c, r);
}

static const kl_op loop_op = {.type = "Loop", .since = 1, .min_inputs = 2, .max_inputs = -1,
                              .flags = KL_OP_VALUES, .infer = loop_infer, .run = kl_results_copy_out,
                              .release = kl_results_free};

const kl_op *const kl_opfile_loop[] = {&loop_op, NULL};
