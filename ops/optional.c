/* optional.c -- Optional: an optional value holding its input, or, without
 * one, nothing (KEEL_NONE) of the type its `type` attribute declares. */
#include "drivers/sequence.h"

static keel_status optional_infer(kl_opctx *c)
{
    const kl_tensor *x = c->n_in ? c->in[0] : NULL;
    if (x) {
        if (x->rank < 0)
            return kl_op_needs_data(c, 0);
        if (x->dtype == KEEL_NONE)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "input 0 is an empty optional; an optional of an optional "
                              "is not an ONNX type");
        kl_value_set_shape(c, 0, x);
        return KEEL_OK;
    }
    const kl_attr *type = kl_node_attr(c->node, "type");
    if (!type || type->type != KL_ATTR_TYPE_PROTO || !type->tp || !type->tp->has_type)
        return kl_op_fail(c, KEEL_ERR_INVALID, "has no input and no 'type' attribute declaring a tensor or "
                          "sequence type");
    if (type->tp->optional)
        return kl_op_fail(c, KEEL_ERR_INVALID, "'type' declares an optional; an optional of an optional is not "
                          "an ONNX type");
    kl_set_shape(c->out[0], KEEL_NONE, 0, NULL);
    return KEEL_OK;
}

static keel_status optional_run(kl_opctx *c)
{
    const kl_tensor none = {.dtype = KEEL_NONE};
    return kl_value_give(c, 0, c->n_in && c->in[0] ? c->in[0] : &none);
}

static const kl_op optional = {.type = "Optional", .since = 15, .min_inputs = 0, .max_inputs = 1,
                               .flags = KL_OP_VALUES | KL_OP_NO_FOLD, .infer = optional_infer,
                               .run = optional_run};

const kl_op *const kl_opfile_optional[] = {&optional, NULL};
