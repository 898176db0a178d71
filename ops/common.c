/* common.c -- helpers shared by operator implementations. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "drivers/eltwise.h"

keel_status kl_op_fail(kl_opctx *c, keel_status status, const char *fmt, ...)
{
    char what[KL_ERRMSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const kl_node *n = c->node;
    return kl_error(c->env, status, "node %d '%s' (%s): %s", n->file_index, n->name,
                    n->op_type, what);
}

bool kl_axis_not_batch(const kl_opctx *c, int64_t dflt)
{
    const int64_t axis = kl_attr_int(c->node, "axis", dflt), rank = c->in[0]->rank;
    return (axis < 0 ? axis + rank : axis) != 0;
}

int64_t kl_attr_int(const kl_node *n, const char *name, int64_t dflt)
{
    const kl_attr *a = kl_node_attr(n, name);
    return a && a->type == KL_ATTR_INT ? a->i : dflt;
}

float kl_attr_float(const kl_node *n, const char *name, float dflt)
{
    const kl_attr *a = kl_node_attr(n, name);
    return a && a->type == KL_ATTR_FLOAT ? a->f : dflt;
}

const char *kl_attr_str(const kl_node *n, const char *name, const char *dflt)
{
    const kl_attr *a = kl_node_attr(n, name);
    return a && a->type == KL_ATTR_STRING ? a->s : dflt;
}

int kl_attr_ints(const kl_node *n, const char *name, const int64_t **vals)
{
    const kl_attr *a = kl_node_attr(n, name);
    if (!a || a->type != KL_ATTR_INTS)
        return -1;
    *vals = a->ints;
    return a->n;
}

int kl_attr_floats(const kl_node *n, const char *name, const float **vals)
{
    const kl_attr *a = kl_node_attr(n, name);
    if (!a || a->type != KL_ATTR_FLOATS)
        return -1;
    *vals = a->floats;
    return a->n;
}

bool kl_attr_has(const kl_node *n, const char *name)
{
    return kl_node_attr(n, name) != NULL;
}

keel_status kl_op_needs_data(kl_opctx *c, int i)
{
    /* the message stays if the runtime cannot defer (e.g. an input went missing) */
    kl_op_fail(c, KEEL_ERR_UNSUPPORTED,
               "the output shape depends on the data of input %d, which is not known", i);
    return KL_DEFERRED;
}

keel_status kl_input_ints(kl_opctx *c, int i, int64_t *vals, int cap, int *n)
{
    const kl_tensor *t = i < c->n_in ? c->in[i] : NULL;
    if (!t)
        return kl_op_fail(c, KEEL_ERR_INVALID, "input %d is missing", i);
    if (!t->data)
        return kl_op_needs_data(c, i);
    if (t->dtype != KEEL_INT64 && t->dtype != KEEL_INT32)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input %d must be int64 or int32, not %s", i,
                          kl_dtype_name(t->dtype));
    if (t->rank > 1)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input %d must be a 1-D list of integers", i);
    int64_t count = kl_numel(t);
    if (count > cap)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input %d has %lld values, more than %d", i,
                          (long long)count, cap);
    for (int64_t k = 0; k < count; k++)
        vals[k] = t->dtype == KEEL_INT64 ? ((const int64_t *)t->data)[k]
                                         : ((const int32_t *)t->data)[k];
    *n = (int)count;
    return KEEL_OK;
}

keel_status kl_norm_axis(kl_opctx *c, int64_t axis, int rank, int *out)
{
    if (axis < -rank || axis >= (rank > 0 ? rank : 1))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "axis %lld is out of range for rank %d",
                          (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return KEEL_OK;
}

void kl_set_shape(kl_tensor *out, int dtype, int rank, const int64_t *dims)
{
    out->dtype = dtype;
    out->rank = rank;
    for (int i = 0; i < rank; i++)
        out->dims[i] = dims[i];
}

keel_status kl_broadcast_shape(kl_opctx *c, const kl_tensor *a, const kl_tensor *b, int *rank,
                               int64_t *dims)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            char sa[128], sb[128];
            return kl_op_fail(c, KEEL_ERR_SHAPE, "shapes %s and %s do not broadcast",
                              kl_shape_str(a, sa, sizeof sa), kl_shape_str(b, sb, sizeof sb));
        }
        dims[i] = da == 1 ? db : da;
    }
    *rank = r;
    return KEEL_OK;
}

keel_status kl_require_dtype(kl_opctx *c, int i, const int *dtypes)
{
    const kl_tensor *t = i < c->n_in ? c->in[i] : NULL;
    if (!t)
        return kl_op_fail(c, KEEL_ERR_INVALID, "input %d is missing", i);
    for (const int *d = dtypes; *d; d++)
        if (t->dtype == *d)
            return KEEL_OK;
    return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "input %d has type %s, which this op does not take",
                      i, kl_dtype_name(t->dtype));
}

keel_status kl_checked_count(kl_opctx *c, double v, const char *what, int64_t *out)
{
    if (isnan(v))
        return kl_op_fail(c, KEEL_ERR_INVALID, "%s is NaN", what);
    if (v >= 0x1p63) /* no int64 holds it, and no tensor has that many elements */
        return kl_op_fail(c, KEEL_ERR_LIMIT, "%s %g exceeds the tensor size limit", what, v);
    *out = v > 0 ? (int64_t)v : 0;
    return KEEL_OK;
}
