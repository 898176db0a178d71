/* maxpool.c -- MaxPool over 1-D, 2-D and 3-D windows of an N x C x D... tensor:
 * kernel_shape, strides, pads or auto_pad (NOTSET, SAME_UPPER, SAME_LOWER,
 * VALID), dilations and ceil_mode (opset 10+), and the optional Indices
 * output (opset 8+: int64 flattened indices into the whole input, row-major;
 * or, storage_order=1, column-major within each plane).  float and double; int8 and
 * uint8 since opset 12.
 *
 * Lower ranks are handled as 3-D with leading unit dims.  Without Indices,
 * each output row is computed with inner loops over its output columns: for
 * each kernel tap, one strided pass over an input row into the output row.
 * Only the border columns, whose windows reach into the padding, are
 * computed one at a time.  A 3-wide stride-2 window (the backbones' pools)
 * takes the maximum of its input rows first and then of even, odd and next
 * even columns of that, all in contiguous passes.
 *
 * With ceil_mode, a last window that would start in the right padding is
 * dropped (as ONNX Runtime and PyTorch do).  A window that holds no input
 * element (possible only with dilations larger than the input) gives the
 * type's lowest value and index -1. */
#include <math.h>
#include <string.h>

#include "drivers/pool.h"
#include "kernels/kernels.h"

/* ---- the operator ------------------------------------------------------------- */

typedef struct maxpool_job {
    pool_geom g;
    int dtype;
    const void *x;
    void *y;
    int64_t *idx;             /* NULL without the Indices output */
    klk_maxpool_fn *plane;    /* the session's kernel (ops/kernels/pool.c), on a range of planes */
} maxpool_job;

static void maxpool_planes(void *arg, int64_t lo, int64_t hi)
{
    const maxpool_job *j = arg;
    const pool_geom *g = &j->g;
    const size_t es = kl_dtype_size(j->dtype);
    j->plane(j->dtype, g, hi - lo, (const char *)j->x + (size_t)(lo * g->in_size) * es,
             (char *)j->y + (size_t)(lo * g->out_size) * es, j->idx ? j->idx + lo * g->out_size : NULL, lo * g->in_size);
}

static keel_status maxpool_geometry(kl_opctx *c, pool_geom *g)
{
    return pool_geometry(c, g, c->opset >= 10, c->opset >= 10);
}

static keel_status maxpool_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    static const int types_v1[] = {KEEL_FLOAT, KEEL_DOUBLE, 0};
    static const int types_v12[] = {KEEL_FLOAT, KEEL_DOUBLE, KEEL_INT8, KEEL_UINT8, 0};
    keel_status st = kl_require_dtype(c, 0, c->opset >= 12 ? types_v12 : types_v1);
    if (st)
        return st;
    bool want_idx = c->n_out > 1 && c->out[1];
    if (c->n_out > 2 || (want_idx && c->opset < 8))
        return kl_op_fail(c, KEEL_ERR_INVALID, "%d outputs; MaxPool has Y%s", c->n_out,
                          c->opset < 8 ? " only before opset 8" : " and Indices");
    if (c->opset >= 8) {
        int64_t order = kl_attr_int(c->node, "storage_order", 0);
        if (order != 0 && order != 1)
            return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'storage_order' is %lld; expected 0 or 1",
                              (long long)order);
    }
    pool_geom g;
    if ((st = maxpool_geometry(c, &g)))
        return st;
    int64_t dims[2 + SP] = {x->dims[0], x->dims[1]};
    for (int s = 0; s < g.nsp; s++)
        dims[2 + s] = g.d[SP - g.nsp + s].out;
    kl_set_shape(c->out[0], x->dtype, x->rank, dims);
    if (want_idx)
        kl_set_shape(c->out[1], KEEL_INT64, x->rank, dims);
    return KEEL_OK;
}

/* Rewrites row-major flat indices as column-major within each plane (the
 * spatial coordinates reversed in significance: for 2-D, w * H + h). */
static void to_column_major(const kl_tensor *x, int64_t *idx, int64_t n)
{
    int nsp = x->rank - 2;
    int64_t plane = 1;
    for (int d = 0; d < nsp; d++)
        plane *= x->dims[2 + d];
    for (int64_t i = 0; i < n; i++) {
        if (idx[i] < 0)
            continue;
        int64_t rest = idx[i] % plane, col = 0, stride = 1, coord[SP];
        for (int d = nsp - 1; d >= 0; d--) {
            coord[d] = rest % x->dims[2 + d];
            rest /= x->dims[2 + d];
        }
        for (int d = 0; d < nsp; d++) { /* the first spatial dim varies fastest */
            col += coord[d] * stride;
            stride *= x->dims[2 + d];
        }
        idx[i] = idx[i] - idx[i] % plane + col;
    }
}

static keel_status maxpool_run(kl_opctx *c)
{
    maxpool_job j;
    keel_status st = maxpool_geometry(c, &j.g);
    if (st)
        return st;
    if (j.g.planes == 0 || j.g.out_size == 0)
        return KEEL_OK;
    j.dtype = c->in[0]->dtype;
    j.x = c->in[0]->data;
    j.y = c->out[0]->data;
    j.idx = c->n_out > 1 && c->out[1] ? c->out[1]->data : NULL;
    j.plane = c->env->kern->maxpool.fn;
    pool_parallel(c, j.g.planes, pool_work(&j.g), maxpool_planes, &j);
    if (j.idx && c->opset >= 8 && kl_attr_int(c->node, "storage_order", 0) == 1)
        to_column_major(c->in[0], j.idx, kl_numel(c->out[1]));
    return KEEL_OK;
}

/* Indices count the images before (an index into the whole batch). */
static bool maxpool_images_apart(const kl_opctx *c)
{
    return c->n_out < 2 || !c->out[1];
}

#define MAXPOOL_OP(NAME, SINCE, UNTIL)                                                          \
    static const kl_op NAME = {.type = "MaxPool", .since = SINCE, .until = UNTIL,               \
                               .min_inputs = 1, .max_inputs = 1, .infer = maxpool_infer,        \
                               .run = maxpool_run, .batch = KL_BATCH_PER_IMAGE,                 \
                               .images_apart = maxpool_images_apart}

MAXPOOL_OP(maxpool_v1, 1, 7);    /* Y only */
MAXPOOL_OP(maxpool_v8, 8, 9);    /* + Indices, storage_order */
MAXPOOL_OP(maxpool_v10, 10, 11); /* + dilations, ceil_mode */
MAXPOOL_OP(maxpool_v12, 12, 0);  /* + int8, uint8 */

const kl_op *const kl_opfile_maxpool[] = {&maxpool_v1, &maxpool_v8, &maxpool_v10, &maxpool_v12, NULL};
