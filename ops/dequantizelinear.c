/* dequantizelinear.c -- DequantizeLinear: y = (x - zero) * scale, per
 * tensor or per slice along `axis` (13+); x is uint8, int8 or int32. */
#include "drivers/quant.h"

static keel_status dequantize_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    if (!kl_is_quant_dtype(x->dtype) && x->dtype != KEEL_INT32)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "x must be uint8, int8 or int32, not %s", kl_dtype_name(x->dtype));
    const kl_tensor *zero = c->n_in > 2 ? c->in[2] : NULL;
    if (zero && zero->dtype != x->dtype)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "zero point is %s; x is %s", kl_dtype_name(zero->dtype),
                          kl_dtype_name(x->dtype));
    kl_qparams q;
    keel_status st = kl_qparams_read(c, 1, 2, x, kl_attr_int(c->node, "axis", 1), &q);
    if (st)
        return st;
    kl_set_shape(c->out[0], KEEL_FLOAT, x->rank, x->dims);
    return KEEL_OK;
}

static keel_status dequantize_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    kl_qparams q;
    keel_status st = kl_qparams_read(c, 1, 2, x, kl_attr_int(c->node, "axis", 1), &q);
    if (st)
        return st;
    float *y = c->out[0]->data;
    int64_t n = kl_numel(x);
    for (int64_t i = 0; i < n; i++) {
        int64_t s = kl_qslot(&q, i);
        y[i] = (float)((int64_t)kl_qget(x, i) - kl_qzero(&q, s)) * q.scale[s];
    }
    return KEEL_OK;
}

static const kl_op dequantize = {.type = "DequantizeLinear", .since = 10, .until = 18,
                                 .min_inputs = 2, .max_inputs = 3, .infer = dequantize_infer,
                                 .run = dequantize_run};

const kl_op *const kl_opfile_dequantizelinear[] = {&dequantize, NULL};
