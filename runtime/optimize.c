/* optimize.c -- graph rewrites at session creation, after shapes are known
 * and constants folded, before planning.  The model stays untouched (it is
 * shared by sessions): a rewrite only changes this session's view of it.
 *
 *   - BatchNormalization after a Conv is folded into the Conv's weights and
 *     bias (new session-owned constants);
 *   - a zero Pad of the spatial dims before a Conv or AveragePool becomes
 *     its padding;
 *   - an Add of a same-shaped value computed earlier is fused into the
 *     producing Conv/Gemm as a residual;
 *   - Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid, HardSwish, x*sigmoid(x)
 *     and x*hardsigmoid(x) (HardSwish as opset 13 exports spell it) are
 *     fused into the producer's epilogue.
 *
 * A node whose work was absorbed becomes a view of the value it consumed
 * (s->alias_input[node] >= 0): it runs no kernel and its output shares the
 * producer's storage.  A fusion is made only where the intermediate value
 * has no other reader and is not a graph output. */
#include <math.h>
#include <string.h>

#include "session.h"

typedef struct opt_ctx {
    keel_session *s;
    const kl_graph *g;
    int *readers;         /* per value: nodes reading it, plus 1 if a graph output */
} opt_ctx;

static bool is_op(const kl_node *n, const char *type)
{
    return n->domain[0] == 0 && strcmp(n->op_type, type) == 0;
}

static bool live(const opt_ctx *o, int node)
{
    return !o->s->folded[node] && !o->s->dynamic[node] && o->s->alias_input[node] < 0;
}

/* The node that really computes value v's storage, looking through fused
 * nodes; -1 for inputs and constants. */
static int producer_of(const opt_ctx *o, int v)
{
    for (;;) {
        int p = o->g->values[v].producer;
        if (p < 0 || o->s->folded[p])
            return -1;
        if (o->s->alias_input[p] < 0)
            return p;
        v = o->g->nodes[p].in[o->s->alias_input[p]];
    }
}

/* Whether v is p's output 0, or reached from it through fused nodes (a
 * folded BatchNormalization) whose values are read only along the chain. */
static bool sole_chain(const opt_ctx *o, int p, int v)
{
    for (int u = v; o->g->values[u].producer != p;) {
        int q = o->g->values[u].producer;
        u = o->g->nodes[q].in[o->s->alias_input[q]];
        if (o->readers[u] != 1)
            return false;
    }
    return o->g->nodes[p].out[0] == v || o->readers[o->g->nodes[p].out[0]] == 1;
}

/* Producer of n's input `k` that can take fused work: an epilogue op whose
 * output feeds only this node.  -1 if none. */
static int fusable_producer(const opt_ctx *o, int node, int k)
{
    const kl_node *n = &o->g->nodes[node];
    int v = n->in[k];
    if (v < 0 || o->readers[v] != 1)
        return -1;
    int p = producer_of(o, v);
    if (p < 0 || !(o->s->ops[p]->flags & KL_OP_EPILOGUE) || o->s->slots[v].t.dtype != KEEL_FLOAT)
        return -1;
    /* every value between p's output and v must be read only along the chain */
    if (!sole_chain(o, p, v) || o->readers[o->g->nodes[p].out[0]] != 1)
        return -1;
    return p;
}

static void absorb(opt_ctx *o, int node, int input)
{
    o->s->alias_input[node] = input;
    o->s->n_fused++;
}

/* ---- activations ----------------------------------------------------------- */

static bool const_scalar(const opt_ctx *o, const kl_node *n, int k, float *v)
{
    if (k >= n->n_in || n->in[k] < 0)
        return false;
    const kl_slot *sl = &o->s->slots[n->in[k]];
    if (!sl->is_const || sl->t.dtype != KEEL_FLOAT || kl_numel(&sl->t) != 1)
        return false;
    *v = *(const float *)sl->t.data;
    return true;
}

/* The activation node n computes, if it is one the epilogue knows. */
static bool activation_of(const opt_ctx *o, const kl_node *n, kl_epilogue *e)
{
    memset(e, 0, sizeof *e);
    if (n->n_out != 1)
        return false;
    if (is_op(n, "Relu"))
        e->act = KL_ACT_RELU;
    else if (is_op(n, "LeakyRelu")) {
        e->act = KL_ACT_LEAKYRELU;
        e->alpha = kl_attr_float(n, "alpha", 0.01f);
    } else if (is_op(n, "Sigmoid"))
        e->act = KL_ACT_SIGMOID;
    else if (is_op(n, "HardSigmoid")) {
        e->act = KL_ACT_HARDSIGMOID;
        e->alpha = kl_attr_float(n, "alpha", 0.2f);
        e->beta = kl_attr_float(n, "beta", 0.5f);
    } else if (is_op(n, "HardSwish"))
        e->act = KL_ACT_HARDSWISH;
    else if (is_op(n, "Clip")) {
        e->act = KL_ACT_CLIP;
        e->alpha = -INFINITY;
        e->beta = INFINITY;
        int opset = (int)kl_model_opset(o->s->model, "");
        if (opset < 11) {
            e->alpha = kl_attr_float(n, "min", -INFINITY);
            e->beta = kl_attr_float(n, "max", INFINITY);
        } else {
            bool has_min = n->n_in > 1 && n->in[1] >= 0, has_max = n->n_in > 2 && n->in[2] >= 0;
            if ((has_min && !const_scalar(o, n, 1, &e->alpha)) || (has_max && !const_scalar(o, n, 2, &e->beta)))
                return false;
        }
    } else
        return false;
    return true;
}

static void fuse_activation(opt_ctx *o, int node)
{
    kl_epilogue act;
    if (!activation_of(o, &o->g->nodes[node], &act))
        return;
    int p = fusable_producer(o, node, 0);
    if (p < 0 || o->s->epi[p].act != KL_ACT_NONE)
        return;
    o->s->epi[p].act = act.act;
    o->s->epi[p].alpha = act.alpha;
    o->s->epi[p].beta = act.beta;
    absorb(o, node, 0);
}

/* The activation x * gate(x) where node `gate` computes gate(x): SiLU for
 * Sigmoid, HardSwish for HardSigmoid(alpha 1/6, beta 1/2); else NONE. */
static kl_act gated_act(const opt_ctx *o, int gate)
{
    const kl_node *n = &o->g->nodes[gate];
    if (is_op(n, "Sigmoid"))
        return KL_ACT_SILU;
    if (is_op(n, "HardSigmoid") && fabsf(kl_attr_float(n, "alpha", 0.2f) - 1.0f / 6.0f) < 1e-6f &&
        kl_attr_float(n, "beta", 0.5f) == 0.5f)
        return KL_ACT_HARDSWISH;
    return KL_ACT_NONE;
}

/* Mul(a, gate(a)) with a from an epilogue op: SiLU (EfficientNet) or
 * HardSwish (MobileNet-v3 at opset 13). */
static void fuse_gated(opt_ctx *o, int node)
{
    const kl_node *n = &o->g->nodes[node];
    if (!is_op(n, "Mul") || n->n_in != 2 || n->in[0] < 0 || n->in[1] < 0)
        return;
    for (int k = 0; k < 2; k++) {
        int a = n->in[k], sv = n->in[1 - k];
        int sig = o->g->values[sv].producer;
        if (sig < 0 || !live(o, sig) || gated_act(o, sig) == KL_ACT_NONE || o->g->nodes[sig].in[0] != a ||
            o->readers[sv] != 1 || o->readers[a] != 2)
            continue;
        /* a may be p's output through a folded BatchNormalization (models
         * exported without constant folding: EfficientNet's SiLU ran as
         * separate Sigmoid and Mul there, half of its time) */
        int p = producer_of(o, a);
        if (p < 0 || !(o->s->ops[p]->flags & KL_OP_EPILOGUE) || o->s->epi[p].act != KL_ACT_NONE ||
            !sole_chain(o, p, a) || o->s->slots[a].t.dtype != KEEL_FLOAT)
            continue;
        o->s->epi[p].act = gated_act(o, sig);
        absorb(o, sig, 0);  /* its output is read only by the Mul, which is absorbed too */
        absorb(o, node, k);
        return;
    }
}

/* ---- Pad before Conv or AveragePool ---------------------------------------- */

/* An int64 constant input of n's, or NULL. */
static const int64_t *const_ints(const opt_ctx *o, const kl_node *n, int k, int64_t *count)
{
    if (k >= n->n_in || n->in[k] < 0)
        return NULL;
    const kl_slot *sl = &o->s->slots[n->in[k]];
    if (!sl->is_const || sl->t.dtype != KEEL_INT64)
        return NULL;
    *count = kl_numel(&sl->t);
    return sl->t.data;
}

/* Whether Pad node p pads only the spatial dims of a rank-r float tensor,
 * with zeros, by amounts >= 0; its pads (begin per dim, then end) into
 * pads[2 r]. */
static bool spatial_zero_pad(const opt_ctx *o, const kl_node *p, int r, int64_t *pads)
{
    const int opset = (int)kl_model_opset(o->s->model, "");
    if (strcmp(kl_attr_str(p, "mode", "constant"), "constant"))
        return false;
    const int64_t *v = NULL;
    int64_t count = 0;
    if (opset < 11) {
        count = kl_attr_ints(p, "pads", &v);
        if (kl_attr_float(p, "value", 0.0f) != 0.0f)
            return false;
    } else {
        float value = 0.0f;
        v = const_ints(o, p, 1, &count);
        if ((p->n_in > 2 && p->in[2] >= 0 && (!const_scalar(o, p, 2, &value) || value != 0.0f)) ||
            (p->n_in > 3 && p->in[3] >= 0)) /* axes (opset 18) */
            return false;
    }
    if (!v || count != 2 * r)
        return false;
    for (int d = 0; d < 2 * r; d++) {
        pads[d] = v[d];
        if (v[d] < 0 || ((d % r) < 2 && v[d] != 0))
            return false;
    }
    return true;
}

/* Whether node n's own attributes leave room for a Pad's: explicit pads
 * (no auto_pad); for AveragePool no pads and no ceil_mode of its own. */
static bool takes_pad(const kl_node *n)
{
    if (strcmp(kl_attr_str(n, "auto_pad", "NOTSET"), "NOTSET"))
        return false;
    if (is_op(n, "Conv"))
        return true;
    if (!is_op(n, "AveragePool") || kl_attr_int(n, "ceil_mode", 0) != 0)
        return false;
    const int64_t *pads;
    int np = kl_attr_ints(n, "pads", &pads);
    for (int i = 0; i < np; i++)
        if (pads[i] != 0)
            return false;
    return true;
}

/* A zero Pad of the spatial dims before a Conv or AveragePool becomes that
 * node's padding (TensorFlow exports pad before strided convolutions,
 * PyTorch's Inception-v3 before its average pools): the node reads the
 * Pad's input, and the Pad runs no kernel. */
static void fuse_pad(opt_ctx *o, int node)
{
    const kl_node *n = &o->g->nodes[node];
    if (!takes_pad(n) || n->n_in < 1 || n->in[0] < 0 || o->readers[n->in[0]] != 1)
        return;
    const int v = n->in[0], p = o->g->values[v].producer;
    if (p < 0 || !live(o, p) || !is_op(&o->g->nodes[p], "Pad") || o->g->nodes[p].in[0] < 0)
        return;
    const kl_tensor *t = &o->s->slots[o->g->nodes[p].in[0]].t;
    int64_t pads[2 * KL_MAX_RANK];
    if (t->dtype != KEEL_FLOAT || t->rank < 3 || t->rank > 5 || !spatial_zero_pad(o, &o->g->nodes[p], t->rank, pads))
        return;
    const int r = t->rank;
    for (int s = 0; s < 3; s++) {
        o->s->pre_pad[node][s] = s < r - 2 ? pads[2 + s] : 0;
        o->s->pre_pad[node][3 + s] = s < r - 2 ? pads[r + 2 + s] : 0;
    }
    o->s->pre_pad_src[node] = o->g->nodes[p].in[0];
    o->s->read_through[p] = true;
    absorb(o, p, 0);
}

/* ---- residual Add --------------------------------------------------------- */

static void fuse_residual(opt_ctx *o, int node)
{
    const kl_node *n = &o->g->nodes[node];
    if (!is_op(n, "Add") || n->n_in != 2 || n->in[0] < 0 || n->in[1] < 0)
        return;
    const kl_tensor *out = &o->s->slots[n->out[0]].t;
    for (int k = 0; k < 2; k++) {
        int p = fusable_producer(o, node, k);
        int other = n->in[1 - k];
        if (p < 0 || o->s->epi[p].act != KL_ACT_NONE || o->s->epi[p].residual)
            continue;
        const kl_tensor *ot = &o->s->slots[other].t, *pt = &o->s->slots[n->in[k]].t;
        if (ot->dtype != KEEL_FLOAT || !kl_same_shape(ot, out) || !kl_same_shape(pt, out))
            continue;
        /* the other operand must exist when p runs */
        int q = producer_of(o, other);
        if (q >= p)
            continue;
        o->s->epi[p].residual = ot;
        absorb(o, node, k);
        return;
    }
}

/* ---- BatchNormalization into Conv -------------------------------------------- */

static const kl_tensor *const_input(const opt_ctx *o, const kl_node *n, int k)
{
    if (k >= n->n_in || n->in[k] < 0 || !o->s->slots[n->in[k]].is_const)
        return NULL;
    const kl_tensor *t = &o->s->slots[n->in[k]].t;
    return t->dtype == KEEL_FLOAT ? t : NULL;
}

static keel_status fold_batchnorm(opt_ctx *o, int node)
{
    const kl_node *bn = &o->g->nodes[node];
    if (!is_op(bn, "BatchNormalization") || bn->n_in != 5 || kl_attr_int(bn, "training_mode", 0))
        return KEEL_OK;
    for (int k = 1; k < bn->n_out; k++)
        if (bn->out[k] >= 0)
            return KEEL_OK;
    int p = fusable_producer(o, node, 0);
    if (p < 0 || !is_op(&o->g->nodes[p], "Conv") || o->s->epi[p].act || o->s->epi[p].residual ||
        o->g->nodes[p].out[0] != bn->in[0])
        return KEEL_OK;
    const kl_node *conv = &o->g->nodes[p];
    const kl_tensor *w = const_input(o, conv, 1), *b = const_input(o, conv, 2);
    const kl_tensor *scale = const_input(o, bn, 1), *shift = const_input(o, bn, 2);
    const kl_tensor *mean = const_input(o, bn, 3), *var = const_input(o, bn, 4);
    bool has_bias = conv->n_in > 2 && conv->in[2] >= 0;
    if (!w || (has_bias && !b) || !scale || !shift || !mean || !var || w->rank < 3)
        return KEEL_OK;
    int64_t m = w->dims[0], per = kl_numel(w) / (m ? m : 1);
    if (kl_numel(scale) != m || kl_numel(shift) != m || kl_numel(mean) != m || kl_numel(var) != m ||
        (b && kl_numel(b) != m))
        return KEEL_OK;
    float eps = kl_attr_float(bn, "epsilon", 1e-5f);
    kl_tensor *nw = kl_tensor_new(&o->s->env, KEEL_FLOAT, w->rank, w->dims);
    kl_tensor *nb = nw ? kl_tensor_new(&o->s->env, KEEL_FLOAT, 1, &m) : NULL;
    if (!nw || !nb) {
        kl_tensor_free(&o->s->env, nw);
        return KEEL_ERR_NOMEM;
    }
    const float *wv = w->data, *sc = scale->data, *sh = shift->data, *mu = mean->data, *va = var->data;
    float *nwv = nw->data, *nbv = nb->data;
    for (int64_t c = 0; c < m; c++) {
        float f = sc[c] / sqrtf(va[c] + eps);
        for (int64_t i = 0; i < per; i++)
            nwv[c * per + i] = wv[c * per + i] * f;
        nbv[c] = ((b ? ((const float *)b->data)[c] : 0.0f) - mu[c]) * f + sh[c];
    }
    o->s->conv_w[p] = nw;
    o->s->conv_b[p] = nb;
    absorb(o, node, 0);
    return KEEL_OK;
}

/* ---- driver ------------------------------------------------------------------ */

keel_status kl_optimize(keel_session *s)
{
    const kl_graph *g = s->g;
    opt_ctx o = {s, g, kl_alloc(&s->env, (size_t)g->n_values * sizeof(int))};
    if (!o.readers)
        return KEEL_ERR_NOMEM;
    for (int i = 0; i < g->n_nodes; i++)
        if (!s->folded[i])
            for (int k = 0; k < g->nodes[i].n_deps; k++)
                if (g->nodes[i].in[k] >= 0)
                    o.readers[g->nodes[i].in[k]]++;
    for (int k = 0; k < g->n_outputs; k++)
        o.readers[g->outputs[k]]++;
    keel_status st = KEEL_OK;
    for (int i = 0; i < g->n_nodes && !st; i++) {
        if (!live(&o, i))
            continue;
        st = fold_batchnorm(&o, i);
        if (live(&o, i))
            fuse_pad(&o, i);
        if (live(&o, i))
            fuse_residual(&o, i);
        if (live(&o, i))
            fuse_gated(&o, i);
        if (live(&o, i))
            fuse_activation(&o, i);
    }
    kl_free(&s->env, o.readers, (size_t)g->n_values * sizeof(int));
    return st;
}
