/* compress.c -- Compress: the slices along `axis` (or the elements of the
 * flattened input, without axis) whose condition entry is true; the
 * condition may be shorter than the dim.  The output size depends on the
 * condition's data. */
#include <string.h>

#include "drivers/eltwise.h"

static keel_status plan(kl_opctx *c, int *axis, int64_t *kept)
{
    const kl_tensor *x = c->in[0], *cond = c->in[1];
    if (cond->dtype != KEEL_BOOL || cond->rank != 1)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "condition must be a 1-D bool tensor");
    *axis = -1;
    if (kl_attr_has(c->node, "axis")) {
        keel_status st = kl_norm_axis(c, kl_attr_int(c->node, "axis", 0), x->rank, axis);
        if (st)
            return st;
    }
    int64_t len = *axis < 0 ? kl_numel(x) : x->dims[*axis];
    if (cond->dims[0] > len)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "condition has %lld entries for %lld slices", (long long)cond->dims[0],
                          (long long)len);
    if (!cond->data)
        return kl_op_needs_data(c, 1);
    *kept = 0;
    for (int64_t i = 0; i < cond->dims[0]; i++)
        *kept += ((const uint8_t *)cond->data)[i] != 0;
    return KEEL_OK;
}

static keel_status compress_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    int axis;
    int64_t kept;
    keel_status st = plan(c, &axis, &kept);
    if (st)
        return st;
    if (axis < 0) {
        kl_set_shape(c->out[0], x->dtype, 1, &kept);
    } else {
        int64_t dims[KL_MAX_RANK];
        memcpy(dims, x->dims, sizeof dims);
        dims[axis] = kept;
        kl_set_shape(c->out[0], x->dtype, x->rank, dims);
    }
    return KEEL_OK;
}

static keel_status compress_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0], *cond = c->in[1];
    int axis;
    int64_t kept;
    keel_status st = plan(c, &axis, &kept);
    if (st)
        return st;
    size_t es = kl_dtype_size(x->dtype);
    int64_t outer = axis < 0 ? 1 : kl_dims_product(x->dims, 0, axis);
    int64_t len = axis < 0 ? kl_numel(x) : x->dims[axis];
    int64_t inner = axis < 0 ? 1 : kl_dims_product(x->dims, axis + 1, x->rank);
    size_t block = (size_t)inner * es;
    char *out = c->out[0]->data;
    const uint8_t *keep = cond->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < cond->dims[0]; i++)
            if (keep[i]) {
                memcpy(out, (const char *)x->data + (size_t)(o * len + i) * block, block);
                out += block;
            }
    return KEEL_OK;
}

static const kl_op compress = {.type = "Compress", .since = 9, .min_inputs = 2, .max_inputs = 2,
                               .infer = compress_infer, .run = compress_run};

const kl_op *const kl_opfile_compress[] = {&compress, NULL};
