/* size.c -- Size: the element count of the input, as an int64 scalar. */
#include "op.h"

static keel_status size_infer(kl_opctx *c)
{
    kl_set_shape(c->out[0], KEEL_INT64, 0, NULL);
    return KEEL_OK;
}

static keel_status size_run(kl_opctx *c)
{
    *(int64_t *)c->out[0]->data = kl_numel(c->in[0]);
    return KEEL_OK;
}

static const kl_op size_op = {.type = "Size", .since = 1, .min_inputs = 1, .max_inputs = 1,
                              .flags = KL_OP_SHAPE_ONLY, .infer = size_infer, .run = size_run};

const kl_op *const kl_opfile_size[] = {&size_op, NULL};
