/* shared.c -- what the sessions of one model share, under the model's lock:
 *
 *  - weights in the forms kernels want (packed panels, Winograd-transformed
 *    filters) and BatchNormalization folded into convolutions, each built
 *    once, by the first plan that needs it, and kept read-only until the
 *    model is freed.  An entry is found by what it was built from: the
 *    model's node, the form (an op's own number), the kernel table and the
 *    source's identity (an initializer's kl_value, or another entry's
 *    tensor), so that one key always means one result;
 *  - the bytes of weights only Conv reads (kl_weight, chosen at load):
 *    released while no plan holds them, read back from the file when one
 *    needs them again.  A plan holds a weight while it packs it, or for its
 *    whole life when it runs on the weight as it is.
 *
 * Builds run outside the lock: two plans missing one entry at once both
 * build it, and the second drops its copy. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "session.h"
#include "exec.h"

struct kl_shared_entry {
    const void *node, *source, *kern;
    int form;
    void *data;           /* what was built (bytes of it) */
    size_t bytes;
    kl_tensor *tensor;    /* or a tensor it made, owned */
};

keel_status kl_shared_init(keel_model *m)
{
    return pthread_mutex_init(&m->shared_lock, NULL) ? kl_error(&m->env, KEEL_ERR_NOMEM, "%s: no mutex", m->name)
                                                    : KEEL_OK;
}

void kl_shared_free(keel_model *m)
{
    for (int i = 0; i < m->n_shared; i++) {
        kl_shared_entry *e = &m->shared[i];
        if (e->tensor)
            kl_tensor_free(&m->env, e->tensor);
        else
            kl_free(&m->env, e->data, e->bytes);
    }
    kl_free(&m->env, m->shared, (size_t)m->cap_shared * sizeof *m->shared);
    for (int i = 0; i < m->n_weights; i++)
        kl_free(&m->env, m->weights[i].data, m->weights[i].bytes);
    kl_free(&m->env, m->weights, (size_t)m->n_weights * sizeof *m->weights);
    if (m->weights_fd >= 0)
        close(m->weights_fd);
    pthread_mutex_destroy(&m->shared_lock);
}

/* ---- the entries ----------------------------------------------------------------- */

/* Under the lock. */
static kl_shared_entry *find(keel_model *m, const void *node, const void *source, const void *kern, int form)
{
    for (int i = 0; i < m->n_shared; i++) {
        kl_shared_entry *e = &m->shared[i];
        if (e->node == node && e->source == source && e->kern == kern && e->form == form)
            return e;
    }
    return NULL;
}

static kl_shared_entry *find_locked(keel_model *m, const void *node, const void *source, const void *kern, int form)
{
    pthread_mutex_lock(&m->shared_lock);
    kl_shared_entry *e = find(m, node, source, kern, form);
    pthread_mutex_unlock(&m->shared_lock);
    return e;
}

/* Publishes e (unless another plan did first: then frees e's and returns
 * the other); NULL out of memory (e freed).  Under the lock. */
static kl_shared_entry *publish(keel_model *m, kl_env *env, const kl_shared_entry *e)
{
    kl_shared_entry *old = find(m, e->node, e->source, e->kern, e->form);
    if (!old && m->n_shared == m->cap_shared) {
        int cap = m->cap_shared ? m->cap_shared * 2 : 16;
        kl_shared_entry *grown = kl_alloc(env, (size_t)cap * sizeof *grown);
        if (grown) {
            if (m->n_shared)
                memcpy(grown, m->shared, (size_t)m->n_shared * sizeof *grown);
            kl_free(env, m->shared, (size_t)m->cap_shared * sizeof *m->shared);
            m->shared = grown;
            m->cap_shared = cap;
        }
    }
    if (old || m->n_shared == m->cap_shared) {
        if (e->tensor)
            kl_tensor_free(env, e->tensor);
        else
            kl_free(env, e->data, e->bytes);
        return old;
    }
    m->shared[m->n_shared] = *e;
    return &m->shared[m->n_shared++];
}

/* The slot behind c's input k (every context's tensors are its plan's slots). */
static kl_slot *slot_of(const kl_opctx *c, int k)
{
    const kl_plan *p = c->plan;
    if (!p || k < 0 || k >= c->n_in || !c->in[k])
        return NULL;
    const kl_slot *sl = (const kl_slot *)((const char *)c->in[k] - offsetof(kl_slot, t));
    return sl >= p->slots && sl < p->slots + p->n_values ? (kl_slot *)sl : NULL;
}

keel_status kl_shared_pack(kl_opctx *c, int input, int form, kl_pack_fn pack, const void **out)
{
    kl_slot *sl = slot_of(c, input);
    *out = NULL;
    /* entries are found by node: a node a pass made lives with its plan */
    if (!sl || !sl->source || kl_sgraph_made(c->plan, c->node))
        return KEEL_OK;
    kl_plan *p = c->plan;
    keel_model *m = (keel_model *)p->model;
    kl_shared_entry *e = find_locked(m, c->node, sl->source, c->env->kern, form);
    if (e) {
        *out = e->data;
        return KEEL_OK;
    }
    const int v = (int)(sl - p->slots);
    bool held;
    keel_status st = kl_plan_hold_values(p, &v, 1, &held);
    if (st)
        return st;
    kl_env env = m->env; /* the model's allocator: freed with it */
    env.status = KEEL_OK;
    kl_shared_entry made = {c->node, sl->source, c->env->kern, form, NULL, 0, NULL};
    made.data = pack(&env, c, form, &made.bytes);
    kl_plan_unhold_values(p, &v, 1, &held);
    if (!made.data)
        return kl_op_fail(c, KEEL_ERR_NOMEM, "out of memory packing weights");
    pthread_mutex_lock(&m->shared_lock);
    e = publish(m, &env, &made);
    pthread_mutex_unlock(&m->shared_lock);
    if (!e)
        return kl_op_fail(c, KEEL_ERR_NOMEM, "out of memory packing weights");
    *out = e->data;
    return KEEL_OK;
}

keel_status kl_shared_tensors(kl_plan *p, const kl_node *node, const void *kern, const int *values, int n_values,
                              int n_out, kl_make_fn make, void *arg, const kl_tensor **out)
{
    keel_model *m = (keel_model *)p->model;
    for (int k = 0; k < n_out; k++)
        out[k] = NULL;
    if (n_out > 4 || kl_sgraph_made(p, node))
        return KEEL_OK;
    for (int k = 0; k < n_values; k++)
        if (values[k] >= 0 && !p->slots[values[k]].source)
            return KEEL_OK; /* not all the model's: the plan's own */
    const void *source = n_values && values[0] >= 0 ? p->slots[values[0]].source : NULL;
    int found = 0;
    for (int k = 0; k < n_out; k++) {
        kl_shared_entry *e = find_locked(m, node, source, kern, k);
        if (e)
            out[k] = e->tensor, found++;
    }
    if (found == n_out)
        return KEEL_OK;
    bool held[KL_SHARED_MAX_VALUES];
    keel_status st = n_values > KL_SHARED_MAX_VALUES ? KEEL_ERR_ARGUMENT
                                                     : kl_plan_hold_values(p, values, n_values, held);
    kl_env env = m->env;
    env.status = KEEL_OK;
    kl_tensor *made[4] = {NULL};
    if (!st)
        st = make(&env, arg, made);
    if (n_values <= KL_SHARED_MAX_VALUES)
        kl_plan_unhold_values(p, values, n_values, held);
    pthread_mutex_lock(&m->shared_lock);
    for (int k = 0; !st && k < n_out; k++) {
        kl_shared_entry e = {node, source, kern, k, made[k]->data, kl_nbytes(made[k]), made[k]};
        made[k] = NULL;
        kl_shared_entry *pub = publish(m, &env, &e);
        if (pub)
            out[k] = pub->tensor;
        else
            st = KEEL_ERR_NOMEM;
    }
    pthread_mutex_unlock(&m->shared_lock);
    for (int k = 0; k < n_out; k++)
        kl_tensor_free(&env, made[k]);
    if (st == KEEL_ERR_NOMEM)
        return kl_error(&p->env, st, "%s: out of memory folding weights", p->model->name);
    return st;
}

/* ---- weights released while no plan holds them --------------------------------------- */

/* Reads w's bytes back from the model's file, which must be as it was at
 * load.  Under the lock; errors go to p. */
static keel_status read_back(kl_plan *p, keel_model *m, kl_weight *w)
{
    const char *name = m->graph->values[w->value].name;
    struct stat sb;
    if (m->weights_fd < 0 || fstat(m->weights_fd, &sb) != 0 || (int64_t)sb.st_size != m->file_size ||
        (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec != m->file_mtime_ns)
        return kl_error(&p->env, KEEL_ERR_IO, "%s: the file changed since it was loaded; cannot read weight '%s' back",
                        m->name, name);
    kl_env env = m->env;
    uint8_t *data = kl_alloc(&env, w->bytes);
    if (!data)
        return kl_error(&p->env, KEEL_ERR_NOMEM, "%s: out of memory reading weight '%s' back", m->name, name);
    for (size_t done = 0; done < w->bytes;) {
        ssize_t got = pread(m->weights_fd, data + done, w->bytes - done, (off_t)(w->offset + done));
        if (got <= 0) {
            kl_free(&env, data, w->bytes);
            return kl_error(&p->env, KEEL_ERR_IO, "%s: cannot read weight '%s' back from the file", m->name, name);
        }
        done += (size_t)got;
    }
    w->data = data;
    return KEEL_OK;
}

keel_status kl_plan_hold(kl_plan *p, int v)
{
    kl_slot *sl = &p->slots[v];
    if (!sl->weight || sl->held)
        return KEEL_OK;
    keel_model *m = (keel_model *)p->model;
    kl_weight *w = sl->weight;
    pthread_mutex_lock(&m->shared_lock);
    keel_status st = w->data ? KEEL_OK : read_back(p, m, w);
    if (!st) {
        w->holds++;
        sl->t.data = w->data;
        sl->held = true;
    }
    pthread_mutex_unlock(&m->shared_lock);
    return st;
}

void kl_plan_unhold(kl_plan *p, int v)
{
    kl_slot *sl = &p->slots[v];
    if (!sl->held)
        return;
    keel_model *m = (keel_model *)p->model;
    kl_weight *w = sl->weight;
    pthread_mutex_lock(&m->shared_lock);
    if (--w->holds == 0 && !m->n_custom) { /* an embedder's op might read any input: kept */
        kl_env env = m->env;
        kl_free(&env, w->data, w->bytes);
        w->data = NULL;
    }
    pthread_mutex_unlock(&m->shared_lock);
    sl->t.data = NULL;
    sl->held = false;
}

keel_status kl_plan_hold_values(kl_plan *p, const int *values, int n, bool *held)
{
    keel_status st = KEEL_OK;
    for (int k = 0; k < n; k++) {
        held[k] = false;
        if (!st && values[k] >= 0 && p->slots[values[k]].weight && !p->slots[values[k]].held)
            held[k] = !(st = kl_plan_hold(p, values[k]));
    }
    return st;
}

void kl_plan_unhold_values(kl_plan *p, const int *values, int n, const bool *held)
{
    for (int k = 0; k < n; k++)
        if (held[k])
            kl_plan_unhold(p, values[k]);
}

bool kl_input_const(const kl_opctx *c, int k)
{
    const kl_slot *sl = slot_of(c, k);
    return k >= 0 && k < c->n_in && c->in[k] && (c->in[k]->data || (sl && sl->weight));
}

keel_status kl_input_hold(kl_opctx *c, int k)
{
    kl_slot *sl = slot_of(c, k);
    /* a failure's message, naming the model and the weight, is on c->env */
    return sl ? kl_plan_hold(c->plan, (int)(sl - c->plan->slots)) : KEEL_OK;
}
