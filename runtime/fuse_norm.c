/* fuse_norm.c -- the rewrites of normalisations as exporters spell them
 * with elementary ops, made after shapes are known and constants folded:
 *
 *   fuse_norm     LayerNorm over the last axis before opset 17 (PyTorch's
 *                 export): ReduceMean(x) -> Sub(x, mean) -> Pow(d, 2) ->
 *                 ReduceMean -> Add(eps) -> Sqrt -> Div(d, .), then
 *                 optionally Mul by a constant gamma and Add of a
 *                 constant beta, becomes one LayerNormalization node (the
 *                 op of opset 17, whatever the model imports);
 *   fuse_softmax  a Mul by a constant scalar (or a Div by a power of two,
 *                 which is the same product) before a Softmax over the
 *                 last axis becomes the Softmax's in_scale.
 *
 * A rewrite is made only where it computes what the nodes it replaces
 * compute: float values, the same axis throughout, epsilon a scalar
 * constant, an exponent of exactly 2, no broadcast that changes a shape,
 * and every intermediate read by the pattern alone and not a graph
 * output. */
#include <math.h>
#include <string.h>

#include "fuse.h"
#include "../ops/registry.h"

static bool is_op(const kl_snode *n, const char *type)
{
    return n->src->domain[0] == 0 && strcmp(n->src->op_type, type) == 0;
}

static const kl_tensor *value(const kl_fuse_ctx *o, int v)
{
    return &o->s->slots[v].t;
}

/* The live node of type `type` whose only output is v, when v is read
 * `reads` times in all (by the pattern), and is not a graph output; else -1. */
static int producer(const kl_fuse_ctx *o, int v, const char *type, int reads)
{
    if (v < 0 || v >= o->u.n_values || o->u.readers[v] != reads)
        return -1;
    const int p = o->u.producer[v];
    if (!kl_fuse_live(o, p))
        return -1;
    const kl_snode *n = &o->s->nodes[p];
    return is_op(n, type) && n->n_out == 1 && n->out[0] == v ? p : -1;
}

/* The live node of type `type`, after node `from`, that is the one reader
 * of v (v not a graph output); else -1. */
static int sole_reader(const kl_fuse_ctx *o, int v, int from, const char *type)
{
    if (v < 0 || v >= o->u.n_values || o->u.readers[v] != 1)
        return -1;
    for (int i = from + 1; i < o->s->n_nodes; i++) {
        const kl_snode *n = &o->s->nodes[i];
        for (int k = 0; kl_fuse_live(o, i) && k < n->n_in; k++)
            if (n->in[k] == v)
                return is_op(n, type) && n->n_out == 1 ? i : -1;
    }
    return -1;
}

/* Whether input k of n is a constant equal to 2 (Pow's exponent may be
 * any numeric type). */
static bool const_two(const kl_fuse_ctx *o, const kl_snode *n, int k)
{
    if (k >= n->n_in || n->in[k] < 0)
        return false;
    const kl_slot *sl = &o->s->slots[n->in[k]];
    if (!sl->is_const || !sl->t.data || kl_numel(&sl->t) != 1)
        return false;
    switch (sl->t.dtype) {
    case KEEL_FLOAT: return *(const float *)sl->t.data == 2.0f;
    case KEEL_DOUBLE: return *(const double *)sl->t.data == 2.0;
    case KEEL_INT32: return *(const int32_t *)sl->t.data == 2;
    case KEEL_INT64: return *(const int64_t *)sl->t.data == 2;
    default: return false;
    }
}

static bool float_same_shape(const kl_fuse_ctx *o, int a, int b)
{
    return value(o, a)->dtype == KEEL_FLOAT && value(o, b)->dtype == KEEL_FLOAT &&
           kl_same_shape(value(o, a), value(o, b));
}

/* ---- LayerNorm ------------------------------------------------------------------ */

/* Whether ReduceMean node n averages its float input over the last axis
 * alone, keeping it (axes from the attribute, or from input 1 since
 * opset 18). */
static bool mean_of_last_axis(const kl_fuse_ctx *o, const kl_snode *n)
{
    const kl_tensor *x = value(o, n->in[0]);
    if (x->dtype != KEEL_FLOAT || x->rank < 1 || kl_attr_int(n->src, "keepdims", 1) != 1)
        return false;
    const int64_t *axes = NULL;
    int count = kl_attr_ints(n->src, "axes", &axes);
    if (count < 0 && n->n_in > 1 && n->in[1] >= 0) {
        const kl_slot *sl = &o->s->slots[n->in[1]];
        if (!sl->is_const || !sl->t.data || sl->t.dtype != KEEL_INT64)
            return false;
        axes = sl->t.data;
        count = (int)kl_numel(&sl->t);
    }
    return count == 1 && (axes[0] == -1 || axes[0] == x->rank - 1);
}

/* What a decomposed LayerNorm found at its Div takes: the nodes that
 * leave, and the new node's inputs and attribute. */
typedef struct ln_match {
    int x, gamma, beta;   /* value ids (gamma, beta: -1 when absent) */
    float eps;
    int n_nodes;
    int nodes[9];         /* the chain in graph order; the last one becomes the LayerNormalization */
} ln_match;

/* Add(var, eps) in either order: var's id and eps, or -1. */
static int variance_plus_eps(const kl_fuse_ctx *o, const kl_snode *add, float *eps)
{
    for (int k = 0; k < 2; k++)
        if (add->n_in == 2 && kl_fuse_const_scalar(o, add, 1 - k, eps) && add->in[k] >= 0 &&
            kl_same_shape(value(o, add->in[k]), value(o, add->out[0])))
            return add->in[k];
    return -1;
}

/* The statistics half, from Sqrt node sq back to the Sub: Add(eps) <-
 * ReduceMean <- Pow(d, 2), and d = Sub(x, ReduceMean(x)). */
static bool match_statistics(const kl_fuse_ctx *o, int sq, int d, ln_match *m)
{
    const int add = producer(o, o->s->nodes[sq].in[0], "Add", 1);
    const int var = add >= 0 ? variance_plus_eps(o, &o->s->nodes[add], &m->eps) : -1;
    const int rm2 = var >= 0 ? producer(o, var, "ReduceMean", 1) : -1;
    const int pow = rm2 >= 0 ? producer(o, o->s->nodes[rm2].in[0], "Pow", 1) : -1;
    const int sub = producer(o, d, "Sub", 2); /* read by the Pow and the Div */
    if (pow < 0 || sub < 0 || o->s->nodes[pow].in[0] != d || !const_two(o, &o->s->nodes[pow], 1) ||
        !mean_of_last_axis(o, &o->s->nodes[rm2]))
        return false;
    const kl_snode *sn = &o->s->nodes[sub];
    const int rm1 = sn->n_in == 2 ? producer(o, sn->in[1], "ReduceMean", 1) : -1;
    if (rm1 < 0 || o->s->nodes[rm1].in[0] != sn->in[0] || !mean_of_last_axis(o, &o->s->nodes[rm1]) ||
        !float_same_shape(o, sn->in[0], d))
        return false;
    m->x = sn->in[0];
    const int chain[6] = {rm1, sub, pow, rm2, add, sq};
    memcpy(m->nodes, chain, sizeof chain);
    m->n_nodes = 6;
    return true;
}

/* Div(d, Sqrt(..)) at node `div`: the core of the pattern. */
static bool match_core(const kl_fuse_ctx *o, int div, ln_match *m)
{
    const kl_snode *n = &o->s->nodes[div];
    if (!is_op(n, "Div") || n->n_in != 2 || n->n_out != 1 || n->in[0] < 0 || n->in[1] < 0)
        return false;
    const int sq = producer(o, n->in[1], "Sqrt", 1);
    if (sq < 0 || !match_statistics(o, sq, n->in[0], m) ||
        !float_same_shape(o, m->x, n->out[0]))
        return false;
    m->nodes[m->n_nodes++] = div;
    return true;
}

/* A constant float of rank 1 or less with the last dim's size (or one
 * element) that node n (a Mul or Add of the pattern's value v) takes as
 * its other input, without changing v's shape: its id, else -1. */
static int affine_operand(const kl_fuse_ctx *o, const kl_snode *n, int v, int64_t len)
{
    if (n->n_in != 2 || !float_same_shape(o, v, n->out[0]))
        return -1;
    const int k = n->in[0] == v ? 1 : 0;
    const int c = n->in[k];
    if (n->in[1 - k] != v || c < 0 || c == v)
        return -1;
    const kl_slot *sl = &o->s->slots[c];
    const int64_t count = kl_numel(&sl->t);
    return sl->is_const && sl->t.dtype == KEEL_FLOAT && sl->t.rank <= 1 && (count == len || count == 1) ? c : -1;
}

/* The Mul by gamma and the Add of beta after the Div, when there. */
static void match_affine(const kl_fuse_ctx *o, ln_match *m)
{
    const int64_t len = value(o, m->x)->dims[value(o, m->x)->rank - 1];
    int last = m->nodes[m->n_nodes - 1], v = o->s->nodes[last].out[0];
    m->gamma = m->beta = -1;
    const int mul = sole_reader(o, v, last, "Mul");
    if (mul >= 0 && (m->gamma = affine_operand(o, &o->s->nodes[mul], v, len)) >= 0) {
        m->nodes[m->n_nodes++] = last = mul;
        v = o->s->nodes[mul].out[0];
    }
    const int add = sole_reader(o, v, last, "Add");
    if (add >= 0 && (m->beta = affine_operand(o, &o->s->nodes[add], v, len)) >= 0)
        m->nodes[m->n_nodes++] = add;
}

/* A constant of ones, the Scale of a LayerNorm without gamma: its id, or
 * -1 out of memory. */
static int ones(kl_plan *s, int64_t len, const char *name)
{
    kl_tensor *t = kl_tensor_new(&s->env, KEEL_FLOAT, 1, &len);
    if (!t)
        return -1;
    for (int64_t i = 0; i < len; i++)
        ((float *)t->data)[i] = 1.0f;
    return kl_sgraph_add_const(s, t, "%s:ones", name);
}

/* The last node of the chain becomes the LayerNormalization; the others
 * leave the graph. */
static keel_status rewrite_layernorm(kl_fuse_ctx *o, const ln_match *m)
{
    kl_plan *s = o->s;
    kl_snode *n = &s->nodes[m->nodes[m->n_nodes - 1]];
    const kl_op *op = kl_registry_find("", "LayerNormalization", 17);
    const kl_attr attrs[2] = {{.name = "axis", .type = KL_ATTR_INT, .i = -1},
                              {.name = "epsilon", .type = KL_ATTR_FLOAT, .f = m->eps}};
    const kl_node *src = op ? kl_sgraph_new_node(s, n->src, "LayerNormalization", attrs, 2) : NULL;
    if (!src)
        return op ? KEEL_ERR_NOMEM : kl_error(&s->env, KEEL_ERR_INVALID, "fuse_norm: no LayerNormalization op");
    const int64_t len = value(o, m->x)->dims[value(o, m->x)->rank - 1];
    const int scale = m->gamma >= 0 ? m->gamma : ones(s, len, src->name);
    if (scale < 0)
        return KEEL_ERR_NOMEM;
    keel_status st = kl_snode_set_input(s, n, 0, m->x);
    if (!st)
        st = kl_snode_set_input(s, n, 1, scale);
    if (!st && m->beta >= 0)
        st = kl_snode_set_input(s, n, 2, m->beta);
    if (st)
        return st;
    n->src = src;
    n->op = op;
    n->opset = 17;
    for (int k = 0; k < m->n_nodes - 1; k++)
        s->nodes[m->nodes[k]].dead = true;
    s->n_fused += m->n_nodes - 1;
    return KEEL_OK;
}

static keel_status fuse_layernorm(kl_fuse_ctx *o, int node)
{
    ln_match m;
    if (!match_core(o, node, &m))
        return KEEL_OK;
    match_affine(o, &m);
    return rewrite_layernorm(o, &m);
}

/* ---- the scale before Softmax --------------------------------------------------------- */

/* The factor that Mul or Div node p applies to its input v (a Mul by a
 * finite nonzero scalar; a Div by a power of two whose reciprocal is a
 * normal float, so that x / d and x * (1 / d) round alike), or 0. */
static float scale_of(const kl_fuse_ctx *o, const kl_snode *p, int *v)
{
    float c;
    if (p->n_in != 2 || p->in[0] < 0 || p->in[1] < 0)
        return 0;
    if (is_op(p, "Div") && kl_fuse_const_scalar(o, p, 1, &c)) {
        int e;
        const float r = 1.0f / c;
        *v = p->in[0];
        return frexpf(c, &e) == (c < 0 ? -0.5f : 0.5f) && isnormal(r) ? r : 0;
    }
    for (int k = 0; is_op(p, "Mul") && k < 2; k++)
        if (kl_fuse_const_scalar(o, p, 1 - k, &c)) {
            *v = p->in[k];
            return isfinite(c) && c != 0 ? c : 0;
        }
    return 0;
}

static bool softmax_of_last_axis(const kl_fuse_ctx *o, const kl_snode *n)
{
    const int opset = n->opset ? n->opset : (int)kl_model_opset(o->s->model, "");
    const kl_tensor *x = value(o, n->in[0]);
    const int64_t axis = kl_attr_int(n->src, "axis", opset >= 13 ? -1 : 1);
    return x->dtype == KEEL_FLOAT && x->rank >= 1 && (axis == -1 || axis == x->rank - 1);
}

static keel_status fuse_softmax_scale(kl_fuse_ctx *o, int node)
{
    kl_snode *n = &o->s->nodes[node];
    if (!is_op(n, "Softmax") || n->n_in != 1 || n->in[0] < 0 || n->in_scale != 0 || !softmax_of_last_axis(o, n))
        return KEEL_OK;
    const int pv = n->in[0];
    int p = producer(o, pv, "Mul", 1), v = -1;
    if (p < 0)
        p = producer(o, pv, "Div", 1);
    const float scale = p >= 0 ? scale_of(o, &o->s->nodes[p], &v) : 0;
    if (scale == 0 || !float_same_shape(o, v, pv))
        return KEEL_OK;
    n->in[0] = v;
    n->in_scale = scale;
    o->s->nodes[p].dead = true;
    o->s->n_fused++;
    return KEEL_OK;
}

/* ---- the passes -------------------------------------------------------------------- */

keel_status kl_pass_fuse_norm(kl_plan *s)
{
    return kl_fuse_each_node(s, fuse_layernorm);
}

keel_status kl_pass_fuse_softmax(kl_plan *s)
{
    return kl_fuse_each_node(s, fuse_softmax_scale);
}
