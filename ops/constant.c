/* constant.c -- Constant: outputs the tensor held by attribute `value`,
 * or (opset 12+) by value_float, value_floats, value_int, value_ints,
 * value_string or value_strings (strings: a node planned at each run, its
 * value copied into a buffer of its own). */
#include "drivers/eltwise.h"
#include "../runtime/exec.h"

/* Points *v (dtype, shape, data) at the node's value attribute. */
static keel_status constant_value(kl_opctx *c, kl_tensor *v)
{
    static const char *const names[] = {"value", "value_float", "value_floats", "value_int",
                                        "value_ints", "value_string", "value_strings",
                                        "sparse_value"};
    const kl_attr *a = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const kl_attr *found = kl_node_attr(c->node, names[i]);
        if (found && a)
            return kl_op_fail(c, KEEL_ERR_INVALID, "has both %s and %s", a->name, found->name);
        if (found)
            a = found;
    }
    memset(v, 0, sizeof *v);
    if (!a)
        return kl_op_fail(c, KEEL_ERR_INVALID, "has no value attribute");
    if (c->opset < 12 && strcmp(a->name, "value") != 0)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute %s needs opset 12", a->name);
    switch (a->type) {
    case KL_ATTR_TENSOR:
        if (!a->t || !kl_dtype_supported(a->t->dtype))
            break;
        *v = *a->t;
        return KEEL_OK;
    case KL_ATTR_FLOAT:
        v->dtype = KEEL_FLOAT;
        v->data = (void *)&a->f;
        return KEEL_OK;
    case KL_ATTR_INT:
        v->dtype = KEEL_INT64;
        v->data = (void *)&a->i;
        return KEEL_OK;
    case KL_ATTR_FLOATS:
        kl_set_shape(v, KEEL_FLOAT, 1, &(int64_t){a->n});
        v->data = a->floats;
        return KEEL_OK;
    case KL_ATTR_INTS:
        kl_set_shape(v, KEEL_INT64, 1, &(int64_t){a->n});
        v->data = a->ints;
        return KEEL_OK;
    case KL_ATTR_STRING:
        v->dtype = KEEL_STRING;
        v->data = (void *)&a->s;
        return KEEL_OK;
    case KL_ATTR_STRINGS:
        kl_set_shape(v, KEEL_STRING, 1, &(int64_t){a->n});
        v->data = a->strings;
        return KEEL_OK;
    default:
        break;
    }
    return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "attribute %s holds a type keel does not support",
                      a->name);
}

static keel_status constant_infer(kl_opctx *c)
{
    kl_tensor v;
    keel_status st = constant_value(c, &v);
    if (st == KEEL_OK)
        kl_set_shape(c->out[0], v.dtype, v.rank, v.dims);
    return st;
}

static keel_status constant_run(kl_opctx *c)
{
    kl_tensor v;
    keel_status st = constant_value(c, &v);
    if (st == KEEL_OK && v.dtype == KEEL_STRING)
        return kl_out_value(c, 0, &v);
    if (st == KEEL_OK && kl_nbytes(&v) > 0)
        memcpy(c->out[0]->data, v.data, kl_nbytes(&v));
    return st;
}

static const kl_op constant = {.type = "Constant", .since = 1, .flags = KL_OP_VALUES,
                               .infer = constant_infer, .run = constant_run};

const kl_op *const kl_opfile_constant[] = {&constant, NULL};
