/* globalmaxpool.c -- GlobalMaxPool: the maximum over all spatial dims of an
 * N x C x D1 x ... float tensor of rank 3 or more; the output is
 * N x C x 1 x ... x 1.  NaN inputs never win (as in ONNX Runtime); a plane of
 * NaN gives -inf. */
#include <math.h>

#include "op.h"

/* Elementwise maxima into 32 lanes, which vectorizes (a reduction into one
 * value does not: `a > b ? a : b` is not a max the compiler may reorder). */
static inline float plane_max(const float *restrict x, int64_t n)
{
    float lane[32];
    for (int j = 0; j < 32; j++)
        lane[j] = -INFINITY;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int j = 0; j < 32; j++)
            lane[j] = x[i + j] > lane[j] ? x[i + j] : lane[j];
    float m = -INFINITY;
    for (; i < n; i++)
        m = x[i] > m ? x[i] : m;
    for (int j = 0; j < 32; j++)
        m = lane[j] > m ? lane[j] : m;
    return m;
}

typedef struct gmp_job {
    const float *x;
    float *y;
    int64_t size;
} gmp_job;

KL_HOT static void gmp_planes(void *arg, int64_t lo, int64_t hi)
{
    const gmp_job *j = arg;
    for (int64_t p = lo; p < hi; p++)
        j->y[p] = plane_max(j->x + p * j->size, j->size);
}

static keel_status gmp_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    static const int types[] = {KEEL_FLOAT, 0};
    keel_status st = kl_require_dtype(c, 0, types);
    if (st)
        return st;
    if (x->rank < 3)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input has rank %d; expected 3 or more (N, C and spatial "
                          "dims)", x->rank);
    int64_t dims[KL_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int i = 2; i < x->rank; i++) {
        if (x->dims[i] == 0)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "spatial dim %d is empty: there is no maximum", i - 2);
        dims[i] = 1;
    }
    kl_set_shape(c->out[0], KEEL_FLOAT, x->rank, dims);
    return KEEL_OK;
}

static keel_status gmp_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    int64_t planes = x->dims[0] * x->dims[1];
    if (planes == 0)
        return KEEL_OK;
    gmp_job j = {x->data, c->out[0]->data, kl_numel(x) / planes};
    if (kl_numel(x) < ((int64_t)1 << 15))
        gmp_planes(&j, 0, planes);
    else
        kl_parallel_for(c->pool, planes, gmp_planes, &j);
    return KEEL_OK;
}

static const kl_op gmp_op = {
    .type = "GlobalMaxPool", .domain = "", .since = 1, .min_inputs = 1, .max_inputs = 1,
    .infer = gmp_infer, .run = gmp_run,
};

const kl_op *const kl_opfile_globalmaxpool[] = {&gmp_op, NULL};
