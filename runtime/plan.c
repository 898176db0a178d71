/* plan.c -- the planning passes, over the session graph as the rewrites
 * left it:
 *
 *   schedule   one step per node, its context pointing at value tensors;
 *   views      outputs that are input 0's bytes reinterpreted (KL_OP_VIEW)
 *              share its storage, and the step runs no kernel;
 *   lifetimes  first and last step of each storage;
 *   slices     an output made of its inputs laid end to end (an op's
 *              slice_axis) gets them written in place, as slices of it;
 *   in_place   an elementwise output (KL_OP_INPLACE) takes the storage of
 *              an input that dies at its step;
 *   arena      one block for every value and scratch, offsets placed
 *              greedily by size;
 *   prepare    kernels build their state (packed weights) once. */
#include <stdlib.h>
#include <string.h>

#include "session.h"

#define ARENA_ALIGN 64

static size_t align_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

static int root_of(const kl_plan *s, int v)
{
    while (s->slots[v].root != v)
        v = s->slots[v].root;
    return v;
}

static bool is_arena_value(const kl_plan *s, int v)
{
    return s->slots[v].computed && !s->slots[v].is_const && !s->slots[v].dynamic;
}

static void extend(kl_plan *s, int v, int step)
{
    kl_slot *r = &s->slots[root_of(s, v)];
    if (step > r->last)
        r->last = step;
}

/* ---- schedule ------------------------------------------------------------ */

keel_status kl_pass_schedule(kl_plan *s)
{
    if (!(s->steps = kl_alloc(&s->env, (size_t)(s->n_nodes ? s->n_nodes : 1) * sizeof *s->steps)))
        return KEEL_ERR_NOMEM;
    s->n_steps = s->n_nodes; /* set with the allocation; entries are filled below */
    for (int i = 0; i < s->n_nodes; i++) {
        const kl_snode *n = &s->nodes[i];
        kl_step *st = &s->steps[i];
        st->node = i;
        st->op = n->op;
        st->dynamic = n->dynamic;
        keel_status rc = kl_ctx_fill(s, n, &st->ctx);
        if (rc)
            return rc;
        st->ctx.pool = s->pool;
        if (st->op->macs && !st->dynamic)
            s->macs += st->op->macs(&st->ctx);
    }
    return KEEL_OK;
}

/* ---- views --------------------------------------------------------------- */

keel_status kl_pass_views(kl_plan *s)
{
    int n_views = 0;
    for (int k = 0; k < s->n_steps; k++) {
        kl_step *st = &s->steps[k];
        const kl_snode *n = &s->nodes[st->node];
        const kl_tensor *in0 = st->ctx.n_in ? st->ctx.in[0] : NULL, *out0 = st->ctx.out[0];
        /* a view only when nothing else is asked of the node (Dropout's mask) */
        bool single_output = n->n_out == 1 || (n->n_out > 1 && n->out[1] < 0);
        st->view = !st->dynamic && in0 && out0 && single_output && kl_nbytes(in0) == kl_nbytes(out0) &&
                   in0->dtype == out0->dtype &&
                   ((st->op->flags & KL_OP_VIEW) || (st->op->keeps_order && st->op->keeps_order(&st->ctx)));
        n_views += st->view;
    }
    kl_pass_note(s, "%d views", n_views);
    return KEEL_OK;
}

/* ---- lifetimes ----------------------------------------------------------- */

keel_status kl_pass_lifetimes(kl_plan *s)
{
    for (int v = 0; v < s->n_values; v++) {
        kl_slot *sl = &s->slots[v];
        sl->root = v;
        sl->root_offset = 0;
        sl->def = sl->last = -1;
        sl->nbytes = sl->known && !sl->dynamic ? kl_nbytes(&sl->t) : 0;
    }
    for (int k = 0; k < s->n_steps; k++) {
        const kl_step *st = &s->steps[k];
        const kl_snode *n = &s->nodes[st->node];
        for (int j = 0; j < n->n_deps; j++)
            if (n->in[j] >= 0)
                extend(s, n->in[j], k);
        for (int j = 0; j < n->n_out; j++) {
            int v = n->out[j];
            if (v < 0)
                continue;
            if (j == 0 && st->view)
                s->slots[v].root = root_of(s, n->in[0]);
            else
                s->slots[v].def = k;
            extend(s, v, k);
        }
    }
    for (int k = 0; k < s->g->n_outputs; k++)
        extend(s, s->g->outputs[k], s->n_steps);
    return KEEL_OK;
}

/* ---- slices -------------------------------------------------------------- */

/* Input j of step k may become a slice of the output's storage (root out):
 * its storage is its own, as large as it, computed before step k, not read
 * twice by the node, and not a graph input or constant. */
static bool can_slice(const kl_plan *s, const kl_snode *n, int k, int j, int out)
{
    const int v = n->in[j], c = root_of(s, v);
    const kl_slot *p = &s->slots[c];
    for (int q = 0; q < n->n_in; q++)
        if (q != j && n->in[q] >= 0 && root_of(s, n->in[q]) == c)
            return false;
    return c != out && is_arena_value(s, c) && is_arena_value(s, v) && p->def >= 0 && p->def < k &&
           p->nbytes == s->slots[v].nbytes && p->t.dtype == s->slots[out].t.dtype;
}

/* An output built from its inputs laid end to end along an axis with
 * nothing before it (Concat of channels at batch 1: the Inception,
 * GoogLeNet and SqueezeNet blocks): the storage of each input (through
 * the views on it) becomes a slice of the output's, so its producer writes
 * it in place and the op has nothing to copy (its run() skips inputs
 * already there).  The output's storage then lives from the first input's
 * step on.  Runs before in_place, so nothing is written over a slice while
 * the output lives. */
keel_status kl_pass_slices(kl_plan *s)
{
    int n_slices = 0;
    for (int k = 0; k < s->n_steps; k++) {
        const kl_step *st = &s->steps[k];
        const kl_snode *n = &s->nodes[st->node];
        if (!st->op->slice_axis || st->dynamic || st->view || n->out[0] < 0)
            continue;
        const int out = n->out[0];
        const kl_tensor *ot = &s->slots[out].t;
        int axis = st->op->slice_axis(&st->ctx);
        bool leading_ones = axis >= 0 && axis < ot->rank;
        for (int d = 0; leading_ones && d < axis; d++)
            leading_ones = ot->dims[d] == 1;
        if (!is_arena_value(s, out) || s->slots[out].root != out || !leading_ones)
            continue;
        kl_slot *r = &s->slots[out];
        size_t at = 0;
        for (int j = 0; j < n->n_in; j++) {
            const int v = n->in[j];
            if (v < 0)
                continue;
            if (can_slice(s, n, k, j, out)) {
                kl_slot *p = &s->slots[root_of(s, v)];
                p->root = out;
                p->root_offset = at;
                r->def = p->def < r->def ? p->def : r->def;
                r->last = p->last > r->last ? p->last : r->last;
                n_slices++;
            }
            at += s->slots[v].nbytes;
        }
    }
    kl_pass_note(s, "%d inputs written in place", n_slices);
    return KEEL_OK;
}

/* ---- in place ------------------------------------------------------------ */

/* The input of step k whose storage its output can take, or -1. */
static int inplace_input(const kl_plan *s, const kl_snode *n, int k)
{
    const int out = n->out[0];
    const kl_tensor *o = &s->slots[out].t;
    for (int j = 0; j < n->n_in; j++) {
        if (n->in[j] < 0)
            continue;
        int r = root_of(s, n->in[j]);
        const kl_tensor *a = &s->slots[n->in[j]].t;
        if (!is_arena_value(s, r) || s->slots[r].last != k || a->dtype != o->dtype || !kl_same_shape(a, o) ||
            s->slots[r].nbytes != s->slots[out].nbytes)
            continue;
        /* every input sharing that storage must read element i as element i */
        bool safe = true;
        for (int q = 0; q < n->n_in; q++)
            if (n->in[q] >= 0 && root_of(s, n->in[q]) == r && !kl_same_shape(&s->slots[n->in[q]].t, o))
                safe = false;
        if (safe)
            return r;
    }
    return -1;
}

/* An output already placed in other storage (a slice) keeps its place. */
keel_status kl_pass_in_place(kl_plan *s)
{
    int n_inplace = 0;
    for (int k = 0; k < s->n_steps; k++) {
        const kl_step *st = &s->steps[k];
        const kl_snode *n = &s->nodes[st->node];
        if (!(st->op->flags & KL_OP_INPLACE) || st->view || st->dynamic || n->n_out < 1 || n->out[0] < 0 ||
            s->slots[n->out[0]].root != n->out[0])
            continue;
        const int out = n->out[0], r = inplace_input(s, n, k);
        if (r < 0)
            continue;
        s->slots[r].last = s->slots[out].last > k ? s->slots[out].last : k;
        s->slots[out].root = r;
        n_inplace++;
    }
    kl_pass_note(s, "%d outputs in place", n_inplace);
    return KEEL_OK;
}

/* ---- arena --------------------------------------------------------------- */

typedef struct block {
    int def, last;
    size_t size, offset;
    int value;            /* -1 for scratch */
    int step;
} block;

static int by_size_desc(const void *a, const void *b)
{
    const block *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return x->def - y->def;
}

/* Greedy by size: each block goes at the lowest offset clear of every
 * already-placed block whose lifetime overlaps its own. */
static void place_blocks(block *b, int nb, size_t *total)
{
    qsort(b, (size_t)nb, sizeof *b, by_size_desc);
    size_t end = 0;
    for (int i = 0; i < nb; i++) {
        size_t off = 0;
        for (bool moved = true; moved;) {
            moved = false;
            for (int j = 0; j < i; j++) {
                if (b[j].def > b[i].last || b[i].def > b[j].last)
                    continue;
                if (off < b[j].offset + b[j].size && b[j].offset < off + b[i].size) {
                    off = align_up(b[j].offset + b[j].size);
                    moved = true;
                }
            }
        }
        b[i].offset = off;
        if (off + b[i].size > end)
            end = off + b[i].size;
    }
    *total = end;
}

/* The blocks to place: each storage root and each step's scratch. */
static int collect_blocks(kl_plan *s, block *b)
{
    int nb = 0;
    for (int v = 0; v < s->n_values; v++) {
        kl_slot *sl = &s->slots[v];
        /* what every computed value would take with a buffer of its own:
         * the yardstick for the plan (views included) */
        if (is_arena_value(s, v))
            s->sum_intermediates += sl->nbytes;
        if (is_arena_value(s, v) && sl->def >= 0 && sl->root == v)
            b[nb++] = (block){sl->def, sl->last, align_up(sl->nbytes), 0, v, -1};
    }
    for (int k = 0; k < s->n_steps; k++) {
        kl_step *st = &s->steps[k];
        st->ctx.scratch_size = st->op->scratch && !st->dynamic ? st->op->scratch(&st->ctx) : 0;
        if (st->ctx.scratch_size)
            b[nb++] = (block){k, k, align_up(st->ctx.scratch_size), 0, -1, k};
    }
    return nb;
}

static void assign_blocks(kl_plan *s, const block *b, int nb)
{
    for (int i = 0; i < nb; i++) {
        if (b[i].value >= 0) {
            kl_slot *sl = &s->slots[b[i].value];
            sl->offset = b[i].offset;
            sl->in_arena = true;
        } else {
            kl_step *stp = &s->steps[b[i].step];
            stp->scratch_offset = b[i].offset;
        }
    }
}

void kl_plan_place(kl_plan *s, uint8_t *arena)
{
    s->arena = arena;
    for (int v = 0; v < s->n_values; v++)
        if (s->slots[v].in_arena)
            s->slots[v].t.data = arena + s->slots[v].offset;
    for (int k = 0; k < s->n_steps; k++)
        if (s->steps[k].ctx.scratch_size && !s->steps[k].dynamic)
            s->steps[k].ctx.scratch = arena + s->steps[k].scratch_offset;
    /* values sharing a root use its bytes, slices at their offset in it */
    for (int v = 0; v < s->n_values; v++)
        if (is_arena_value(s, v) && s->slots[v].root != v && s->slots[v].def >= 0) {
            size_t at = 0;
            for (int u = v; s->slots[u].root != u; u = s->slots[u].root)
                at += s->slots[u].root_offset;
            s->slots[v].t.data = (uint8_t *)s->slots[root_of(s, v)].t.data + at;
        }
}

keel_status kl_pass_arena(kl_plan *s)
{
    const size_t cap = (size_t)(s->n_values + s->n_steps + 1);
    block *b = kl_alloc(&s->env, cap * sizeof *b);
    if (!b)
        return KEEL_ERR_NOMEM;
    int nb = collect_blocks(s, b);
    size_t total;
    place_blocks(b, nb, &total);
    keel_status st = KEEL_OK;
    if (total > s->env.max_arena_bytes)
        st = kl_error(&s->env, KEEL_ERR_LIMIT, "%s: the planned arena of %zu bytes exceeds the limit of %llu",
                      s->model->name, total, (unsigned long long)s->env.max_arena_bytes);
    else if (s->owner && !s->image) /* a session's plans share its arena */
        st = kl_session_arena(s->owner, total, &s->arena);
    else if (!(s->arena = kl_alloc(&s->env, total ? total : ARENA_ALIGN)))
        st = KEEL_ERR_NOMEM;
    if (!st) {
        s->arena_size = total;
        assign_blocks(s, b, nb);
        kl_plan_place(s, s->arena);
    }
    kl_free(&s->env, b, cap * sizeof *b);
    if (!st)
        kl_pass_note(s, "%zu bytes", total);
    return st;
}

/* ---- prepare ------------------------------------------------------------- */

keel_status kl_pass_prepare(kl_plan *s)
{
    for (int k = 0; k < s->n_steps; k++) {
        kl_step *stp = &s->steps[k];
        if (stp->view || stp->dynamic || !stp->op->prepare)
            continue;
        keel_status st = stp->op->prepare(&stp->ctx);
        if (st) {
            if (!strstr(s->env.msg, s->model->name))
                kl_error_prefix(&s->env, "%s", s->model->name);
            return st;
        }
    }
    return KEEL_OK;
}

/* ---- checking a plan ---------------------------------------------------- */

/* A value that holds bytes of the arena from its own first to last step
 * (views and values never computed hold none of their own). */
static bool holds_arena_bytes(const kl_plan *s, int v)
{
    const kl_slot *x = &s->slots[v];
    return is_arena_value(s, v) && x->def >= 0 && x->t.data && (const uint8_t *)x->t.data >= s->arena &&
           (const uint8_t *)x->t.data < s->arena + s->arena_size;
}

/* A computed value placed in the arena whose bytes do not all lie inside it. */
static bool strays_from_arena(const kl_plan *s, int v)
{
    const kl_slot *x = &s->slots[v];
    if (!is_arena_value(s, v) || x->def < 0 || !x->nbytes)
        return false;
    const uint8_t *p = x->t.data;
    return !p || p < s->arena || (size_t)(p - s->arena) > s->arena_size ||
           x->nbytes > s->arena_size - (size_t)(p - s->arena);
}

/* Blocks overlapping value a's bytes during its lifetime: other values and scratch. */
static int conflicts_of(const kl_plan *s, int a)
{
    int conflicts = 0;
    const kl_slot *x = &s->slots[a];
    const size_t xo = (size_t)((const uint8_t *)x->t.data - s->arena);
    for (int b = a + 1; b < s->n_values; b++) {
        if (!holds_arena_bytes(s, b) || root_of(s, a) == root_of(s, b))
            continue;
        const kl_slot *y = &s->slots[b];
        const size_t yo = (size_t)((const uint8_t *)y->t.data - s->arena);
        if (x->def <= y->last && y->def <= x->last && xo < yo + y->nbytes && yo < xo + x->nbytes)
            conflicts++;
    }
    for (int k = 0; k < s->n_steps; k++) {
        const kl_step *st = &s->steps[k];
        if (st->ctx.scratch_size && k >= x->def && k <= x->last && xo < st->scratch_offset + st->ctx.scratch_size &&
            st->scratch_offset < xo + x->nbytes)
            conflicts++;
    }
    return conflicts;
}

int kl_session_plan_conflicts(const kl_plan *s)
{
    int conflicts = 0;
    for (int a = 0; a < s->n_values; a++) {
        conflicts += strays_from_arena(s, a);
        if (holds_arena_bytes(s, a))
            conflicts += conflicts_of(s, a);
    }
    return conflicts;
}
