/* blockedglobalpool.c -- ai.keel's BlockedGlobalAveragePool: the mean of
 * each channel over the positions of a float tensor in the blocked layout
 * (ops/kernels/conv.h), [N][C/B][H][W][B] to [N][C/B][1][1][B].  Not
 * in the registry: the pass blocked_layout (runtime/layout.c) retypes a
 * GlobalAveragePool node to it.
 *
 * The sums run over two halves of the rows apart, then add: on two
 * threads each half is the one its thread's conv wrote (the blocked
 * convs share out bands of rows), and on any count of threads the sums
 * are the same. */
#include "kernels/kernels.h"

#define HALVES 2
#define SPLIT_FLOATS 65536 /* from this size the threads share the halves */

static keel_status bgap_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    const int64_t bl = c->env->kern->block;
    if (x->dtype != KEEL_FLOAT || x->rank != 5 || !bl || x->dims[4] != bl)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input is not float in the kernels' blocks of %lld", (long long)bl);
    if (x->dims[2] < 1 || x->dims[3] < 1)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "no positions to average");
    const int64_t dims[5] = {x->dims[0], x->dims[1], 1, 1, bl};
    kl_set_shape(c->out[0], KEEL_FLOAT, 5, dims);
    return KEEL_OK;
}

/* the halves' sums: HALVES x images x blocks x lanes */
static size_t bgap_scratch(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    return (size_t)(HALVES * x->dims[0] * x->dims[1] * x->dims[4]) * sizeof(float);
}

typedef struct bgap_job {
    const kl_kernels *kern;
    const float *x;
    float *sums;
    int64_t blocks, h, w, bl;
} bgap_job;

/* Halves [lo, hi): for each block, its sums over the half's rows. */
static void bgap_halves(void *arg, int64_t lo, int64_t hi)
{
    const bgap_job *j = arg;
    for (int64_t half = lo; half < hi; half++) {
        const int64_t p0 = j->h * half / HALVES * j->w, p1 = j->h * (half + 1) / HALVES * j->w;
        for (int64_t b = 0; b < j->blocks; b++)
            j->kern->bsum.fn(j->x + (b * j->h * j->w + p0) * j->bl, p1 - p0, j->sums + (half * j->blocks + b) * j->bl);
    }
}

static keel_status bgap_run(kl_opctx *c)
{
    const int64_t *d = c->in[0]->dims, blocks = d[0] * d[1], bl = d[4];
    bgap_job j = {c->env->kern, c->in[0]->data, c->scratch, blocks, d[2], d[3], bl};
    kl_parallel_for(blocks * d[2] * d[3] * bl >= SPLIT_FLOATS ? c->pool : NULL, HALVES, bgap_halves, &j);
    float *y = c->out[0]->data;
    const float n = (float)(d[2] * d[3]);
    for (int64_t i = 0; i < blocks * bl; i++)
        y[i] = (j.sums[i] + j.sums[blocks * bl + i]) / n;
    return KEEL_OK;
}

const kl_op kl_op_blocked_global_average_pool = {.type = "BlockedGlobalAveragePool", .domain = "ai.keel", .since = 1,
                                                 .min_inputs = 1, .max_inputs = 1, .infer = bgap_infer,
                                                 .run = bgap_run, .scratch = bgap_scratch,
                                                 .batch = KL_BATCH_PER_IMAGE};
