/* slice.c -- Slice: a strided sub-tensor of any type.  Opsets 1-9 take
 * starts, ends and axes as attributes; 10+ as inputs 1-4 (starts, ends,
 * optional axes and steps), which must be constant.  Out-of-range starts
 * and ends are clamped as the spec says, so INT64_MAX means "to the end"
 * and, with a negative step, INT64_MIN "to the beginning". */
#include "drivers/eltwise.h"

/* The slice requested by the node, one entry per listed axis. */
typedef struct slice_args {
    int n;
    int64_t starts[KL_MAX_RANK], ends[KL_MAX_RANK], axes[KL_MAX_RANK], steps[KL_MAX_RANK];
} slice_args;

/* Per dim of the input: the first index, the step and how many kept. */
typedef struct slice_plan {
    int64_t first[KL_MAX_RANK], step[KL_MAX_RANK], count[KL_MAX_RANK];
} slice_plan;

static keel_status attr_list(kl_opctx *c, const char *name, int64_t *vals, int *n)
{
    const int64_t *v;
    *n = kl_attr_ints(c->node, name, &v);
    if (*n > KL_MAX_RANK)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "attribute %s has %d values, more than %d", name, *n,
                          KL_MAX_RANK);
    if (*n > 0)
        memcpy(vals, v, (size_t)*n * sizeof *v);
    return KEEL_OK;
}

/* An optional list input: *n = -1 when absent or empty. */
static keel_status optional_input(kl_opctx *c, int i, int64_t *vals, int *n)
{
    *n = -1;
    if (i >= c->n_in || !c->in[i] || kl_numel(c->in[i]) == 0)
        return KEEL_OK;
    return kl_input_ints(c, i, vals, KL_MAX_RANK, n);
}

static keel_status read_args(kl_opctx *c, slice_args *a)
{
    int n_ends, n_axes, n_steps = -1;
    keel_status st;
    if (c->opset < 10) {
        if ((st = attr_list(c, "starts", a->starts, &a->n)) != KEEL_OK ||
            (st = attr_list(c, "ends", a->ends, &n_ends)) != KEEL_OK ||
            (st = attr_list(c, "axes", a->axes, &n_axes)) != KEEL_OK)
            return st;
    } else if ((st = kl_input_ints(c, 1, a->starts, KL_MAX_RANK, &a->n)) != KEEL_OK ||
               (st = kl_input_ints(c, 2, a->ends, KL_MAX_RANK, &n_ends)) != KEEL_OK ||
               (st = optional_input(c, 3, a->axes, &n_axes)) != KEEL_OK ||
               (st = optional_input(c, 4, a->steps, &n_steps)) != KEEL_OK) {
        return st;
    }
    if (a->n < 0 || n_ends != a->n || (n_axes >= 0 && n_axes != a->n) ||
        (n_steps >= 0 && n_steps != a->n))
        return kl_op_fail(c, KEEL_ERR_INVALID,
                          "starts, ends, axes and steps must be given with equal lengths "
                          "(got %d, %d, %d, %d)", a->n, n_ends, n_axes, n_steps);
    for (int i = 0; i < a->n; i++) {
        if (n_axes < 0)
            a->axes[i] = i;
        if (n_steps < 0)
            a->steps[i] = 1;
    }
    return KEEL_OK;
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Kept indices of one dim: start, start + step, ... before end. */
static void plan_dim(int64_t dim, int64_t start, int64_t end, int64_t step, slice_plan *p,
                     int d)
{
    if (start < 0)
        start += dim; /* no overflow: dim >= 0 */
    if (end < 0)
        end += dim;
    int64_t span;
    if (step > 0) {
        start = clamp(start, 0, dim);
        span = clamp(end, 0, dim) - start;
    } else {
        start = clamp(start, 0, dim - 1);
        span = start - clamp(end, -1, dim - 1);
    }
    uint64_t stride = step > 0 ? (uint64_t)step : 0 - (uint64_t)step; /* even INT64_MIN */
    p->count[d] = span > 0 ? (int64_t)(1 + (uint64_t)(span - 1) / stride) : 0;
    p->first[d] = p->count[d] ? start : 0;
    p->step[d] = step;
}

static keel_status make_plan(kl_opctx *c, slice_plan *p)
{
    const kl_tensor *x = c->in[0];
    slice_args a;
    bool seen[KL_MAX_RANK] = {false};
    keel_status st = read_args(c, &a);
    if (st != KEEL_OK)
        return st;
    for (int d = 0; d < x->rank; d++)
        plan_dim(x->dims[d], 0, x->dims[d], 1, p, d);
    for (int i = 0; i < a.n; i++) {
        int axis;
        if ((st = kl_norm_axis(c, a.axes[i], x->rank, &axis)) != KEEL_OK)
            return st;
        if (seen[axis])
            return kl_op_fail(c, KEEL_ERR_INVALID, "axis %d is listed twice", axis);
        if (a.steps[i] == 0)
            return kl_op_fail(c, KEEL_ERR_INVALID, "step 0 on axis %d", axis);
        seen[axis] = true;
        plan_dim(x->dims[axis], a.starts[i], a.ends[i], a.steps[i], p, axis);
    }
    return KEEL_OK;
}

static keel_status slice_infer(kl_opctx *c)
{
    slice_plan p;
    keel_status st = make_plan(c, &p);
    if (st == KEEL_OK)
        kl_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, p.count);
    return st;
}

static keel_status slice_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    slice_plan p;
    keel_status st = make_plan(c, &p);
    if (st != KEEL_OK || kl_numel(c->out[0]) == 0)
        return st;
    int64_t esize = (int64_t)kl_dtype_size(x->dtype), elem_strides[KL_MAX_RANK],
            byte_strides[KL_MAX_RANK], offset = 0;
    kl_row_major_strides(x->rank, x->dims, elem_strides);
    for (int d = 0; d < x->rank; d++) {
        offset += p.first[d] * elem_strides[d] * esize;
        /* a step larger than the dim is only ever taken zero times */
        byte_strides[d] = p.count[d] > 1 ? p.step[d] * elem_strides[d] * esize : 0;
    }
    kl_copy_strided_on(c, c->out[0]->data, (const char *)x->data + offset, x->rank, p.count, byte_strides,
                       (size_t)esize);
    return KEEL_OK;
}

static const kl_op slice_v1 = {.type = "Slice", .since = 1, .until = 9, .min_inputs = 1,
                               .max_inputs = 1, .infer = slice_infer, .run = slice_run};
static const kl_op slice_v10 = {.type = "Slice", .since = 10, .min_inputs = 3, .max_inputs = 5,
                                .infer = slice_infer, .run = slice_run};

const kl_op *const kl_opfile_slice[] = {&slice_v1, &slice_v10, NULL};
