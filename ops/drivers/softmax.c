/* ops/drivers/softmax.c -- Softmax, LogSoftmax and Hardmax (see ops/drivers/softmax.h).
 *
 * The input is viewed as [outer, len, inner]: each of the outer * inner rows
 * has len elements, inner apart.  Rows of contiguous elements (inner == 1,
 * always so before opset 13) are handled one at a time with partial maxima
 * and sums in independent lanes; otherwise a chunk of up to CHUNK neighbouring rows is
 * handled together, with inner loops across the chunk.  Work is split
 * over the session's threads by rows or chunks.  A factor the pass
 * fuse_softmax took over (c->in_scale) multiplies x first.
 *
 * The loops are the kernel table's (ops/kernels/softmax.c). */
#include <math.h>
#include <string.h>

#include "../kernels/kernels.h"
#include "softmax.h"

#define CHUNK KL_SOFTMAX_CHUNK


/* ---- the driver ---------------------------------------------------------------- */

typedef struct softmax_job {
    kl_softmax_kind kind;
    const float *x;
    float *y;
    int64_t len, inner, chunks;   /* chunks: per block of len * inner (inner > 1) */
    float scale;                  /* x's factor (c->in_scale; 1: none) */
    const kl_kernels *kern;
} softmax_job;

/* The w strided rows at x (elements inner apart) times s into y. */
static const float *scaled_chunk(float *y, const float *x, int64_t len, int64_t inner, int64_t w, float s)
{
    for (int64_t a = 0; a < len; a++)
        for (int64_t k = 0; k < w; k++)
            y[a * inner + k] = x[a * inner + k] * s;
    return y;
}

static void softmax_units(void *arg, int64_t lo, int64_t hi)
{
    const softmax_job *j = arg;
    for (int64_t u = lo; u < hi; u++) {
        if (j->inner == 1) {
            j->kern->softmax_row.fn(j->kind, j->y + u * j->len, j->x + u * j->len, j->len, j->scale);
        } else {
            int64_t block = u / j->chunks, first = (u % j->chunks) * CHUNK;
            int64_t w = j->inner - first < CHUNK ? j->inner - first : CHUNK;
            int64_t off = block * j->len * j->inner + first;
            const float *x = j->scale == 1.0f ? j->x + off
                                              : scaled_chunk(j->y + off, j->x + off, j->len, j->inner, w, j->scale);
            j->kern->softmax_chunk.fn(j->kind, j->y + off, x, j->len, j->inner, w);
        }
    }
}

static keel_status softmax_axis(kl_opctx *c, int *axis)
{
    const kl_tensor *x = c->in[0];
    if (x->rank < 1)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input is a scalar; expected rank 1 or more");
    return kl_norm_axis(c, kl_attr_int(c->node, "axis", c->opset >= 13 ? -1 : 1), x->rank, axis);
}

keel_status kl_softmax_infer(kl_opctx *c)
{
    static const int types[] = {KEEL_FLOAT, 0};
    int axis;
    keel_status st = kl_require_dtype(c, 0, types);
    if (!st)
        st = softmax_axis(c, &axis);
    if (st)
        return st;
    kl_set_shape(c->out[0], KEEL_FLOAT, c->in[0]->rank, c->in[0]->dims);
    return KEEL_OK;
}

keel_status kl_softmax_run(kl_opctx *c, kl_softmax_kind kind)
{
    const kl_tensor *x = c->in[0];
    int axis;
    keel_status st = softmax_axis(c, &axis);
    int64_t numel = kl_numel(x);
    if (st || numel == 0)
        return st;
    /* no dim is 0, so no partial product overflows */
    int64_t outer = 1, len = 1, inner = 1;
    for (int d = 0; d < x->rank; d++) {
        if (d < axis)
            outer *= x->dims[d];
        else if (d == axis || c->opset < 13)
            len *= x->dims[d];
        else
            inner *= x->dims[d];
    }
    softmax_job j = {kind, x->data, c->out[0]->data, len, inner, (inner + CHUNK - 1) / CHUNK,
                     c->in_scale != 0 ? c->in_scale : 1.0f, c->env->kern};
    int64_t units = inner == 1 ? outer : outer * j.chunks;
    if (numel < ((int64_t)1 << 14))
        softmax_units(&j, 0, units);
    else
        kl_parallel_for(c->pool, units, softmax_units, &j);
    return KEEL_OK;
}

bool kl_softmax_images_apart(const kl_opctx *c)
{
    return kl_axis_not_batch(c, c->opset < 13 ? 1 : -1);
}
