/* identity.c -- Identity: output = input (tensors of any type, sequences,
 * optional values). */
#include "drivers/sequence.h"

static keel_status identity_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    if (kl_dtype_boxed(x->dtype) && x->rank < 0)
        return kl_op_needs_data(c, 0);
    kl_value_set_shape(c, 0, x);
    return KEEL_OK;
}

static keel_status identity_run(kl_opctx *c)
{
    return kl_value_give(c, 0, c->in[0]);
}

static const kl_op identity = {.type = "Identity", .since = 1, .min_inputs = 1, .max_inputs = 1,
                               .flags = KL_OP_VIEW | KL_OP_VALUES, .infer = identity_infer, .run = identity_run,
                               .batch = KL_BATCH_ELEMENTWISE};

const kl_op *const kl_opfile_identity[] = {&identity, NULL};
