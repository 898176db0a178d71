/* reshape.c -- Reshape: the same elements under a new shape.  Opsets 1-4
 * take the shape as attribute `shape`, 5+ as constant input 1.  A 0 copies
 * the input's dim at that position (unless allowzero=1, opset 14+), one -1
 * is inferred from the element count. */
#include "drivers/eltwise.h"

static keel_status requested_shape(kl_opctx *c, int64_t *req, int *n)
{
    if (c->opset >= 5)
        return kl_input_ints(c, 1, req, KL_MAX_RANK, n);
    const int64_t *v;
    *n = kl_attr_ints(c->node, "shape", &v);
    if (*n < 0)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute shape is missing");
    if (*n > KL_MAX_RANK)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "shape has %d dims, more than %d", *n, KL_MAX_RANK);
    memcpy(req, v, (size_t)*n * sizeof *v);
    return KEEL_OK;
}

static keel_status reshape_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    bool allowzero = c->opset >= 14 && kl_attr_int(c->node, "allowzero", 0);
    int64_t dims[KL_MAX_RANK], known;
    int n, unknown = -1;
    keel_status st = requested_shape(c, dims, &n);
    if (st != KEEL_OK)
        return st;
    for (int i = 0; i < n; i++) {
        if (dims[i] == -1) {
            if (unknown >= 0)
                return kl_op_fail(c, KEEL_ERR_SHAPE, "shape has more than one -1");
            unknown = i;
            dims[i] = 1; /* for now, so the product below skips it */
        } else if (dims[i] == 0 && !allowzero) {
            if (i >= x->rank)
                return kl_op_fail(c, KEEL_ERR_SHAPE, "shape copies dim %d, but the input has rank %d",
                                  i, x->rank);
            dims[i] = x->dims[i];
        } else if (dims[i] < 0) {
            return kl_op_fail(c, KEEL_ERR_SHAPE, "shape has a negative dim %lld",
                              (long long)dims[i]);
        }
    }
    int64_t count = kl_numel(x);
    if (!kl_checked_numel(n, dims, &known))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "shape's element count overflows");
    if (unknown >= 0) {
        if (known == 0 || count % known != 0)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "cannot infer the -1 in the shape: %lld elements "
                              "into parts of %lld", (long long)count, (long long)known);
        dims[unknown] = count / known;
    } else if (known != count) {
        return kl_op_fail(c, KEEL_ERR_SHAPE, "shape holds %lld elements, the input %lld",
                          (long long)known, (long long)count);
    }
    kl_set_shape(c->out[0], x->dtype, n, dims);
    return KEEL_OK;
}

static const kl_op reshape_v1 = {.type = "Reshape", .since = 1, .until = 4, .min_inputs = 1,
                                 .max_inputs = 1, .flags = KL_OP_VIEW, .infer = reshape_infer,
                                 .run = kl_copy_input0, .batch = KL_BATCH_PER_IMAGE};
static const kl_op reshape_v5 = {.type = "Reshape", .since = 5, .min_inputs = 2, .max_inputs = 2,
                                 .flags = KL_OP_VIEW, .infer = reshape_infer,
                                 .run = kl_copy_input0, .batch = KL_BATCH_PER_IMAGE};

const kl_op *const kl_opfile_reshape[] = {&reshape_v1, &reshape_v5, NULL};
