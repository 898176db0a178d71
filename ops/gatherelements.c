/* gatherelements.c -- GatherElements: out[i...] = data[i with axis
 * coordinate replaced by indices[i...]]; out has the indices' shape. */
#include <string.h>

#include "drivers/index.h"

static keel_status ge_infer(kl_opctx *c)
{
    const kl_tensor *data = c->in[0], *idx = c->in[1];
    int axis;
    keel_status st = kl_require_indices(c, 1);
    if (!st)
        st = kl_norm_axis(c, kl_attr_int(c->node, "axis", 0), data->rank, &axis);
    if (st)
        return st;
    if (idx->rank != data->rank)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "indices have rank %d; data %d", idx->rank, data->rank);
    kl_set_shape(c->out[0], data->dtype, idx->rank, idx->dims);
    return KEEL_OK;
}

static keel_status ge_run(kl_opctx *c)
{
    const kl_tensor *data = c->in[0], *idx = c->in[1];
    int axis;
    keel_status st = kl_norm_axis(c, kl_attr_int(c->node, "axis", 0), data->rank, &axis);
    if (st)
        return st;
    kl_axis_walk w;
    kl_axis_walk_init(&w, data, axis);
    size_t es = kl_dtype_size(data->dtype);
    int64_t n = kl_numel(idx);
    for (int64_t i = 0; i < n; i++) {
        int64_t off;
        if ((st = kl_axis_walk_next(c, &w, data, idx, i, &off)))
            return st;
        memcpy((char *)c->out[0]->data + (size_t)i * es, (const char *)data->data + (size_t)off * es, es);
    }
    return KEEL_OK;
}

static const kl_op ge = {.type = "GatherElements", .since = 11, .min_inputs = 2, .max_inputs = 2,
                         .infer = ge_infer, .run = ge_run};

const kl_op *const kl_opfile_gatherelements[] = {&ge, NULL};
