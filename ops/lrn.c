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

#include "op.h"

#define LRN_SIZE_MAX ((int64_t)1 << 31)

typedef struct lrn_job {
    const float *x;
    float *y;
    int64_t channels, plane, size;
    float bias, k, beta;   /* k = alpha / size */
} lrn_job;

static inline void add_squares(float *restrict acc, const float *restrict x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        acc[i] += x[i] * x[i];
}

/* 1/sqrt(d) for a normal d > 0: a first guess from the exponent bits and
 * three Newton steps (relative error ~1e-7).  Plain arithmetic, so loops
 * vectorize; libm's sqrtf may set errno and does not. */
static inline float rsqrt_newton(float d)
{
    uint32_t bits;
    memcpy(&bits, &d, sizeof bits);
    bits = 0x5f375a86u - (bits >> 1);
    float r;
    memcpy(&r, &bits, sizeof r);
    const float h = 0.5f * d;
    r = r * (1.5f - h * r * r);
    r = r * (1.5f - h * r * r);
    r = r * (1.5f - h * r * r);
    return r;
}

/* y = x * (bias + k * y)^-beta, y holding the sums of squares. */
static inline void lrn_scale(float *restrict y, const float *restrict x, int64_t n, float bias, float k,
                             float beta)
{
    /* the base is at least bias: the fast forms need it positive and normal */
    const bool positive = bias >= FLT_MIN && k >= 0;
    if (positive && beta == 0.75f) {
        for (int64_t i = 0; i < n; i++) {
            const float r = rsqrt_newton(bias + k * y[i]); /* d^-1/2 */
            y[i] = x[i] * (r * r) * rsqrt_newton(r);      /* d^-1 * d^1/4 */
        }
    } else if (positive && beta == 0.5f) {
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] * rsqrt_newton(bias + k * y[i]);
    } else if (beta == 1.0f) {
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] / (bias + k * y[i]);
    } else {
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] * powf(bias + k * y[i], -beta);
    }
}

KL_HOT static void lrn_planes(void *arg, int64_t lo, int64_t hi)
{
    const lrn_job *j = arg;
    const int64_t n = j->plane, before = (j->size - 1) / 2, after = j->size - 1 - before;
    for (int64_t p = lo; p < hi; p++) {
        int64_t ch = p % j->channels, batch = p - ch;   /* batch: plane index of channel 0 */
        int64_t c0 = ch - before < 0 ? 0 : ch - before;
        int64_t c1 = ch + after >= j->channels ? j->channels - 1 : ch + after;
        float *restrict y = j->y + p * n;
        for (int64_t i = 0; i < n; i++)
            y[i] = 0;
        for (int64_t cc = c0; cc <= c1; cc++)
            add_squares(y, j->x + (batch + cc) * n, n);
        lrn_scale(y, j->x + p * n, n, j->bias, j->k, j->beta);
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
                 kl_attr_float(c->node, "beta", 0.75f)};
    if (numel < ((int64_t)1 << 14))
        lrn_planes(&j, 0, planes);
    else
        kl_parallel_for(c->pool, planes, lrn_planes, &j);
    return KEEL_OK;
}

static const kl_op lrn_op = {.type = "LRN", .since = 1, .min_inputs = 1, .max_inputs = 1,
                             .infer = lrn_infer, .run = lrn_run};

const kl_op *const kl_opfile_lrn[] = {&lrn_op, NULL};
