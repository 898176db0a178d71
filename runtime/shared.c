/* shared.c -- what the sessions of one model share: weights in the forms
 * kernels want (packed panels, Winograd-transformed filters) and
 * BatchNormalization folded into convolutions, each built once, by the
 * first plan that needs it, and kept read-only until the model is freed.
 *
 * An entry is found by what it was built from: the model's node, the form
 * (an op's own number), the kernel table and the source tensor's bytes,
 * which must be the model's own (an initializer, or another entry), so
 * that the same key always means the same result.  Lookups and builds run
 * under the model's lock; entries never change once made. */
#include <string.h>

#include "model.h"
#include "session.h"
#include "exec.h"

struct kl_shared_entry {
    const void *node, *source, *kern;
    int form;
    void *data;           /* what build made (bytes of it) */
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
    pthread_mutex_destroy(&m->shared_lock);
}

/* Whether `data` is bytes the model owns for its life: an initializer of
 * the main graph, or a tensor of an entry.  Called under the lock. */
static bool model_owns(const keel_model *m, const void *data)
{
    if (!data)
        return false;
    const kl_graph *g = m->graph;
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].kind == KL_VALUE_INIT && g->values[v].init && g->values[v].init->data == data)
            return true;
    for (int i = 0; i < m->n_shared; i++)
        if (m->shared[i].tensor && m->shared[i].tensor->data == data)
            return true;
    return false;
}

static kl_shared_entry *find(keel_model *m, const void *node, const void *source, const void *kern, int form)
{
    for (int i = 0; i < m->n_shared; i++) {
        kl_shared_entry *e = &m->shared[i];
        if (e->node == node && e->source == source && e->kern == kern && e->form == form)
            return e;
    }
    return NULL;
}

static kl_shared_entry *add(keel_model *m, kl_env *env)
{
    if (m->n_shared == m->cap_shared) {
        int cap = m->cap_shared ? m->cap_shared * 2 : 16;
        kl_shared_entry *grown = kl_alloc(env, (size_t)cap * sizeof *grown);
        if (!grown)
            return NULL;
        if (m->n_shared)
            memcpy(grown, m->shared, (size_t)m->n_shared * sizeof *grown);
        kl_free(env, m->shared, (size_t)m->cap_shared * sizeof *m->shared);
        m->shared = grown;
        m->cap_shared = cap;
    }
    kl_shared_entry *e = &m->shared[m->n_shared];
    memset(e, 0, sizeof *e);
    return e;
}

/* The model behind a context, writable for its entries (guarded by its lock). */
static keel_model *model_of(const kl_opctx *c)
{
    return c->plan && c->plan->model ? (keel_model *)c->plan->model : NULL;
}

keel_status kl_shared_pack(kl_opctx *c, int input, int form, kl_pack_fn pack, const void **out)
{
    keel_model *m = model_of(c);
    const void *source = input < c->n_in && c->in[input] ? c->in[input]->data : NULL;
    *out = NULL;
    if (!m)
        return KEEL_OK;
    keel_status st = KEEL_OK;
    pthread_mutex_lock(&m->shared_lock);
    if (model_owns(m, source)) {
        kl_shared_entry *e = find(m, c->node, source, c->env->kern, form);
        if (e)
            *out = e->data;
        else {
            kl_env env = m->env; /* the model's allocator: freed with it */
            env.status = KEEL_OK;
            size_t bytes = 0;
            void *data = pack(&env, c, form, &bytes);
            if (data && (e = add(m, &env))) {
                *e = (kl_shared_entry){c->node, source, c->env->kern, form, data, bytes, NULL};
                m->n_shared++;
                *out = data;
            } else {
                kl_free(&env, data, bytes);
                st = KEEL_ERR_NOMEM;
            }
        }
    }
    pthread_mutex_unlock(&m->shared_lock);
    return st ? kl_op_fail(c, st, "out of memory packing weights") : KEEL_OK;
}

keel_status kl_shared_tensors(kl_plan *p, const kl_node *node, const kl_tensor *const *sources, int n_sources,
                              int n_out, kl_make_fn make, void *arg, const kl_tensor **out)
{
    keel_model *m = (keel_model *)p->model;
    for (int k = 0; k < n_out; k++)
        out[k] = NULL;
    pthread_mutex_lock(&m->shared_lock);
    bool owned = true;
    for (int k = 0; k < n_sources; k++)
        owned = owned && (!sources[k] || model_owns(m, sources[k]->data));
    keel_status st = KEEL_OK;
    int found = 0;
    for (int k = 0; owned && k < n_out; k++) {
        kl_shared_entry *e = find(m, node, sources[0]->data, NULL, k);
        if (e)
            out[k] = e->tensor, found++;
    }
    if (owned && found < n_out) {
        kl_env env = m->env;
        env.status = KEEL_OK;
        kl_tensor *made[4] = {NULL};
        st = make(&env, arg, made);
        for (int k = 0; !st && k < n_out; k++) {
            kl_shared_entry *e = add(m, &env);
            if (!e) {
                st = KEEL_ERR_NOMEM;
                break;
            }
            *e = (kl_shared_entry){node, sources[0]->data, NULL, k, made[k]->data, kl_nbytes(made[k]), made[k]};
            m->n_shared++;
            out[k] = made[k];
            made[k] = NULL;
        }
        for (int k = 0; k < n_out; k++)
            kl_tensor_free(&env, made[k]);
    }
    pthread_mutex_unlock(&m->shared_lock);
    if (st)
        return kl_error(&p->env, st, "%s: out of memory folding weights", p->model->name);
    return KEEL_OK;
}
