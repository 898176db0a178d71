/* gelu.c -- ai.keel's Gelu: GELU over a float tensor, the node the pass
 * fuse_gelu (runtime/fuse_gelu.c) makes of a spelled-out GELU that no
 * product's epilogue can take.  Not in the registry (no model names it):
 * the pass sets the node's op and its form, the node's epilogue act
 * (KL_ACT_GELU or KL_ACT_GELU_TANH), which the kernel table's gelu
 * applies in blocks over the session's threads. */
#include <string.h>

#include "drivers/eltwise.h"
#include "kernels/kernels.h"

static keel_status gelu_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    if (c->epi.act != KL_ACT_GELU && c->epi.act != KL_ACT_GELU_TANH)
        return kl_op_fail(c, KEEL_ERR_INVALID, "ai.keel's Gelu has no form: only the pass fuse_gelu makes it");
    if (x->dtype != KEEL_FLOAT)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "only float tensors are supported (got %s)",
                          kl_dtype_name(x->dtype));
    kl_set_shape(c->out[0], KEEL_FLOAT, x->rank, x->dims);
    return KEEL_OK;
}

/* the table's gelu works in place */
static void gelu_block(float *y, const float *x, size_t n, const void *arg)
{
    const kl_epilogue *e = arg;
    if (y != x)
        memcpy(y, x, n * sizeof(float));
    e->kern->gelu.fn(y, n, e->act == KL_ACT_GELU_TANH);
}

static keel_status gelu_run(kl_opctx *c)
{
    kl_map_f32(c->pool, gelu_block, &c->epi, c->out[0]->data, c->in[0]->data, kl_numel(c->in[0]));
    return KEEL_OK;
}

const kl_op kl_op_gelu = {.type = "Gelu", .domain = "ai.keel", .since = 1, .min_inputs = 1, .max_inputs = 1,
                          .flags = KL_OP_INPLACE, .infer = gelu_infer, .run = gelu_run, .batch = KL_BATCH_ELEMENTWISE};
