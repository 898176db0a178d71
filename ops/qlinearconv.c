/* qlinearconv.c -- QLinearConv: the integer convolution of quantized x and
 * w, plus the int32 bias, requantized to y's scale and zero point:
 * y = saturate(round(acc * x_scale * w_scale[m] / y_scale) + y_zero). */
#include <math.h>

#include "drivers/qconv.h"
#include "drivers/quant.h"

enum { X, X_SCALE, X_ZERO, W, W_SCALE, W_ZERO, Y_SCALE, Y_ZERO, B };

static keel_status check(kl_opctx *c, kl_conv_geom *g)
{
    const kl_tensor *x = c->in[X], *w = c->in[W], *yz = c->in[Y_ZERO], *b = c->n_in > B ? c->in[B] : NULL;
    if (!kl_is_quant_dtype(x->dtype) || !kl_is_quant_dtype(w->dtype) || !kl_is_quant_dtype(yz->dtype))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "x, w and y_zero_point must be uint8 or int8");
    keel_status st = kl_conv_geometry(c, x, w, g);
    const struct { int i; int64_t len; const char *what; } per[] = {
        {X_SCALE, 1, "x_scale"}, {X_ZERO, 1, "x_zero_point"}, {W_SCALE, g->m, "w_scale"},
        {W_ZERO, g->m, "w_zero_point"}, {Y_SCALE, 1, "y_scale"}, {Y_ZERO, 1, "y_zero_point"}};
    for (size_t k = 0; !st && k < sizeof per / sizeof per[0]; k++)
        st = kl_check_per(c, per[k].i, per[k].len, per[k].what);
    if (!st && b && (b->dtype != KEEL_INT32 || kl_numel(b) != g->m))
        st = kl_op_fail(c, KEEL_ERR_SHAPE, "B must be int32[%lld]", (long long)g->m);
    return st;
}

static keel_status qlinearconv_infer(kl_opctx *c)
{
    kl_conv_geom g;
    keel_status st = check(c, &g);
    if (st)
        return st;
    kl_conv_set_output(&g, c->out[0], c->in[Y_ZERO]->dtype);
    return KEEL_OK;
}

static keel_status qlinearconv_run(kl_opctx *c)
{
    kl_conv_geom g;
    keel_status st = check(c, &g);
    if (st)
        return st;
    int32_t *acc = c->scratch;
    kl_qconv_run(&g, c->in[X], c->in[W], c->in[X_ZERO], c->in[W_ZERO], acc);
    const kl_tensor *b = c->n_in > B ? c->in[B] : NULL;
    int64_t plane = g.out_size, total = kl_numel(c->out[0]);
    int32_t yz = kl_qget(c->in[Y_ZERO], 0);
    for (int64_t e = 0; e < total; e++) {
        int64_t m = (e / plane) % g.m;
        double v = (double)acc[e] + (b ? ((const int32_t *)b->data)[m] : 0);
        double scale = (double)kl_qscale_at(c->in[X_SCALE], 0) * kl_qscale_at(c->in[W_SCALE], m) / kl_qscale_at(c->in[Y_SCALE], 0);
        kl_qput(c->out[0], e, nearbyint(v * scale) + yz);
    }
    return KEEL_OK;
}

static size_t qlinearconv_scratch(kl_opctx *c)
{
    return (size_t)kl_numel(c->out[0]) * sizeof(int32_t);
}

static const kl_op qlinearconv = {.type = "QLinearConv", .since = 10, .min_inputs = 8,
                                  .max_inputs = 9, .infer = qlinearconv_infer,
                                  .run = qlinearconv_run, .scratch = qlinearconv_scratch};

const kl_op *const kl_opfile_qlinearconv[] = {&qlinearconv, NULL};
