/* custom.c -- operators added by an embedder (keel_model_add_op): each
 * becomes a kl_op whose callbacks forward to the embedder's functions, and
 * keel_op_context is the runtime's kl_opctx seen through the public API. */
#include <string.h>

#include "model.h"
#include "../ops/op.h"

/* What a model owns for one custom op: the descriptor and a copy of the
 * caller's definition with its strings. */
typedef struct custom_entry {
    kl_op op;
    keel_custom_op def;
} custom_entry;

static kl_opctx *ctx_of(keel_op_context *c) { return (kl_opctx *)c; }
static const kl_opctx *cctx_of(const keel_op_context *c) { return (const kl_opctx *)c; }

static keel_status forward_infer(kl_opctx *c)
{
    const keel_custom_op *d = c->op->custom;
    keel_status st = d->infer((keel_op_context *)c, d->user);
    if (st && !c->env->msg[0])
        kl_op_fail(c, st, "the custom op's infer() failed");
    return st;
}

static keel_status forward_run(kl_opctx *c)
{
    const keel_custom_op *d = c->op->custom;
    keel_status st = d->run((keel_op_context *)c, d->user);
    if (st && !c->env->msg[0])
        kl_op_fail(c, st, "the custom op's run() failed");
    return st;
}

keel_status keel_model_add_op(keel_model *m, const keel_custom_op *op)
{
    if (!m || !op || !op->type || !op->type[0] || !op->infer || !op->run || op->since_version < 1 ||
        (op->until_version && op->until_version < op->since_version))
        return KEEL_ERR_ARGUMENT;
    kl_env *env = &m->env;
    custom_entry *e = kl_alloc(env, sizeof *e);
    struct kl_op **grown = kl_alloc(env, (size_t)(m->n_custom + 1) * sizeof *grown);
    char *domain = kl_strdup(env, kl_domain(op->domain)), *type = kl_strdup(env, op->type);
    if (!e || !grown || !domain || !type) {
        kl_free(env, e, sizeof *e);
        kl_free(env, grown, (size_t)(m->n_custom + 1) * sizeof *grown);
        kl_strfree(env, domain);
        kl_strfree(env, type);
        return KEEL_ERR_NOMEM;
    }
    e->def = *op;
    e->def.domain = domain;
    e->def.type = type;
    e->op = (kl_op){.type = type, .domain = domain, .since = op->since_version, .until = op->until_version,
                    .min_inputs = 0, .max_inputs = -1, .infer = forward_infer, .run = forward_run,
                    .flags = KL_OP_NO_FOLD, .custom = &e->def};
    if (m->n_custom)
        memcpy(grown, m->custom, (size_t)m->n_custom * sizeof *grown);
    kl_free(env, m->custom, (size_t)m->n_custom * sizeof *grown);
    m->custom = grown;
    m->custom[m->n_custom++] = &e->op;
    return KEEL_OK;
}

const kl_op *kl_custom_find(const keel_model *m, const char *domain, const char *type, int opset)
{
    for (int i = m->n_custom - 1; i >= 0; i--) { /* the latest added wins */
        const kl_op *op = m->custom[i];
        if (strcmp(op->type, type) == 0 && strcmp(op->domain, kl_domain(domain)) == 0 &&
            opset >= op->since && (op->until == 0 || opset <= op->until))
            return op;
    }
    return NULL;
}

void kl_custom_free(keel_model *m)
{
    for (int i = 0; i < m->n_custom; i++) {
        custom_entry *e = (custom_entry *)m->custom[i]; /* op is the first member */
        kl_strfree(&m->env, (char *)e->def.domain);
        kl_strfree(&m->env, (char *)e->def.type);
        kl_free(&m->env, e, sizeof *e);
    }
    kl_free(&m->env, m->custom, (size_t)m->n_custom * sizeof *m->custom);
    m->custom = NULL;
    m->n_custom = 0;
}

/* ---- the context seen from an embedder's op --------------------------------- */

int keel_op_input_count(const keel_op_context *c) { return cctx_of(c)->n_in; }
int keel_op_output_count(const keel_op_context *c) { return cctx_of(c)->n_out; }

const keel_tensor *keel_op_input(const keel_op_context *c, int i)
{
    const kl_opctx *k = cctx_of(c);
    return i >= 0 && i < k->n_in ? k->in[i] : NULL;
}

keel_tensor *keel_op_output(keel_op_context *c, int i)
{
    kl_opctx *k = ctx_of(c);
    return i >= 0 && i < k->n_out ? k->out[i] : NULL;
}

int64_t keel_op_attr_int(const keel_op_context *c, const char *name, int64_t dflt)
{
    return kl_attr_int(cctx_of(c)->node, name, dflt);
}

float keel_op_attr_float(const keel_op_context *c, const char *name, float dflt)
{
    return kl_attr_float(cctx_of(c)->node, name, dflt);
}

const char *keel_op_attr_string(const keel_op_context *c, const char *name, const char *dflt)
{
    return kl_attr_str(cctx_of(c)->node, name, dflt);
}

keel_status keel_op_fail(keel_op_context *c, keel_status status, const char *message)
{
    return kl_op_fail(ctx_of(c), status, "%s", message ? message : "failed");
}
