/* unsqueeze.c -- Unsqueeze: inserts dims of size 1 at `axes` (positions in
 * the output; attribute until opset 12, constant input 1 since 13). */
#include "drivers/eltwise.h"

static keel_status read_axes(kl_opctx *c, int64_t *axes, int *n)
{
    if (c->opset >= 13)
        return kl_input_ints(c, 1, axes, KL_MAX_RANK, n);
    const int64_t *attr;
    *n = kl_attr_ints(c->node, "axes", &attr);
    if (*n < 0)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute axes is missing");
    if (*n > KL_MAX_RANK)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "%d axes make a rank above %d", *n, KL_MAX_RANK);
    memcpy(axes, attr, (size_t)*n * sizeof *attr);
    return KEEL_OK;
}

static keel_status unsqueeze_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    int64_t axes[KL_MAX_RANK], dims[KL_MAX_RANK];
    bool inserted[KL_MAX_RANK] = {false};
    int n;
    keel_status st = read_axes(c, axes, &n);
    if (st != KEEL_OK)
        return st;
    int rank = x->rank + n;
    if (rank > KL_MAX_RANK)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "the output's rank %d is above %d", rank,
                          KL_MAX_RANK);
    for (int i = 0; i < n; i++) {
        int axis;
        if ((st = kl_norm_axis(c, axes[i], rank, &axis)) != KEEL_OK)
            return st;
        if (inserted[axis])
            return kl_op_fail(c, KEEL_ERR_INVALID, "axis %d is listed twice", axis);
        inserted[axis] = true;
    }
    for (int d = 0, from = 0; d < rank; d++)
        dims[d] = inserted[d] ? 1 : x->dims[from++];
    kl_set_shape(c->out[0], x->dtype, rank, dims);
    return KEEL_OK;
}

static const kl_op unsqueeze_v1 = {.type = "Unsqueeze", .since = 1, .until = 12, .min_inputs = 1,
                                   .max_inputs = 1, .flags = KL_OP_VIEW, .infer = unsqueeze_infer,
                                   .run = kl_copy_input0, .batch = KL_BATCH_PER_IMAGE};
static const kl_op unsqueeze_v13 = {.type = "Unsqueeze", .since = 13, .min_inputs = 2,
                                    .max_inputs = 2, .flags = KL_OP_VIEW, .infer = unsqueeze_infer,
                                    .run = kl_copy_input0, .batch = KL_BATCH_PER_IMAGE};

const kl_op *const kl_opfile_unsqueeze[] = {&unsqueeze_v1, &unsqueeze_v13, NULL};
