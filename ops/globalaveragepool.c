/* globalaveragepool.c -- GlobalAveragePool: the mean over every spatial
 * dim, for any rank >= 3, float32. */
#include "op.h"

static keel_status gap_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    if (x->dtype != KEEL_FLOAT)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "only float input is supported, not %s", kl_dtype_name(x->dtype));
    if (x->rank < 3)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input rank %d: expected N, C and spatial dims", x->rank);
    int64_t dims[KL_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int i = 2; i < x->rank; i++)
        dims[i] = 1;
    kl_set_shape(c->out[0], KEEL_FLOAT, x->rank, dims);
    return KEEL_OK;
}

static keel_status gap_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    int64_t planes = x->dims[0] * x->dims[1], size = kl_numel(x) / (planes ? planes : 1);
    const float *src = x->data;
    float *dst = c->out[0]->data;
    for (int64_t p = 0; p < planes; p++) {
        const float *plane = src + p * size;
        double sum = 0; /* spatial sizes reach 10^5: keep the sum exact enough */
        for (int64_t i = 0; i < size; i++)
            sum += plane[i];
        dst[p] = size ? (float)(sum / (double)size) : 0.0f;
    }
    return KEEL_OK;
}

static const kl_op gap_op = {
    .type = "GlobalAveragePool", .domain = "", .since = 1, .min_inputs = 1, .max_inputs = 1,
    .infer = gap_infer, .run = gap_run,
};

const kl_op *const kl_opfile_globalaveragepool[] = {&gap_op, NULL};
