/* optionalhaselement.c -- OptionalHasElement: whether an optional value
 * holds something, as a bool scalar (opset 18: an absent input, or a
 * tensor or sequence given as it is, too). */
#include "drivers/sequence.h"

static keel_status has_infer(kl_opctx *c)
{
    if (c->n_in && c->in[0] && c->in[0]->rank < 0)
        return kl_op_needs_data(c, 0);
    kl_set_shape(c->out[0], KEEL_BOOL, 0, NULL);
    return KEEL_OK;
}

static keel_status has_run(kl_opctx *c)
{
    *(uint8_t *)c->out[0]->data = c->n_in && c->in[0] && c->in[0]->dtype != KEEL_NONE;
    return KEEL_OK;
}

static const kl_op has_15 = {.type = "OptionalHasElement", .since = 15, .until = 17, .min_inputs = 1,
                             .max_inputs = 1, .flags = KL_OP_VALUES, .infer = has_infer, .run = has_run};
static const kl_op has_18 = {.type = "OptionalHasElement", .since = 18, .min_inputs = 0, .max_inputs = 1,
                             .flags = KL_OP_VALUES, .infer = has_infer, .run = has_run};

const kl_op *const kl_opfile_optionalhaselement[] = {&has_15, &has_18, NULL};
