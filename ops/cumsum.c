/* cumsum.c -- CumSum: running sums along the axis given as input 1;
 * exclusive leaves out the element itself, reverse runs from the end. */
#include "drivers/eltwise.h"

static keel_status axis_of(kl_opctx *c, int *axis)
{
    int64_t a;
    int n = 0;
    keel_status st = kl_input_ints(c, 1, &a, 1, &n);
    if (!st && n != 1)
        st = kl_op_fail(c, KEEL_ERR_SHAPE, "axis must hold one value");
    return st ? st : kl_norm_axis(c, a, c->in[0]->rank, axis);
}

static keel_status cumsum_infer(kl_opctx *c)
{
    static const int types[] = {KEEL_FLOAT, KEEL_DOUBLE, KEEL_INT32, KEEL_INT64, KEEL_UINT32, KEEL_UINT64, 0};
    int axis;
    keel_status st = kl_require_dtype(c, 0, types);
    if (!st)
        st = axis_of(c, &axis);
    if (!st)
        kl_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, c->in[0]->dims);
    return st;
}

#define CUMSUM(T, U)                                                                 \
    for (int64_t o = 0; o < outer; o++)                                              \
        for (int64_t i = 0; i < inner; i++) {                                        \
            const T *x = (const T *)c->in[0]->data + o * len * inner + i;           \
            T *y = (T *)c->out[0]->data + o * len * inner + i;                      \
            U acc = 0;                                                               \
            for (int64_t k = 0; k < len; k++) {                                      \
                int64_t at = (reverse ? len - 1 - k : k) * inner;                    \
                T v = x[at];                                                         \
                if (exclusive) {                                                     \
                    y[at] = (T)acc;                                                  \
                    acc = (U)(acc + (U)v);                                           \
                } else {                                                             \
                    acc = (U)(acc + (U)v);                                           \
                    y[at] = (T)acc;                                                  \
                }                                                                    \
            }                                                                        \
        }                                                                            \
    break;

static keel_status cumsum_run(kl_opctx *c)
{
    int axis;
    keel_status st = axis_of(c, &axis);
    if (st)
        return st;
    const kl_tensor *t = c->in[0];
    bool exclusive = kl_attr_int(c->node, "exclusive", 0) != 0, reverse = kl_attr_int(c->node, "reverse", 0) != 0;
    int64_t outer = kl_dims_product(t->dims, 0, axis), len = t->dims[axis];
    int64_t inner = kl_dims_product(t->dims, axis + 1, t->rank);
    switch (t->dtype) {
    case KEEL_FLOAT: CUMSUM(float, double)
    case KEEL_DOUBLE: CUMSUM(double, double)
    case KEEL_INT32: CUMSUM(int32_t, uint32_t)
    case KEEL_UINT32: CUMSUM(uint32_t, uint32_t)
    case KEEL_INT64: CUMSUM(int64_t, uint64_t)
    default: CUMSUM(uint64_t, uint64_t)
    }
    return KEEL_OK;
}

static const kl_op cumsum = {.type = "CumSum", .since = 11, .min_inputs = 2, .max_inputs = 2,
                             .infer = cumsum_infer, .run = cumsum_run};

const kl_op *const kl_opfile_cumsum[] = {&cumsum, NULL};
