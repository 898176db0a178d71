/* globallppool.c -- GlobalLpPool (opsets 1 and 2), float: for each
 * channel of X [N, C, D1, ...], (sum |x|^p)^(1/p) over the spatial dims
 * into [N, C, 1, ...].  p defaults to 2 (a float attribute in opset 1, an
 * int from opset 2). */
#include "drivers/eltwise.h"
#include "drivers/lp.h"

static keel_status glp_infer(kl_opctx *c)
{
    static const int types[] = {KEEL_FLOAT, 0};
    double p;
    keel_status st = kl_require_dtype(c, 0, types);
    if (st || (st = kl_lp_read_p(c, &p)))
        return st;
    const kl_tensor *x = c->in[0];
    if (x->rank < 3)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "X has rank %d; expected 3 or more (N, C, D1, ...)", x->rank);
    int64_t dims[KL_MAX_RANK];
    for (int d = 0; d < x->rank; d++)
        dims[d] = d < 2 ? x->dims[d] : 1;
    kl_set_shape(c->out[0], KEEL_FLOAT, x->rank, dims);
    return KEEL_OK;
}

static keel_status glp_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    double p;
    keel_status st = kl_lp_read_p(c, &p);
    if (st)
        return st;
    const int64_t planes = x->dims[0] * x->dims[1], len = kl_dims_product(x->dims, 2, x->rank);
    const float *src = x->data;
    float *y = c->out[0]->data;
    for (int64_t q = 0; q < planes; q++) {
        double sum = 0;
        for (int64_t i = 0; i < len; i++)
            sum += kl_lp_power(src[q * len + i], p);
        y[q] = (float)kl_lp_root(sum, p);
    }
    return KEEL_OK;
}

#define GLP_OP(NAME, SINCE, UNTIL)                                                               \
    static const kl_op NAME = {.type = "GlobalLpPool", .since = SINCE, .until = UNTIL,           \
                               .min_inputs = 1, .max_inputs = 1, .infer = glp_infer,             \
                               .run = glp_run}

GLP_OP(glp_v1, 1, 1); /* p is a float */
GLP_OP(glp_v2, 2, 0); /* p is an int */

const kl_op *const kl_opfile_globallppool[] = {&glp_v1, &glp_v2, NULL};
