/* pow.c -- Pow: x ^ y with broadcasting; the output has x's type.  Since
 * opset 12 the exponent may have another type (float base, int exponent
 * and the reverse), so both are taken to double, raised, and converted
 * back; integer results truncate like Cast. */
#include <math.h>

#include "drivers/eltwise.h"

#define POW_F64(T, U, x, y) pow(x, y)

KL_BINARY_FN(pow_f64, double, double, POW_F64)

static const int pow_types[] = {KEEL_FLOAT, KEEL_DOUBLE, KEEL_FLOAT16, KEEL_INT32, KEEL_INT64, KEEL_INT8,
                                KEEL_INT16, KEEL_UINT8, KEEL_UINT16, KEEL_UINT32, KEEL_UINT64, 0};

static keel_status pow_infer(kl_opctx *c)
{
    keel_status st = kl_require_dtype(c, 0, pow_types);
    if (!st)
        st = kl_require_dtype(c, 1, pow_types);
    if (!st && c->opset < 12 && c->in[0]->dtype != c->in[1]->dtype)
        st = kl_op_fail(c, KEEL_ERR_SHAPE, "base and exponent types differ before opset 12");
    if (st)
        return st;
    int rank;
    int64_t dims[KL_MAX_RANK];
    if ((st = kl_broadcast_shape(c, c->in[0], c->in[1], &rank, dims)))
        return st;
    kl_set_shape(c->out[0], c->in[0]->dtype, rank, dims);
    return KEEL_OK;
}

/* double copies of x, y and the result */
static size_t pow_scratch(kl_opctx *c)
{
    return (size_t)(kl_numel(c->in[0]) + kl_numel(c->in[1]) + kl_numel(c->out[0])) * sizeof(double);
}

static keel_status pow_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0], *y = c->in[1];
    kl_tensor *out = c->out[0];
    double *buf = c->scratch;
    kl_tensor xd = *x, yd = *y, od = *out;
    xd.dtype = yd.dtype = od.dtype = KEEL_DOUBLE;
    xd.data = buf;
    yd.data = buf + kl_numel(x);
    od.data = buf + kl_numel(x) + kl_numel(y);
    kl_convert(x->dtype, x->data, KEEL_DOUBLE, xd.data, kl_numel(x));
    kl_convert(y->dtype, y->data, KEEL_DOUBLE, yd.data, kl_numel(y));
    kl_binary_into(pow_f64, &od, &xd, &yd);
    kl_convert(KEEL_DOUBLE, od.data, out->dtype, out->data, kl_numel(out));
    return KEEL_OK;
}

static const kl_op pow_op = {.type = "Pow", .since = 1, .min_inputs = 2, .max_inputs = 2,
                             .infer = pow_infer, .run = pow_run, .scratch = pow_scratch};

const kl_op *const kl_opfile_pow[] = {&pow_op, NULL};
