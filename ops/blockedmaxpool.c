/* blockedmaxpool.c -- ai.keel's BlockedMaxPool: a 2-D float MaxPool of
 * dilation 1 without Indices, on the blocked layout (conv.h): each
 * output a column of vector maxima over its window.  Not in the
 * registry: the pass blocked_layout (runtime/layout.c) retypes a MaxPool
 * node to it, which keeps the node's attributes.  The work is the kernel
 * table's bmaxpool, shared out by bands of output rows as BlockedConv's. */
#include "drivers/pool.h"
#include "kernels/kernels.h"

#define SPLIT_TAPS ((int64_t)1 << 15) /* window taps over all outputs from which the threads share them */

/* The node's geometry, its input taken as [N][C][H][W]. */
static keel_status geometry(kl_opctx *c, pool_geom *g)
{
    const kl_tensor *x = c->in[0];
    const int64_t bl = c->env->kern->block;
    if (x->dtype != KEEL_FLOAT || x->rank != 5 || !bl || x->dims[4] != bl)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input is not float in the kernels' blocks of %lld", (long long)bl);
    kl_tensor view = *x;
    view.rank = 4;
    view.dims[1] = x->dims[1] * bl;
    kl_tensor *in = &view;
    kl_opctx plain = *c;
    plain.in = &in;
    keel_status st = pool_geometry(&plain, g, c->opset >= 10, c->opset >= 10);
    if (st)
        return st;
    if (g->nsp != 2 || g->d[1].dil != 1 || g->d[2].dil != 1)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "only 2-D windows of dilation 1 in the blocked layout");
    return KEEL_OK;
}

static keel_status bmaxpool_infer(kl_opctx *c)
{
    pool_geom g;
    keel_status st = geometry(c, &g);
    if (st)
        return st;
    if (c->n_out > 1 && c->out[1])
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "no Indices in the blocked layout");
    if (!c->env->kern->bmaxpool.fn)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "the session's kernels have no blocked MaxPool");
    const int64_t *d = c->in[0]->dims, dims[5] = {d[0], d[1], g.d[1].out, g.d[2].out, d[4]};
    kl_set_shape(c->out[0], KEEL_FLOAT, 5, dims);
    return KEEL_OK;
}

typedef struct bmaxpool_job {
    const kl_kernels *kern;
    kl_bp_span s;
    int64_t images, blocks, bands;
} bmaxpool_job;

/* Items band-major, then image and block. */
static void bmaxpool_items(void *arg, int64_t lo, int64_t hi)
{
    const bmaxpool_job *j = arg;
    const int64_t per_band = j->images * j->blocks;
    for (int64_t item = lo; item < hi; item++) {
        const int64_t band = item / per_band, plane = item % per_band;
        const int64_t r0 = j->s.oh * band / j->bands, r1 = j->s.oh * (band + 1) / j->bands;
        if (r0 < r1)
            j->kern->bmaxpool.fn(&j->s, plane, r0, r1);
    }
}

static keel_status bmaxpool_run(kl_opctx *c)
{
    pool_geom g;
    geometry(c, &g); /* validated by infer */
    const pool_dim *dy = &g.d[1], *dx = &g.d[2];
    const int threads = kl_pool_threads(c->pool);
    bmaxpool_job j = {c->env->kern,
                      {c->in[0]->data, c->out[0]->data, dy->in, dx->in, dy->out, dx->out, dy->k, dx->k, dy->stride,
                       dx->stride, dy->pad, dx->pad},
                      c->in[0]->dims[0], c->in[0]->dims[1], threads > 1 ? (dy->out < threads ? dy->out : threads) : 1};
    const int64_t items = j.bands * j.images * j.blocks;
    kl_parallel_for(pool_work(&g) >= SPLIT_TAPS ? c->pool : NULL, items, bmaxpool_items, &j);
    return KEEL_OK;
}

const kl_op kl_op_blocked_maxpool = {.type = "BlockedMaxPool", .domain = "ai.keel", .since = 1, .min_inputs = 1,
                                     .max_inputs = 1, .infer = bmaxpool_infer, .run = bmaxpool_run,
                                     .batch = KL_BATCH_PER_IMAGE};
