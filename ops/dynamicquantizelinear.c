/* dynamicquantizelinear.c -- DynamicQuantizeLinear: quantizes float x to
 * uint8 with a scale and zero point computed from x's own range (which
 * always includes 0): scale = (max - min) / 255, zero = round(-min / scale). */
#include <math.h>

#include "drivers/quant.h"

static keel_status dynquant_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    if (x->dtype != KEEL_FLOAT)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "x must be float, not %s", kl_dtype_name(x->dtype));
    kl_set_shape(c->out[0], KEEL_UINT8, x->rank, x->dims);
    if (c->n_out > 1 && c->out[1])
        kl_set_shape(c->out[1], KEEL_FLOAT, 0, NULL);
    if (c->n_out > 2 && c->out[2])
        kl_set_shape(c->out[2], KEEL_UINT8, 0, NULL);
    return KEEL_OK;
}

static keel_status dynquant_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    const float *v = x->data;
    int64_t n = kl_numel(x);
    float lo = 0, hi = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(v[i]))
            return kl_op_fail(c, KEEL_ERR_RUNTIME, "x holds NaN at %lld", (long long)i);
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    float scale = (hi - lo) / 255.0f;
    double zero = scale > 0 ? nearbyint(-lo / scale) : 0;
    zero = zero < 0 ? 0 : zero > 255 ? 255 : zero;
    for (int64_t i = 0; i < n; i++)
        kl_qput(c->out[0], i, scale > 0 ? nearbyint(v[i] / scale) + zero : zero);
    if (c->n_out > 1 && c->out[1])
        *(float *)c->out[1]->data = scale;
    if (c->n_out > 2 && c->out[2])
        *(uint8_t *)c->out[2]->data = (uint8_t)zero;
    return KEEL_OK;
}

static const kl_op dynquant = {.type = "DynamicQuantizeLinear", .since = 11, .min_inputs = 1,
                               .max_inputs = 1, .infer = dynquant_infer, .run = dynquant_run};

const kl_op *const kl_opfile_dynamicquantizelinear[] = {&dynquant, NULL};
