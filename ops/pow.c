/* pow.c -- Pow: x ^ y with broadcasting; the output has x's type.  Since
 * opset 12 the exponent may have another type (float base, int exponent
 * and the reverse), so both are taken to double, raised, and converted
 * back; integer results truncate like Cast.
 *
 * A float32 base whose exponent is one value for every element (a scalar,
 * or all its elements equal, that a float holds exactly; LayerNorm's
 * Pow(x, 2)) goes through the kernel table's pow over the session's
 * threads instead: x * x, x * x * x, 1 / x, sqrtf and the like for the
 * exponents of kl_pow_kind, C's powf within KL_ULP_POW for the others
 * (ops/kernels/mathfn.h). */
#include <math.h>

#include "drivers/eltwise.h"
#include "kernels/kernels.h"
#include "kernels/mathfn.h"

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

/* Whether every element of y is the same value, one a float holds; *e
 * gets it. */
static bool uniform_exponent(const kl_tensor *y, float *e)
{
    int64_t n = kl_numel(y);
    size_t size = kl_dtype_size(y->dtype);
    const char *bytes = y->data;
    for (int64_t i = 1; i < n; i++)
        if (memcmp(bytes, bytes + (size_t)i * size, size))
            return false;
    double v;
    kl_convert(y->dtype, y->data, KEEL_DOUBLE, &v, 1);
    *e = (float)v;
    return n > 0 && (y->dtype == KEEL_FLOAT || (double)*e == v || isnan(v));
}

typedef struct pow_block_args {
    klk_pow_fn *pow;
    float e;
} pow_block_args;

static void pow_block(float *y, const float *x, size_t n, const void *arg)
{
    const pow_block_args *a = arg;
    a->pow(y, x, n, a->e);
}

/* The kernel table's path: a float base that fills the output (the
 * exponent broadcasts into it) and a uniform exponent. */
static bool pow_f32(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    pow_block_args a = {c->env->kern->pow.fn, 0};
    if (x->dtype != KEEL_FLOAT || kl_numel(c->out[0]) != kl_numel(x) || !uniform_exponent(c->in[1], &a.e))
        return false;
    kl_map_f32(c->pool, pow_block, &a, c->out[0]->data, x->data, kl_numel(x));
    return true;
}

static keel_status pow_run(kl_opctx *c)
{
    if (pow_f32(c))
        return KEEL_OK;
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
                             .infer = pow_infer, .run = pow_run, .scratch = pow_scratch, .batch = KL_BATCH_ELEMENTWISE};

const kl_op *const kl_opfile_pow[] = {&pow_op, NULL};
