/* constantofshape.c -- ConstantOfShape: a tensor of the shape given by
 * constant int64 input 0, every element equal to the one-element tensor
 * attribute `value` (default float 0). */
#include "drivers/eltwise.h"

/* The fill value: *dtype and a pointer to its bytes. */
static keel_status fill_value(kl_opctx *c, int *dtype, const void **bytes)
{
    static const float zero = 0;
    const kl_attr *a = kl_node_attr(c->node, "value");
    if (!a) {
        *dtype = KEEL_FLOAT;
        *bytes = &zero;
        return KEEL_OK;
    }
    if (a->type != KL_ATTR_TENSOR || !a->t || kl_numel(a->t) != 1)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute value must be a one-element tensor");
    if (!kl_dtype_supported(a->t->dtype))
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "value of type %s is not supported",
                          kl_dtype_name(a->t->dtype));
    *dtype = a->t->dtype;
    *bytes = a->t->data;
    return KEEL_OK;
}

static keel_status constantofshape_infer(kl_opctx *c)
{
    int64_t dims[KL_MAX_RANK], count;
    int rank, dtype = 0;
    const void *value = NULL;
    keel_status st = kl_input_ints(c, 0, dims, KL_MAX_RANK, &rank);
    if (st == KEEL_OK)
        st = fill_value(c, &dtype, &value);
    if (st != KEEL_OK)
        return st;
    if (!kl_checked_numel(rank, dims, &count))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "the shape has a negative dim or overflows");
    kl_set_shape(c->out[0], dtype, rank, dims);
    return KEEL_OK;
}

static keel_status constantofshape_run(kl_opctx *c)
{
    int dtype = 0;
    const void *value = NULL;
    keel_status st = fill_value(c, &dtype, &value);
    if (st == KEEL_OK)
        kl_fill(c->out[0]->data, kl_numel(c->out[0]), value, kl_dtype_size(dtype));
    return st;
}

static const kl_op constantofshape = {.type = "ConstantOfShape", .since = 9, .min_inputs = 1,
                                      .max_inputs = 1, .infer = constantofshape_infer,
                                      .run = constantofshape_run};

const kl_op *const kl_opfile_constantofshape[] = {&constantofshape, NULL};
