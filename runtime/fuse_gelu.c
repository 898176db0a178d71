/* fuse_gelu.c -- the pass fuse_gelu: GELU as exports spell it out,
 *
 *   erf form   0.5 x (1 + erf(x / sqrt 2)): Div(x, sqrt 2) or
 *              Mul(x, 1 / sqrt 2), Erf, Add 1, and the Muls by x and by
 *              0.5 in either order (PyTorch: Mul(x, .) then Mul(., 0.5));
 *   tanh form  0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), the cube
 *              as Pow(x, 3) or x * (x * x) in any order, then Mul by
 *              0.044715, Add x, Mul by sqrt(2 / pi), Tanh, Add 1 and the
 *              two Muls;
 *
 * becomes the epilogue of the Conv, Gemm or MatMul that computes x
 * (KL_ACT_GELU, KL_ACT_GELU_TANH) when the chain alone reads x (and x is
 * not a graph output); elsewhere the Erf or Tanh node becomes ai.keel's
 * Gelu (ops/gelu.c), which reads x and writes the chain's result, and the
 * chain's other nodes leave.  Every value inside the chain must be read
 * by the chain alone and not be a graph output; constants are float
 * scalars within KL_GELU_CONST_TOL of their value (exports round sqrt 2
 * and the others to float). */
#include <math.h>
#include <string.h>

#include "fuse.h"

#define KL_GELU_CONST_TOL 1e-6
#define CHAIN_MAX 12

/* A chain found, from its result back to x. */
typedef struct gelu_chain {
    int x;                   /* GELU's input */
    int reads;               /* how many times the chain reads x */
    int nodes[CHAIN_MAX];    /* its nodes */
    int n_nodes;
    int core;                /* the Erf or Tanh */
    kl_act act;
} gelu_chain;

static bool near(float v, double want)
{
    return fabs((double)v - want) <= KL_GELU_CONST_TOL * fabs(want);
}

/* The live node of type `type` that produces v, v read once (by the
 * chain), added to the chain; else -1. */
static int take(const kl_fuse_ctx *o, gelu_chain *g, int v, const char *type)
{
    if (v < 0 || v >= o->u.n_values || o->u.readers[v] != 1 || g->n_nodes == CHAIN_MAX)
        return -1;
    const int p = o->u.producer[v];
    if (!kl_fuse_live(o, p) || !kl_fuse_is_op(&o->s->nodes[p], type) || o->s->nodes[p].n_out != 1)
        return -1;
    g->nodes[g->n_nodes++] = p;
    return p;
}

/* For binary node p with a float scalar constant operand near `want`: its
 * other operand (the divisor must be input 1 when `divisor`); else -1. */
static int with_const(const kl_fuse_ctx *o, int p, double want, bool divisor)
{
    const kl_snode *n = &o->s->nodes[p];
    float c;
    if (n->n_in != 2 || n->in[0] < 0 || n->in[1] < 0)
        return -1;
    if (kl_fuse_const_scalar(o, n, 1, &c) && near(c, want))
        return n->in[0];
    if (!divisor && kl_fuse_const_scalar(o, n, 0, &c) && near(c, want))
        return n->in[1];
    return -1;
}

/* Whether Mul node p multiplies x by x (each read counted). */
static bool is_square(const kl_fuse_ctx *o, gelu_chain *g, int p, int x)
{
    const kl_snode *n = &o->s->nodes[p];
    if (n->n_in != 2 || n->in[0] != x || n->in[1] != x)
        return false;
    g->reads += 2;
    return true;
}

/* Whether v is x^3: Pow(x, 3), or x times x * x in either order. */
static bool is_cube(const kl_fuse_ctx *o, gelu_chain *g, int v, int x)
{
    const int mark = g->n_nodes;
    int p = take(o, g, v, "Pow");
    if (p >= 0) {
        if (with_const(o, p, 3.0, true) == x) {
            g->reads++;
            return true;
        }
        g->n_nodes = mark;
        return false;
    }
    p = take(o, g, v, "Mul");
    const kl_snode *n = p >= 0 ? &o->s->nodes[p] : NULL;
    for (int k = 0; n && n->n_in == 2 && k < 2; k++) {
        const int sq = take(o, g, n->in[1 - k], "Mul");
        if (n->in[k] == x && sq >= 0 && is_square(o, g, sq, x)) {
            g->reads++;
            return true;
        }
        g->n_nodes = p >= 0 ? mark + 1 : mark;
    }
    g->n_nodes = mark;
    return false;
}

/* Whether u, the argument of Erf, is x / sqrt 2 (Div) or x * 1 / sqrt 2. */
static bool erf_argument(const kl_fuse_ctx *o, gelu_chain *g, int u, int x)
{
    const int mark = g->n_nodes;
    int p = take(o, g, u, "Div");
    if (p >= 0 && with_const(o, p, M_SQRT2, true) == x)
        return g->reads++, true;
    g->n_nodes = mark;
    p = take(o, g, u, "Mul");
    if (p >= 0 && with_const(o, p, M_SQRT1_2, false) == x)
        return g->reads++, true;
    g->n_nodes = mark;
    return false;
}

/* Whether u, the argument of Tanh, is sqrt(2 / pi) (x + 0.044715 x^3). */
static bool tanh_argument(const kl_fuse_ctx *o, gelu_chain *g, int u, int x)
{
    int p = take(o, g, u, "Mul");
    const int v = p >= 0 ? with_const(o, p, sqrt(2.0 / M_PI), false) : -1;
    const int add = take(o, g, v, "Add");
    const kl_snode *a = add >= 0 ? &o->s->nodes[add] : NULL;
    if (!a || a->n_in != 2)
        return false;
    for (int k = 0; k < 2; k++) {
        const int mark = g->n_nodes;
        const int m = a->in[k] == x ? take(o, g, a->in[1 - k], "Mul") : -1;
        const int cube = m >= 0 ? with_const(o, m, 0.044715, false) : -1;
        if (cube >= 0 && is_cube(o, g, cube, x)) {
            g->reads++;
            return true;
        }
        g->n_nodes = mark;
    }
    return false;
}

/* Whether s is 1 + erf(x / sqrt 2) or 1 + tanh(...) of x. */
static bool one_plus(const kl_fuse_ctx *o, gelu_chain *g, int s, int x)
{
    const int mark = g->n_nodes, add = take(o, g, s, "Add");
    const int f = add >= 0 ? with_const(o, add, 1.0, false) : -1;
    if (f >= 0 && (g->core = take(o, g, f, "Erf")) >= 0 && erf_argument(o, g, o->s->nodes[g->core].in[0], x)) {
        g->act = KL_ACT_GELU;
        return true;
    }
    g->n_nodes = add >= 0 ? mark + 1 : mark;
    if (f >= 0 && (g->core = take(o, g, f, "Tanh")) >= 0 && tanh_argument(o, g, o->s->nodes[g->core].in[0], x)) {
        g->act = KL_ACT_GELU_TANH;
        return true;
    }
    g->n_nodes = mark;
    return false;
}

/* Operand k of binary node n as a factor: a float scalar constant
 * multiplied into *c, else a value appended to f[] (up to 2). */
static bool add_factor(const kl_fuse_ctx *o, const kl_snode *n, int k, int f[2], int *n_f, float *c)
{
    float v;
    if (kl_fuse_const_scalar(o, n, k, &v)) {
        *c *= v;
        return true;
    }
    if (n->in[k] < 0 || *n_f == 2)
        return false;
    f[(*n_f)++] = n->in[k];
    return true;
}

/* The factors of Mul node m, taking apart one operand that a Mul read by
 * m alone computes: the two that are not constants into f[], the
 * constants' product into *c; false unless there are two. */
static bool factors(const kl_fuse_ctx *o, gelu_chain *g, int m, int f[2], float *c)
{
    int n_f = 0;
    *c = 1.0f;
    const kl_snode *n = &o->s->nodes[m];
    if (n->n_in != 2)
        return false;
    for (int k = 0; k < 2; k++) {
        const int inner = g->n_nodes == 1 ? take(o, g, n->in[k], "Mul") : -1;
        const kl_snode *in = inner >= 0 ? &o->s->nodes[inner] : NULL;
        if (in && (in->n_in != 2 || !add_factor(o, in, 0, f, &n_f, c) || !add_factor(o, in, 1, f, &n_f, c)))
            return false;
        if (!in && !add_factor(o, n, k, f, &n_f, c))
            return false;
    }
    return n_f == 2;
}

/* The GELU whose result Mul node m writes, if it is one. */
static bool match(const kl_fuse_ctx *o, int m, gelu_chain *g)
{
    memset(g, 0, sizeof *g);
    g->nodes[g->n_nodes++] = m;
    int f[2];
    float c;
    if (!factors(o, g, m, f, &c) || !near(c, 0.5))
        return false;
    const int mark = g->n_nodes;
    for (int k = 0; k < 2; k++) {
        g->n_nodes = mark;
        g->x = f[k];
        g->reads = 1; /* the Mul by x */
        if (f[k] != f[1 - k] && one_plus(o, g, f[1 - k], f[k]))
            break;
        g->x = -1;
    }
    if (g->x < 0)
        return false;
    const kl_tensor *x = &o->s->slots[g->x].t, *y = &o->s->slots[o->s->nodes[m].out[0]].t;
    return x->dtype == KEEL_FLOAT && kl_same_shape(x, y);
}

/* The chain's nodes other than `keep` leave the graph. */
static void drop_chain(kl_fuse_ctx *o, const gelu_chain *g, int keep)
{
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k] != keep && !o->s->nodes[g->nodes[k]].dead) {
            o->s->nodes[g->nodes[k]].dead = true;
            o->s->n_fused++;
        }
}

static keel_status fuse_gelu(kl_fuse_ctx *o, int node)
{
    gelu_chain g;
    if (!kl_fuse_is_op(&o->s->nodes[node], "Mul") || !match(o, node, &g))
        return KEEL_OK;
    kl_snode *last = &o->s->nodes[node];
    const int p = kl_fuse_producer_of(o, g.x, g.reads);
    if (p >= 0) { /* the product's epilogue */
        o->s->nodes[p].epi.act = g.act;
        kl_fuse_take_over(o, p, last);
        drop_chain(o, &g, node);
        return KEEL_OK;
    }
    /* one node: the Erf or Tanh, retyped, reads x and writes the result */
    kl_snode *core = &o->s->nodes[g.core];
    keel_status st = kl_snode_set_input(o->s, core, 0, g.x);
    if (st)
        return st;
    core->op = &kl_op_gelu;
    core->epi.act = g.act;
    core->out[0] = last->out[0];
    o->u.producer[last->out[0]] = g.core;
    o->u.readers[g.x] -= g.reads - 1;
    drop_chain(o, &g, g.core);
    return KEEL_OK;
}

keel_status kl_pass_fuse_gelu(kl_plan *s)
{
    return kl_fuse_each_node(s, fuse_gelu);
}
