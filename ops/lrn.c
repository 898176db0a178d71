/* lrn.c -- LRN, local response normalization across channels, float:
 *   y = x / (bias + alpha / size * square_sum) ^ beta
 * where square_sum at channel c sums x^2 over channels
 * c - floor((size-1)/2) .. c + ceil((size-1)/2) that exist.  Input
 * N x C x D1 x ... of rank 2 or more; attributes alpha (1e-4), beta (0.75),
 * bias (1.0) and size (required).
 *
 * Each output plane first receives the sum of squares of its window of
 * input planes (vectorized over the plane), then is scaled in place; the
 * common beta 0.75 and 0.5 are computed with vectorizable reciprocal
 * square roots, not powf. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "kernels/kernels.h"

#define LRN_SIZE_MAX ((int64_t)1 << 31)

typedef struct lrn_job {
    const float *x;
    float *y;
    int64_t channels, plane, size;
    float bias, k, beta;   /* k = alpha / size */
    klk_lrn_plane_fn *plane_fn; /* the session's kernel (ops/kernels/norm.c) */
} lrn_job;


static void lrn_planes(void *arg, int64_t lo, int64_t hi)
{
    const lrn_job *j = arg;
    const int64_t n = j->plane, before = (j->size - 1) / 2, after = j->size - 1 - before;
    for (int64_t p = lo; p < hi; p++) {
        int64_t ch = p % j->channels, batch = p - ch;   /* batch: plane index of channel 0 */
        int64_t c0 = ch - before < 0 ? 0 : ch - before;
        int64_t c1 = ch + after >= j->channels ? j->channels - 1 : ch + after;
        j->plane_fn(j->y + p * n, j->x + p * n, j->x + (batch + c0) * n, c1 - c0 + 1, n, j->bias, j->k, j->beta);
    }
}

static keel_status lrn_infer(kl_opctx *c)
{
    static const int types[] = {KEEL_FLOAT, 0};
    keel_status st = kl_require_dtype(c, 0, types);
    if (st)
        return st;
    const kl_tensor *x = c->in[0];
    if (x->rank < 2)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input has rank %d; expected 2 or more (N, C, ...)", x->rank);
    if (!kl_attr_has(c->node, "size"))
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'size' is required");
    int64_t size = kl_attr_int(c->node, "size", 0);
    if (size < 1 || size > LRN_SIZE_MAX)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'size' is %lld; expected 1 to %lld",
                          (long long)size, (long long)LRN_SIZE_MAX);
    kl_set_shape(c->out[0], KEEL_FLOAT, x->rank, x->dims);
    return KEEL_OK;
}

static keel_status lrn_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    int64_t numel = kl_numel(x), planes = x->dims[0] * x->dims[1];
    if (numel == 0)
        return KEEL_OK;
    int64_t size = kl_attr_int(c->node, "size", 1);
    lrn_job j = {x->data, c->out[0]->data, x->dims[1], numel / planes, size,
                 kl_attr_float(c->node, "bias", 1.0f),
                 kl_attr_float(c->node, "alpha", 1e-4f) / (float)size,
                 kl_attr_float(c->node, "beta", 0.75f), c->env->kern->lrn_plane.fn};
    if (numel < ((int64_t)1 << 14))
        lrn_planes(&j, 0, planes);
    else
        kl_parallel_for(c->pool, planes, lrn_planes, &j);
    return KEEL_OK;
}

static const kl_op lrn_op = {.type = "LRN", .since = 1, .min_inputs = 1, .max_inputs = 1,
                             .infer = lrn_infer, .run = lrn_run, .batch = KL_BATCH_PER_IMAGE};

const kl_op *const kl_opfile_lrn[] = {&lrn_op, NULL};
