/* isnan.c -- IsNaN: true where x is NaN. */
#include <math.h>

#include "drivers/predicate.h"

static const int float_types[] = {KEEL_FLOAT, KEEL_DOUBLE, KEEL_FLOAT16, KEEL_BFLOAT16, 0};

static bool is_nan(const kl_opctx *c, const void *in, int64_t i)
{
    switch (c->in[0]->dtype) {
    case KEEL_FLOAT: return isnan(((const float *)in)[i]);
    case KEEL_DOUBLE: return isnan(((const double *)in)[i]);
    default: return (((const uint16_t *)in)[i] & 0x7fff) > (c->in[0]->dtype == KEEL_FLOAT16 ? 0x7c00 : 0x7f80);
    }
}

static keel_status isnan_infer(kl_opctx *c)
{
    return kl_predicate_infer(c, float_types);
}

static keel_status isnan_run(kl_opctx *c)
{
    return kl_predicate_run(c, is_nan);
}

static const kl_op isnan_op = {.type = "IsNaN", .since = 9, .min_inputs = 1, .max_inputs = 1,
                               .infer = isnan_infer, .run = isnan_run};

const kl_op *const kl_opfile_isnan[] = {&isnan_op, NULL};
