/* quantizelinear.c -- QuantizeLinear: y = saturate(round(x / scale) + zero)
 * with round half to even; per tensor, or per slice along `axis` (13+).
 * y takes the zero point's type (uint8 when it is omitted). */
#include <math.h>

#include "drivers/quant.h"

static keel_status quantize_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0], *zero = c->n_in > 2 ? c->in[2] : NULL;
    if (x->dtype != KEEL_FLOAT && x->dtype != KEEL_INT32)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "x must be float or int32, not %s", kl_dtype_name(x->dtype));
    if (zero && !kl_is_quant_dtype(zero->dtype))
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "zero point of type %s (uint8 and int8 supported)",
                          kl_dtype_name(zero->dtype));
    kl_qparams q;
    keel_status st = kl_qparams_read(c, 1, 2, x, kl_attr_int(c->node, "axis", 1), &q);
    if (st)
        return st;
    kl_set_shape(c->out[0], zero ? zero->dtype : KEEL_UINT8, x->rank, x->dims);
    return KEEL_OK;
}

static keel_status quantize_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    kl_qparams q;
    keel_status st = kl_qparams_read(c, 1, 2, x, kl_attr_int(c->node, "axis", 1), &q);
    if (st)
        return st;
    int64_t n = kl_numel(x);
    for (int64_t i = 0; i < n; i++) {
        int64_t s = kl_qslot(&q, i);
        /* x / scale in float as the reference does (in double a quotient
         * like 25.4999991 would round the other way than float's 25.5);
         * rounded first, then the zero point added: the spec's order */
        float v = x->dtype == KEEL_FLOAT ? ((const float *)x->data)[i] : (float)((const int32_t *)x->data)[i];
        kl_qput(c->out[0], i, (double)nearbyintf(v / q.scale[s]) + kl_qzero(&q, s));
    }
    return KEEL_OK;
}

static const kl_op quantize = {.type = "QuantizeLinear", .since = 10, .until = 18, .min_inputs = 2,
                               .max_inputs = 3, .infer = quantize_infer, .run = quantize_run};

const kl_op *const kl_opfile_quantizelinear[] = {&quantize, NULL};
