/* ops/drivers/index.c -- shared pieces of the gather and scatter ops. */
#include <string.h>

#include "eltwise.h"
#include "index.h"

keel_status kl_index_fix(kl_opctx *c, int64_t v, int64_t n, int64_t *out)
{
    if (v < -n || v >= n)
        return kl_op_fail(c, KEEL_ERR_RUNTIME, "index %lld is out of range for a dim of %lld", (long long)v,
                          (long long)n);
    *out = v < 0 ? v + n : v;
    return KEEL_OK;
}

keel_status kl_require_indices(kl_opctx *c, int i)
{
    static const int index_types[] = {KEEL_INT32, KEEL_INT64, 0};
    return kl_require_dtype(c, i, index_types);
}

keel_status kl_scatter_reduction(kl_opctx *c, kl_scatter_reduce *r)
{
    const char *name = kl_attr_str(c->node, "reduction", "none");
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    for (int k = 0; k < 5; k++)
        if (strcmp(name, names[k]) == 0) {
            *r = (kl_scatter_reduce)k;
            return KEEL_OK;
        }
    return kl_op_fail(c, KEEL_ERR_INVALID, "reduction '%s'", name);
}

#define APPLY(T, U)                                                   \
    {                                                                 \
        T a, b;                                                       \
        memcpy(&a, dst, sizeof a);                                    \
        memcpy(&b, src, sizeof b);                                    \
        switch (r) {                                                  \
        case KL_SCATTER_ADD: a = (T)((U)a + (U)b); break;             \
        case KL_SCATTER_MUL: a = (T)((U)a * (U)b); break;             \
        case KL_SCATTER_MAX: a = b > a ? b : a; break;                \
        case KL_SCATTER_MIN: a = b < a ? b : a; break;                \
        default: a = b; break;                                        \
        }                                                             \
        memcpy(dst, &a, sizeof a);                                    \
        return;                                                       \
    }

void kl_scatter_apply(kl_scatter_reduce r, int dtype, void *dst, const void *src)
{
    switch (dtype) {
    case KEEL_FLOAT: APPLY(float, float)
    case KEEL_DOUBLE: APPLY(double, double)
    case KEEL_INT8: APPLY(int8_t, uint32_t)
    case KEEL_UINT8: APPLY(uint8_t, uint32_t)
    case KEEL_INT16: APPLY(int16_t, uint32_t)
    case KEEL_UINT16: APPLY(uint16_t, uint32_t)
    case KEEL_INT32: APPLY(int32_t, uint32_t)
    case KEEL_UINT32: APPLY(uint32_t, uint32_t)
    case KEEL_INT64: APPLY(int64_t, uint64_t)
    case KEEL_UINT64: APPLY(uint64_t, uint64_t)
    default: /* bool, float16: only replacement is meaningful bit-wise */
        memcpy(dst, src, kl_dtype_size(dtype));
    }
}

keel_status kl_nd_plan(kl_opctx *c, const kl_tensor *data, const kl_tensor *idx, int b, nd_plan *p)
{
    if (idx->rank < 1 || b < 0 || b >= idx->rank || b >= data->rank)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "batch_dims %d does not fit ranks %d and %d", b, data->rank, idx->rank);
    p->b = b;
    p->m = (int)idx->dims[idx->rank - 1];
    if (p->m < 1 || p->m > data->rank - b)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "index tuples of %d for data of rank %d", p->m, data->rank);
    for (int d = 0; d < b; d++)
        if (data->dims[d] != idx->dims[d])
            return kl_op_fail(c, KEEL_ERR_SHAPE, "batch dim %d differs", d);
    p->batches = kl_dims_product(data->dims, 0, b);
    p->tuples = kl_dims_product(idx->dims, b, idx->rank - 1);
    p->slice = kl_dims_product(data->dims, b + p->m, data->rank);
    return KEEL_OK;
}

keel_status kl_nd_offset(kl_opctx *c, const kl_tensor *data, const kl_tensor *idx, const nd_plan *p, int64_t bt,
                         int64_t t, int64_t *off)
{
    int64_t o = 0, stride = p->slice;
    for (int k = p->m - 1; k >= 0; k--) {
        int64_t dim = data->dims[p->b + k], v = 0;
        keel_status st = kl_index_fix(c, kl_index_at(idx, (bt * p->tuples + t) * p->m + k), dim, &v);
        if (st)
            return st;
        o += v * stride;
        stride *= dim;
    }
    *off = o;
    return KEEL_OK;
}


void kl_axis_walk_init(kl_axis_walk *w, const kl_tensor *data, int axis)
{
    w->rank = data->rank;
    w->axis = axis;
    int64_t s = 1;
    for (int d = data->rank - 1; d >= 0; d--) {
        w->strides[d] = s;
        w->pos[d] = 0;
        s *= data->dims[d];
    }
}

keel_status kl_axis_walk_next(kl_opctx *c, kl_axis_walk *w, const kl_tensor *data, const kl_tensor *idx,
                              int64_t i, int64_t *off)
{
    int64_t k = 0, o = 0;
    keel_status st = kl_index_fix(c, kl_index_at(idx, i), data->dims[w->axis], &k);
    if (st)
        return st;
    for (int d = 0; d < w->rank; d++) {
        if (d != w->axis && w->pos[d] >= data->dims[d])
            return kl_op_fail(c, KEEL_ERR_SHAPE, "indices dim %d exceeds data's", d);
        o += (d == w->axis ? k : w->pos[d]) * w->strides[d];
    }
    for (int d = w->rank - 1; d >= 0; d--) { /* odometer over indices' shape */
        if (++w->pos[d] < idx->dims[d])
            break;
        w->pos[d] = 0;
    }
    *off = o;
    return KEEL_OK;
}
