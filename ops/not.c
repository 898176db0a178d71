/* not.c -- Not: logical negation of a bool tensor. */
#include "drivers/predicate.h"

static const int bool_type[] = {KEEL_BOOL, 0};

static bool negate(const kl_opctx *c, const void *in, int64_t i)
{
    (void)c;
    return !((const uint8_t *)in)[i];
}

static keel_status not_infer(kl_opctx *c)
{
    return kl_predicate_infer(c, bool_type);
}

static keel_status not_run(kl_opctx *c)
{
    return kl_predicate_run(c, negate);
}

static const kl_op not_op = {.type = "Not", .since = 1, .min_inputs = 1, .max_inputs = 1,
                             .flags = KL_OP_INPLACE, .infer = not_infer, .run = not_run};

const kl_op *const kl_opfile_not[] = {&not_op, NULL};
