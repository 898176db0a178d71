/* tile.c -- Tile: the input repeated repeats[d] times along each dim d
 * (opset 1's tiles/axis inputs are not supported). */
#include <stdint.h>
#include <string.h>

#include "op.h"

static keel_status tile_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    if (c->opset < 6)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "Tile before opset 6 (tiles and axis inputs)");
    int64_t reps[KL_MAX_RANK];
    int n = 0;
    keel_status st = kl_input_ints(c, 1, reps, KL_MAX_RANK, &n);
    if (st)
        return st;
    if (n != x->rank)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "repeats has %d values for rank %d", n, x->rank);
    int64_t dims[KL_MAX_RANK];
    for (int d = 0; d < n; d++) {
        if (reps[d] < 0)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "repeats[%d] is negative", d);
        if (reps[d] && x->dims[d] > INT64_MAX / reps[d])
            return kl_op_fail(c, KEEL_ERR_SHAPE, "repeats[%d] = %lld makes dim %d overflow", d,
                              (long long)reps[d], d);
        dims[d] = x->dims[d] * reps[d];
    }
    kl_set_shape(c->out[0], x->dtype, x->rank, dims);
    return KEEL_OK;
}

static keel_status tile_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    kl_tensor *out = c->out[0];
    int r = x->rank;
    size_t es = kl_dtype_size(x->dtype);
    int64_t n = kl_numel(out), idx[KL_MAX_RANK] = {0}, xs[KL_MAX_RANK], s = 1;
    for (int d = r - 1; d >= 0; d--) {
        xs[d] = s;
        s *= x->dims[d];
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t off = 0;
        for (int d = 0; d < r; d++)
            off += (idx[d] % x->dims[d]) * xs[d];
        memcpy((char *)out->data + (size_t)i * es, (const char *)x->data + (size_t)off * es, es);
        for (int d = r - 1; d >= 0; d--) {
            if (++idx[d] < out->dims[d])
                break;
            idx[d] = 0;
        }
    }
    return KEEL_OK;
}

static const kl_op tile = {.type = "Tile", .since = 1, .min_inputs = 2, .max_inputs = 3,
                           .infer = tile_infer, .run = tile_run};

const kl_op *const kl_opfile_tile[] = {&tile, NULL};
