/* pad.c -- Pad: grows (or, with negative pads, crops) each dim of a tensor
 * of any type.  Pads are [x1_begin, x2_begin, ..., x1_end, x2_end, ...]:
 * attribute `paddings` (opset 1) or `pads` (2-10), constant input 1 (11+),
 * for the axes listed in optional input 3 (18+) or all of them.  Modes:
 * constant (value: attribute until 10, optional input 2 since 11),
 * reflect, edge and wrap.  As in onnxruntime, negative pads crop first and
 * the padding then reflects, repeats or wraps the cropped data. */
#include "drivers/eltwise.h"

typedef enum pad_mode { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP } pad_mode;

/* Per dim: `crop` input elements are skipped, the next `kept` are used,
 * and the output has `grow` padded elements before them; dims[] is the
 * output shape. */
typedef struct pad_plan {
    pad_mode mode;
    int64_t crop[KL_MAX_RANK], kept[KL_MAX_RANK], grow[KL_MAX_RANK], dims[KL_MAX_RANK];
} pad_plan;

static keel_status read_mode(kl_opctx *c, pad_mode *mode)
{
    static const char *const names[] = {"constant", "reflect", "edge", "wrap"};
    const char *m = kl_attr_str(c->node, "mode", "constant");
    for (int i = 0; i < 4; i++)
        if (strcmp(m, names[i]) == 0) {
            *mode = (pad_mode)i;
            return KEEL_OK;
        }
    return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "mode '%s' is not one of constant, reflect, "
                      "edge, wrap", m);
}

/* The pads as listed by the node (2 per axis) and the axes they are for. */
static keel_status read_pad_list(kl_opctx *c, int64_t *pads, int *n, int64_t *axes,
                                 int *n_axes)
{
    int rank = c->in[0]->rank;
    keel_status st;
    *n_axes = -1;
    if (c->opset >= 11) {
        if ((st = kl_input_ints(c, 1, pads, 2 * KL_MAX_RANK, n)) != KEEL_OK)
            return st;
        if (c->opset >= 18 && c->n_in > 3 && c->in[3] && kl_numel(c->in[3]) > 0 &&
            (st = kl_input_ints(c, 3, axes, KL_MAX_RANK, n_axes)) != KEEL_OK)
            return st;
    } else {
        const int64_t *attr;
        *n = kl_attr_ints(c->node, c->opset == 1 ? "paddings" : "pads", &attr);
        if (*n > 2 * KL_MAX_RANK)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "%d pads for rank %d", *n, rank);
        if (*n > 0)
            memcpy(pads, attr, (size_t)*n * sizeof *attr);
    }
    if (*n_axes < 0) {
        *n_axes = rank;
        for (int d = 0; d < rank; d++)
            axes[d] = d;
    }
    if (*n != 2 * *n_axes)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "%d pads for %d axes (need two per axis)", *n,
                          *n_axes);
    return KEEL_OK;
}

/* Splits one dim's pads into crop, kept and grow; false if they do not
 * fit.  The bound keeps every sum below free of overflow. */
static bool plan_dim(pad_plan *p, int d, int64_t dim, int64_t begin, int64_t end)
{
    const int64_t limit = INT64_MAX / 4;
    if (begin < -limit || begin > limit || end < -limit || end > limit || dim > limit)
        return false;
    p->crop[d] = begin < 0 ? -begin : 0;
    p->kept[d] = dim - p->crop[d] - (end < 0 ? -end : 0);
    p->grow[d] = begin > 0 ? begin : 0;
    p->dims[d] = p->grow[d] + p->kept[d] + (end > 0 ? end : 0);
    return p->kept[d] >= 0 && (p->kept[d] > 0 || p->mode == PAD_CONSTANT || p->dims[d] == 0);
}

static keel_status make_plan(kl_opctx *c, pad_plan *p)
{
    const kl_tensor *x = c->in[0];
    int64_t pads[2 * KL_MAX_RANK], axes[KL_MAX_RANK], begin[KL_MAX_RANK] = {0},
            end[KL_MAX_RANK] = {0};
    int n, n_axes;
    keel_status st = read_mode(c, &p->mode);
    if (st == KEEL_OK)
        st = read_pad_list(c, pads, &n, axes, &n_axes);
    if (st != KEEL_OK)
        return st;
    for (int i = 0; i < n_axes; i++) {
        int axis;
        if ((st = kl_norm_axis(c, axes[i], x->rank, &axis)) != KEEL_OK)
            return st;
        begin[axis] = pads[i];
        end[axis] = pads[i + n_axes];
    }
    for (int d = 0; d < x->rank; d++)
        if (!plan_dim(p, d, x->dims[d], begin[d], end[d]))
            return kl_op_fail(c, KEEL_ERR_SHAPE, "pads %lld and %lld do not fit dim %d of size "
                              "%lld in mode %s", (long long)begin[d], (long long)end[d], d,
                              (long long)x->dims[d], kl_attr_str(c->node, "mode", "constant"));
    return KEEL_OK;
}

/* Opsets 2-10: attribute `value`, for the float types they allowed;
 * 11+: optional input 2, one value of the data's type. */
static keel_status check_value(kl_opctx *c)
{
    int dtype = c->in[0]->dtype;
    if (c->opset < 11) {
        if (dtype != KEEL_FLOAT && dtype != KEEL_DOUBLE && dtype != KEEL_FLOAT16)
            return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "type %s is not supported before opset 11",
                              kl_dtype_name(dtype));
        return KEEL_OK;
    }
    const kl_tensor *v = c->n_in > 2 ? c->in[2] : NULL;
    if (v && kl_numel(v) > 1)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "constant_value must be one value, not %lld",
                          (long long)kl_numel(v));
    if (v && kl_numel(v) == 1 && v->dtype != dtype)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "constant_value has type %s, the data %s",
                          kl_dtype_name(v->dtype), kl_dtype_name(dtype));
    return KEEL_OK;
}

static keel_status pad_infer(kl_opctx *c)
{
    pad_plan p;
    keel_status st = make_plan(c, &p);
    if (st == KEEL_OK)
        st = check_value(c);
    if (st == KEEL_OK)
        kl_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, p.dims);
    return st;
}

/* Index into the kept elements (`kept` of them, after `grow` padded ones)
 * that output index o reads, or -1 for the constant. */
static int64_t source_index(int64_t o, int64_t grow, int64_t kept, pad_mode mode)
{
    int64_t i = o - grow;
    if (i >= 0 && i < kept)
        return i;
    switch (mode) {
    case PAD_EDGE:
        return i < 0 ? 0 : kept - 1;
    case PAD_WRAP:
        return (i % kept + kept) % kept;
    case PAD_REFLECT: { /* mirror at both ends without repeating the edge */
        if (kept == 1)
            return 0;
        int64_t period = 2 * (kept - 1);
        i = (i < 0 ? -i : i) % period;
        return i < kept ? i : period - i;
    }
    default:
        return -1;
    }
}

/* The constant as esize bytes. */
static void pad_value(const kl_opctx *c, unsigned char *value)
{
    const kl_tensor *x = c->in[0], *v = c->n_in > 2 ? c->in[2] : NULL;
    size_t esize = kl_dtype_size(x->dtype);
    memset(value, 0, esize);
    if (c->opset >= 11) {
        if (v && kl_numel(v) == 1)
            memcpy(value, v->data, esize);
        return;
    }
    float f = kl_attr_float(c->node, "value", 0);
    double d = f;
    uint16_t h = kl_float_to_half(f);
    memcpy(value, x->dtype == KEEL_FLOAT ? (void *)&f : x->dtype == KEEL_DOUBLE ? (void *)&d
                                                                                : (void *)&h,
           esize);
}

/* The padded outputs [from, to) of a row, one element at a time. */
static void pad_elements(char *dst, const char *src, int64_t from, int64_t to, int64_t grow,
                         int64_t kept, pad_mode mode, const unsigned char *value, size_t esize)
{
    for (int64_t o = from; o < to; o++) {
        int64_t i = source_index(o, grow, kept, mode);
        memcpy(dst + o * (int64_t)esize, i < 0 ? (const void *)value : src + i * (int64_t)esize,
               esize);
    }
}

/* One output row along the last dim from the kept input row `src` (NULL:
 * the row is all padding). */
static void fill_row(char *dst, const char *src, int64_t grow, int64_t kept, int64_t out_len,
                     pad_mode mode, const unsigned char *value, size_t esize)
{
    if (mode == PAD_CONSTANT && esize == sizeof(float)) { /* the common case, without a call per element */
        float v, *d = (float *)dst;
        memcpy(&v, value, sizeof v);
        int64_t head = src ? grow : out_len, tail = src ? grow + kept : out_len;
        for (int64_t o = 0; o < head; o++)
            d[o] = v;
        if (src)
            memcpy(d + grow, src, (size_t)kept * sizeof(float));
        for (int64_t o = tail; o < out_len; o++)
            d[o] = v;
        return;
    }
    if (!src) {
        kl_fill(dst, out_len, value, esize);
        return;
    }
    pad_elements(dst, src, 0, grow, grow, kept, mode, value, esize);
    memcpy(dst + grow * (int64_t)esize, src, (size_t)kept * esize);
    pad_elements(dst, src, grow + kept, out_len, grow, kept, mode, value, esize);
}

typedef struct pad_job {
    const kl_tensor *x, *y;
    const pad_plan *p;
    const unsigned char *value;
    size_t esize;
    int64_t strides[KL_MAX_RANK], base, out_len;
} pad_job;

/* Output rows [lo, hi) along the last dim. */
static void pad_rows(void *arg, int64_t lo, int64_t hi)
{
    const pad_job *j = arg;
    const kl_tensor *x = j->x, *y = j->y;
    const pad_plan *p = j->p;
    int last = x->rank - 1;
    int64_t idx[KL_MAX_RANK] = {0};
    int64_t rest = lo; /* row lo's index over the leading dims */
    for (int d = last - 1; d >= 0; d--) {
        idx[d] = rest % y->dims[d];
        rest /= y->dims[d];
    }
    for (int64_t row = lo; row < hi; row++) {
        int64_t offset = j->base;
        bool inside = p->kept[last] > 0; /* else the row is all padding */
        for (int d = 0; d < last && inside; d++) {
            int64_t i = source_index(idx[d], p->grow[d], p->kept[d], p->mode);
            inside = i >= 0;
            offset += i * j->strides[d];
        }
        fill_row((char *)y->data + (size_t)(row * j->out_len) * j->esize,
                 inside ? (const char *)x->data + (size_t)offset * j->esize : NULL, p->grow[last], p->kept[last],
                 j->out_len, p->mode, j->value, j->esize);
        for (int d = last - 1; d >= 0 && ++idx[d] == y->dims[d]; d--)
            idx[d] = 0;
    }
}

static keel_status pad_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0], *y = c->out[0];
    size_t esize = kl_dtype_size(x->dtype);
    unsigned char value[16];
    pad_plan p;
    keel_status st = make_plan(c, &p);
    if (st != KEEL_OK || kl_numel(y) == 0)
        return st;
    if (x->rank == 0) {
        memcpy(y->data, x->data, esize);
        return KEEL_OK;
    }
    pad_value(c, value);
    int last = x->rank - 1;
    pad_job j = {x, y, &p, value, esize, {0}, 0, y->dims[last]};
    kl_row_major_strides(x->rank, x->dims, j.strides);
    for (int d = 0; d < x->rank; d++)
        j.base += p.crop[d] * j.strides[d];
    int64_t rows = kl_dims_product(y->dims, 0, last);
    /* rows split over the session's threads when there is enough to copy */
    kl_parallel_for(kl_numel(y) >= 65536 ? c->pool : NULL, rows, pad_rows, &j);
    return KEEL_OK;
}

static const kl_op pad_v1 = {.type = "Pad", .since = 1, .until = 10, .min_inputs = 1,
                             .max_inputs = 1, .infer = pad_infer, .run = pad_run};
static const kl_op pad_v11 = {.type = "Pad", .since = 11, .until = 17, .min_inputs = 2,
                              .max_inputs = 3, .infer = pad_infer, .run = pad_run};
static const kl_op pad_v18 = {.type = "Pad", .since = 18, .min_inputs = 2, .max_inputs = 4,
                              .infer = pad_infer, .run = pad_run};

const kl_op *const kl_opfile_pad[] = {&pad_v1, &pad_v11, &pad_v18, NULL};
