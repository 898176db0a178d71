/* scatterelements.c -- ScatterElements (and its old name Scatter, opsets
 * 9-10): a copy of data with data[i with axis coordinate = indices[i...]]
 * set from (or, opset 16+, reduced with) updates[i...]. */
#include <string.h>

#include "drivers/index.h"

static keel_status se_infer(kl_opctx *c)
{
    const kl_tensor *data = c->in[0], *idx = c->in[1], *upd = c->in[2];
    int axis;
    kl_scatter_reduce red;
    keel_status st = kl_require_indices(c, 1);
    if (!st)
        st = kl_norm_axis(c, kl_attr_int(c->node, "axis", 0), data->rank, &axis);
    if (!st)
        st = kl_scatter_reduction(c, &red);
    if (st)
        return st;
    if (idx->rank != data->rank || !kl_same_shape(idx, upd) || upd->dtype != data->dtype)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "indices and updates must share a shape of data's rank, updates data's type");
    for (int d = 0; d < idx->rank; d++)
        if (d != axis && idx->dims[d] > data->dims[d])
            return kl_op_fail(c, KEEL_ERR_SHAPE, "indices dim %d exceeds data's", d);
    kl_set_shape(c->out[0], data->dtype, data->rank, data->dims);
    return KEEL_OK;
}

static keel_status se_run(kl_opctx *c)
{
    const kl_tensor *data = c->in[0], *idx = c->in[1], *upd = c->in[2];
    int axis;
    kl_scatter_reduce red;
    keel_status st = kl_norm_axis(c, kl_attr_int(c->node, "axis", 0), data->rank, &axis);
    if (!st)
        st = kl_scatter_reduction(c, &red);
    if (st)
        return st;
    char *out = c->out[0]->data;
    if (out != data->data)
        memcpy(out, data->data, kl_nbytes(data));
    kl_axis_walk w;
    kl_axis_walk_init(&w, data, axis);
    size_t es = kl_dtype_size(data->dtype);
    int64_t n = kl_numel(idx);
    for (int64_t i = 0; i < n; i++) {
        int64_t off;
        if ((st = kl_axis_walk_next(c, &w, data, idx, i, &off)))
            return st;
        kl_scatter_apply(red, data->dtype, out + (size_t)off * es, (const char *)upd->data + (size_t)i * es);
    }
    return KEEL_OK;
}

static const kl_op scatter = {.type = "Scatter", .since = 9, .until = 10, .min_inputs = 3,
                              .max_inputs = 3, .infer = se_infer, .run = se_run};
static const kl_op scatterelements = {.type = "ScatterElements", .since = 11, .min_inputs = 3,
                                      .max_inputs = 3, .infer = se_infer, .run = se_run};

const kl_op *const kl_opfile_scatterelements[] = {&scatter, &scatterelements, NULL};
