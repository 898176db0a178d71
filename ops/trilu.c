/* trilu.c -- Trilu: keeps the upper (upper = 1, the default) or lower
 * triangle of the last two dims, shifted by diagonal k (input 1), and
 * zeroes the rest. */
#include <string.h>

#include "op.h"

static keel_status read_k(kl_opctx *c, int64_t *k)
{
    int n = 0;
    *k = 0;
    return c->n_in > 1 && c->in[1] ? kl_input_ints(c, 1, k, 1, &n) : KEEL_OK;
}

static keel_status trilu_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    int64_t k;
    keel_status st = read_k(c, &k);
    if (st)
        return st;
    if (x->rank < 2)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input must have rank 2 or more");
    kl_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return KEEL_OK;
}

static keel_status trilu_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    int64_t k;
    keel_status st = read_k(c, &k);
    if (st)
        return st;
    bool upper = kl_attr_int(c->node, "upper", 1) != 0;
    int64_t rows = x->dims[x->rank - 2], cols = x->dims[x->rank - 1], plane = rows * cols;
    int64_t mats = plane > 0 ? kl_numel(x) / plane : 0;
    size_t es = kl_dtype_size(x->dtype);
    const char *src = x->data;
    char *dst = c->out[0]->data;
    for (int64_t m = 0; m < mats; m++)
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) {
                size_t at = (size_t)((m * rows + i) * cols + j) * es;
                bool keep = upper ? j - i >= k : j - i <= k;
                if (keep)
                    memmove(dst + at, src + at, es);
                else
                    memset(dst + at, 0, es);
            }
    return KEEL_OK;
}

static const kl_op trilu = {.type = "Trilu", .since = 14, .min_inputs = 1, .max_inputs = 2,
                            .flags = KL_OP_INPLACE, .infer = trilu_infer, .run = trilu_run};

const kl_op *const kl_opfile_trilu[] = {&trilu, NULL};
