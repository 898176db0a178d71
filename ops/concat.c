/* concat.c -- Concat: joins tensors of any type along `axis` (required
 * since opset 4, default 1 before; negative since 11). */
#include "drivers/eltwise.h"

static keel_status concat_axis(kl_opctx *c, int *axis)
{
    if (c->opset >= 4 && !kl_attr_has(c->node, "axis"))
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute axis is required");
    return kl_norm_axis(c, kl_attr_int(c->node, "axis", 1), c->in[0]->rank, axis);
}

/* Input i must match input 0 except along the axis. */
static keel_status check_input(kl_opctx *c, int i, int axis)
{
    const kl_tensor *first = c->in[0], *t = c->in[i];
    char s0[128], si[128];
    if (!t)
        return kl_op_fail(c, KEEL_ERR_INVALID, "input %d is missing", i);
    if (t->dtype != first->dtype)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input %d has type %s, input 0 has %s", i,
                          kl_dtype_name(t->dtype), kl_dtype_name(first->dtype));
    bool fits = t->rank == first->rank;
    for (int d = 0; fits && d < t->rank; d++)
        fits = d == axis || t->dims[d] == first->dims[d];
    if (!fits)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input %d %s does not fit input 0 %s on axis %d", i,
                          kl_shape_str(t, si, sizeof si), kl_shape_str(first, s0, sizeof s0),
                          axis);
    return KEEL_OK;
}

static keel_status concat_infer(kl_opctx *c)
{
    if (!c->in[0])
        return kl_op_fail(c, KEEL_ERR_INVALID, "input 0 is missing");
    if (c->in[0]->rank == 0)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "cannot concatenate scalars");
    int axis;
    keel_status st = concat_axis(c, &axis);
    if (st != KEEL_OK)
        return st;
    int64_t dims[KL_MAX_RANK], total = 0;
    for (int i = 0; i < c->n_in; i++) {
        if ((st = check_input(c, i, axis)) != KEEL_OK)
            return st;
        if (c->in[i]->dims[axis] > INT64_MAX - total)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "the concatenated dimension overflows");
        total += c->in[i]->dims[axis];
    }
    memcpy(dims, c->in[0]->dims, sizeof dims);
    dims[axis] = total;
    kl_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, dims);
    return KEEL_OK;
}

/* For each index before the axis, each input contributes one contiguous
 * block: its dims from the axis on. */
static keel_status concat_run(kl_opctx *c)
{
    const kl_tensor *out = c->out[0];
    int axis;
    kl_norm_axis(c, kl_attr_int(c->node, "axis", 1), out->rank, &axis);
    if (kl_numel(out) == 0)
        return KEEL_OK;
    size_t esize = kl_dtype_size(out->dtype);
    int64_t outer = kl_dims_product(out->dims, 0, axis);
    char *dst = out->data;
    for (int64_t o = 0; o < outer; o++)
        for (int i = 0; i < c->n_in; i++) {
            const kl_tensor *t = c->in[i];
            size_t block = (size_t)kl_dims_product(t->dims, axis, t->rank) * esize;
            const char *src = (const char *)t->data + (size_t)o * block;
            if (block && src != dst) /* else planned in place (plan_concat) */
                memcpy(dst, src, block);
            dst += block;
        }
    return KEEL_OK;
}

/* Output 0 is the inputs laid end to end along the axis. */
static int concat_slice_axis(const kl_opctx *c)
{
    const int rank = c->out[0]->rank;
    int64_t axis = kl_attr_int(c->node, "axis", 1);
    axis = axis < 0 ? axis + rank : axis;
    return axis >= 0 && axis < rank ? (int)axis : -1;
}

static bool concat_images_apart(const kl_opctx *c)
{
    return kl_axis_not_batch(c, 0);
}

static const kl_op concat = {.type = "Concat", .since = 1, .min_inputs = 1, .max_inputs = -1,
                             .infer = concat_infer, .run = concat_run, .slice_axis = concat_slice_axis,
                             .batch = KL_BATCH_ELEMENTWISE, .images_apart = concat_images_apart};

const kl_op *const kl_opfile_concat[] = {&concat, NULL};
