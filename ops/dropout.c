/* dropout.c -- Dropout as inference runs it: output 0 = input 0, and the
 * optional mask (output 1) all true.  The mask has the input's type before
 * opset 10, bool since.  Opsets 12+ take ratio (input 1, default 0.5) and
 * training_mode (input 2); training mode with a nonzero ratio drops at
 * random and is rejected.  Training mode with ratio 0 drops nothing and
 * runs.  When ratio or training_mode is a graph input, its value is only
 * known at run time: the node is then planned at run time and refuses
 * the run if the values ask for dropping. */
#include "drivers/eltwise.h"

static const kl_tensor *input(const kl_opctx *c, int i)
{
    return i < c->n_in && c->in[i] && kl_numel(c->in[i]) > 0 ? c->in[i] : NULL;
}

static double ratio_value(const kl_tensor *r)
{
    switch (r->dtype) {
    case KEEL_DOUBLE: return *(const double *)r->data;
    case KEEL_FLOAT16: return kl_half_to_float(*(const uint16_t *)r->data);
    default: return *(const float *)r->data;
    }
}

typedef enum { DROP_NEVER, DROP_UNKNOWN, DROP_RANDOM } drop_kind;

/* Whether the node drops elements: training_mode set and a ratio other
 * than 0 (the default 0.5 included); DROP_UNKNOWN while an input that
 * decides it has no data yet.  The runtime makes output 0 a view without
 * calling run(), so a node that might drop must not be planned before its
 * inputs' data is known. */
static drop_kind may_drop(const kl_opctx *c)
{
    const kl_tensor *ratio = input(c, 1), *training = input(c, 2);
    if (c->opset < 12 || !training)
        return DROP_NEVER;
    if (training->data && !*(const uint8_t *)training->data)
        return DROP_NEVER;
    if (ratio && ratio->data && ratio_value(ratio) == 0)
        return DROP_NEVER;
    if (!training->data || (ratio && !ratio->data))
        return DROP_UNKNOWN;
    return DROP_RANDOM;
}

static keel_status check_inputs(kl_opctx *c)
{
    const kl_tensor *ratio = input(c, 1), *training = input(c, 2);
    if (ratio && (kl_numel(ratio) != 1 || (ratio->dtype != KEEL_FLOAT &&
                                           ratio->dtype != KEEL_DOUBLE &&
                                           ratio->dtype != KEEL_FLOAT16)))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "ratio must be one floating-point value");
    if (training && (kl_numel(training) != 1 || training->dtype != KEEL_BOOL))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "training_mode must be one bool");
    return KEEL_OK;
}

static int mask_type(const kl_opctx *c)
{
    return c->opset < 10 ? c->in[0]->dtype : KEEL_BOOL;
}

/* "Kept" in the mask's type, NULL for a type without it here. */
static const void *mask_one(int type)
{
    static const uint8_t true_bool = 1;
    static const float one_float = 1;
    static const double one_double = 1;
    switch (type) {
    case KEEL_BOOL: return &true_bool;
    case KEEL_FLOAT: return &one_float;
    case KEEL_DOUBLE: return &one_double;
    default: return NULL;
    }
}

static keel_status dropout_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    keel_status st = check_inputs(c);
    if (st != KEEL_OK)
        return st;
    drop_kind drop = may_drop(c);
    if (drop == DROP_UNKNOWN) {
        /* the message stays if the runtime cannot defer the node */
        kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "training_mode or ratio is not known before the run");
        return KL_DEFERRED;
    }
    if (drop == DROP_RANDOM)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "training_mode is true and ratio is not 0: keel "
                          "only runs inference, not random dropping");
    if (c->n_out > 1 && c->out[1] && !mask_one(mask_type(c)))
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "a mask of type %s is not supported",
                          kl_dtype_name(mask_type(c)));
    kl_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    if (c->n_out > 1 && c->out[1])
        kl_set_shape(c->out[1], mask_type(c), x->rank, x->dims);
    return KEEL_OK;
}

/* Copies the data and fills the mask.  The runtime skips this when
 * output 0 is a view, which is only right when there is no mask. */
static keel_status dropout_run(kl_opctx *c)
{
    kl_copy_input0(c);
    kl_tensor *mask = c->n_out > 1 ? c->out[1] : NULL;
    if (mask)
        kl_fill(mask->data, kl_numel(mask), mask_one(mask->dtype), kl_dtype_size(mask->dtype));
    return KEEL_OK;
}

static const kl_op dropout_v1 = {.type = "Dropout", .since = 1, .until = 11, .min_inputs = 1,
                                 .max_inputs = 1, .flags = KL_OP_VIEW, .infer = dropout_infer,
                                 .run = dropout_run, .batch = KL_BATCH_ELEMENTWISE};
static const kl_op dropout_v12 = {.type = "Dropout", .since = 12, .min_inputs = 1, .max_inputs = 3,
                                  .flags = KL_OP_VIEW, .infer = dropout_infer, .run = dropout_run,
                                  .batch = KL_BATCH_ELEMENTWISE};

const kl_op *const kl_opfile_dropout[] = {&dropout_v1, &dropout_v12, NULL};
