/* concatfromsequence.c -- ConcatFromSequence: the tensors of a sequence
 * laid end to end along an axis, or stacked along a new one (new_axis). */
#include <string.h>

#include "drivers/sequence.h"

/* The output's shape from the items; *axis the axis they join along (of
 * the output). */
static keel_status joined_shape(kl_opctx *c, const kl_tensor *seq, int *axis, kl_tensor *shape)
{
    const kl_tensor *items = seq->data;
    int64_t n = seq->dims[0];
    if (n == 0)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "the sequence is empty; there is nothing to concatenate");
    bool stack = kl_attr_int(c->node, "new_axis", 0) != 0;
    const kl_tensor *first = &items[0];
    if (first->dtype == KEEL_STRING)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "the sequence holds strings; keel concatenates numbers");
    int rank = first->rank + (stack ? 1 : 0);
    if (rank > KL_MAX_RANK || rank < 1)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "items of rank %d cannot be %s", first->rank,
                          stack ? "stacked" : "concatenated");
    keel_status st = kl_norm_axis(c, kl_attr_int(c->node, "axis", 0), rank, axis);
    if (st)
        return st;
    *shape = *first;
    shape->rank = rank;
    for (int d = 0, s = 0; d < rank; d++)
        shape->dims[d] = stack && d == *axis ? 1 : first->dims[s++];
    shape->dims[*axis] = 0;
    for (int64_t i = 0; i < n; i++) {
        const kl_tensor *t = &items[i];
        bool fits = t->dtype == first->dtype && t->rank == first->rank;
        for (int d = 0, s = 0; fits && d < rank; d++) {
            if (stack && d == *axis)
                continue;
            fits = d == *axis || t->dims[s] == first->dims[s];
            s++;
        }
        if (!fits)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "item %lld does not fit item 0 along axis %d", (long long)i, *axis);
        shape->dims[*axis] += stack ? 1 : t->dims[*axis];
    }
    return KEEL_OK;
}

static keel_status concat_infer(kl_opctx *c)
{
    const kl_tensor *seq;
    kl_tensor shape;
    int axis;
    keel_status st = kl_seq_input(c, 0, &seq);
    if (!st)
        st = joined_shape(c, seq, &axis, &shape);
    if (!st)
        kl_set_shape(c->out[0], shape.dtype, shape.rank, shape.dims);
    return st;
}

static keel_status concat_run(kl_opctx *c)
{
    const kl_tensor *seq = c->in[0], *items = seq->data, *out = c->out[0];
    kl_tensor shape;
    int axis;
    keel_status st = joined_shape(c, seq, &axis, &shape);
    if (st)
        return st;
    size_t es = kl_dtype_size(out->dtype);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= out->dims[d];
    for (int d = axis + 1; d < out->rank; d++)
        inner *= out->dims[d];
    bool stack = kl_attr_int(c->node, "new_axis", 0) != 0;
    int64_t at = 0;
    for (int64_t i = 0; i < seq->dims[0]; i++) {
        int64_t len = stack ? 1 : items[i].dims[axis];
        size_t run = (size_t)(len * inner) * es;
        for (int64_t o = 0; o < outer && run; o++)
            memcpy((char *)out->data + ((size_t)(o * out->dims[axis] + at) * (size_t)inner) * es,
                   (const char *)items[i].data + (size_t)o * run, run);
        at += len;
    }
    return KEEL_OK;
}

static const kl_op concatfromsequence = {.type = "ConcatFromSequence", .since = 11, .min_inputs = 1,
                                         .max_inputs = 1, .flags = KL_OP_VALUES, .infer = concat_infer,
                                         .run = concat_run};

const kl_op *const kl_opfile_concatfromsequence[] = {&concatfromsequence, NULL};
