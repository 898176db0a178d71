/* ops/drivers/lp.h -- the p-norm pieces shared by LpPool and GlobalLpPool. */
#ifndef KL_LP_COMMON_H
#define KL_LP_COMMON_H

#include <math.h>

#include "../op.h"

/* Attribute p: default 2; a float in opset 1, an int from opset 2. */
static inline keel_status kl_lp_read_p(kl_opctx *c, double *p)
{
    const kl_attr *a = kl_node_attr(c->node, "p");
    *p = !a ? 2.0 : a->type == KL_ATTR_FLOAT ? a->f : (double)a->i;
    if (!(*p > 0))
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'p' is %g; expected a positive number", *p);
    return KEEL_OK;
}

/* |v|^p, and sum^(1/p), exact and fast for p = 1 and 2 */
static inline double kl_lp_power(double v, double p)
{
    const double a = fabs(v);
    return p == 2 ? a * a : p == 1 ? a : pow(a, p);
}

static inline double kl_lp_root(double sum, double p)
{
    return p == 2 ? sqrt(sum) : p == 1 ? sum : pow(sum, 1.0 / p);
}

#endif
