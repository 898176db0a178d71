/* ops/drivers/reduce.c -- Reduce* and ArgMax/ArgMin (see ops/drivers/reduce.h).
 *
 * Dims of size 1 are dropped and neighbouring dims that are both reduced
 * or both kept are merged, so the input becomes a few alternating groups.
 * The innermost group is handled by one kernel call: a fold over a
 * contiguous run into one output when it is reduced (the global-pooling
 * pattern, trailing H*W of NCHW), an elementwise fold of a whole row into
 * the output row when it is kept.  A kernel applies a map to each element
 * (identity, |x|, x*x or exp(x - shift)) and combines with + * max or min.
 * When the outermost group is kept, its slices run on the session's
 * threads, each range of slices initialized, folded and finished on its
 * own; when every slice is one reduced run, a range is one kernel call. */
#include <math.h>
#include <string.h>

#include "eltwise.h"
#include "../kernels/kernels.h"
#include "reduce.h"
#include "reference.h"

/* ---- which axes ---------------------------------------------------------- */

typedef struct red_plan {
    bool noop;                       /* noop_with_empty_axes and no axes: copy */
    bool reduced[KL_MAX_RANK];
    int rank;                        /* the output's */
    int64_t dims[KL_MAX_RANK];
} red_plan;

static keel_status read_axes(kl_opctx *c, int axes_input_since, int64_t *axes, int *n)
{
    *n = 0;
    if (c->opset < axes_input_since) {
        const int64_t *v;
        int count = kl_attr_ints(c->node, "axes", &v);
        if (count > KL_MAX_RANK)
            return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'axes' has %d values; the input has rank %d",
                              count, c->in[0]->rank);
        if (count > 0)
            memcpy(axes, v, (size_t)count * sizeof *v);
        *n = count > 0 ? count : 0;
        return KEEL_OK;
    }
    if (kl_attr_has(c->node, "axes"))
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'axes' is not part of opset %d; the axes are input 1",
                          c->opset);
    if (c->n_in > 1 && c->in[1] && kl_numel(c->in[1]) > 0)
        return kl_input_ints(c, 1, axes, KL_MAX_RANK, n);
    return KEEL_OK;
}

static keel_status bool_attr(kl_opctx *c, const char *name, int64_t dflt, int64_t *val)
{
    *val = kl_attr_int(c->node, name, dflt);
    if (*val != 0 && *val != 1)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute '%s' is %lld; expected 0 or 1", name,
                          (long long)*val);
    return KEEL_OK;
}

static keel_status make_plan(kl_opctx *c, int axes_input_since, red_plan *p)
{
    const kl_tensor *x = c->in[0];
    int64_t axes[KL_MAX_RANK], keepdims, noop = 0;
    int n;
    keel_status st;
    memset(p, 0, sizeof *p);
    if ((st = read_axes(c, axes_input_since, axes, &n)) || (st = bool_attr(c, "keepdims", 1, &keepdims)))
        return st;
    if (c->opset >= axes_input_since && (st = bool_attr(c, "noop_with_empty_axes", 0, &noop)))
        return st;
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
    if (n == 0) {
        p->noop = noop == 1;
        for (int d = 0; d < x->rank; d++)
            p->reduced[d] = !p->noop;
    }
    for (int d = 0; d < x->rank; d++)
        if (!p->reduced[d] || keepdims)
            p->dims[p->rank++] = p->reduced[d] ? 1 : x->dims[d];
    return KEEL_OK;
}

static bool float_only(kl_reduce_kind kind)
{
    return kind == KL_REDUCE_LOGSUM || kind == KL_REDUCE_LOGSUMEXP;
}

keel_status kl_reduce_infer(kl_opctx *c, kl_reduce_kind kind, int axes_input_since)
{
    static const int all_types[] = {KEEL_FLOAT, KEEL_DOUBLE, KEEL_INT8, KEEL_UINT8, KEEL_INT32, KEEL_INT64, 0};
    static const int float_types[] = {KEEL_FLOAT, KEEL_DOUBLE, 0};
    red_plan p;
    keel_status st = kl_require_dtype(c, 0, float_only(kind) ? float_types : all_types);
    if (!st)
        st = make_plan(c, axes_input_since, &p);
    if (!st)
        kl_set_shape(c->out[0], c->in[0]->dtype, p.rank, p.dims);
    return st;
}

size_t kl_reduce_scratch(kl_opctx *c, kl_reduce_kind kind)
{
    /* ReduceLogSumExp keeps each output's maximum (the shift) */
    return kind == KL_REDUCE_LOGSUMEXP ? (size_t)kl_numel(c->out[0]) * kl_dtype_size(c->out[0]->dtype) : 0;
}

/* ---- kernels --------------------------------------------------------------- */

/* Writes the identity of kind's combination, as dtype, to value. */
static void identity_of(kl_reduce_kind kind, int dtype, void *value)
{
#define SET(T, v) (*(T *)value = (T)(v))
#define SET_BY_TYPE(IDENT)                                       \
    switch (dtype) {                                             \
    case KEEL_FLOAT: SET(float, IDENT(float)); break;            \
    case KEEL_DOUBLE: SET(double, IDENT(double)); break;         \
    case KEEL_INT8: SET(int8_t, IDENT(int8_t)); break;           \
    case KEEL_UINT8: SET(uint8_t, IDENT(uint8_t)); break;        \
    case KEEL_INT32: SET(int32_t, IDENT(int32_t)); break;        \
    default: SET(int64_t, IDENT(int64_t)); break;                \
    }
    if (kind == KL_REDUCE_MAX)
        SET_BY_TYPE(KL_LOWEST)
    else if (kind == KL_REDUCE_MIN)
        SET_BY_TYPE(KL_HIGHEST)
    else if (kind == KL_REDUCE_PROD)
        SET_BY_TYPE(KL_ONE)
    else
        SET_BY_TYPE(KL_ZERO)
#undef SET_BY_TYPE
#undef SET
}

/* The last step: mean, root, logarithm.  count: inputs per output. */
#define EMPTY_MEAN(T) _Generic((T)0, float: NAN, double: NAN, default: 0)
#define FINISH(T)                                                                         \
    static void finish_##T(kl_reduce_kind kind, T *y, const T *shift, int64_t n, int64_t count) \
    {                                                                                     \
        for (int64_t i = 0; i < n; i++) {                                                 \
            switch (kind) {                                                               \
            case KL_REDUCE_MEAN:                                                          \
                y[i] = count ? (T)((double)y[i] / (double)count) : (T)EMPTY_MEAN(T);     \
                break;                                                                    \
            case KL_REDUCE_L2: y[i] = (T)sqrt((double)y[i]); break;                       \
            case KL_REDUCE_LOGSUM: y[i] = (T)log((double)y[i]); break;                    \
            case KL_REDUCE_LOGSUMEXP: y[i] = (T)(log((double)y[i]) + shift[i]); break;    \
            default: return;                                                              \
            }                                                                             \
        }                                                                                 \
    }
FINISH(float)
FINISH(double)
FINISH(int8_t)
FINISH(uint8_t)
FINISH(int32_t)
FINISH(int64_t)

static void finish(kl_reduce_kind kind, int dtype, void *y, const void *shift, int64_t n, int64_t count)
{
    switch (dtype) {
    case KEEL_FLOAT: finish_float(kind, y, shift, n, count); break;
    case KEEL_DOUBLE: finish_double(kind, y, shift, n, count); break;
    case KEEL_INT8: finish_int8_t(kind, y, shift, n, count); break;
    case KEEL_UINT8: finish_uint8_t(kind, y, shift, n, count); break;
    case KEEL_INT32: finish_int32_t(kind, y, shift, n, count); break;
    default: finish_int64_t(kind, y, shift, n, count); break;
    }
}

/* ---- the walk ------------------------------------------------------------- */

/* Groups of merged dims, outermost first. */
typedef struct red_groups {
    int m;
    int64_t size[KL_MAX_RANK];
    bool reduced[KL_MAX_RANK];
    int64_t in_stride[KL_MAX_RANK];  /* elements of x between neighbours */
    int64_t out_stride[KL_MAX_RANK]; /* elements of y between neighbours; 0 if reduced */
} red_groups;

static void make_groups(const kl_tensor *x, const red_plan *p, red_groups *g)
{
    g->m = 0;
    for (int d = 0; d < x->rank; d++) {
        if (x->dims[d] == 1)
            continue;
        if (g->m > 0 && g->reduced[g->m - 1] == p->reduced[d]) {
            g->size[g->m - 1] *= x->dims[d];
        } else {
            g->size[g->m] = x->dims[d];
            g->reduced[g->m++] = p->reduced[d];
        }
    }
    if (g->m == 0) { /* one element */
        g->size[0] = 1;
        g->reduced[g->m++] = false;
    }
    int64_t in_stride = 1, out_stride = 1;
    for (int k = g->m - 1; k >= 0; k--) {
        g->in_stride[k] = in_stride;
        g->out_stride[k] = g->reduced[k] ? 0 : out_stride;
        in_stride *= g->size[k];
        if (!g->reduced[k])
            out_stride *= g->size[k];
    }
}

typedef struct red_job {
    const red_groups *g;
    kl_reduce_kind kind;
    int dtype;
    size_t esize;
    klk_reduce_loop fold, fold_max;           /* fold_max: first pass of LogSumExp */
    const char *x;
    char *y, *shift;
    int64_t count;                   /* inputs per output */
    int64_t out_n;
} red_job;

/* Folds groups [first, m) of one slice into y (and shift) with fn. */
static void walk(const red_job *j, int first, const char *x, char *y, const char *shift, klk_reduce_loop fn)
{
    const red_groups *g = j->g;
    const int last = g->m - 1;
    const size_t es = j->esize;
    int64_t idx[KL_MAX_RANK] = {0}, in_off = 0, out_off = 0;
    for (;;) {
        fn(y + (size_t)out_off * es, x + (size_t)in_off * es, g->size[last], g->reduced[last], 1,
           shift ? shift + (size_t)out_off * es : NULL);
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
}

/* Slices [lo, hi) of the outermost group (first = 1: the outermost group
 * is kept, and its slices are neighbours in x and in y), or with first = 0
 * the whole tensor as one slice: fills their outputs with the identity,
 * folds each slice in, and finishes the outputs. */
static void fold_slices(const red_job *j, int first, int64_t lo, int64_t hi)
{
    const red_groups *g = j->g;
    const size_t es = j->esize;
    const int64_t in_step = first ? g->in_stride[0] : 0, out_step = first ? g->out_stride[0] : 0;
    const int64_t out_n = first ? (hi - lo) * out_step : j->out_n;
    const char *x = j->x + (size_t)(lo * in_step) * es;
    char *y = j->y + (size_t)(lo * out_step) * es;
    char *shift = j->shift ? j->shift + (size_t)(lo * out_step) * es : NULL;
    /* each slice one reduced run: all of them in one kernel call */
    const bool one_run = first == g->m - 1 && g->reduced[first];
    const int64_t runs = one_run ? hi - lo : 0;
    char ident[8];
    if (j->kind == KL_REDUCE_LOGSUMEXP) { /* the maxima first */
        identity_of(KL_REDUCE_MAX, j->dtype, ident);
        kl_fill(shift, out_n, ident, es);
        if (one_run)
            j->fold_max(shift, x, g->size[first], true, runs, NULL);
        for (int64_t s = 0; s < hi - lo && !one_run; s++)
            walk(j, first, x + (size_t)(s * in_step) * es, shift + (size_t)(s * out_step) * es, NULL, j->fold_max);
    }
    identity_of(j->kind, j->dtype, ident);
    kl_fill(y, out_n, ident, es);
    if (one_run)
        j->fold(y, x, g->size[first], true, runs, shift);
    for (int64_t s = 0; s < hi - lo && !one_run; s++)
        walk(j, first, x + (size_t)(s * in_step) * es, y + (size_t)(s * out_step) * es,
             shift ? shift + (size_t)(s * out_step) * es : NULL, j->fold);
    finish(j->kind, j->dtype, y, shift, out_n, j->count);
}

static void slices(void *arg, int64_t lo, int64_t hi)
{
    fold_slices(arg, 1, lo, hi);
}

keel_status kl_reduce_run(kl_opctx *c, kl_reduce_kind kind, int axes_input_since)
{
    const kl_tensor *x = c->in[0], *y = c->out[0];
    red_plan p;
    keel_status st = make_plan(c, axes_input_since, &p);
    if (st)
        return st;
    int64_t in_n = kl_numel(x), out_n = kl_numel(y);
    if (out_n == 0)
        return KEEL_OK;
    if (p.noop) {
        memcpy(y->data, x->data, kl_nbytes(x));
        return KEEL_OK;
    }
    /* float sums in double; integer ones are exact, max and min need none */
    if (c->env->reference && x->dtype == KEEL_FLOAT && kind != KL_REDUCE_MAX && kind != KL_REDUCE_MIN)
        return kl_ref_reduce(c, kind, p.reduced);
    red_groups g;
    make_groups(x, &p, &g);
    red_job j = {.g = &g, .kind = kind, .dtype = x->dtype, .esize = kl_dtype_size(x->dtype),
                 .fold = c->env->kern->reduce.fn(kind, x->dtype), .fold_max = c->env->kern->reduce.fn(KL_REDUCE_MAX, x->dtype),
                 .x = x->data, .y = y->data, .shift = c->scratch, .count = in_n / out_n, .out_n = out_n};
    if (in_n == 0) /* nothing to fold: identities, finished */
        g.m = 1, g.size[0] = 0, g.reduced[0] = true;
    if (in_n == 0 || g.reduced[0] || g.m == 1)
        fold_slices(&j, 0, 0, 1);
    else if (in_n < ((int64_t)1 << 15)) {
        slices(&j, 0, g.size[0]);
    } else {
        kl_parallel_for(c->pool, g.size[0], slices, &j);
    }
    return KEEL_OK;
}

/* ---- ArgMax, ArgMin ----------------------------------------------------------- */

static keel_status arg_params(kl_opctx *c, int *axis, int64_t *keepdims, int64_t *last)
{
    const kl_tensor *x = c->in[0];
    keel_status st;
    if ((st = kl_norm_axis(c, kl_attr_int(c->node, "axis", 0), x->rank, axis)) ||
        (st = bool_attr(c, "keepdims", 1, keepdims)))
        return st;
    *last = 0;
    if (c->opset >= 12 && (st = bool_attr(c, "select_last_index", 0, last)))
        return st;
    if (x->rank == 0 || x->dims[*axis] == 0)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "the reduced axis is empty; there is no index to return");
    return KEEL_OK;
}

keel_status kl_argreduce_infer(kl_opctx *c)
{
    static const int types[] = {KEEL_FLOAT, KEEL_DOUBLE, KEEL_INT8, KEEL_UINT8, KEEL_INT32, KEEL_INT64, 0};
    int axis;
    int64_t keepdims, last;
    keel_status st = kl_require_dtype(c, 0, types);
    if (st || (st = arg_params(c, &axis, &keepdims, &last)))
        return st;
    const kl_tensor *x = c->in[0];
    int64_t dims[KL_MAX_RANK];
    int rank = 0;
    for (int d = 0; d < x->rank; d++)
        if (d != axis || keepdims)
            dims[rank++] = d == axis ? 1 : x->dims[d];
    kl_set_shape(c->out[0], KEEL_INT64, rank, dims);
    return KEEL_OK;
}

/* For each of outer * inner rows of len elements, inner apart. */
#define ARG_FN(NAME, T)                                                                        \
    static void NAME(const void *xv, int64_t *out, int64_t outer, int64_t len, int64_t inner,  \
                     bool is_max, bool last)                                                   \
    {                                                                                          \
        const T *x = xv;                                                                       \
        for (int64_t o = 0; o < outer; o++)                                                    \
            for (int64_t i = 0; i < inner; i++) {                                              \
                const T *row = x + o * len * inner + i;                                        \
                int64_t best = 0;                                                              \
                for (int64_t k = 1; k < len; k++) {                                            \
                    T v = row[k * inner], b = row[best * inner];                               \
                    bool better = is_max ? (last ? v >= b : v > b) : (last ? v <= b : v < b);  \
                    if (better)                                                                \
                        best = k;                                                              \
                }                                                                              \
                out[o * inner + i] = best;                                                     \
            }                                                                                  \
    }
ARG_FN(arg_f32, float)
ARG_FN(arg_f64, double)
ARG_FN(arg_i8, int8_t)
ARG_FN(arg_u8, uint8_t)
ARG_FN(arg_i32, int32_t)
ARG_FN(arg_i64, int64_t)

keel_status kl_argreduce_run(kl_opctx *c, bool is_max)
{
    const kl_tensor *x = c->in[0];
    int axis;
    int64_t keepdims, last;
    keel_status st = arg_params(c, &axis, &keepdims, &last);
    if (st)
        return st;
    int64_t outer = kl_dims_product(x->dims, 0, axis), len = x->dims[axis];
    int64_t inner = kl_dims_product(x->dims, axis + 1, x->rank);
    int64_t *out = c->out[0]->data;
    switch (x->dtype) {
    case KEEL_FLOAT: arg_f32(x->data, out, outer, len, inner, is_max, last); break;
    case KEEL_DOUBLE: arg_f64(x->data, out, outer, len, inner, is_max, last); break;
    case KEEL_INT8: arg_i8(x->data, out, outer, len, inner, is_max, last); break;
    case KEEL_UINT8: arg_u8(x->data, out, outer, len, inner, is_max, last); break;
    case KEEL_INT32: arg_i32(x->data, out, outer, len, inner, is_max, last); break;
    default: arg_i64(x->data, out, outer, len, inner, is_max, last); break;
    }
    return KEEL_OK;
}
