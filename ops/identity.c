/* identity.c -- Identity: output = input (tensors of any type). */
#include "drivers/eltwise.h"

static keel_status identity_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    kl_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return KEEL_OK;
}

static const kl_op identity = {.type = "Identity", .since = 1, .min_inputs = 1, .max_inputs = 1,
                               .flags = KL_OP_VIEW, .infer = identity_infer, .run = kl_copy_input0};

const kl_op *const kl_opfile_identity[] = {&identity, NULL};
