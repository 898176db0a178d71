/* prelu.c -- PRelu: x where x >= 0, slope * x below, the slope broadcast to
 * x's shape (opset 7 on, one way: the output has x's shape).  Opsets 1-6
 * take a 1-D slope of x's channel count per channel (axis 1). */
#include "drivers/eltwise.h"

/* x < 0 is constant false for the unsigned kernels (PRelu is the identity
 * there), which gcc would warn about. */
#pragma GCC diagnostic ignored "-Wtype-limits"

#define PRELU_FLOAT(T, U, x, s) ((x) < 0 ? (x) * (s) : (x))
#define PRELU_INT(T, U, x, s) ((x) < 0 ? (T)((U)(x) * (U)(s)) : (x))

KL_BINARY_KERNELS(prelu, PRELU_FLOAT, PRELU_INT)

/* The slope as the kernels see it: a legacy per-channel [C] slope is
 * viewed as [C, 1, ..., 1] so it lines up with axis 1. */
static kl_tensor slope_view(const kl_opctx *c)
{
    kl_tensor s = *c->in[1];
    const kl_tensor *x = c->in[0];
    if (c->opset < 7 && s.rank == 1 && x->rank > 2 && s.dims[0] == x->dims[1] && s.dims[0] != 1) {
        s.rank = x->rank - 1;
        for (int d = 1; d < s.rank; d++)
            s.dims[d] = 1;
    }
    return s;
}

static keel_status prelu_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    kl_tensor s = slope_view(c);
    if (s.dtype != x->dtype)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "slope is %s; x is %s", kl_dtype_name(s.dtype), kl_dtype_name(x->dtype));
    if (!kl_binary_find(prelu_kernels, x->dtype))
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "type %s is not supported", kl_dtype_name(x->dtype));
    int rank;
    int64_t dims[KL_MAX_RANK];
    keel_status st = kl_broadcast_shape(c, x, &s, &rank, dims);
    if (st)
        return st;
    kl_tensor shaped = *x;
    shaped.rank = rank;
    for (int d = 0; d < rank; d++)
        shaped.dims[d] = dims[d];
    if (!kl_same_shape(&shaped, x))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "slope does not broadcast to x's shape");
    kl_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return KEEL_OK;
}

static keel_status prelu_run(kl_opctx *c)
{
    kl_tensor s = slope_view(c);
    kl_binary_into(kl_binary_find(prelu_kernels, c->in[0]->dtype), c->out[0], c->in[0], &s);
    return KEEL_OK;
}

static const kl_op prelu = {.type = "PRelu", .since = 1, .min_inputs = 2, .max_inputs = 2,
                            .flags = KL_OP_INPLACE, .infer = prelu_infer, .run = prelu_run,
                            .batch = KL_BATCH_ELEMENTWISE};

const kl_op *const kl_opfile_prelu[] = {&prelu, NULL};
