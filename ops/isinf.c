/* isinf.c -- IsInf: true where x is infinite, of the signs chosen by
 * detect_positive and detect_negative (both by default). */
#include <math.h>

#include "drivers/predicate.h"

static const int float_types[] = {KEEL_FLOAT, KEEL_DOUBLE, 0};

static bool is_inf(const kl_opctx *c, const void *in, int64_t i)
{
    double x = c->in[0]->dtype == KEEL_FLOAT ? ((const float *)in)[i] : ((const double *)in)[i];
    if (!isinf(x))
        return false;
    return x > 0 ? kl_attr_int(c->node, "detect_positive", 1) != 0 : kl_attr_int(c->node, "detect_negative", 1) != 0;
}

static keel_status isinf_infer(kl_opctx *c)
{
    return kl_predicate_infer(c, float_types);
}

static keel_status isinf_run(kl_opctx *c)
{
    return kl_predicate_run(c, is_inf);
}

static const kl_op isinf_op = {.type = "IsInf", .since = 10, .min_inputs = 1, .max_inputs = 1,
                               .infer = isinf_infer, .run = isinf_run};

const kl_op *const kl_opfile_isinf[] = {&isinf_op, NULL};
