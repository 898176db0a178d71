/* fromblocked.c -- ai.keel's FromBlocked: a float tensor in the blocked
 * layout [N][ceil(C / B)][H][W][B] (ops/kernels/conv.h) back to
 * [N][C][H][W] (attribute `channels`: C).  Not in the registry: the pass
 * blocked_layout (runtime/layout.c) puts one before the first reader of a
 * blocked value that reads it plainly. */

#include "kernels/kernels.h"

#define REORDER_SPLIT_FLOATS 65536 /* from this size the threads share the blocks */

static keel_status from_blocked_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    if (x->dtype != KEEL_FLOAT || x->rank != 5)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "only float tensors of rank 5 (got %s of rank %d)",
                          kl_dtype_name(x->dtype), x->rank);
    const int64_t *d = x->dims, ch = kl_attr_int(c->node, "channels", -1), bl = c->env->kern->block;
    if (!bl || d[4] != bl || ch <= (d[1] - 1) * bl || ch > d[1] * bl)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "%lld channels do not fit %lld blocks of %lld", (long long)ch,
                          (long long)d[1], (long long)d[4]);
    const int64_t dims[4] = {d[0], ch, d[2], d[3]};
    kl_set_shape(c->out[0], KEEL_FLOAT, 4, dims);
    return KEEL_OK;
}

/* Blocks (image, block) [lo, hi) of a tensor of c channels and hw
 * positions, each through the kernel table's bfrom. */
typedef struct reorder_job {
    const kl_kernels *kern;
    const float *x;
    float *y;
    int64_t c, blocks, hw, bl;
} reorder_job;

static void from_blocked_range(void *arg, int64_t lo, int64_t hi)
{
    const reorder_job *j = arg;
    for (int64_t item = lo; item < hi; item++) {
        const int64_t n = item / j->blocks, b = item % j->blocks;
        const int64_t bl = j->bl, lanes = j->c - b * bl < bl ? j->c - b * bl : bl;
        j->kern->bfrom.fn(j->x + item * j->hw * bl, j->hw, lanes, j->y + (n * j->c + b * bl) * j->hw);
    }
}

static keel_status from_blocked_run(kl_opctx *c)
{
    const int64_t *plain = c->out[0]->dims, bl = c->in[0]->dims[4];
    const int64_t blocks = (plain[1] + bl - 1) / bl, items = plain[0] * blocks;
    reorder_job j = {c->env->kern, c->in[0]->data, c->out[0]->data, plain[1], blocks, plain[2] * plain[3], bl};
    kl_parallel_for(items * j.hw * bl >= REORDER_SPLIT_FLOATS ? c->pool : NULL, items, from_blocked_range, &j);
    return KEEL_OK;
}

const kl_op kl_op_from_blocked = {.type = "FromBlocked", .domain = "ai.keel", .since = 1, .min_inputs = 1,
                                  .max_inputs = 1, .infer = from_blocked_infer, .run = from_blocked_run,
                                  .batch = KL_BATCH_PER_IMAGE};
