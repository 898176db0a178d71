/* squeeze.c -- Squeeze: removes dims of size 1, those listed in `axes`
 * (attribute until opset 12, optional constant input 1 since 13) or all
 * of them when no axes are given. */
#include "drivers/eltwise.h"

/* Marks the dims to remove in drop[]. */
static keel_status squeezed_dims(kl_opctx *c, bool *drop)
{
    const kl_tensor *x = c->in[0];
    int64_t axes[KL_MAX_RANK];
    const int64_t *attr;
    int n = -1;
    keel_status st;
    if (c->opset < 13) {
        n = kl_attr_ints(c->node, "axes", &attr);
        if (n > KL_MAX_RANK)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "%d axes for rank %d", n, x->rank);
        if (n > 0)
            memcpy(axes, attr, (size_t)n * sizeof *attr);
    } else if (c->n_in > 1 && c->in[1] && kl_numel(c->in[1]) > 0 &&
               (st = kl_input_ints(c, 1, axes, KL_MAX_RANK, &n)) != KEEL_OK) {
        return st;
    }
    for (int d = 0; d < x->rank; d++)
        drop[d] = n < 0 && x->dims[d] == 1;
    for (int i = 0; i < n; i++) {
        int axis;
        if ((st = kl_norm_axis(c, axes[i], x->rank, &axis)) != KEEL_OK)
            return st;
        if (x->dims[axis] != 1)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "cannot squeeze axis %d of size %lld", axis,
                              (long long)x->dims[axis]);
        if (drop[axis])
            return kl_op_fail(c, KEEL_ERR_INVALID, "axis %d is listed twice", axis);
        drop[axis] = true;
    }
    return KEEL_OK;
}

static keel_status squeeze_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    bool drop[KL_MAX_RANK];
    int64_t dims[KL_MAX_RANK];
    int rank = 0;
    keel_status st = squeezed_dims(c, drop);
    if (st != KEEL_OK)
        return st;
    for (int d = 0; d < x->rank; d++)
        if (!drop[d])
            dims[rank++] = x->dims[d];
    kl_set_shape(c->out[0], x->dtype, rank, dims);
    return KEEL_OK;
}

static const kl_op squeeze_v1 = {.type = "Squeeze", .since = 1, .until = 12, .min_inputs = 1,
                                 .max_inputs = 1, .flags = KL_OP_VIEW, .infer = squeeze_infer,
                                 .run = kl_copy_input0, .batch = KL_BATCH_PER_IMAGE};
static const kl_op squeeze_v13 = {.type = "Squeeze", .since = 13, .min_inputs = 1, .max_inputs = 2,
                                  .flags = KL_OP_VIEW, .infer = squeeze_infer,
                                  .run = kl_copy_input0, .batch = KL_BATCH_PER_IMAGE};

const kl_op *const kl_opfile_squeeze[] = {&squeeze_v1, &squeeze_v13, NULL};
