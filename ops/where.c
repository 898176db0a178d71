/* where.c -- Where: x where cond is true, else y, the three broadcast
 * numpy-style together; any element type. */
#include <string.h>

#include "drivers/eltwise.h"

static keel_status where_infer(kl_opctx *c)
{
    const kl_tensor *cond = c->in[0], *x = c->in[1], *y = c->in[2];
    if (cond->dtype != KEEL_BOOL)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "condition must be bool, not %s", kl_dtype_name(cond->dtype));
    if (x->dtype != y->dtype)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "X is %s and Y %s", kl_dtype_name(x->dtype), kl_dtype_name(y->dtype));
    kl_tensor shape = *cond;
    keel_status st = kl_broadcast_shape(c, &shape, x, &shape.rank, shape.dims);
    if (!st)
        st = kl_broadcast_shape(c, &shape, y, &shape.rank, shape.dims);
    if (!st)
        kl_set_shape(c->out[0], x->dtype, shape.rank, shape.dims);
    return st;
}

/* Element strides of t seen through out's shape: 0 along broadcast dims. */
static void broadcast_strides(const kl_tensor *t, const kl_tensor *out, int64_t *strides)
{
    int64_t s = 1;
    for (int d = out->rank - 1; d >= 0; d--) {
        int td = d - (out->rank - t->rank);
        int64_t dim = td >= 0 ? t->dims[td] : 1;
        strides[d] = dim == 1 ? 0 : s;
        s *= dim;
    }
}

static keel_status where_run(kl_opctx *c)
{
    const kl_tensor *cond = c->in[0], *x = c->in[1], *y = c->in[2];
    kl_tensor *out = c->out[0];
    int64_t sc[KL_MAX_RANK], sx[KL_MAX_RANK], sy[KL_MAX_RANK], idx[KL_MAX_RANK] = {0};
    broadcast_strides(cond, out, sc);
    broadcast_strides(x, out, sx);
    broadcast_strides(y, out, sy);
    size_t es = kl_dtype_size(out->dtype);
    int64_t n = kl_numel(out), oc = 0, ox = 0, oy = 0;
    const uint8_t *cv = cond->data;
    for (int64_t i = 0; i < n; i++) {
        const void *src = cv[oc] ? (const char *)x->data + (size_t)ox * es : (const char *)y->data + (size_t)oy * es;
        memcpy((char *)out->data + (size_t)i * es, src, es);
        for (int d = out->rank - 1; d >= 0; d--) { /* odometer */
            oc += sc[d];
            ox += sx[d];
            oy += sy[d];
            if (++idx[d] < out->dims[d])
                break;
            oc -= sc[d] * out->dims[d];
            ox -= sx[d] * out->dims[d];
            oy -= sy[d] * out->dims[d];
            idx[d] = 0;
        }
    }
    return KEEL_OK;
}

static const kl_op where = {.type = "Where", .since = 9, .min_inputs = 3, .max_inputs = 3,
                            .infer = where_infer, .run = where_run};

const kl_op *const kl_opfile_where[] = {&where, NULL};
