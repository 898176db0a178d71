/* nonzero.c -- NonZero: the coordinates of the non-zero elements, int64
 * [rank, count] in row-major order; the count depends on the data, so
 * the node is planned once the input is known. */
#include <string.h>

#include "op.h"

static bool nonzero_at(const kl_tensor *t, int64_t i, size_t es)
{
    const unsigned char *p = (const unsigned char *)t->data + (size_t)i * es;
    if (t->dtype == KEEL_FLOAT) { /* -0.0 is zero */
        float f;
        memcpy(&f, p, sizeof f);
        return f != 0;
    }
    if (t->dtype == KEEL_DOUBLE) {
        double d;
        memcpy(&d, p, sizeof d);
        return d != 0;
    }
    if (t->dtype == KEEL_FLOAT16 || t->dtype == KEEL_BFLOAT16)
        return (p[0] | (p[1] & 0x7f)) != 0;
    for (size_t b = 0; b < es; b++)
        if (p[b])
            return true;
    return false;
}

static int64_t count(const kl_tensor *t)
{
    size_t es = kl_dtype_size(t->dtype);
    int64_t n = 0, total = kl_numel(t);
    for (int64_t i = 0; i < total; i++)
        n += nonzero_at(t, i, es);
    return n;
}

static keel_status nonzero_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    if (!x->data)
        return kl_op_needs_data(c, 0);
    int64_t dims[2] = {x->rank, count(x)};
    kl_set_shape(c->out[0], KEEL_INT64, 2, dims);
    return KEEL_OK;
}

static keel_status nonzero_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    int64_t *out = c->out[0]->data, n = c->out[0]->dims[1], k = 0, total = kl_numel(x);
    int64_t idx[KL_MAX_RANK] = {0};
    size_t es = kl_dtype_size(x->dtype);
    for (int64_t i = 0; i < total; i++) {
        if (nonzero_at(x, i, es)) {
            for (int d = 0; d < x->rank; d++)
                out[d * n + k] = idx[d];
            k++;
        }
        for (int d = x->rank - 1; d >= 0; d--) {
            if (++idx[d] < x->dims[d])
                break;
            idx[d] = 0;
        }
    }
    return KEEL_OK;
}

static const kl_op nonzero = {.type = "NonZero", .since = 9, .min_inputs = 1, .max_inputs = 1,
                              .infer = nonzero_infer, .run = nonzero_run};

const kl_op *const kl_opfile_nonzero[] = {&nonzero, NULL};
