/* split.c -- Split: cuts a tensor of any type along `axis` (default 0)
 * into the node's outputs.  The sizes come from attribute `split` (opsets
 * 1-12; opset 1 also took them as input 1) or input 1 (13+); without them
 * the parts are equal, or with num_outputs (18+) ceil(dim / n) each and
 * the last smaller. */
#include "drivers/eltwise.h"

/* The explicit split sizes, if any: *count = -1 when none were given. */
static keel_status split_list(kl_opctx *c, const int64_t **sizes, int *count)
{
    *count = -1;
    const kl_tensor *t = c->n_in > 1 ? c->in[1] : NULL;
    if (t && kl_numel(t) > 0) { /* opset 1 or 13+ */
        if (!t->data)
            return kl_op_fail(c, KEEL_ERR_UNSUPPORTED,
                              "input split must be a constant (computable at session creation)");
        if (t->dtype != KEEL_INT64 || t->rank != 1)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "input split must be a 1-D int64 tensor");
        *sizes = t->data;
        *count = (int)t->dims[0];
    } else if (c->opset < 13) {
        *count = kl_attr_ints(c->node, "split", sizes);
    }
    return KEEL_OK;
}

/* Size of each output along the axis when no sizes are listed. */
static keel_status equal_part(kl_opctx *c, int64_t dim, int64_t *part)
{
    int64_t n = c->n_out;
    if (c->opset >= 18 && kl_attr_has(c->node, "num_outputs")) {
        if (kl_attr_int(c->node, "num_outputs", 0) != n)
            return kl_op_fail(c, KEEL_ERR_INVALID, "num_outputs is %lld but the node has %lld outputs",
                              (long long)kl_attr_int(c->node, "num_outputs", 0), (long long)n);
        *part = (dim + n - 1) / n;
        return KEEL_OK;
    }
    if (dim % n != 0)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "dimension %lld does not split into %lld equal parts",
                          (long long)dim, (long long)n);
    *part = dim / n;
    return KEEL_OK;
}

static keel_status split_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    int axis, count;
    const int64_t *sizes = NULL;
    keel_status st = kl_norm_axis(c, kl_attr_int(c->node, "axis", 0), x->rank, &axis);
    if (st == KEEL_OK && x->rank == 0)
        st = kl_op_fail(c, KEEL_ERR_SHAPE, "cannot split a scalar");
    if (st == KEEL_OK)
        st = split_list(c, &sizes, &count);
    if (st != KEEL_OK)
        return st;
    int64_t dim = x->dims[axis], part = 0, left = dim;
    if (count >= 0 && count != c->n_out)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "%d split sizes for %d outputs", count, c->n_out);
    if (count < 0 && (st = equal_part(c, dim, &part)) != KEEL_OK)
        return st;
    int64_t dims[KL_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    for (int k = 0; k < c->n_out; k++) {
        dims[axis] = count >= 0 ? sizes[k] : part < left ? part : left;
        if (dims[axis] < 0 || dims[axis] > left)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "split sizes do not add up to dimension %lld",
                              (long long)dim);
        left -= dims[axis];
        if (!c->out[k]) /* run() takes the parts' sizes from the outputs */
            return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "output %d is omitted", k);
        kl_set_shape(c->out[k], x->dtype, x->rank, dims);
    }
    if (left != 0)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "split sizes add up to %lld, not dimension %lld",
                          (long long)(dim - left), (long long)dim);
    return KEEL_OK;
}

/* For each index before the axis, the input holds one contiguous block
 * per output, in order. */
static keel_status split_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    int axis;
    kl_norm_axis(c, kl_attr_int(c->node, "axis", 0), x->rank, &axis);
    size_t slab = (size_t)kl_dims_product(x->dims, axis + 1, x->rank) * kl_dtype_size(x->dtype);
    int64_t outer = kl_dims_product(x->dims, 0, axis);
    if (kl_numel(x) == 0)
        return KEEL_OK;
    const char *src = x->data;
    for (int64_t o = 0; o < outer; o++)
        for (int k = 0; k < c->n_out; k++) {
            const kl_tensor *y = c->out[k];
            size_t block = (size_t)y->dims[axis] * slab;
            if (block)
                memcpy((char *)y->data + (size_t)o * block, src, block);
            src += block;
        }
    return KEEL_OK;
}

static bool split_images_apart(const kl_opctx *c)
{
    return kl_axis_not_batch(c, 0);
}

static const kl_op split_v1 = {.type = "Split", .since = 1, .until = 1, .min_inputs = 1,
                               .max_inputs = 2, .infer = split_infer, .run = split_run,
                               .batch = KL_BATCH_PER_IMAGE, .images_apart = split_images_apart};
static const kl_op split_v2 = {.type = "Split", .since = 2, .until = 12, .min_inputs = 1,
                               .max_inputs = 1, .infer = split_infer, .run = split_run,
                               .batch = KL_BATCH_PER_IMAGE, .images_apart = split_images_apart};
static const kl_op split_v13 = {.type = "Split", .since = 13, .until = 17, .min_inputs = 1,
                                .max_inputs = 2, .infer = split_infer, .run = split_run,
                                .batch = KL_BATCH_PER_IMAGE, .images_apart = split_images_apart};
static const kl_op split_v18 = {.type = "Split", .since = 18, .min_inputs = 1, .max_inputs = 2,
                                .infer = split_infer, .run = split_run,
                                .batch = KL_BATCH_PER_IMAGE, .images_apart = split_images_apart};

const kl_op *const kl_opfile_split[] = {&split_v1, &split_v2, &split_v13, &split_v18, NULL};
