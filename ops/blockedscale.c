/* blockedscale.c -- ai.keel's BlockedScale: x [N][C/B][H][W][B] times a
 * per-channel scale s [N][C/B][1][1][B], both in the blocked layout
 * (ops/kernels/conv.h): a squeeze-excite's Mul.  Not in the registry:
 * the pass blocked_layout (runtime/layout.c) retypes such a Mul to it,
 * its inputs x first.  The plain layout's broadcasting Mul took three
 * times as long on the blocked shapes, its innermost rows 16 long
 * (AVX-512). */
#include "kernels/kernels.h"

#define SPLIT_FLOATS 65536 /* from this size the threads share the blocks */

static keel_status bscale_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0], *s = c->in[1];
    const int64_t bl = c->env->kern->block;
    if (x->dtype != KEEL_FLOAT || s->dtype != KEEL_FLOAT || x->rank != 5 || s->rank != 5 || !bl || x->dims[4] != bl ||
        s->dims[4] != bl || s->dims[0] != x->dims[0] || s->dims[1] != x->dims[1] || s->dims[2] != 1 || s->dims[3] != 1)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "inputs are not a blocked value and its per-channel scale");
    kl_set_shape(c->out[0], KEEL_FLOAT, 5, x->dims);
    return KEEL_OK;
}

typedef struct bscale_job {
    const kl_kernels *kern;
    const float *x, *s;
    float *y;
    int64_t blocks, h, w, bl, bands;
} bscale_job;

/* Items band-major, as the blocked convs': thread t takes the same rows
 * of every block that its conv wrote. */
static void bscale_items(void *arg, int64_t lo, int64_t hi)
{
    const bscale_job *j = arg;
    for (int64_t item = lo; item < hi; item++) {
        const int64_t band = item / j->blocks, b = item % j->blocks;
        const int64_t at = (b * j->h + j->h * band / j->bands) * j->w * j->bl;
        const int64_t n = (j->h * (band + 1) / j->bands - j->h * band / j->bands) * j->w;
        j->kern->bscale.fn(j->y + at, j->x + at, j->s + b * j->bl, n);
    }
}

static keel_status bscale_run(kl_opctx *c)
{
    const int64_t *d = c->in[0]->dims, blocks = d[0] * d[1];
    kl_pool *pool = blocks * d[2] * d[3] * d[4] >= SPLIT_FLOATS ? c->pool : NULL;
    const int64_t threads = kl_pool_threads(pool);
    bscale_job j = {c->env->kern, c->in[0]->data, c->in[1]->data, c->out[0]->data, blocks, d[2], d[3], d[4],
                    d[2] < threads ? d[2] : threads};
    kl_parallel_for(pool, j.bands * blocks, bscale_items, &j);
    return KEEL_OK;
}

const kl_op kl_op_blocked_scale = {.type = "BlockedScale", .domain = "ai.keel", .since = 1, .min_inputs = 2,
                                   .max_inputs = 2, .infer = bscale_infer,
                                   .run = bscale_run, .batch = KL_BATCH_ELEMENTWISE};
