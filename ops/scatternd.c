/* scatternd.c -- ScatterND: a copy of data with the slices addressed by the
 * index tuples of indices set from (or, opset 16+, reduced with) the
 * matching slices of updates. */
#include <string.h>

#include "drivers/index.h"

static keel_status snd_check(kl_opctx *c, nd_plan *p, kl_scatter_reduce *red)
{
    const kl_tensor *data = c->in[0], *idx = c->in[1], *upd = c->in[2];
    keel_status st = kl_require_indices(c, 1);
    if (!st)
        st = kl_nd_plan(c, data, idx, 0, p);
    if (!st)
        st = kl_scatter_reduction(c, red);
    if (st)
        return st;
    int r = idx->rank - 1 + data->rank - p->m;
    bool ok = upd->dtype == data->dtype && upd->rank == r;
    for (int d = 0; ok && d < r; d++)
        ok = upd->dims[d] == (d < idx->rank - 1 ? idx->dims[d] : data->dims[p->m + d - (idx->rank - 1)]);
    if (!ok)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "updates must be indices.shape[:-1] + data.shape[m:] of data's type");
    return KEEL_OK;
}

static keel_status snd_infer(kl_opctx *c)
{
    nd_plan p;
    kl_scatter_reduce red;
    keel_status st = snd_check(c, &p, &red);
    if (!st)
        kl_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, c->in[0]->dims);
    return st;
}

static keel_status snd_run(kl_opctx *c)
{
    const kl_tensor *data = c->in[0], *idx = c->in[1], *upd = c->in[2];
    nd_plan p;
    kl_scatter_reduce red;
    keel_status st = snd_check(c, &p, &red);
    if (st)
        return st;
    char *out = c->out[0]->data;
    if (out != data->data)
        memcpy(out, data->data, kl_nbytes(data));
    size_t es = kl_dtype_size(data->dtype);
    const char *src = upd->data;
    for (int64_t t = 0; t < p.tuples; t++) {
        int64_t off;
        if ((st = kl_nd_offset(c, data, idx, &p, 0, t, &off)))
            return st;
        for (int64_t e = 0; e < p.slice; e++, src += es)
            kl_scatter_apply(red, data->dtype, out + (size_t)(off + e) * es, src);
    }
    return KEEL_OK;
}

static const kl_op snd = {.type = "ScatterND", .since = 11, .min_inputs = 3, .max_inputs = 3,
                          .infer = snd_infer, .run = snd_run};

const kl_op *const kl_opfile_scatternd[] = {&snd, NULL};
