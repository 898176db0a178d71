/* gathernd.c -- GatherND: slices of data addressed by the index tuples in
 * the last dim of indices, after batch_dims leading dims (opset 12) that
 * data and indices share: out = indices.shape[:-1] + data.shape[b + m:]. */
#include <string.h>

#include "drivers/index.h"

static keel_status gnd_infer(kl_opctx *c)
{
    const kl_tensor *data = c->in[0], *idx = c->in[1];
    nd_plan p;
    keel_status st = kl_require_indices(c, 1);
    if (!st)
        st = kl_nd_plan(c, data, idx, (int)kl_attr_int(c->node, "batch_dims", 0), &p);
    if (st)
        return st;
    int64_t dims[KL_MAX_RANK];
    int r = 0;
    for (int d = 0; d < idx->rank - 1; d++)
        dims[r++] = idx->dims[d];
    for (int d = p.b + p.m; d < data->rank; d++)
        dims[r++] = data->dims[d];
    if (r > KL_MAX_RANK)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "output rank over %d", KL_MAX_RANK);
    kl_set_shape(c->out[0], data->dtype, r, dims);
    return KEEL_OK;
}

static keel_status gnd_run(kl_opctx *c)
{
    const kl_tensor *data = c->in[0], *idx = c->in[1];
    nd_plan p;
    keel_status st = kl_nd_plan(c, data, idx, (int)kl_attr_int(c->node, "batch_dims", 0), &p);
    if (st)
        return st;
    size_t es = kl_dtype_size(data->dtype), slice_bytes = (size_t)p.slice * es;
    int64_t batch_elems = kl_numel(data) / (p.batches ? p.batches : 1);
    char *out = c->out[0]->data;
    for (int64_t bt = 0; bt < p.batches; bt++)
        for (int64_t t = 0; t < p.tuples; t++) {
            int64_t off;
            if ((st = kl_nd_offset(c, data, idx, &p, bt, t, &off)))
                return st;
            memcpy(out, (const char *)data->data + (size_t)(bt * batch_elems + off) * es, slice_bytes);
            out += slice_bytes;
        }
    return KEEL_OK;
}

static const kl_op gnd = {.type = "GatherND", .since = 11, .min_inputs = 2, .max_inputs = 2,
                          .infer = gnd_infer, .run = gnd_run};

const kl_op *const kl_opfile_gathernd[] = {&gnd, NULL};
