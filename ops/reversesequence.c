/* reversesequence.c -- ReverseSequence: for each batch entry b (along
 * batch_axis), the first sequence_lens[b] elements along time_axis in
 * reverse order; the rest unchanged. */
#include <string.h>

#include "drivers/index.h"

static keel_status axes(kl_opctx *c, int *t_axis, int *b_axis)
{
    const kl_tensor *x = c->in[0];
    int64_t t = kl_attr_int(c->node, "time_axis", 0), b = kl_attr_int(c->node, "batch_axis", 1);
    if (x->rank < 2 || (t != 0 && t != 1) || (b != 0 && b != 1) || t == b)
        return kl_op_fail(c, KEEL_ERR_INVALID, "time_axis and batch_axis must be 0 and 1 in some order");
    *t_axis = (int)t;
    *b_axis = (int)b;
    const kl_tensor *lens = c->in[1];
    if (lens->rank != 1 || lens->dims[0] != x->dims[b])
        return kl_op_fail(c, KEEL_ERR_SHAPE, "sequence_lens must hold one length per batch entry");
    return kl_require_indices(c, 1);
}

static keel_status rs_infer(kl_opctx *c)
{
    int t, b;
    keel_status st = axes(c, &t, &b);
    if (!st)
        kl_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, c->in[0]->dims);
    return st;
}

static keel_status rs_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0], *lens = c->in[1];
    int t_axis = 0, b_axis = 1;
    keel_status st = axes(c, &t_axis, &b_axis);
    if (st)
        return st;
    size_t es = kl_dtype_size(x->dtype);
    int64_t inner = 1, T = x->dims[t_axis], B = x->dims[b_axis];
    for (int d = 2; d < x->rank; d++)
        inner *= x->dims[d];
    size_t block = (size_t)inner * es;
    for (int64_t b = 0; b < B; b++) {
        int64_t len = kl_index_at(lens, b);
        if (len < 0 || len > T)
            return kl_op_fail(c, KEEL_ERR_RUNTIME, "sequence_lens[%lld] = %lld is outside [0, %lld]", (long long)b,
                              (long long)len, (long long)T);
        for (int64_t t = 0; t < T; t++) {
            int64_t src_t = t < len ? len - 1 - t : t;
            int64_t dst = t_axis == 0 ? t * B + b : b * T + t, src = t_axis == 0 ? src_t * B + b : b * T + src_t;
            memcpy((char *)c->out[0]->data + (size_t)dst * block, (const char *)x->data + (size_t)src * block, block);
        }
    }
    return KEEL_OK;
}

static const kl_op rs = {.type = "ReverseSequence", .since = 10, .min_inputs = 2, .max_inputs = 2,
                         .infer = rs_infer, .run = rs_run};

const kl_op *const kl_opfile_reversesequence[] = {&rs, NULL};
