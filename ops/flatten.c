/* flatten.c -- Flatten: [d0..d(axis-1), d(axis)..] -> 2-D [outer, inner].
 * axis defaults to 1 and may equal the rank; negative since opset 11. */
#include "drivers/eltwise.h"

static keel_status flatten_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    int64_t axis = kl_attr_int(c->node, "axis", 1);
    int64_t lowest = c->opset >= 11 ? -x->rank : 0;
    if (axis < lowest || axis > x->rank)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "axis %lld is out of range for rank %d",
                          (long long)axis, x->rank);
    if (axis < 0)
        axis += x->rank;
    int64_t dims[2] = {kl_dims_product(x->dims, 0, (int)axis),
                       kl_dims_product(x->dims, (int)axis, x->rank)};
    kl_set_shape(c->out[0], x->dtype, 2, dims);
    return KEEL_OK;
}

static const kl_op flatten = {.type = "Flatten", .since = 1, .min_inputs = 1, .max_inputs = 1,
                              .flags = KL_OP_VIEW, .infer = flatten_infer, .run = kl_copy_input0,
                              .batch = KL_BATCH_PER_IMAGE};

const kl_op *const kl_opfile_flatten[] = {&flatten, NULL};
