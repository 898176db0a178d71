/* fuse.c -- the fusion passes, each a rewrite of the session graph made
 * after shapes are known and constants folded:
 *
 *   fuse_batchnorm   BatchNormalization after a Conv: the Conv gets new
 *                    weights and bias (session-owned constants among its
 *                    inputs) and the BatchNormalization's output;
 *   fuse_pad         a zero Pad of the spatial dims before a Conv or
 *                    AveragePool: the node reads the Pad's input and
 *                    keeps the padding as node data;
 *   fuse_bias        an Add of a constant row along the last axis (a
 *                    Linear layer's bias after MatMul): the MatMul or
 *                    Gemm takes it as its bias input (after the
 *                    residual one), added before a residual and the
 *                    activation, as the graph adds it;
 *   fuse_residual    an Add of a same-shaped value computed earlier: the
 *                    producing Conv/Gemm/MatMul takes it as its residual
 *                    input (the op's residual_input);
 *   fuse_gated       x * sigmoid(x) and x * hardsigmoid(x) (SiLU, and
 *                    HardSwish as opset 13 exports spell it);
 *   fuse_activation  Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid, HardSwish;
 *   drop_unread      outputs past the first of a reshaping op that nothing
 *                    reads (Dropout's mask, named in PyTorch's exports):
 *                    the node stops making them, and becomes a view.
 *
 * fuse_gelu (fuse_gelu.c) makes a spelled-out GELU an activation too.
 *
 * The activations become the producer's epilogue (node data).  The node
 * whose work was taken over leaves the graph and its producer writes its
 * output.  A fusion is made only where the intermediate value has no other
 * reader and is not a graph output.  The op names below are the patterns
 * the passes look for; nothing else in the runtime names an op. */
#include <math.h>
#include <string.h>

#include "fuse.h"

static keel_status fuse_begin(kl_plan *s, kl_fuse_ctx *o)
{
    o->s = s;
    return kl_sgraph_uses_init(s, &o->u);
}

static void fuse_end(kl_fuse_ctx *o)
{
    kl_sgraph_uses_free(o->s, &o->u);
    kl_sgraph_compact(o->s);
}

bool kl_fuse_is_op(const kl_snode *n, const char *type)
{
    return kl_domain(n->op->domain)[0] == 0 && strcmp(n->op->type, type) == 0;
}

bool kl_fuse_live(const kl_fuse_ctx *o, int node)
{
    return node >= 0 && !o->s->nodes[node].dead && !o->s->nodes[node].dynamic;
}

keel_status kl_fuse_each_node(kl_plan *s, kl_fuse_fn fn)
{
    kl_fuse_ctx o;
    keel_status st = fuse_begin(s, &o);
    for (int i = 0; !st && i < s->n_nodes; i++)
        if (kl_fuse_live(&o, i))
            st = fn(&o, i);
    fuse_end(&o);
    return st;
}

const kl_slot *kl_fuse_slot(const kl_fuse_ctx *o, const kl_snode *n, int k)
{
    return k < n->n_in && n->in[k] >= 0 ? &o->s->slots[n->in[k]] : NULL;
}

int kl_fuse_producer_of(const kl_fuse_ctx *o, int v, int readers)
{
    if (v < 0 || v >= o->u.n_values || o->u.readers[v] != readers)
        return -1;
    int p = o->u.producer[v];
    if (!kl_fuse_live(o, p))
        return -1;
    const kl_snode *pn = &o->s->nodes[p];
    if (!(pn->op->flags & KL_OP_EPILOGUE) || pn->out[0] != v || o->s->slots[v].t.dtype != KEEL_FLOAT ||
        pn->epi.act != KL_ACT_NONE)
        return -1;
    return p;
}

int kl_fuse_producer(const kl_fuse_ctx *o, const kl_snode *n, int k)
{
    return kl_fuse_producer_of(o, k < n->n_in ? n->in[k] : -1, 1);
}

bool kl_fuse_has_residual(const kl_snode *n)
{
    int r = n->op->residual_input;
    return r && r < n->n_in && n->in[r] >= 0;
}

void kl_fuse_take_over(kl_fuse_ctx *o, int p, kl_snode *n)
{
    kl_snode *pn = &o->s->nodes[p];
    pn->out[0] = n->out[0];
    o->u.producer[n->out[0]] = p;
    n->dead = true;
    o->s->n_fused++;
}

/* ---- activations ----------------------------------------------------------- */

bool kl_fuse_const_scalar(const kl_fuse_ctx *o, const kl_snode *n, int k, float *v)
{
    const kl_slot *sl = kl_fuse_slot(o, n, k);
    if (!sl || !sl->is_const || !sl->t.data || sl->t.dtype != KEEL_FLOAT || kl_numel(&sl->t) != 1)
        return false;
    *v = *(const float *)sl->t.data;
    return true;
}

static bool clip_bounds(const kl_fuse_ctx *o, const kl_snode *n, kl_epilogue *e)
{
    e->act = KL_ACT_CLIP;
    e->alpha = -INFINITY;
    e->beta = INFINITY;
    if (kl_model_opset(o->s->model, "") < 11) {
        e->alpha = kl_attr_float(n->src, "min", -INFINITY);
        e->beta = kl_attr_float(n->src, "max", INFINITY);
        return true;
    }
    bool has_min = n->n_in > 1 && n->in[1] >= 0, has_max = n->n_in > 2 && n->in[2] >= 0;
    return (!has_min || kl_fuse_const_scalar(o, n, 1, &e->alpha)) && (!has_max || kl_fuse_const_scalar(o, n, 2, &e->beta));
}

/* The activation node n computes, if it is one the epilogue knows. */
static bool activation_of(const kl_fuse_ctx *o, const kl_snode *n, kl_epilogue *e)
{
    memset(e, 0, sizeof *e);
    if (n->n_out != 1)
        return false;
    if (kl_fuse_is_op(n, "Relu"))
        e->act = KL_ACT_RELU;
    else if (kl_fuse_is_op(n, "LeakyRelu")) {
        e->act = KL_ACT_LEAKYRELU;
        e->alpha = kl_attr_float(n->src, "alpha", 0.01f);
    } else if (kl_fuse_is_op(n, "Sigmoid"))
        e->act = KL_ACT_SIGMOID;
    else if (kl_fuse_is_op(n, "HardSigmoid")) {
        e->act = KL_ACT_HARDSIGMOID;
        e->alpha = kl_attr_float(n->src, "alpha", 0.2f);
        e->beta = kl_attr_float(n->src, "beta", 0.5f);
    } else if (kl_fuse_is_op(n, "HardSwish"))
        e->act = KL_ACT_HARDSWISH;
    else if (kl_fuse_is_op(n, "Clip"))
        return clip_bounds(o, n, e);
    else
        return false;
    return true;
}

static keel_status fuse_activation(kl_fuse_ctx *o, int node)
{
    kl_snode *n = &o->s->nodes[node];
    kl_epilogue act;
    int p = activation_of(o, n, &act) ? kl_fuse_producer(o, n, 0) : -1;
    if (p < 0)
        return KEEL_OK;
    o->s->nodes[p].epi.act = act.act;
    o->s->nodes[p].epi.alpha = act.alpha;
    o->s->nodes[p].epi.beta = act.beta;
    kl_fuse_take_over(o, p, n);
    return KEEL_OK;
}

keel_status kl_pass_fuse_activation(kl_plan *s)
{
    return kl_fuse_each_node(s, fuse_activation);
}

/* ---- drop_unread ---- */

/* Outputs past the first of a reshaping op (Dropout's mask) that nothing
 * reads and that are not graph outputs: the node no longer makes them, so
 * that the views pass can make output 0 its input's bytes instead of a
 * copy.  The value leaves the arena. */
static keel_status drop_unread(kl_fuse_ctx *o, int node)
{
    kl_snode *n = &o->s->nodes[node];
    if (!n->op || !(n->op->flags & KL_OP_VIEW))
        return KEEL_OK;
    for (int k = 1; k < n->n_out; k++) {
        const int v = n->out[k];
        if (v < 0 || v >= o->u.n_values || o->u.readers[v] != 0)
            continue;
        n->out[k] = -1;
        o->s->slots[v].computed = false;
    }
    return KEEL_OK;
}

keel_status kl_pass_drop_unread(kl_plan *s)
{
    return kl_fuse_each_node(s, drop_unread);
}

/* The activation x * gate(x) where node `gate` computes gate(x): SiLU for
 * Sigmoid, HardSwish for HardSigmoid(alpha 1/6, beta 1/2); else NONE. */
static kl_act gated_act(const kl_snode *n)
{
    if (kl_fuse_is_op(n, "Sigmoid"))
        return KL_ACT_SILU;
    if (kl_fuse_is_op(n, "HardSigmoid") && fabsf(kl_attr_float(n->src, "alpha", 0.2f) - 1.0f / 6.0f) < 1e-6f &&
        kl_attr_float(n->src, "beta", 0.5f) == 0.5f)
        return KL_ACT_HARDSWISH;
    return KL_ACT_NONE;
}

/* Mul(a, gate(a)) with a from an epilogue op: SiLU (EfficientNet) or
 * HardSwish (MobileNet-v3 at opset 13).  The gate and the Mul leave. */
static keel_status fuse_gated(kl_fuse_ctx *o, int node)
{
    kl_snode *n = &o->s->nodes[node];
    if (!kl_fuse_is_op(n, "Mul") || n->n_in != 2 || n->in[0] < 0 || n->in[1] < 0)
        return KEEL_OK;
    for (int k = 0; k < 2; k++) {
        const int a = n->in[k], sv = n->in[1 - k], sig = o->u.producer[sv];
        if (!kl_fuse_live(o, sig) || gated_act(&o->s->nodes[sig]) == KL_ACT_NONE || o->s->nodes[sig].in[0] != a ||
            o->u.readers[sv] != 1 || o->u.readers[a] != 2)
            continue;
        const int p = o->u.producer[a];
        if (!kl_fuse_live(o, p) || !(o->s->nodes[p].op->flags & KL_OP_EPILOGUE) || o->s->nodes[p].out[0] != a ||
            o->s->nodes[p].epi.act != KL_ACT_NONE || o->s->slots[a].t.dtype != KEEL_FLOAT)
            continue;
        o->s->nodes[p].epi.act = gated_act(&o->s->nodes[sig]);
        o->s->nodes[sig].dead = true;
        o->s->n_fused++;
        kl_fuse_take_over(o, p, n);
        return KEEL_OK;
    }
    return KEEL_OK;
}

keel_status kl_pass_fuse_gated(kl_plan *s)
{
    return kl_fuse_each_node(s, fuse_gated);
}

/* ---- Pad before Conv or AveragePool ---------------------------------------- */

/* An int64 constant input of n's, or NULL. */
static const int64_t *const_ints(const kl_fuse_ctx *o, const kl_snode *n, int k, int64_t *count)
{
    const kl_slot *sl = kl_fuse_slot(o, n, k);
    if (!sl || !sl->is_const || sl->t.dtype != KEEL_INT64)
        return NULL;
    *count = kl_numel(&sl->t);
    return sl->t.data;
}

/* Whether Pad node p pads only the spatial dims of a rank-r float tensor,
 * with zeros, by amounts >= 0; its pads (begin per dim, then end) into
 * pads[2 r]. */
static bool spatial_zero_pad(const kl_fuse_ctx *o, const kl_snode *p, int r, int64_t *pads)
{
    if (strcmp(kl_attr_str(p->src, "mode", "constant"), "constant"))
        return false;
    const int64_t *v = NULL;
    int64_t count = 0;
    if (kl_model_opset(o->s->model, "") < 11) {
        count = kl_attr_ints(p->src, "pads", &v);
        if (kl_attr_float(p->src, "value", 0.0f) != 0.0f)
            return false;
    } else {
        float value = 0.0f;
        v = const_ints(o, p, 1, &count);
        if ((p->n_in > 2 && p->in[2] >= 0 && (!kl_fuse_const_scalar(o, p, 2, &value) || value != 0.0f)) ||
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
static bool takes_pad(const kl_snode *n)
{
    if (!(n->op->flags & KL_OP_PRE_PAD) || strcmp(kl_attr_str(n->src, "auto_pad", "NOTSET"), "NOTSET"))
        return false;
    if (kl_fuse_is_op(n, "Conv"))
        return true;
    if (!kl_fuse_is_op(n, "AveragePool") || kl_attr_int(n->src, "ceil_mode", 0) != 0)
        return false;
    const int64_t *pads;
    int np = kl_attr_ints(n->src, "pads", &pads);
    for (int i = 0; i < np; i++)
        if (pads[i] != 0)
            return false;
    return true;
}

/* TensorFlow exports pad before strided convolutions, PyTorch's
 * Inception-v3 before its average pools. */
static keel_status fuse_pad(kl_fuse_ctx *o, int node)
{
    kl_snode *n = &o->s->nodes[node];
    if (!takes_pad(n) || n->n_in < 1 || n->in[0] < 0 || o->u.readers[n->in[0]] != 1)
        return KEEL_OK;
    const int p = o->u.producer[n->in[0]];
    if (!kl_fuse_live(o, p) || !kl_fuse_is_op(&o->s->nodes[p], "Pad") || o->s->nodes[p].in[0] < 0)
        return KEEL_OK;
    kl_snode *pad = &o->s->nodes[p];
    const kl_tensor *t = &o->s->slots[pad->in[0]].t;
    int64_t pads[2 * KL_MAX_RANK];
    if (t->dtype != KEEL_FLOAT || t->rank < 3 || t->rank > 5 || !spatial_zero_pad(o, pad, t->rank, pads))
        return KEEL_OK;
    const int r = t->rank;
    for (int d = 0; d < 3; d++) {
        n->pre_pad[d] = d < r - 2 ? pads[2 + d] : 0;
        n->pre_pad[3 + d] = d < r - 2 ? pads[r + 2 + d] : 0;
    }
    n->has_pre_pad = true;
    n->in[0] = pad->in[0];
    pad->dead = true;
    o->s->n_fused++;
    return KEEL_OK;
}

keel_status kl_pass_fuse_pad(kl_plan *s)
{
    return kl_fuse_each_node(s, fuse_pad);
}

/* ---- residual Add --------------------------------------------------------- */

static keel_status fuse_residual(kl_fuse_ctx *o, int node)
{
    kl_snode *n = &o->s->nodes[node];
    if (!kl_fuse_is_op(n, "Add") || n->n_in != 2 || n->in[0] < 0 || n->in[1] < 0)
        return KEEL_OK;
    const kl_tensor *out = &o->s->slots[n->out[0]].t;
    for (int k = 0; k < 2; k++) {
        const int p = kl_fuse_producer(o, n, k), other = n->in[1 - k];
        if (p < 0 || !o->s->nodes[p].op->residual_input || kl_fuse_has_residual(&o->s->nodes[p]))
            continue;
        const kl_tensor *ot = &o->s->slots[other].t, *pt = &o->s->slots[n->in[k]].t;
        if (ot->dtype != KEEL_FLOAT || !kl_same_shape(ot, out) || !kl_same_shape(pt, out))
            continue;
        /* the other operand must exist when p runs */
        if (o->u.producer[other] >= p)
            continue;
        keel_status st = kl_snode_set_input(o->s, &o->s->nodes[p], o->s->nodes[p].op->residual_input, other);
        if (st)
            return st;
        kl_fuse_take_over(o, p, n);
        return KEEL_OK;
    }
    return KEEL_OK;
}

keel_status kl_pass_fuse_residual(kl_plan *s)
{
    return kl_fuse_each_node(s, fuse_residual);
}

/* ---- bias Add ---------------------------------------------------------------- */

static bool has_bias(const kl_snode *n)
{
    int b = n->op->residual_input + 1;
    return n->op->residual_input && b < n->n_in && n->in[b] >= 0;
}

/* Whether slot sl holds a row along the last axis of out: float data known
 * now (not a weight the model may release), of one element or of out's
 * last dim, every other dim 1, of no higher rank than out's. */
static bool row_along_last(const kl_slot *sl, const kl_tensor *out)
{
    const kl_tensor *t = &sl->t;
    if (!sl->is_const || sl->weight || !t->data || t->dtype != KEEL_FLOAT || out->rank < 1 || t->rank > out->rank)
        return false;
    for (int d = 0; d + 1 < t->rank; d++)
        if (t->dims[d] != 1)
            return false;
    const int64_t len = t->rank ? t->dims[t->rank - 1] : 1;
    return len == 1 || len == out->dims[out->rank - 1];
}

/* Add(product, row) or Add(row, product), the product a MatMul or Gemm
 * whose output the Add keeps the shape of. */
static keel_status fuse_bias(kl_fuse_ctx *o, int node)
{
    kl_snode *n = &o->s->nodes[node];
    if (!kl_fuse_is_op(n, "Add") || n->n_in != 2 || n->in[0] < 0 || n->in[1] < 0)
        return KEEL_OK;
    const kl_tensor *out = &o->s->slots[n->out[0]].t;
    for (int k = 0; k < 2; k++) {
        const int p = kl_fuse_producer(o, n, k);
        if (p < 0)
            continue;
        kl_snode *pn = &o->s->nodes[p];
        if (!(kl_fuse_is_op(pn, "MatMul") || kl_fuse_is_op(pn, "Gemm")) || !pn->op->residual_input ||
            kl_fuse_has_residual(pn) || has_bias(pn) || !kl_same_shape(&o->s->slots[n->in[k]].t, out) ||
            !row_along_last(&o->s->slots[n->in[1 - k]], out))
            continue;
        keel_status st = kl_snode_set_input(o->s, pn, pn->op->residual_input + 1, n->in[1 - k]);
        if (st)
            return st;
        kl_fuse_take_over(o, p, n);
        return KEEL_OK;
    }
    return KEEL_OK;
}

keel_status kl_pass_fuse_bias(kl_plan *s)
{
    return kl_fuse_each_node(s, fuse_bias);
}

/* ---- BatchNormalization into Conv -------------------------------------------- */

static const kl_tensor *const_input(const kl_fuse_ctx *o, const kl_snode *n, int k)
{
    const kl_slot *sl = kl_fuse_slot(o, n, k);
    return sl && sl->is_const && sl->t.dtype == KEEL_FLOAT ? &sl->t : NULL;
}

/* The Conv that BatchNormalization node bn can be folded into, or -1. */
static int bn_target(const kl_fuse_ctx *o, const kl_snode *bn)
{
    if (!kl_fuse_is_op(bn, "BatchNormalization") || bn->n_in != 5 || kl_attr_int(bn->src, "training_mode", 0))
        return -1;
    for (int k = 1; k < bn->n_out; k++)
        if (bn->out[k] >= 0)
            return -1;
    int p = kl_fuse_producer(o, bn, 0);
    return p >= 0 && kl_fuse_is_op(&o->s->nodes[p], "Conv") && !kl_fuse_has_residual(&o->s->nodes[p]) ? p : -1;
}

/* w * f and (b - mean) * f + shift per output channel, f = scale / sqrt(var + eps). */
static void fold_bn_into(const kl_tensor *const t[6], float eps, kl_tensor *nw, kl_tensor *nb)
{
    const kl_tensor *w = t[0], *b = t[1];
    const int64_t m = w->dims[0], per = kl_numel(w) / (m ? m : 1);
    const float *wv = w->data, *sc = t[2]->data, *sh = t[3]->data, *mu = t[4]->data, *va = t[5]->data;
    float *nwv = nw->data, *nbv = nb->data;
    for (int64_t c = 0; c < m; c++) {
        float f = sc[c] / sqrtf(va[c] + eps);
        for (int64_t i = 0; i < per; i++)
            nwv[c * per + i] = wv[c * per + i] * f;
        nbv[c] = ((b ? ((const float *)b->data)[c] : 0.0f) - mu[c]) * f + sh[c];
    }
}

typedef struct bn_fold {
    const kl_tensor *const *t; /* w, b, scale, shift, mean, var */
    float eps;
} bn_fold;

/* The folded weights and bias into out[0], out[1] (kl_make_fn). */
static keel_status make_folded(kl_env *env, void *arg, kl_tensor **out)
{
    const bn_fold *f = arg;
    int64_t m = f->t[0]->dims[0];
    out[0] = kl_tensor_new(env, KEEL_FLOAT, f->t[0]->rank, f->t[0]->dims);
    out[1] = out[0] ? kl_tensor_new(env, KEEL_FLOAT, 1, &m) : NULL;
    if (!out[1]) {
        kl_tensor_free(env, out[0]);
        out[0] = NULL;
        return KEEL_ERR_NOMEM;
    }
    fold_bn_into(f->t, f->eps, out[0], out[1]);
    return KEEL_OK;
}

static keel_status fold_batchnorm(kl_fuse_ctx *o, int node)
{
    kl_snode *bn = &o->s->nodes[node];
    const int p = bn_target(o, bn);
    if (p < 0)
        return KEEL_OK;
    kl_snode *conv = &o->s->nodes[p];
    const bool has_bias = conv->n_in > 2 && conv->in[2] >= 0;
    /* w, b, scale, shift, mean, var */
    const kl_tensor *t[6] = {const_input(o, conv, 1), const_input(o, conv, 2), const_input(o, bn, 1),
                             const_input(o, bn, 2), const_input(o, bn, 3), const_input(o, bn, 4)};
    if (!t[0] || (has_bias && !t[1]) || !t[2] || !t[3] || !t[4] || !t[5] || t[0]->rank < 3)
        return KEEL_OK;
    int64_t m = t[0]->dims[0];
    for (int k = 1; k < 6; k++)
        if (t[k] && kl_numel(t[k]) != m)
            return KEEL_OK;
    bn_fold f = {t, kl_attr_float(bn->src, "epsilon", 1e-5f)};
    const kl_tensor *shared[2];
    const int values[6] = {conv->in[1], has_bias ? conv->in[2] : -1, bn->in[1], bn->in[2], bn->in[3], bn->in[4]};
    keel_status st = kl_shared_tensors(o->s, bn->src, NULL, values, 6, 2, make_folded, &f, shared);
    if (st)
        return st;
    const char *name = conv->src->name;
    int w_id, b_id;
    if (shared[0]) { /* the model's weights: folded once for all its sessions */
        w_id = kl_sgraph_add_shared(o->s, shared[0], "%s:W*bn", name);
        b_id = w_id >= 0 ? kl_sgraph_add_shared(o->s, shared[1], "%s:B*bn", name) : -1;
    } else {
        kl_tensor *made[2] = {NULL, NULL};
        bool held; /* the filters may be a weight the model released */
        st = kl_plan_hold_values(o->s, values, 1, &held);
        if (!st)
            st = make_folded(&o->s->env, &f, made);
        kl_plan_unhold_values(o->s, values, 1, &held);
        if (st)
            return st;
        w_id = kl_sgraph_add_const(o->s, made[0], "%s:W*bn", name);
        b_id = w_id >= 0 ? kl_sgraph_add_const(o->s, made[1], "%s:B*bn", name) : -1;
        if (w_id < 0)
            kl_tensor_free(&o->s->env, made[1]);
    }
    if (b_id < 0)
        return KEEL_ERR_NOMEM;
    st = kl_snode_set_input(o->s, conv, 1, w_id);
    if (!st)
        st = kl_snode_set_input(o->s, conv, 2, b_id);
    if (!st)
        kl_fuse_take_over(o, p, bn);
    return st;
}

keel_status kl_pass_fuse_batchnorm(kl_plan *s)
{
    return kl_fuse_each_node(s, fold_batchnorm);
}
