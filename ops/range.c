/* range.c -- Range: start, start + delta, ... up to (not including)
 * limit; max(ceil((limit - start) / delta), 0) values of the inputs' type. */
#include <math.h>

#include "op.h"

static const int range_types[] = {KEEL_FLOAT, KEEL_DOUBLE, KEEL_INT16, KEEL_INT32, KEEL_INT64, 0};

static double value_at(const kl_tensor *t)
{
    switch (t->dtype) {
    case KEEL_FLOAT: return *(const float *)t->data;
    case KEEL_DOUBLE: return *(const double *)t->data;
    case KEEL_INT16: return *(const int16_t *)t->data;
    case KEEL_INT32: return *(const int32_t *)t->data;
    default: return (double)*(const int64_t *)t->data;
    }
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
    double start = value_at(c->in[0]), limit = value_at(c->in[1]), delta = value_at(c->in[2]);
    if (delta == 0)
        return kl_op_fail(c, KEEL_ERR_INVALID, "delta is 0");
    double n = ceil((limit - start) / delta);
    *count = n > 0 ? (int64_t)n : 0;
    return KEEL_OK;
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
    double start = value_at(c->in[0]), delta = value_at(c->in[2]);
    for (int64_t i = 0; i < n; i++) {
        double v = start + (double)i * delta;
        switch (c->in[0]->dtype) {
        case KEEL_FLOAT: ((float *)c->out[0]->data)[i] = (float)v; break;
        case KEEL_DOUBLE: ((double *)c->out[0]->data)[i] = v; break;
        case KEEL_INT16: ((int16_t *)c->out[0]->data)[i] = (int16_t)v; break;
        case KEEL_INT32: ((int32_t *)c->out[0]->data)[i] = (int32_t)v; break;
        default: ((int64_t *)c->out[0]->data)[i] = (int64_t)v; break;
        }
    }
    return KEEL_OK;
}

static const kl_op range = {"Range", "", 11, 0, 3, 3, 0, range_infer, range_run, NULL, NULL};

const kl_op *const kl_opfile_range[] = {&range, NULL};
