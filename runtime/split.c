/* split.c -- batch split (split.h).
 *
 * A plan splits when every step it runs keeps the images of the batch
 * apart: every value it computes or is given has the batch as its leading
 * dim, and each step's op, by its descriptor's kl_batch_role and
 * images_apart, computes image i of its outputs from image i of its inputs
 * and from constants alone (separable below).
 * Its plans of one image are made for the same inputs with a leading dim
 * of 1, and checked: each model value they compute has the plan's shape
 * with that one dim changed.  The images then run on the session's
 * threads, each thread through its own plan, and the outputs are laid end
 * to end in the plan's own output buffers. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "exec.h"
#include "split.h"

static const kl_tensor *value(const kl_plan *p, int v)
{
    return &p->slots[v].t;
}

static bool is_const(const kl_plan *p, int v)
{
    return p->slots[v].is_const;
}

/* Whether value v is a tensor whose leading dim is the batch of n. */
static bool batched(const kl_plan *p, int v, int64_t n)
{
    const kl_tensor *t = value(p, v);
    return p->slots[v].known && !kl_dtype_boxed(t->dtype) && t->rank >= 1 && t->dims[0] == n;
}

/* Whether step st of p computes image i of each output from image i of
 * its inputs and from constants alone, for a batch of n: by its op's
 * kl_batch_role, and its images_apart at the node's attributes. */
static bool step_separable(const kl_plan *p, const kl_step *st, int64_t n)
{
    const kl_snode *nd = &p->nodes[st->node];
    const kl_op *op = nd->op;
    if (op->batch == KL_BATCH_MIXES || nd->dynamic || nd->n_deps > nd->n_in || nd->n_out < 1 || nd->out[0] < 0 ||
        nd->n_in < 1 || nd->in[0] < 0 || (op->batch == KL_BATCH_PRODUCT && value(p, nd->in[0])->rank < 2))
        return false;
    const int rank = value(p, nd->out[0])->rank, residual = op->residual_input;
    for (int k = 0; k < nd->n_out; k++)
        if (nd->out[k] >= 0 && !batched(p, nd->out[k], n))
            return false;
    for (int k = 0; k < nd->n_in; k++) {
        const int v = nd->in[k];
        if (v < 0)
            continue;
        const bool konst = is_const(p, v), fused = residual && k == residual;
        const int in_rank = value(p, v)->rank;
        if (!konst && !batched(p, v, n))
            return false;
        /* a batched input other than PER_IMAGE's input 0 lines up with the
         * output (from a lower rank it would broadcast over the batch) */
        if (!konst && in_rank != rank && (op->batch != KL_BATCH_PER_IMAGE || k > 0))
            return false;
        switch (op->batch) {
        case KL_BATCH_ELEMENTWISE: /* constants broadcast over the batch */
            if (konst && in_rank >= rank && value(p, v)->dims[0] != 1)
                return false;
            break;
        case KL_BATCH_PER_IMAGE:
            if (k == 0 ? konst : !konst && !fused)
                return false;
            break;
        case KL_BATCH_PRODUCT: /* B batched only as a stack of matrices */
            if (k == 0 ? konst || kl_attr_int(nd->src, "transA", 0) : !konst && !fused && !(k == 1 && rank >= 3))
                return false;
            if (k == 1 && konst && in_rank > 2)
                return false;
            break;
        default:
            return false;
        }
    }
    return !op->images_apart || op->images_apart(&st->ctx);
}

/* Where output value v of p lives in p's arena (a view's bytes are those of
 * the value it views), or NULL when it is not there (a view of an input). */
static uint8_t *output_bytes(const kl_plan *p, int v)
{
    size_t at = 0;
    for (; p->slots[v].root != v; v = p->slots[v].root)
        at += p->slots[v].root_offset;
    return p->slots[v].in_arena && p->slots[v].t.data ? (uint8_t *)p->slots[v].t.data + at : NULL;
}

/* The batch of p when every step keeps its images apart (and the inputs
 * and outputs all carry it), else 0. */
static int64_t separable(const kl_plan *p)
{
    const kl_graph *g = p->g;
    int64_t n = 0;
    if (p->n_dynamic || g->n_inputs < 1 || g->n_outputs < 1)
        return 0;
    for (int k = 0; k < g->n_inputs; k++) {
        const int v = g->inputs[k];
        if (kl_decl_at_run(&g->values[v].decl) || is_const(p, v) || value(p, v)->rank < 1)
            return 0;
        if (k == 0)
            n = value(p, v)->dims[0];
        if (!batched(p, v, n))
            return 0;
    }
    for (int k = 0; k < g->n_outputs; k++)
        if (!batched(p, g->outputs[k], n) || is_const(p, g->outputs[k]) || p->slots[g->outputs[k]].dynamic ||
            !output_bytes(p, g->outputs[k]))
            return 0;
    for (int k = 0; k < p->n_steps; k++)
        if (!step_separable(p, &p->steps[k], n))
            return 0;
    return n;
}

/* Whether plan q of one image computes every model value p computes, at
 * p's shape with a leading dim of 1, and runs no step planned at run time. */
static bool image_plan_fits(const kl_plan *p, const kl_plan *q, int64_t n)
{
    if (q->n_dynamic || q->n_values < p->g->n_values)
        return false;
    for (int v = 0; v < p->g->n_values; v++) {
        const kl_slot *a = &p->slots[v], *b = &q->slots[v];
        if (a->is_const || !a->known || (!a->computed && !batched(p, v, n)))
            continue;
        if (!b->known || b->is_const || b->t.rank != a->t.rank || a->t.dtype != b->t.dtype || b->t.dims[0] != 1)
            return false;
        for (int i = 1; i < a->t.rank; i++)
            if (a->t.dims[i] != b->t.dims[i])
                return false;
    }
    return true;
}

/* Plans of one image for p, `count` of them; false when one cannot be made
 * or does not fit. */
static bool make_image_plans(keel_session *s, kl_plan *p, int64_t n, int count)
{
    const kl_graph *g = p->g;
    keel_tensor *shapes = kl_alloc(&p->env, (size_t)g->n_inputs * sizeof *shapes);
    p->image_plans = kl_alloc(&p->env, (size_t)count * sizeof *p->image_plans);
    bool ok = shapes && p->image_plans;
    for (int k = 0; ok && k < g->n_inputs; k++) {
        const kl_tensor *t = value(p, g->inputs[k]);
        shapes[k] = (keel_tensor){.dtype = t->dtype, .rank = t->rank};
        memcpy(shapes[k].dims, t->dims, sizeof t->dims);
        shapes[k].dims[0] = 1;
    }
    for (int i = 0; ok && i < count; i++) {
        kl_plan *q;
        ok = !kl_session_image_plan(s, shapes, &q);
        if (ok) {
            p->image_plans[p->n_image_plans++] = q;
            ok = image_plan_fits(p, q, n);
        }
    }
    kl_free(&p->env, shapes, (size_t)g->n_inputs * sizeof *shapes);
    return ok;
}

void kl_split_prepare(keel_session *s, kl_plan *p)
{
    const int64_t n = separable(p), threads = kl_pool_threads(p->pool);
    if (n < 2)
        return;
    /* whatever the threads, so that the bytes of every image are the same at
     * any thread count (a product of 5 rows and of 1 round differently) */
    const int count = (int)(n < threads ? n : threads);
    const keel_status status = s->env.status;
    char msg[sizeof s->env.msg];
    memcpy(msg, s->env.msg, sizeof msg);
    if (make_image_plans(s, p, n, count)) {
        p->batch = n;
        return;
    }
    kl_split_free(p);
    kl_log(&p->env, KEEL_LOG_INFO, "%s: the batch of %lld runs as a whole: no plan of one image fits it",
           p->model->name, (long long)n);
    s->env.status = status;
    memcpy(s->env.msg, msg, sizeof msg);
}

void kl_split_free(kl_plan *p)
{
    if (!p->image_plans)
        return;
    for (int i = 0; i < p->n_image_plans; i++)
        kl_plan_free(p->image_plans[i]);
    kl_free(&p->env, p->image_plans, (size_t)(p->n_image_plans ? p->n_image_plans : 1) * sizeof *p->image_plans);
    p->image_plans = NULL;
    p->n_image_plans = 0;
    p->batch = 0;
}

/* ---- running ------------------------------------------------------------------ */

typedef struct split_job {
    kl_plan *p;
    atomic_int failed;  /* the lane (plan of one image) that failed first, or -1 */
    keel_status status; /* its status, and the image (set by that plan's thread) */
    int64_t image;
} split_job;

/* Lanes [lo, hi): lane l runs its share of the images, one after the
 * other, through plan of one image l. */
static void run_lanes(void *arg, int64_t lo, int64_t hi)
{
    split_job *j = arg;
    const kl_plan *p = j->p;
    const kl_graph *g = p->g;
    const int64_t lanes = p->n_image_plans;
    for (int64_t l = lo; l < hi; l++) {
        kl_plan *q = p->image_plans[l];
        for (int64_t i = p->batch * l / lanes; i < p->batch * (l + 1) / lanes; i++) {
            if (atomic_load_explicit(&j->failed, memory_order_relaxed) >= 0)
                return;
            for (int k = 0; k < g->n_inputs; k++) {
                const size_t bytes = kl_nbytes(&q->slots[g->inputs[k]].t);
                q->slots[g->inputs[k]].t.data = (uint8_t *)value(p, g->inputs[k])->data + (size_t)i * bytes;
            }
            q->env.status = KEEL_OK;
            q->env.msg[0] = 0;
            keel_status rc = kl_plan_run_steps(q);
            if (rc) {
                int none = -1;
                if (atomic_compare_exchange_strong(&j->failed, &none, (int)l))
                    j->status = rc, j->image = i;
                return;
            }
            for (int k = 0; k < g->n_outputs; k++) {
                const kl_tensor *t = value(q, g->outputs[k]);
                const size_t bytes = kl_nbytes(t);
                if (bytes)
                    memcpy((uint8_t *)value(p, g->outputs[k])->data + (size_t)i * bytes, t->data, bytes);
            }
        }
    }
}

keel_status kl_split_run(kl_plan *p)
{
    /* each output's bytes, where the lanes write (a view's: its step does not run) */
    for (int k = 0; k < p->g->n_outputs; k++)
        p->slots[p->g->outputs[k]].t.data = output_bytes(p, p->g->outputs[k]);
    split_job j = {.p = p};
    atomic_init(&j.failed, -1);
    kl_parallel_for(p->n_image_plans > 1 ? p->pool : NULL, p->n_image_plans, run_lanes, &j);
    const int failed = atomic_load(&j.failed);
    if (failed < 0)
        return KEEL_OK;
    const kl_plan *q = p->image_plans[failed];
    p->env.status = j.status;
    snprintf(p->env.msg, sizeof p->env.msg, "%.960s (image %lld of the batch of %lld)", q->env.msg,
             (long long)j.image, (long long)p->batch);
    return j.status;
}
