/* lpnormalization.c -- LpNormalization (opset 1), float and double: each
 * vector along `axis` (default -1) divided by its L1 (p=1) or L2 (p=2,
 * the default) norm; a vector of norm 0 stays 0. */
#include <math.h>

#include "drivers/eltwise.h"

static keel_status lpn_params(kl_opctx *c, int *axis, int64_t *p)
{
    const kl_tensor *x = c->in[0];
    keel_status st = kl_norm_axis(c, kl_attr_int(c->node, "axis", -1), x->rank, axis);
    if (st)
        return st;
    if (x->rank == 0)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "X is a scalar; there is no axis to normalize along");
    *p = kl_attr_int(c->node, "p", 2);
    if (*p != 1 && *p != 2)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'p' is %lld; expected 1 or 2", (long long)*p);
    return KEEL_OK;
}

static keel_status lpn_infer(kl_opctx *c)
{
    static const int types[] = {KEEL_FLOAT, KEEL_DOUBLE, 0};
    int axis;
    int64_t p;
    keel_status st = kl_require_dtype(c, 0, types);
    if (!st)
        st = lpn_params(c, &axis, &p);
    if (!st)
        kl_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, c->in[0]->dims);
    return st;
}

#define LPN_FN(NAME, T)                                                                        \
    static void NAME(const T *x, T *y, int64_t outer, int64_t len, int64_t inner, int64_t p)   \
    {                                                                                          \
        for (int64_t o = 0; o < outer; o++)                                                    \
            for (int64_t i = 0; i < inner; i++) {                                              \
                const T *v = x + o * len * inner + i;                                          \
                T *w = y + o * len * inner + i;                                                \
                double norm = 0;                                                               \
                for (int64_t k = 0; k < len; k++)                                              \
                    norm += p == 1 ? fabs((double)v[k * inner]) : (double)v[k * inner] * v[k * inner]; \
                norm = p == 1 ? norm : sqrt(norm);                                             \
                for (int64_t k = 0; k < len; k++)                                              \
                    w[k * inner] = norm > 0 ? (T)(v[k * inner] / norm) : 0;                    \
            }                                                                                  \
    }
LPN_FN(lpn_f32, float)
LPN_FN(lpn_f64, double)

static keel_status lpn_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    int axis;
    int64_t p;
    keel_status st = lpn_params(c, &axis, &p);
    if (st)
        return st;
    int64_t outer = kl_dims_product(x->dims, 0, axis), len = x->dims[axis];
    int64_t inner = kl_dims_product(x->dims, axis + 1, x->rank);
    if (x->dtype == KEEL_FLOAT)
        lpn_f32(x->data, c->out[0]->data, outer, len, inner, p);
    else
        lpn_f64(x->data, c->out[0]->data, outer, len, inner, p);
    return KEEL_OK;
}

static const kl_op lpn_v1 = {.type = "LpNormalization", .since = 1, .min_inputs = 1,
                             .max_inputs = 1, .infer = lpn_infer, .run = lpn_run};

const kl_op *const kl_opfile_lpnormalization[] = {&lpn_v1, NULL};
