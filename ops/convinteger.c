/* convinteger.c -- ConvInteger: the int32 convolution of uint8/int8 x and w
 * after subtracting their zero points (x_zero one value, w_zero one or
 * one per output channel). */
#include "drivers/qconv.h"
#include "drivers/quant.h"

static keel_status check(kl_opctx *c, kl_conv_geom *g)
{
    const kl_tensor *x = c->in[0], *w = c->in[1];
    if (!kl_is_quant_dtype(x->dtype) || !kl_is_quant_dtype(w->dtype))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "x and w must be uint8 or int8");
    keel_status st = kl_conv_geometry(c, x, w, g);
    if (!st)
        st = kl_check_per(c, 2, 1, "x_zero_point");
    if (!st)
        st = kl_check_per(c, 3, g->m, "w_zero_point");
    return st;
}

static keel_status convinteger_infer(kl_opctx *c)
{
    kl_conv_geom g;
    keel_status st = check(c, &g);
    if (st)
        return st;
    kl_conv_set_output(&g, c->out[0], KEEL_INT32);
    return KEEL_OK;
}

static keel_status convinteger_run(kl_opctx *c)
{
    kl_conv_geom g;
    keel_status st = check(c, &g);
    if (!st)
        kl_qconv_run(&g, c->in[0], c->in[1], c->n_in > 2 ? c->in[2] : NULL, c->n_in > 3 ? c->in[3] : NULL,
                     c->out[0]->data);
    return st;
}

static const kl_op convinteger = {.type = "ConvInteger", .since = 10, .min_inputs = 2,
                                  .max_inputs = 4, .infer = convinteger_infer,
                                  .run = convinteger_run};

const kl_op *const kl_opfile_convinteger[] = {&convinteger, NULL};
