/* gather.c -- Gather: picks slices of `data` (any type) along `axis` at
 * int32 or int64 `indices`; negative indices count from the end.  Output
 * shape: data.dims[:axis] + indices.dims + data.dims[axis+1:]. */
#include "drivers/eltwise.h"

static int64_t index_at(const kl_tensor *idx, int64_t i)
{
    return idx->dtype == KEEL_INT64 ? ((const int64_t *)idx->data)[i]
                                    : ((const int32_t *)idx->data)[i];
}

/* Every index must be in [-dim, dim) of the data's axis. */
static keel_status check_indices(kl_opctx *c, int axis, keel_status status)
{
    const kl_tensor *idx = c->in[1];
    int64_t dim = c->in[0]->dims[axis], n = kl_numel(idx);
    for (int64_t i = 0; i < n; i++) {
        int64_t k = index_at(idx, i);
        if (k < -dim || k >= dim)
            return kl_op_fail(c, status, "index %lld is out of range for axis %d of size %lld",
                              (long long)k, axis, (long long)dim);
    }
    return KEEL_OK;
}

static keel_status gather_infer(kl_opctx *c)
{
    const kl_tensor *data = c->in[0], *idx = c->in[1];
    static const int index_types[] = {KEEL_INT64, KEEL_INT32, 0};
    int axis;
    keel_status st = kl_require_dtype(c, 1, index_types);
    if (st == KEEL_OK && data->rank == 0)
        st = kl_op_fail(c, KEEL_ERR_SHAPE, "data must have rank 1 or more");
    if (st == KEEL_OK)
        st = kl_norm_axis(c, kl_attr_int(c->node, "axis", 0), data->rank, &axis);
    if (st != KEEL_OK)
        return st;
    int rank = data->rank - 1 + idx->rank;
    if (rank > KL_MAX_RANK)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "the output's rank %d is above %d", rank,
                          KL_MAX_RANK);
    int64_t dims[KL_MAX_RANK];
    memcpy(dims, data->dims, (size_t)axis * sizeof *dims);
    memcpy(dims + axis, idx->dims, (size_t)idx->rank * sizeof *dims);
    memcpy(dims + axis + idx->rank, data->dims + axis + 1,
           (size_t)(data->rank - axis - 1) * sizeof *dims);
    kl_set_shape(c->out[0], data->dtype, rank, dims);
    /* constant indices (as in shape computations) are checked right away */
    return idx->data ? check_indices(c, axis, KEEL_ERR_INVALID) : KEEL_OK;
}

/* For each index before the axis and each index in `indices`, one
 * contiguous block of data.dims[axis+1:] is copied. */
static keel_status gather_run(kl_opctx *c)
{
    const kl_tensor *data = c->in[0], *idx = c->in[1];
    int axis;
    kl_norm_axis(c, kl_attr_int(c->node, "axis", 0), data->rank, &axis);
    int64_t dim = data->dims[axis], n_idx = kl_numel(idx);
    int64_t outer = kl_dims_product(data->dims, 0, axis);
    size_t block = (size_t)kl_dims_product(data->dims, axis + 1, data->rank) *
                   kl_dtype_size(data->dtype);
    keel_status st = check_indices(c, axis, KEEL_ERR_RUNTIME);
    if (st != KEEL_OK)
        return st;
    if (block == 0)
        return KEEL_OK;
    char *dst = c->out[0]->data;
    for (int64_t o = 0; o < outer; o++) {
        const char *src = (const char *)data->data + (size_t)(o * dim) * block;
        for (int64_t i = 0; i < n_idx; i++, dst += block) {
            int64_t k = index_at(idx, i);
            memcpy(dst, src + (size_t)(k < 0 ? k + dim : k) * block, block);
        }
    }
    return KEEL_OK;
}

static const kl_op gather = {.type = "Gather", .since = 1, .min_inputs = 2, .max_inputs = 2,
                             .infer = gather_infer, .run = gather_run};

const kl_op *const kl_opfile_gather[] = {&gather, NULL};
