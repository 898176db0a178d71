/* optionalgetelement.c -- OptionalGetElement: the value an optional holds
 * (failing on an empty one); opset 18 passes a tensor or sequence given
 * as it is through. */
#include "drivers/sequence.h"

static keel_status get_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    if (x->rank < 0)
        return kl_op_needs_data(c, 0);
    if (x->dtype == KEEL_NONE)
        return kl_op_fail(c, KEEL_ERR_RUNTIME, "the optional input holds nothing");
    kl_value_set_shape(c, 0, x);
    return KEEL_OK;
}

static keel_status get_run(kl_opctx *c)
{
    return kl_value_give(c, 0, c->in[0]);
}

static const kl_op get = {.type = "OptionalGetElement", .since = 15, .min_inputs = 1, .max_inputs = 1,
                          .flags = KL_OP_VALUES, .infer = get_infer, .run = get_run};

const kl_op *const kl_opfile_optionalgetelement[] = {&get, NULL};
