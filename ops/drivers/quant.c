/* quant.c -- shared pieces of the quantization operators (quant.h). */
#include <math.h>

#include "eltwise.h"
#include "quant.h"

bool kl_is_quant_dtype(int dtype)
{
    return dtype == KEEL_UINT8 || dtype == KEEL_INT8;
}

int32_t kl_qget(const kl_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case KEEL_UINT8: return ((const uint8_t *)t->data)[i];
    case KEEL_INT8: return ((const int8_t *)t->data)[i];
    default: return ((const int32_t *)t->data)[i];
    }
}

int32_t kl_qzero(const kl_qparams *q, int64_t slot)
{
    return q->zero ? kl_qget(q->zero, slot) : 0;
}

void kl_qput(kl_tensor *t, int64_t i, double v)
{
    double r = nearbyint(v); /* the default rounding mode: half to even */
    double lo = t->dtype == KEEL_UINT8 ? 0 : -128, hi = t->dtype == KEEL_UINT8 ? 255 : 127;
    r = isnan(r) ? 0 : r < lo ? lo : r > hi ? hi : r; /* NaN has no integer: 0 */
    if (t->dtype == KEEL_UINT8)
        ((uint8_t *)t->data)[i] = (uint8_t)r;
    else
        ((int8_t *)t->data)[i] = (int8_t)r;
}

keel_status kl_qparams_read(kl_opctx *c, int scale_i, int zero_i, const kl_tensor *data, int64_t axis,
                            kl_qparams *q)
{
    const kl_tensor *scale = scale_i < c->n_in ? c->in[scale_i] : NULL;
    const kl_tensor *zero = zero_i >= 0 && zero_i < c->n_in ? c->in[zero_i] : NULL;
    if (!scale || scale->dtype != KEEL_FLOAT)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input %d (scale) must be float", scale_i);
    q->n = kl_numel(scale);
    q->inner = 1;
    q->axis_len = 1;
    if (q->n != 1 || scale->rank > 1) {
        int ax;
        keel_status st = kl_norm_axis(c, axis, data->rank, &ax);
        if (st)
            return st;
        if (scale->rank != 1 || q->n != data->dims[ax])
            return kl_op_fail(c, KEEL_ERR_SHAPE, "scale has %lld values; 1 or %lld (dim %d) expected",
                              (long long)q->n, (long long)data->dims[ax], ax);
        q->axis_len = data->dims[ax];
        q->inner = kl_dims_product(data->dims, ax + 1, data->rank);
    }
    if (zero && (kl_numel(zero) != q->n || (!kl_is_quant_dtype(zero->dtype) && zero->dtype != KEEL_INT32)))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "zero point must be int8, uint8 or int32 with %lld values",
                          (long long)q->n);
    q->scale = scale->data;
    q->zero = zero;
    return KEEL_OK;
}

/* ---- integer matrix products ----------------------------------------------- */

keel_status kl_imatmul_plan(kl_opctx *c, const kl_tensor *a, const kl_tensor *b, kl_imatmul *p)
{
    if (a->rank < 2 || b->rank < 2)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "operands of rank below 2");
    p->m = a->dims[a->rank - 2];
    p->k = a->dims[a->rank - 1];
    p->n = b->dims[b->rank - 1];
    if (b->dims[b->rank - 2] != p->k)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "A has %lld columns, B %lld rows", (long long)p->k,
                          (long long)b->dims[b->rank - 2]);
    int ra = a->rank - 2, rb = b->rank - 2, r = ra > rb ? ra : rb;
    int64_t sa = 1, sb = 1;
    p->batches = 1;
    for (int d = r - 1; d >= 0; d--) {
        int64_t da = d - (r - ra) >= 0 ? a->dims[d - (r - ra)] : 1;
        int64_t db = d - (r - rb) >= 0 ? b->dims[d - (r - rb)] : 1;
        if (da != db && da != 1 && db != 1)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "batch dims %lld and %lld do not broadcast", (long long)da,
                              (long long)db);
        p->dims[d] = da > db ? da : db;
        p->a_bstride[d] = da == 1 ? 0 : sa;
        p->b_bstride[d] = db == 1 ? 0 : sb;
        sa *= da;
        sb *= db;
        p->batches *= p->dims[d];
    }
    p->rank = r + 2;
    p->dims[r] = p->m;
    p->dims[r + 1] = p->n;
    return KEEL_OK;
}

int32_t kl_qzero_at(const kl_tensor *z, int64_t i)
{
    return !z ? 0 : kl_qget(z, kl_numel(z) == 1 ? 0 : i);
}

float kl_qscale_at(const kl_tensor *scale, int64_t i)
{
    return ((const float *)scale->data)[kl_numel(scale) == 1 ? 0 : i];
}

void kl_imatmul_run(const kl_imatmul *p, const kl_tensor *a, const kl_tensor *b, const kl_tensor *za,
                    const kl_tensor *zb, int32_t *out)
{
    int r = p->rank - 2;
    int64_t idx[KL_MAX_RANK] = {0}, mk = p->m * p->k, kn = p->k * p->n;
    for (int64_t bt = 0; bt < p->batches; bt++) {
        int64_t ao = 0, bo = 0, rem = bt;
        for (int d = r - 1; d >= 0; d--) {
            idx[d] = rem % p->dims[d];
            rem /= p->dims[d];
            ao += idx[d] * p->a_bstride[d];
            bo += idx[d] * p->b_bstride[d];
        }
        int32_t *o = out + bt * p->m * p->n;
        for (int64_t i = 0; i < p->m; i++)
            for (int64_t j = 0; j < p->n; j++) {
                int64_t acc = 0;
                for (int64_t k = 0; k < p->k; k++)
                    acc += (int64_t)(kl_qget(a, ao * mk + i * p->k + k) - kl_qzero_at(za, i)) *
                           (kl_qget(b, bo * kn + k * p->n + j) - kl_qzero_at(zb, j));
                o[i * p->n + j] = (int32_t)acc;
            }
    }
}

keel_status kl_check_per(kl_opctx *c, int i, int64_t len, const char *what)
{
    const kl_tensor *t = i < c->n_in ? c->in[i] : NULL;
    if (t && kl_numel(t) != 1 && !(t->rank == 1 && t->dims[0] == len))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "%s (input %d) must hold 1 or %lld values", what, i, (long long)len);
    return KEEL_OK;
}
