/* unique.c -- Unique: the distinct elements of the flattened input (or,
 * with `axis`, the distinct slices along it), sorted ascending (sorted = 1,
 * the default; slices compare element by element) or in order of first
 * appearance; with the index of each one's first appearance, the index in
 * Y of every input element (or slice), and the counts.  The output sizes
 * depend on the data. */
#include <stdlib.h>
#include <string.h>

#include "drivers/eltwise.h"

typedef struct unique_view {
    int axis;                  /* -1: flattened */
    int64_t outer, len, inner; /* slices: len of them, each outer x inner elements */
} unique_view;

typedef struct slice_ref {
    const kl_tensor *x;
    const unique_view *v;
    int64_t i;                 /* slice index */
} slice_ref;

static double element(const kl_tensor *x, const unique_view *v, int64_t slice, int64_t e)
{
    int64_t o = e / v->inner, in = e % v->inner;
    double d;
    kl_convert(x->dtype, (const char *)x->data + (size_t)((o * v->len + slice) * v->inner + in) *
               kl_dtype_size(x->dtype), KEEL_DOUBLE, &d, 1);
    return d;
}

static int compare_slices(const kl_tensor *x, const unique_view *v, int64_t a, int64_t b)
{
    for (int64_t e = 0; e < v->outer * v->inner; e++) {
        double p = element(x, v, a, e), q = element(x, v, b, e);
        if (p != q)
            return p < q ? -1 : 1;
    }
    return 0;
}

static int by_value(const void *pa, const void *pb)
{
    const slice_ref *a = pa, *b = pb;
    int r = compare_slices(a->x, a->v, a->i, b->i);
    return r ? r : (a->i < b->i ? -1 : a->i > b->i);
}

static keel_status view_of(kl_opctx *c, unique_view *v)
{
    const kl_tensor *x = c->in[0];
    v->axis = -1;
    if (kl_attr_has(c->node, "axis")) {
        keel_status st = kl_norm_axis(c, kl_attr_int(c->node, "axis", 0), x->rank, &v->axis);
        if (st)
            return st;
    }
    v->outer = v->axis < 0 ? 1 : kl_dims_product(x->dims, 0, v->axis);
    v->len = v->axis < 0 ? kl_numel(x) : x->dims[v->axis];
    v->inner = v->axis < 0 ? 1 : kl_dims_product(x->dims, v->axis + 1, x->rank);
    return KEEL_OK;
}

/* Groups the slices: first[u] is the first slice of unique value u (in
 * output order), inverse[s] the output index of slice s; returns the
 * number of unique values.  order/refs are len entries of scratch. */
static int64_t group(const kl_tensor *x, const unique_view *v, bool sorted, slice_ref *refs, int64_t *first,
                     int64_t *inverse, int64_t *counts)
{
    for (int64_t s = 0; s < v->len; s++)
        refs[s] = (slice_ref){x, v, s};
    qsort(refs, (size_t)v->len, sizeof *refs, by_value);
    int64_t n = 0;
    for (int64_t k = 0; k < v->len; k++) { /* runs of equal slices, each led by its first appearance */
        if (k == 0 || compare_slices(x, v, refs[k - 1].i, refs[k].i) != 0) {
            first[n] = refs[k].i;
            counts[n++] = 0;
        }
        inverse[refs[k].i] = n - 1;
        counts[n - 1]++;
    }
    if (!sorted) { /* renumber by first appearance */
        int64_t *rank = inverse + v->len, *order = rank + n;
        for (int64_t u = 0; u < n; u++)
            order[u] = u;
        for (int64_t a = 1; a < n; a++) /* insertion sort of unique ids by first index */
            for (int64_t b = a; b > 0 && first[order[b - 1]] > first[order[b]]; b--) {
                int64_t t = order[b];
                order[b] = order[b - 1];
                order[b - 1] = t;
            }
        int64_t *f2 = order + n, *c2 = f2 + n;
        for (int64_t u = 0; u < n; u++) {
            rank[order[u]] = u;
            f2[u] = first[order[u]];
            c2[u] = counts[order[u]];
        }
        memcpy(first, f2, (size_t)n * sizeof *first);
        memcpy(counts, c2, (size_t)n * sizeof *counts);
        for (int64_t s = 0; s < v->len; s++)
            inverse[s] = rank[inverse[s]];
    }
    return n;
}

typedef struct unique_bufs {
    slice_ref *refs;
    int64_t *first, *inverse, *counts; /* inverse has room for 4 more len-long arrays after it */
    size_t bytes;
} unique_bufs;

static keel_status with_groups(kl_opctx *c, unique_view *v, unique_bufs *b, int64_t *n)
{
    const kl_tensor *x = c->in[0];
    if (!x->data)
        return kl_op_needs_data(c, 0);
    keel_status st = view_of(c, v);
    if (st)
        return st;
    size_t len = (size_t)(v->len ? v->len : 1);
    b->bytes = len * sizeof(slice_ref) + 7 * len * sizeof(int64_t);
    char *mem = kl_alloc(c->env, b->bytes);
    if (!mem)
        return KEEL_ERR_NOMEM;
    b->refs = (slice_ref *)mem;
    b->first = (int64_t *)(mem + len * sizeof(slice_ref));
    b->counts = b->first + len;
    b->inverse = b->counts + len;
    *n = group(x, v, kl_attr_int(c->node, "sorted", 1) != 0, b->refs, b->first, b->inverse, b->counts);
    return KEEL_OK;
}

static keel_status unique_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    unique_view v;
    unique_bufs b;
    int64_t n;
    keel_status st = with_groups(c, &v, &b, &n);
    if (st)
        return st;
    kl_free(c->env, b.refs, b.bytes);
    int64_t dims[KL_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    if (v.axis < 0)
        kl_set_shape(c->out[0], x->dtype, 1, &n);
    else {
        dims[v.axis] = n;
        kl_set_shape(c->out[0], x->dtype, x->rank, dims);
    }
    for (int k = 1; k < c->n_out && k < 4; k++)
        if (c->out[k])
            kl_set_shape(c->out[k], KEEL_INT64, 1, k == 2 ? &v.len : &n);
    return KEEL_OK;
}

static keel_status unique_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    unique_view v;
    unique_bufs b;
    int64_t n;
    keel_status st = with_groups(c, &v, &b, &n);
    if (st)
        return st;
    size_t es = kl_dtype_size(x->dtype), block = (size_t)v.inner * es;
    for (int64_t o = 0; o < v.outer; o++)
        for (int64_t u = 0; u < n; u++)
            memcpy((char *)c->out[0]->data + (size_t)(o * n + u) * block,
                   (const char *)x->data + (size_t)(o * v.len + b.first[u]) * block, block);
    const int64_t *lists[4] = {NULL, b.first, b.inverse, b.counts};
    for (int k = 1; k < c->n_out && k < 4; k++)
        if (c->out[k])
            memcpy(c->out[k]->data, lists[k], kl_nbytes(c->out[k]));
    kl_free(c->env, b.refs, b.bytes);
    return KEEL_OK;
}

static const kl_op unique = {.type = "Unique", .since = 11, .min_inputs = 1, .max_inputs = 1,
                             .infer = unique_infer, .run = unique_run};

const kl_op *const kl_opfile_unique[] = {&unique, NULL};
