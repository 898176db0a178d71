/* reducemean.c -- ReduceMean over a set of axes of a float tensor: from
 * attribute `axes` (opsets 1-17) or constant input 1 (18+, where
 * noop_with_empty_axes=1 makes empty axes mean "reduce nothing"); empty or
 * absent axes reduce every dim.  keepdims (default 1) keeps the reduced
 * dims with size 1.  The mean of no elements is NaN.
 *
 * Dims of size 1 are dropped and neighbouring dims that are both reduced
 * or both kept are merged, so the input becomes a few alternating groups.
 * The innermost group is handled by a vector loop: a sum over a contiguous
 * run when it is reduced (the global-pooling pattern, trailing H*W of
 * NCHW), an addition of whole rows into the output when it is kept.  When
 * the outermost group is kept, its slices run on the session's threads. */
#include <math.h>
#include <string.h>

#include "op.h"

typedef struct rm_plan {
    bool noop;                       /* noop_with_empty_axes and no axes: copy */
    bool reduced[KL_MAX_RANK];
    int rank;                        /* the output's */
    int64_t dims[KL_MAX_RANK];
} rm_plan;

static keel_status rm_make_plan(kl_opctx *c, rm_plan *p)
{
    const kl_tensor *x = c->in[0];
    int64_t axes[KL_MAX_RANK];
    int n = 0;
    keel_status st;
    memset(p, 0, sizeof *p);
    if (c->opset < 18) {
        const int64_t *v;
        n = kl_attr_ints(c->node, "axes", &v);
        if (n > KL_MAX_RANK)
            return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'axes' has %d values; the input has rank %d",
                              n, x->rank);
        if (n > 0)
            memcpy(axes, v, (size_t)n * sizeof *v);
    } else if (c->n_in > 1 && c->in[1] && kl_numel(c->in[1]) > 0) {
        if ((st = kl_input_ints(c, 1, axes, KL_MAX_RANK, &n)))
            return st;
    }
    int64_t keepdims = kl_attr_int(c->node, "keepdims", 1);
    if (keepdims != 0 && keepdims != 1)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'keepdims' is %lld; expected 0 or 1",
                          (long long)keepdims);
    int64_t noop = c->opset >= 18 ? kl_attr_int(c->node, "noop_with_empty_axes", 0) : 0;
    if (noop != 0 && noop != 1)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'noop_with_empty_axes' is %lld; expected 0 or 1",
                          (long long)noop);
    if (n > 0 && x->rank == 0)
        return kl_op_fail(c, KEEL_ERR_INVALID, "axes are given for a scalar input");
    for (int i = 0; i < n; i++) {
        int axis;
        if ((st = kl_norm_axis(c, axes[i], x->rank, &axis)))
            return st;
        if (p->reduced[axis])
            return kl_op_fail(c, KEEL_ERR_INVALID, "axis %lld is listed twice", (long long)axes[i]);
        p->reduced[axis] = true;
    }
    if (n <= 0) {
        p->noop = noop == 1;
        for (int d = 0; d < x->rank; d++)
            p->reduced[d] = !p->noop;
    }
    for (int d = 0; d < x->rank; d++)
        if (!p->reduced[d] || keepdims)
            p->dims[p->rank++] = p->reduced[d] ? 1 : x->dims[d];
    return KEEL_OK;
}

static keel_status rm_infer(kl_opctx *c)
{
    static const int types[] = {KEEL_FLOAT, 0};
    rm_plan p;
    keel_status st = kl_require_dtype(c, 0, types);
    if (!st)
        st = rm_make_plan(c, &p);
    if (!st)
        kl_set_shape(c->out[0], KEEL_FLOAT, p.rank, p.dims);
    return st;
}

/* ---- kernels ---------------------------------------------------------------- */

/* Groups of merged dims, outermost first. */
typedef struct rm_groups {
    int m;
    int64_t size[KL_MAX_RANK];
    bool reduced[KL_MAX_RANK];
    int64_t in_stride[KL_MAX_RANK];  /* elements of x between neighbours */
    int64_t out_stride[KL_MAX_RANK]; /* elements of y between neighbours; 0 if reduced */
} rm_groups;

static inline float contiguous_sum(const float *restrict x, int64_t n)
{
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += x[i + j];
    float tail = 0;
    for (; i < n; i++)
        tail += x[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

static inline void add_row(float *restrict y, const float *restrict x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] += x[i];
}

/* Means over groups [first, m) of one slice: x and y point at the slice,
 * which has out_n output elements. */
static inline void rm_slice(const rm_groups *g, int first, const float *restrict x, float *restrict y,
                     int64_t out_n, float scale)
{
    const int last = g->m - 1;
    if (first == last && g->reduced[last]) { /* one contiguous run: the common case */
        y[0] = contiguous_sum(x, g->size[last]) * scale;
        return;
    }
    memset(y, 0, (size_t)out_n * sizeof *y);
    int64_t idx[KL_MAX_RANK] = {0}, in_off = 0, out_off = 0;
    for (;;) {
        if (g->reduced[last])
            y[out_off] += contiguous_sum(x + in_off, g->size[last]);
        else
            add_row(y + out_off, x + in_off, g->size[last]);
        int k = last - 1;
        for (; k >= first; k--) {
            in_off += g->in_stride[k];
            out_off += g->out_stride[k];
            if (++idx[k] < g->size[k])
                break;
            in_off -= g->in_stride[k] * g->size[k];
            out_off -= g->out_stride[k] * g->size[k];
            idx[k] = 0;
        }
        if (k < first)
            break;
    }
    for (int64_t i = 0; i < out_n; i++)
        y[i] *= scale;
}

typedef struct rm_job {
    const rm_groups *g;
    const float *x;
    float *y;
    int64_t out_n;
    float scale;
    bool whole;                      /* one slice: everything */
} rm_job;

/* Slices [lo, hi) of the outermost (kept) group, or the whole tensor. */
KL_HOT static void rm_slices(void *arg, int64_t lo, int64_t hi)
{
    const rm_job *j = arg;
    const rm_groups *g = j->g;
    if (j->whole) {
        rm_slice(g, 0, j->x, j->y, j->out_n, j->scale);
        return;
    }
    for (int64_t s = lo; s < hi; s++)
        rm_slice(g, 1, j->x + s * g->in_stride[0], j->y + s * g->out_stride[0], g->out_stride[0], j->scale);
}

static keel_status rm_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0], *y = c->out[0];
    rm_plan p;
    keel_status st = rm_make_plan(c, &p);
    if (st)
        return st;
    int64_t in_n = kl_numel(x), out_n = kl_numel(y);
    float *out = y->data;
    if (out_n == 0)
        return KEEL_OK;
    if (p.noop) {
        memcpy(out, x->data, (size_t)in_n * sizeof *out);
        return KEEL_OK;
    }
    if (in_n == 0) { /* the mean of nothing */
        for (int64_t i = 0; i < out_n; i++)
            out[i] = NAN;
        return KEEL_OK;
    }
    rm_groups g;
    g.m = 0;
    for (int d = 0; d < x->rank; d++) {
        if (x->dims[d] == 1)
            continue;
        if (g.m > 0 && g.reduced[g.m - 1] == p.reduced[d]) {
            g.size[g.m - 1] *= x->dims[d];
        } else {
            g.size[g.m] = x->dims[d];
            g.reduced[g.m++] = p.reduced[d];
        }
    }
    if (g.m == 0) { /* one element */
        out[0] = *(const float *)x->data;
        return KEEL_OK;
    }
    int64_t in_stride = 1, out_stride = 1;
    for (int k = g.m - 1; k >= 0; k--) {
        g.in_stride[k] = in_stride;
        g.out_stride[k] = g.reduced[k] ? 0 : out_stride;
        in_stride *= g.size[k];
        if (!g.reduced[k])
            out_stride *= g.size[k];
    }
    rm_job j = {&g, x->data, out, out_n, (float)((double)out_n / (double)in_n), g.reduced[0] || g.m == 1};
    if (j.whole || in_n < ((int64_t)1 << 15))
        rm_slices(&j, 0, g.size[0]);
    else
        kl_parallel_for(c->pool, g.size[0], rm_slices, &j);
    return KEEL_OK;
}

static const kl_op rm_v1 = {.type = "ReduceMean", .domain = "", .since = 1, .until = 17,
                            .min_inputs = 1, .max_inputs = 1, .infer = rm_infer, .run = rm_run};
static const kl_op rm_v18 = {.type = "ReduceMean", .domain = "", .since = 18, .until = 0,
                             .min_inputs = 1, .max_inputs = 2, .infer = rm_infer, .run = rm_run};

const kl_op *const kl_opfile_reducemean[] = {&rm_v1, &rm_v18, NULL};
