/* matmulinteger.c -- MatMulInteger: int32 = (A - a_zero) x (B - b_zero) for
 * uint8/int8 operands; a_zero per tensor or per row, b_zero per tensor or
 * per column. */
#include "drivers/quant.h"

static keel_status check(kl_opctx *c, kl_imatmul *p)
{
    const kl_tensor *a = c->in[0], *b = c->in[1];
    if (!kl_is_quant_dtype(a->dtype) || !kl_is_quant_dtype(b->dtype))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "A and B must be uint8 or int8");
    keel_status st = kl_imatmul_plan(c, a, b, p);
    if (!st)
        st = kl_check_per(c, 2, p->m, "a_zero_point");
    if (!st)
        st = kl_check_per(c, 3, p->n, "b_zero_point");
    return st;
}

static keel_status mmi_infer(kl_opctx *c)
{
    kl_imatmul p;
    keel_status st = check(c, &p);
    if (!st)
        kl_set_shape(c->out[0], KEEL_INT32, p.rank, p.dims);
    return st;
}

static keel_status mmi_run(kl_opctx *c)
{
    kl_imatmul p;
    keel_status st = check(c, &p);
    if (!st)
        kl_imatmul_run(&p, c->in[0], c->in[1], c->n_in > 2 ? c->in[2] : NULL, c->n_in > 3 ? c->in[3] : NULL,
                       c->out[0]->data);
    return st;
}

static const kl_op mmi = {.type = "MatMulInteger", .since = 10, .min_inputs = 2, .max_inputs = 4,
                          .infer = mmi_infer, .run = mmi_run};

const kl_op *const kl_opfile_matmulinteger[] = {&mmi, NULL};
