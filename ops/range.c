/* range.c -- Range: start, start + delta, ... up to (not including)
 * limit; max(ceil((limit - start) / delta), 0) values of the inputs' type.
 * Integer ranges are counted and filled in exact integer arithmetic (a
 * double rounds int64 values near the ends of the type); float ranges need
 * finite inputs, and a count too large for any tensor is refused before
 * anything is allocated. */
#include <math.h>

#include "drivers/eltwise.h"

static const int range_types[] = {KEEL_FLOAT, KEEL_DOUBLE, KEEL_INT16, KEEL_INT32, KEEL_INT64, 0};

static bool is_float(int dtype)
{
    return dtype == KEEL_FLOAT || dtype == KEEL_DOUBLE;
}

static double value_at(const kl_tensor *t)
{
    return t->dtype == KEEL_FLOAT ? *(const float *)t->data : *(const double *)t->data;
}

static int64_t int_at(const kl_tensor *t)
{
    switch (t->dtype) {
    case KEEL_INT16: return *(const int16_t *)t->data;
    case KEEL_INT32: return *(const int32_t *)t->data;
    default: return *(const int64_t *)t->data;
    }
}

/* Count of start + k * delta short of limit, without overflow: the
 * distance and the step as unsigned magnitudes (even INT64_MIN's). */
static keel_status int_count(kl_opctx *c, int64_t start, int64_t limit, int64_t delta, int64_t *count)
{
    if (delta == 0)
        return kl_op_fail(c, KEEL_ERR_INVALID, "delta is 0");
    if (delta > 0 ? limit <= start : limit >= start) {
        *count = 0;
        return KEEL_OK;
    }
    uint64_t span = delta > 0 ? (uint64_t)limit - (uint64_t)start : (uint64_t)start - (uint64_t)limit;
    uint64_t step = delta > 0 ? (uint64_t)delta : 0 - (uint64_t)delta;
    uint64_t n = span / step + (span % step != 0);
    if (n > (uint64_t)INT64_MAX)
        return kl_op_fail(c, KEEL_ERR_LIMIT, "%llu values exceed the tensor size limit", (unsigned long long)n);
    *count = (int64_t)n;
    return KEEL_OK;
}

static keel_status range_count(kl_opctx *c, int64_t *count)
{
    for (int i = 0; i < 3; i++) {
        keel_status st = kl_require_dtype(c, i, range_types);
        if (st)
            return st;
        if (c->in[i]->dtype != c->in[0]->dtype || kl_numel(c->in[i]) != 1)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "start, limit and delta must be scalars of one type");
        if (!c->in[i]->data)
            return kl_op_needs_data(c, i);
    }
    if (!is_float(c->in[0]->dtype))
        return int_count(c, int_at(c->in[0]), int_at(c->in[1]), int_at(c->in[2]), count);
    double start = value_at(c->in[0]), limit = value_at(c->in[1]), delta = value_at(c->in[2]);
    if (!isfinite(start) || !isfinite(limit) || !isfinite(delta))
        return kl_op_fail(c, KEEL_ERR_INVALID, "start %g, limit %g and delta %g must be finite", start, limit,
                          delta);
    if (delta == 0)
        return kl_op_fail(c, KEEL_ERR_INVALID, "delta is 0");
    /* limit - start may overflow to infinity: then so is the count */
    return kl_checked_count(c, ceil((limit - start) / delta), "the element count", count);
}

static keel_status range_infer(kl_opctx *c)
{
    int64_t n;
    keel_status st = range_count(c, &n);
    if (!st)
        kl_set_shape(c->out[0], c->in[0]->dtype, 1, &n);
    return st;
}

static keel_status range_run(kl_opctx *c)
{
    int64_t n;
    keel_status st = range_count(c, &n);
    if (st)
        return st;
    if (n != c->out[0]->dims[0])
        return kl_op_fail(c, KEEL_ERR_RUNTIME, "%lld values, planned for %lld", (long long)n,
                          (long long)c->out[0]->dims[0]);
    void *out = c->out[0]->data;
    if (is_float(c->in[0]->dtype)) {
        double start = value_at(c->in[0]), delta = value_at(c->in[2]);
        for (int64_t i = 0; i < n; i++) {
            double v = start + (double)i * delta;
            if (c->in[0]->dtype == KEEL_FLOAT)
                ((float *)out)[i] = (float)v;
            else
                ((double *)out)[i] = v;
        }
        return KEEL_OK;
    }
    /* every value lies between start and limit, so it fits the type; the
     * arithmetic wraps in uint64 and is exact */
    uint64_t v = (uint64_t)int_at(c->in[0]), delta = (uint64_t)int_at(c->in[2]);
    for (int64_t i = 0; i < n; i++, v += delta) {
        int64_t x = v > (uint64_t)INT64_MAX ? -(int64_t)(~v) - 1 : (int64_t)v;
        switch (c->in[0]->dtype) {
        case KEEL_INT16: ((int16_t *)out)[i] = (int16_t)x; break;
        case KEEL_INT32: ((int32_t *)out)[i] = (int32_t)x; break;
        default: ((int64_t *)out)[i] = x; break;
        }
    }
    return KEEL_OK;
}

static const kl_op range = {.type = "Range", .since = 11, .min_inputs = 3, .max_inputs = 3,
                            .infer = range_infer, .run = range_run};

const kl_op *const kl_opfile_range[] = {&range, NULL};
