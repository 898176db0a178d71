/* gemm.c -- Gemm: Y = alpha * A' * B' + beta * C, float32.  C broadcasts
 * to [M, N] (unidirectionally; opsets 1-6 spell it with a `broadcast`
 * attribute, 11+ make C optional).  The product runs on the packed tiles
 * as MatMul's (kl_pw_gemm, B packed once when constant) where the kernel
 * table has them, A is not transposed and alpha is 1; else through
 * sgemm.  A fused epilogue is applied per row, after C. */
#include <string.h>

#include "drivers/packed_b.h"
#include "drivers/reference.h"
#include "kernels/blas.h"
#include "kernels/kernels.h"
#include "op.h"
#include "../runtime/exec.h"

typedef struct gemm_dims {
    int64_t m, n, k;
    bool ta, tb;
} gemm_dims;

static keel_status dims_of(kl_opctx *c, gemm_dims *d)
{
    const kl_tensor *a = c->in[0], *b = c->in[1];
    if (a->dtype != KEEL_FLOAT || b->dtype != KEEL_FLOAT)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "only float tensors are supported");
    if (a->rank != 2 || b->rank != 2)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "A and B must be 2-D (got ranks %d and %d)", a->rank, b->rank);
    d->ta = kl_attr_int(c->node, "transA", 0) != 0;
    d->tb = kl_attr_int(c->node, "transB", 0) != 0;
    d->m = d->ta ? a->dims[1] : a->dims[0];
    d->k = d->ta ? a->dims[0] : a->dims[1];
    int64_t kb = d->tb ? b->dims[1] : b->dims[0];
    d->n = d->tb ? b->dims[0] : b->dims[1];
    if (kb != d->k)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "inner dims differ: A gives %lld, B %lld", (long long)d->k,
                          (long long)kb);
    return KEEL_OK;
}

static const kl_tensor *c_input(const kl_opctx *c)
{
    return c->n_in > 2 ? c->in[2] : NULL;
}

static keel_status gemm_infer(kl_opctx *c)
{
    gemm_dims d = {0};
    keel_status st = dims_of(c, &d);
    if (st)
        return st;
    const kl_tensor *ct = c_input(c);
    if (ct) {
        if (ct->dtype != KEEL_FLOAT || ct->rank > 2)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "C must be a float tensor of rank <= 2");
        int64_t cm = ct->rank == 2 ? ct->dims[0] : 1, cn = ct->rank >= 1 ? ct->dims[ct->rank - 1] : 1;
        if ((cm != 1 && cm != d.m) || (cn != 1 && cn != d.n))
            return kl_op_fail(c, KEEL_ERR_SHAPE, "C of shape [%lld,%lld] does not broadcast to [%lld,%lld]",
                              (long long)cm, (long long)cn, (long long)d.m, (long long)d.n);
    }
    int64_t out[2] = {d.m, d.n};
    kl_set_shape(c->out[0], KEEL_FLOAT, 2, out);
    return KEEL_OK;
}

static int64_t gemm_macs(kl_opctx *c)
{
    gemm_dims d = {0};
    return dims_of(c, &d) ? 0 : d.m * d.n * d.k;
}

/* Whether the product runs on the packed tiles: B read in place, or
 * transposed (transB) and packed once. */
static bool packed_path(const kl_opctx *c, const gemm_dims *d)
{
    return !c->env->reference && kl_pw_usable(c->env->kern) && !d->ta && d->m >= 2 && d->n >= 16 && d->k > 0 &&
           kl_attr_float(c->node, "alpha", 1.0f) == 1.0f && (!d->tb || kl_input_const(c, 1));
}

static size_t gemm_scratch(kl_opctx *c)
{
    gemm_dims d = {0};
    return dims_of(c, &d) || !packed_path(c, &d) ? 0 : kl_pw_gemm_scratch(c, d.m, d.k, d.n, false);
}

/* A constant B packed once where that pays (drivers/packed_b.h); else
 * held and read in place. */
static keel_status gemm_prepare(kl_opctx *c)
{
    gemm_dims d = {0};
    if (!kl_input_const(c, 1))
        return KEEL_OK;
    if (dims_of(c, &d) || !packed_path(c, &d) || (!d.tb && !kl_packed_b_pays(c->env->kern, d.n, c->in[1]->data)))
        return kl_input_hold(c, 1);
    return kl_packed_b_prepare(c, d.tb);
}

/* Y = beta * C broadcast to [m, n], or Y += that when accumulate is set. */
static void put_c(const kl_tensor *ct, float beta, float *y, int64_t m, int64_t n, bool accumulate)
{
    const float *cv = ct->data;
    int64_t cm = ct->rank == 2 ? ct->dims[0] : 1, cn = ct->rank >= 1 ? ct->dims[ct->rank - 1] : 1;
    for (int64_t i = 0; i < m; i++) {
        const float *crow = cv + (cm == 1 ? 0 : i * cn);
        float *yrow = y + i * n;
        for (int64_t j = 0; j < n; j++)
            yrow[j] = (accumulate ? yrow[j] : 0.0f) + beta * crow[cn == 1 ? 0 : j];
    }
}

/* The product on the packed tiles; C added after it, then the epilogue
 * (fused in the product when there is no C). */
static void run_packed(kl_opctx *c, const gemm_dims *d, float beta)
{
    const kl_tensor *ct = c_input(c);
    const kl_packed_b *st = c->state;
    const bool with_c = ct && beta != 0.0f;
    float *y = c->out[0]->data;
    kl_pw_gemm(c, d->m, d->k, d->n, c->in[0]->data, st ? NULL : c->in[1]->data, d->n, st ? st->xp : NULL, !with_c,
               y, 0);
    if (!with_c)
        return;
    put_c(ct, beta, y, d->m, d->n, true);
    kl_epilogue_apply(&c->epi, y, 0, (size_t)(d->m * d->n));
}

static keel_status gemm_run(kl_opctx *c)
{
    gemm_dims d = {0};
    dims_of(c, &d);
    float alpha = kl_attr_float(c->node, "alpha", 1.0f), beta = kl_attr_float(c->node, "beta", 1.0f);
    if (c->env->reference)
        return kl_ref_gemm(c, d.m, d.n, d.k, d.ta, d.tb, alpha, beta);
    if (packed_path(c, &d) && (c->state || !d.tb)) {
        run_packed(c, &d, beta);
        return KEEL_OK;
    }
    const kl_tensor *ct = c_input(c);
    float *y = c->out[0]->data;
    bool with_c = ct && beta != 0.0f;
    if (with_c)
        put_c(ct, beta, y, d.m, d.n, false);
    if (d.m && d.n) {
        if (d.k && d.m == 1) /* one row (a classifier): matrix-vector, no packing of B */
            kl_sgemv(c, !d.tb, c->in[1]->dims[0], c->in[1]->dims[1], alpha, c->in[1]->data, c->in[1]->dims[1],
                     c->in[0]->data, with_c ? 1.0f : 0.0f, y);
        else if (d.k)
            kl_sgemm(c, d.ta, d.tb, d.m, d.n, d.k, alpha, c->in[0]->data, c->in[0]->dims[1], c->in[1]->data,
                     c->in[1]->dims[1], with_c ? 1.0f : 0.0f, y, d.n);
        else if (!with_c)
            memset(y, 0, (size_t)(d.m * d.n) * sizeof *y);
    }
    for (int64_t i = 0; i < d.m; i++)
        kl_epilogue_apply(&c->epi, y + i * d.n, (size_t)(i * d.n), (size_t)d.n);
    return KEEL_OK;
}

#define GEMM_OP(name, lo, hi, min_in)                                                          \
    static const kl_op name = {.type = "Gemm", .since = lo, .until = hi, .min_inputs = min_in, \
                               .max_inputs = 3, .flags = KL_OP_EPILOGUE, .infer = gemm_infer,  \
                               .run = gemm_run, .scratch = gemm_scratch, .prepare = gemm_prepare,     \
                               .release = kl_packed_b_release, .macs = gemm_macs, .residual_input = 3, \
                               .batch = KL_BATCH_PRODUCT}
/* C is required before opset 11 */
GEMM_OP(gemm_1, 1, 10, 3);
GEMM_OP(gemm_11, 11, 0, 2);

const kl_op *const kl_opfile_gemm[] = {&gemm_1, &gemm_11, NULL};
