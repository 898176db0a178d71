/* window.c -- the generalized cosine windows (window.h). */
#include <math.h>

#include "spectral.h"
#include "window.h"

static keel_status window_size(kl_opctx *c, int64_t *size, int *dtype)
{
    keel_status st = kl_scalar_int(c, 0, size);
    if (st)
        return st;
    if (*size < 0)
        return kl_op_fail(c, KEEL_ERR_INVALID, "size %lld", (long long)*size);
    *dtype = (int)kl_attr_int(c->node, "output_datatype", KEEL_FLOAT);
    if (*dtype != KEEL_FLOAT && *dtype != KEEL_DOUBLE)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "output_datatype %s", kl_dtype_name(*dtype));
    return KEEL_OK;
}

keel_status kl_window_infer(kl_opctx *c)
{
    int64_t size = 0;
    int dtype = KEEL_FLOAT;
    keel_status st = window_size(c, &size, &dtype);
    if (!st)
        kl_set_shape(c->out[0], dtype, 1, &size);
    return st;
}

keel_status kl_window_run(kl_opctx *c, const double *coefs)
{
    int64_t size = 0;
    int dtype = KEEL_FLOAT;
    keel_status st = window_size(c, &size, &dtype);
    if (st)
        return st;
    bool periodic = kl_attr_int(c->node, "periodic", 1) != 0;
    double n_span = periodic ? (double)size : (double)(size - 1);
    for (int64_t n = 0; n < size; n++) {
        double x = n_span > 0 ? 2.0 * M_PI * (double)n / n_span : 0;
        double v = coefs[0] + coefs[1] * cos(x) + coefs[2] * cos(2 * x);
        if (dtype == KEEL_FLOAT)
            ((float *)c->out[0]->data)[n] = (float)v;
        else
            ((double *)c->out[0]->data)[n] = v;
    }
    return KEEL_OK;
}
