/* splittosequence.c -- SplitToSequence: a tensor cut along an axis into a
 * sequence of parts: of the lengths listed in `split`, of `split` each
 * (the last part shorter when it does not divide), or of 1 each without
 * it (the axis dropped when keepdims is 0). */
#include <string.h>

#include "drivers/sequence.h"

#define MAX_PARTS (1 << 20)

/* The parts' lengths along the axis (count into *n, lens allocated). */
typedef struct parts {
    int axis;
    bool drop_axis;
    int64_t n;
    int64_t *lens;
} parts;

static void parts_free(kl_opctx *c, parts *p)
{
    kl_free(c->env, p->lens, (size_t)(p->n ? p->n : 1) * sizeof *p->lens);
    p->lens = NULL;
}

static keel_status plan_parts(kl_opctx *c, parts *p)
{
    const kl_tensor *x = c->in[0], *split = c->n_in > 1 ? c->in[1] : NULL;
    memset(p, 0, sizeof *p);
    keel_status st = kl_norm_axis(c, kl_attr_int(c->node, "axis", 0), x->rank, &p->axis);
    if (st)
        return st;
    int64_t len = x->dims[p->axis];
    if (split && !split->data && kl_numel(split))
        return kl_op_needs_data(c, 1);
    if (split && split->dtype != KEEL_INT64 && split->dtype != KEEL_INT32)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "split is %s; int32 or int64 expected", kl_dtype_name(split->dtype));
    if (split && split->rank > 1)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "split has rank %d; a scalar or a list expected", split->rank);
    int64_t each = 1;
    if (split && split->rank == 0) {
        each = split->dtype == KEEL_INT64 ? *(const int64_t *)split->data : *(const int32_t *)split->data;
        if (each <= 0)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "split is %lld; a positive length expected", (long long)each);
    }
    p->drop_axis = !split && kl_attr_int(c->node, "keepdims", 1) == 0;
    p->n = split && split->rank == 1 ? kl_numel(split) : (len + each - 1) / each;
    if (p->n > MAX_PARTS)
        return kl_op_fail(c, KEEL_ERR_LIMIT, "%lld parts; keel makes at most %d", (long long)p->n, MAX_PARTS);
    if (!(p->lens = kl_alloc(c->env, (size_t)(p->n ? p->n : 1) * sizeof *p->lens)))
        return kl_op_fail(c, KEEL_ERR_NOMEM, "out of memory");
    int64_t sum = 0;
    for (int64_t i = 0; i < p->n; i++) {
        if (split && split->rank == 1)
            p->lens[i] = split->dtype == KEEL_INT64 ? ((const int64_t *)split->data)[i]
                                                    : ((const int32_t *)split->data)[i];
        else
            p->lens[i] = len - sum < each ? len - sum : each;
        if (p->lens[i] < 0 || p->lens[i] > len - sum) {
            parts_free(c, p);
            return kl_op_fail(c, KEEL_ERR_SHAPE, "split lengths do not add up to the axis' %lld", (long long)len);
        }
        sum += p->lens[i];
    }
    if (sum != len) {
        parts_free(c, p);
        return kl_op_fail(c, KEEL_ERR_SHAPE, "split lengths add up to %lld, not the axis' %lld", (long long)sum,
                          (long long)len);
    }
    return KEEL_OK;
}

static keel_status split_infer(kl_opctx *c)
{
    if (kl_dtype_boxed(c->in[0]->dtype) && c->in[0]->dtype != KEEL_STRING)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input 0 is a %s value; a tensor expected",
                          kl_dtype_name(c->in[0]->dtype));
    if (c->in[0]->rank < 1)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input 0 is a scalar; there is no axis to split");
    parts p;
    keel_status st = plan_parts(c, &p);
    if (st)
        return st;
    kl_seq_set_shape(c, 0, p.n);
    parts_free(c, &p);
    return KEEL_OK;
}

/* Part i (from `start` along the axis, lens[i] long) into item t, with a
 * buffer of its own. */
static keel_status cut(kl_opctx *c, const parts *p, int64_t i, int64_t start, kl_tensor *t)
{
    const kl_tensor *x = c->in[0];
    *t = *x;
    t->dims[p->axis] = p->lens[i];
    size_t es = kl_dtype_size(x->dtype);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < p->axis; d++)
        outer *= x->dims[d];
    for (int d = p->axis + 1; d < x->rank; d++)
        inner *= x->dims[d];
    size_t run = (size_t)(p->lens[i] * inner) * es;
    t->data = kl_alloc(c->env, (size_t)outer * run + 1);
    if (!t->data)
        return kl_op_fail(c, KEEL_ERR_NOMEM, "out of memory");
    for (int64_t o = 0; o < outer && run; o++)
        memcpy((char *)t->data + (size_t)o * run,
               (const char *)x->data + ((size_t)(o * x->dims[p->axis] + start) * (size_t)inner) * es, run);
    if (p->drop_axis) {
        memmove(t->dims + p->axis, t->dims + p->axis + 1, (size_t)(x->rank - p->axis - 1) * sizeof *t->dims);
        t->rank--;
    }
    return KEEL_OK;
}

static keel_status split_run(kl_opctx *c)
{
    parts p;
    keel_status st = plan_parts(c, &p);
    if (st)
        return st;
    kl_tensor *items = kl_alloc(c->env, (size_t)(p.n ? p.n : 1) * sizeof *items);
    if (!items)
        st = kl_op_fail(c, KEEL_ERR_NOMEM, "out of memory");
    int64_t made = 0;
    for (int64_t start = 0; !st && made < p.n; start += p.lens[made++])
        st = cut(c, &p, made, start, &items[made]);
    if (!st)
        st = kl_out_sequence(c, 0, items, p.n);
    for (int64_t i = 0; items && i < made; i++) /* (strings: their pointer arrays) */
        kl_free(c->env, items[i].data, kl_nbytes(&items[i]) + 1);
    kl_free(c->env, items, (size_t)(p.n ? p.n : 1) * sizeof *items);
    parts_free(c, &p);
    return st;
}

static const kl_op splittosequence = {.type = "SplitToSequence", .since = 11, .min_inputs = 1, .max_inputs = 2,
                                      .flags = KL_OP_VALUES, .infer = split_infer, .run = split_run};

const kl_op *const kl_opfile_splittosequence[] = {&splittosequence, NULL};
