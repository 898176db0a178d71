/* qlinearmatmul.c -- QLinearMatMul: the product of two quantized matrices,
 * requantized: y = saturate(round((A - az)(B - bz) * a_scale * b_scale /
 * y_scale) + y_zero).  Scales and zero points per tensor, or per row of A
 * and per column of B (and of y). */
#include <math.h>

#include "drivers/quant.h"

enum { A, A_SCALE, A_ZERO, B, B_SCALE, B_ZERO, Y_SCALE, Y_ZERO };

static keel_status check(kl_opctx *c, kl_imatmul *p)
{
    const kl_tensor *a = c->in[A], *b = c->in[B], *yz = c->in[Y_ZERO];
    if (!kl_is_quant_dtype(a->dtype) || !kl_is_quant_dtype(b->dtype) || !kl_is_quant_dtype(yz->dtype))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "a, b and y_zero_point must be uint8 or int8");
    keel_status st = kl_imatmul_plan(c, a, b, p);
    const struct { int i; int64_t len; const char *what; } per[] = {
        {A_SCALE, p->m, "a_scale"}, {A_ZERO, p->m, "a_zero_point"}, {B_SCALE, p->n, "b_scale"},
        {B_ZERO, p->n, "b_zero_point"}, {Y_SCALE, p->n, "y_scale"}, {Y_ZERO, p->n, "y_zero_point"}};
    for (size_t k = 0; !st && k < sizeof per / sizeof per[0]; k++)
        st = kl_check_per(c, per[k].i, per[k].len, per[k].what);
    for (int i = A_SCALE; !st && i <= Y_SCALE; i += 3)
        if (c->in[i]->dtype != KEEL_FLOAT)
            st = kl_op_fail(c, KEEL_ERR_SHAPE, "input %d (a scale) must be float", i);
    return st;
}

static keel_status qlmm_infer(kl_opctx *c)
{
    kl_imatmul p;
    keel_status st = check(c, &p);
    if (!st)
        kl_set_shape(c->out[0], c->in[Y_ZERO]->dtype, p.rank, p.dims);
    return st;
}

static keel_status qlmm_run(kl_opctx *c)
{
    kl_imatmul p;
    keel_status st = check(c, &p);
    if (st)
        return st;
    int32_t *acc = c->scratch;
    kl_imatmul_run(&p, c->in[A], c->in[B], c->in[A_ZERO], c->in[B_ZERO], acc);
    const kl_tensor *yz = c->in[Y_ZERO];
    int64_t total = p.batches * p.m * p.n;
    for (int64_t e = 0; e < total; e++) {
        int64_t i = (e / p.n) % p.m, j = e % p.n;
        double scale = (double)kl_qscale_at(c->in[A_SCALE], i) * kl_qscale_at(c->in[B_SCALE], j) /
                       kl_qscale_at(c->in[Y_SCALE], j);
        kl_qput(c->out[0], e, nearbyint(acc[e] * scale) + kl_qzero_at(yz, j));
    }
    return KEEL_OK;
}

static size_t qlmm_scratch(kl_opctx *c)
{
    return (size_t)kl_numel(c->out[0]) * sizeof(int32_t);
}

static const kl_op qlmm = {.type = "QLinearMatMul", .since = 10, .min_inputs = 8, .max_inputs = 8,
                           .infer = qlmm_infer, .run = qlmm_run, .scratch = qlmm_scratch};

const kl_op *const kl_opfile_qlinearmatmul[] = {&qlmm, NULL};
