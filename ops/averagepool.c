/* averagepool.c -- AveragePool over 1-D, 2-D and 3-D windows of an N x C x D...
 * float tensor: kernel_shape, strides, pads or auto_pad (NOTSET, SAME_UPPER,
 * SAME_LOWER, VALID), count_include_pad (opset 7+), ceil_mode (10+) and
 * dilations (19+).
 *
 * The divisor of a window is the number of its taps on input elements, or
 * with count_include_pad=1 on input elements and explicit pads; the extra
 * window that ceil_mode adds on the right counts only those too, never
 * positions beyond the right pad (as ONNX Runtime and PyTorch do).  A
 * window that holds nothing to count (possible only with dilations larger
 * than the input) gives 0.
 *
 * Lower ranks are handled as 3-D with leading unit dims.  Each output row is
 * computed with inner loops over its output columns: for each kernel tap,
 * one strided pass over an input row into the output row, then one scaling
 * pass.  Only the border columns, whose windows reach into the padding, are
 * computed one at a time.  With ceil_mode, a last window that would start in
 * the right padding is dropped. */
#include <string.h>

#include "drivers/pool.h"
#include "kernels/kernels.h"

/* ---- the operator ------------------------------------------------------------- */

typedef struct avgpool_job {
    pool_geom g;
    bool include_pad;
    const float *x;
    float *y;
    klk_avgpool_fn *plane;    /* the session's kernel (ops/kernels/pool.c), on a range of planes */
} avgpool_job;

static void avgpool_planes(void *arg, int64_t lo, int64_t hi)
{
    const avgpool_job *j = arg;
    j->plane(&j->g, j->include_pad, hi - lo, j->x + lo * j->g.in_size, j->y + lo * j->g.out_size);
}

static keel_status avgpool_geometry(kl_opctx *c, pool_geom *g, bool *include_pad)
{
    int64_t cip = c->opset >= 7 ? kl_attr_int(c->node, "count_include_pad", 0) : 0;
    if (cip != 0 && cip != 1)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'count_include_pad' is %lld; expected 0 or 1",
                          (long long)cip);
    /* pads taken over from a Pad before the node count as the zeros they
     * were (the pass fuse_pad fuses it only into a pool without pads of its own) */
    *include_pad = cip == 1 || c->pre_pad;
    return pool_geometry(c, g, c->opset >= 19, c->opset >= 10);
}

static keel_status avgpool_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    static const int types[] = {KEEL_FLOAT, 0};
    keel_status st = kl_require_dtype(c, 0, types);
    if (st)
        return st;
    if (c->n_out > 1)
        return kl_op_fail(c, KEEL_ERR_INVALID, "%d outputs; AveragePool has one", c->n_out);
    pool_geom g;
    bool include_pad;
    if ((st = avgpool_geometry(c, &g, &include_pad)))
        return st;
    int64_t dims[2 + SP] = {x->dims[0], x->dims[1]};
    for (int s = 0; s < g.nsp; s++)
        dims[2 + s] = g.d[SP - g.nsp + s].out;
    kl_set_shape(c->out[0], x->dtype, x->rank, dims);
    return KEEL_OK;
}

static keel_status avgpool_run(kl_opctx *c)
{
    avgpool_job j;
    keel_status st = avgpool_geometry(c, &j.g, &j.include_pad);
    if (st)
        return st;
    if (j.g.planes == 0 || j.g.out_size == 0)
        return KEEL_OK;
    j.x = c->in[0]->data;
    j.y = c->out[0]->data;
    j.plane = c->env->kern->avgpool.fn;
    pool_parallel(c, j.g.planes, pool_work(&j.g), avgpool_planes, &j);
    return KEEL_OK;
}

#define AVGPOOL_OP(NAME, SINCE, UNTIL)                                                          \
    static const kl_op NAME = {.type = "AveragePool", .since = SINCE, .until = UNTIL,           \
                               .min_inputs = 1, .max_inputs = 1, .flags = KL_OP_PRE_PAD,        \
                               .infer = avgpool_infer, .run = avgpool_run, .batch = KL_BATCH_PER_IMAGE}

AVGPOOL_OP(avgpool_v1, 1, 6);    /* pads never counted */
AVGPOOL_OP(avgpool_v7, 7, 9);    /* + count_include_pad */
AVGPOOL_OP(avgpool_v10, 10, 18); /* + ceil_mode */
AVGPOOL_OP(avgpool_v19, 19, 0);  /* + dilations */

const kl_op *const kl_opfile_averagepool[] = {&avgpool_v1, &avgpool_v7, &avgpool_v10, &avgpool_v19, NULL};
