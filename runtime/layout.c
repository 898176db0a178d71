/* layout.c -- the pass blocked_layout: where the session's kernels have
 * the blocked layout (ops/kernels/conv.h: channels in blocks of 16 on
 * AVX-512, 8 on AVX2, each position's block one vector), runs of
 * convolutions and the ops between them carry their values in it from
 * node to node, as ONNX Runtime's NCHWc transformer does.
 *
 * A Conv enters the layout when its input is in it already, or when its
 * input has at most PLAIN_MAX_CHANNELS channels (a stem: it reads the
 * plain layout and writes the blocked one), and a depthwise conv whose
 * input is; MaxPool, GlobalAveragePool, Relu, Sigmoid, Add, Mul (by a
 * per-channel scale: BlockedScale) and a channel Concat of blocked values stay in
 * it (the plain layout's elementwise ops compute them on the blocked
 * shapes: lanes past a value's channels hold finite values that no conv
 * reads, its weights there being zero).  Every other reader of
 * such a value gets it back through a FromBlocked, once per value, before
 * its first reader; the graph's outputs too.  Most convolutions that
 * Winograd computes with fewer products stay in the plain layout
 * (winograd_kept), and a stem stays there when no conv or MaxPool after
 * it (or after a MaxPool after it) would take its output in blocks.
 *
 * Nodes change type in place (Conv becomes BlockedConv, MaxPool
 * BlockedMaxPool), keeping their attributes and fused epilogues; a value
 * a blocked node writes is a new value of the blocked shape, and the
 * model's value, when something still reads it plainly, the FromBlocked's
 * output. */
#include <stdio.h>
#include <string.h>

#include "fuse.h"
#include "session.h"
#include "../ops/kernels/kernels.h"

#define PLAIN_MAX_CHANNELS 4
/* A graph takes the layout only when at least this many convs would run
 * in it, and this many for each value that leaves it (a FromBlocked): a
 * stem and a MaxPool, then a FromBlocked of their output, ran 3-8 %
 * slower than the plain layout (ShuffleNet-v2, ResNet-50), and
 * ShuffleNet-v2's first six convs with two values leaving 1-3 %.
 * Inception-v3's stem (four convs, one value leaving) ran faster. */
#define MIN_CONVS 4
#define CONVS_PER_EXIT 4
/* Convs that Winograd computes (3x3 stride 1) stay in the plain layout
 * unless their transforms weigh more than the products they save: with
 * at most 16 input channels, or 64 on maps of at most 1024 positions, or
 * 32 that fill whole blocks in and out.  SqueezeNet's expansions (16
 * channels on 55x55, 32 on 27x27, 64 on 13x13) ran 5-10 % faster in the
 * layout, Inception-v3's 32 channels on 147x147 30 % (3.0 ms plain, 2.1
 * in blocks, one thread); EfficientNet-v2-S's 24 on 112x112 (blocks of
 * 16 half empty in the last) up to 10 % slower, ResNet's 64 channels on
 * 56x56 and VGG's on 224x224 slower. */
/* With blocks of 8 (AVX2) every such conv stays plain: the direct convs
 * in blocks made SqueezeNet-1.1 1.17 times as slow at one thread. */
#define WINOGRAD_KEPT_BLOCK 16

static bool winograd_kept(const kl_conv_geom *g, int64_t block)
{
    const bool whole_blocks = g->c % block == 0 && g->m % block == 0;
    return block < WINOGRAD_KEPT_BLOCK ||
           (g->c > 16 && (g->c > 64 || g->out_size > 1024) && (g->c > 32 || !whole_blocks));
}

typedef struct layout {
    kl_plan *s;
    int *twin;            /* per model value: its blocked value, or -1 */
    int *back;            /* per value: the node index before which a FromBlocked gives it back, or -1 */
    int n_values;         /* entries of both */
    int n_blocked;        /* nodes moved into the layout */
    int n_convs;          /* of them, convs */
    bool dry;             /* only count: twin[v] = v marks a value that would be blocked */
    bool *moved;          /* per node: it runs (dry: would run) in the layout */
} layout;

static bool blocked(const layout *l, int v)
{
    return v >= 0 && v < l->n_values && l->twin[v] >= 0;
}

static const kl_tensor *shape_of(const layout *l, int v)
{
    return &l->s->slots[v].t;
}

static bool float4d(const layout *l, int v)
{
    return v >= 0 && l->s->slots[v].known && shape_of(l, v)->dtype == KEEL_FLOAT && shape_of(l, v)->rank == 4;
}

/* The conv's geometry as the plain Conv sees it (*ok false when the
 * node has none: it stays as it is, to fail with its own message). */
static keel_status conv_geom_of(layout *l, const kl_snode *n, kl_conv_geom *g, bool *ok)
{
    kl_opctx c;
    keel_status st = kl_ctx_fill(l->s, n, &c);
    *ok = !st && !kl_conv_geometry(&c, c.in[0], c.in[1], g);
    kl_ctx_free(l->s, n, &c);
    if (!st)
        l->s->env.msg[0] = 0;
    return st;
}

/* Whether conv n, its input blocked or not, runs in the layout: one group
 * or depthwise, dilation 1, 2-D; a stem (few channels, one group) or a
 * blocked input; not where Winograd computes it with fewer products
 * (winograd_kept). */
static keel_status conv_runs_blocked(layout *l, const kl_snode *n, bool input_blocked, bool *fits)
{
    *fits = false;
    if (!kl_fuse_is_op(n, "Conv") || n->n_in < 2 || !float4d(l, n->in[0]) || n->in[1] < 0 ||
        !l->s->slots[n->in[1]].is_const || shape_of(l, n->in[1])->rank != 4)
        return KEEL_OK;
    kl_conv_geom g;
    bool ok;
    keel_status st = conv_geom_of(l, n, &g, &ok);
    const bool depthwise = ok && kl_dw_applies(&g);
    if (st || !ok || (g.group != 1 && !depthwise) || g.nsp != 2 || g.dil[1] != 1 || g.dil[2] != 1)
        return st;
    if (depthwise) { /* from a blocked input only */
        *fits = input_blocked;
        return KEEL_OK;
    }
    if (kl_wino_applies(&g) && winograd_kept(&g, l->s->env.kern->block))
        return KEEL_OK;
    *fits = input_blocked || g.c <= PLAIN_MAX_CHANNELS;
    return KEEL_OK;
}

/* Whether a node after node i reads its output 0 and would run in the
 * layout: a Conv, or a MaxPool whose output one does (a stem's conv that
 * only plain nodes read, or a MaxPool after it, stays plain). */
static keel_status feeds_blocked(layout *l, int i, bool *feeds)
{
    const int v = l->s->nodes[i].out[0];
    *feeds = false;
    for (int j = i + 1; j < l->s->n_nodes && !*feeds; j++) {
        const kl_snode *r = &l->s->nodes[j];
        if (r->n_in < 1 || r->in[0] != v)
            continue;
        keel_status st = kl_fuse_is_op(r, "MaxPool") ? feeds_blocked(l, j, feeds) : conv_runs_blocked(l, r, true, feeds);
        if (st)
            return st;
    }
    return KEEL_OK;
}

static keel_status conv_fits(layout *l, int i, bool *fits)
{
    const kl_snode *n = &l->s->nodes[i];
    *fits = false;
    for (int k = 3; k < n->n_in; k++) /* a fused residual: blocked too */
        if (n->in[k] >= 0 && (k != 3 || !blocked(l, n->in[k])))
            return KEEL_OK;
    keel_status st = conv_runs_blocked(l, n, blocked(l, n->in[0]), fits);
    if (st || !*fits || blocked(l, n->in[0]))
        return st;
    return feeds_blocked(l, i, fits);
}

static bool maxpool_fits(const layout *l, const kl_snode *n)
{
    if (!kl_fuse_is_op(n, "MaxPool") || !blocked(l, n->in[0]) || (n->n_out > 1 && n->out[1] >= 0) ||
        kl_attr_int(n->src, "storage_order", 0) != 0)
        return false;
    const int64_t *dil;
    int nd = kl_attr_ints(n->src, "dilations", &dil);
    for (int i = 0; i < nd; i++)
        if (dil[i] != 1)
            return false;
    return true;
}

/* Concat along the channels of blocked values whose channels fill their
 * blocks. */
static bool concat_fits(const layout *l, const kl_snode *n)
{
    if (!kl_fuse_is_op(n, "Concat") || kl_attr_int(n->src, "axis", 0) != 1 || n->n_in < 1)
        return false;
    for (int k = 0; k < n->n_in; k++)
        if (!blocked(l, n->in[k]) || shape_of(l, n->in[k])->dims[1] % l->s->env.kern->block)
            return false;
    return true;
}

static bool same_dims(const kl_tensor *a, const kl_tensor *b)
{
    return a->rank == b->rank && memcmp(a->dims, b->dims, (size_t)a->rank * sizeof *a->dims) == 0;
}

/* b is a per-channel scale of a: [N][C][1][1] to a's [N][C][H][W] (a
 * squeeze-excite's). */
static bool scales(const kl_tensor *a, const kl_tensor *b)
{
    return a->rank == 4 && b->rank == 4 && b->dims[0] == a->dims[0] && b->dims[1] == a->dims[1] &&
           b->dims[2] == 1 && b->dims[3] == 1 && !same_dims(a, b);
}

/* Relu and Sigmoid; Add and Mul of equal shapes, both blocked. */
static bool elementwise_fits(const layout *l, const kl_snode *n)
{
    if (kl_fuse_is_op(n, "Relu") || kl_fuse_is_op(n, "Sigmoid"))
        return blocked(l, n->in[0]);
    return (kl_fuse_is_op(n, "Add") || kl_fuse_is_op(n, "Mul")) && n->n_in == 2 && blocked(l, n->in[0]) &&
           blocked(l, n->in[1]) && same_dims(shape_of(l, n->in[0]), shape_of(l, n->in[1]));
}

/* A Mul of a blocked value by its blocked per-channel scale, in either
 * order (BlockedScale takes the value first: *swap). */
static bool scale_fits(const layout *l, const kl_snode *n, bool *swap)
{
    if (!kl_fuse_is_op(n, "Mul") || n->n_in != 2 || !blocked(l, n->in[0]) || !blocked(l, n->in[1]))
        return false;
    const kl_tensor *a = shape_of(l, n->in[0]), *b = shape_of(l, n->in[1]);
    *swap = scales(b, a);
    return scales(a, b) || *swap;
}

static bool global_pool_fits(const layout *l, const kl_snode *n)
{
    return kl_fuse_is_op(n, "GlobalAveragePool") && blocked(l, n->in[0]);
}

/* Infers node n's output shapes (its inputs known). */
static keel_status infer(kl_plan *s, const kl_snode *n)
{
    kl_opctx c;
    keel_status st = kl_ctx_fill(s, n, &c);
    if (!st)
        st = n->op->infer(&c);
    kl_ctx_free(s, n, &c);
    for (int k = 0; !st && k < n->n_out; k++)
        if (n->out[k] >= 0)
            s->slots[n->out[k]].known = true;
    return st;
}

/* Moves node i into the layout: its blocked inputs read their twins, its
 * output 0 a new value of the blocked shape. */
static keel_status move_in(layout *l, int i, const kl_op *op)
{
    kl_plan *s = l->s;
    l->n_blocked++;
    l->n_convs += op == &kl_op_blocked_conv;
    l->moved[i] = true;
    if (l->dry) {
        l->twin[s->nodes[i].out[0]] = s->nodes[i].out[0];
        return KEEL_OK;
    }
    kl_snode *n = &s->nodes[i];
    for (int k = 0; k < n->n_in; k++)
        if (blocked(l, n->in[k]))
            n->in[k] = l->twin[n->in[k]];
    const int out = n->out[0];
    const int twin = kl_sgraph_add_value(s, "%s (blocked)", s->slots[out].name);
    if (twin < 0)
        return KEEL_ERR_NOMEM;
    n = &s->nodes[i]; /* (slots may have moved, nodes not) */
    l->twin[out] = twin;
    n->out[0] = twin;
    if (op)
        n->op = op;
    return infer(s, n);
}

/* The values that leave the layout: back[v] is the first node that stays
 * plain and reads blocked value v, or n_nodes for a graph output only;
 * their count. */
static int mark_exits(layout *l)
{
    const kl_plan *s = l->s;
    int exits = 0;
    for (int i = 0; i < s->n_nodes; i++)
        for (int k = 0; !l->moved[i] && k < s->nodes[i].n_deps; k++) {
            const int v = s->nodes[i].in[k];
            if (blocked(l, v) && l->back[v] < 0)
                l->back[v] = i, exits++;
        }
    for (int k = 0; k < s->g->n_outputs; k++) {
        const int v = s->g->outputs[k];
        if (blocked(l, v) && l->back[v] < 0)
            l->back[v] = s->n_nodes, exits++;
    }
    return exits;
}

/* The node a FromBlocked of value v hangs on: v's producer. */
static const kl_snode *producer_of(const layout *l, int v)
{
    for (int i = 0; i < l->s->n_nodes; i++)
        if (l->s->nodes[i].out[0] == l->twin[v])
            return &l->s->nodes[i];
    return NULL;
}

/* Puts a FromBlocked(twin of v) -> v before node `at`. */
static keel_status give_back(layout *l, int v, int at)
{
    kl_plan *s = l->s;
    const kl_snode *p = producer_of(l, v);
    const kl_attr attr = {.name = "channels", .type = KL_ATTR_INT, .i = shape_of(l, v)->dims[1]};
    kl_node *src = p ? kl_sgraph_new_node(s, p->src, "FromBlocked", &attr, 1) : NULL;
    if (!src)
        return KEEL_ERR_NOMEM;
    char name[256]; /* the producer's name, told apart in profiles */
    snprintf(name, sizeof name, "%s/FromBlocked", p->src->name);
    char *own = kl_strdup(&s->env, name);
    if (!own)
        return KEEL_ERR_NOMEM;
    kl_strfree(&s->env, src->name);
    src->name = own;
    keel_status st = kl_sgraph_insert(s, at, 1);
    if (!st)
        st = kl_snode_init(s, &s->nodes[at], src, &kl_op_from_blocked, 1, 1);
    if (st)
        return st;
    s->nodes[at].in[0] = l->twin[v];
    s->nodes[at].out[0] = v;
    return KEEL_OK;
}

static keel_status give_values_back(layout *l)
{
    mark_exits(l);
    /* from the last place to the first, so that the places before stay put */
    for (int at = l->s->n_nodes; at >= 0; at--)
        for (int v = 0; v < l->n_values; v++)
            if (l->back[v] == at) {
                keel_status st = give_back(l, v, at);
                if (st)
                    return st;
            }
    return KEEL_OK;
}

static keel_status walk(layout *l)
{
    kl_plan *s = l->s;
    for (int i = 0; i < s->n_nodes; i++) {
        const kl_snode *n = &s->nodes[i];
        if (n->dynamic || n->n_out < 1 || n->out[0] < 0 || n->out[0] >= l->n_values || !float4d(l, n->out[0]))
            continue;
        bool conv, swap;
        keel_status st = conv_fits(l, i, &conv);
        if (st)
            return st;
        if (conv)
            st = move_in(l, i, &kl_op_blocked_conv);
        else if (maxpool_fits(l, n))
            st = move_in(l, i, &kl_op_blocked_maxpool);
        else if (global_pool_fits(l, n))
            st = move_in(l, i, &kl_op_blocked_global_average_pool);
        else if (scale_fits(l, n, &swap)) {
            if (swap && !l->dry) {
                kl_snode *m = &s->nodes[i];
                const int v = m->in[0];
                m->in[0] = m->in[1], m->in[1] = v;
            }
            st = move_in(l, i, &kl_op_blocked_scale);
        }
        else if (concat_fits(l, n) || elementwise_fits(l, n))
            st = move_in(l, i, NULL);
        if (st)
            return st;
    }
    return KEEL_OK;
}

keel_status kl_pass_blocked_layout(kl_plan *s)
{
    if (!s->env.kern->bconv.fn || !s->env.kern->bmaxpool.fn || s->env.reference) {
        kl_pass_note(s, "no blocked kernels");
        return KEEL_OK;
    }
    layout l = {.s = s, .n_values = s->n_values};
    const size_t bytes = (size_t)(l.n_values ? l.n_values : 1) * sizeof(int);
    const size_t node_bytes = (size_t)(s->n_nodes ? s->n_nodes : 1) * sizeof(bool);
    l.twin = kl_alloc(&s->env, bytes);
    l.back = kl_alloc(&s->env, bytes);
    l.moved = kl_alloc(&s->env, node_bytes);
    keel_status st = l.twin && l.back && l.moved ? KEEL_OK : KEEL_ERR_NOMEM;
    for (int dry = 1; dry >= 0 && !st; dry--) { /* count first, then move them */
        for (int v = 0; v < l.n_values; v++)
            l.twin[v] = l.back[v] = -1;
        memset(l.moved, 0, node_bytes);
        l.dry = dry;
        l.n_blocked = l.n_convs = 0;
        st = walk(&l);
        if (!st && dry && l.n_convs < MIN_CONVS) {
            kl_pass_note(s, "%d convs would run in blocks: too few", l.n_convs);
            break;
        }
        const int exits = !st && dry ? mark_exits(&l) : 0;
        if (!st && dry && l.n_convs < CONVS_PER_EXIT * exits) {
            kl_pass_note(s, "%d convs would run in blocks, %d values leave them: too few", l.n_convs, exits);
            break;
        }
        if (!st && !dry)
            st = give_values_back(&l);
        if (!st && !dry)
            kl_pass_note(s, "%d nodes in the blocked layout", l.n_blocked);
    }
    kl_free(&s->env, l.twin, bytes);
    kl_free(&s->env, l.back, bytes);
    kl_free(&s->env, l.moved, node_bytes);
    return st;
}
