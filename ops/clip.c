/* clip.c -- Clip: min(max(x, lo), hi).  Opsets 1-10 take the bounds from
 * attributes min and max; 11+ from optional scalar inputs 1 and 2 (read at
 * run time, so they need not be constant), with integer types since 12. */
#include "drivers/eltwise.h"

/* The bounds of one run: pointers to one element of x's type, NULL for a
 * side without a bound. */
typedef struct clip_bounds {
    const void *lo, *hi;
} clip_bounds;

/* With lo > hi every element becomes hi, as numpy.clip does.  NaN stays. */
#define CLIP_FN(NAME, T)                                                          \
    static void NAME(void *out, const void *in, int64_t n, const void *args)     \
    {                                                                             \
        const clip_bounds *b = args;                                              \
        T *o = out;                                                               \
        const T *v = in;                                                          \
        if (b->lo && b->hi) {                                                     \
            const T lo = *(const T *)b->lo, hi = *(const T *)b->hi;               \
            for (int64_t i = 0; i < n; i++) {                                     \
                const T x = v[i] < lo ? lo : v[i];                                \
                o[i] = x > hi ? hi : x;                                           \
            }                                                                     \
        } else if (b->lo) {                                                       \
            const T lo = *(const T *)b->lo;                                       \
            for (int64_t i = 0; i < n; i++)                                       \
                o[i] = v[i] < lo ? lo : v[i];                                     \
        } else if (b->hi) {                                                       \
            const T hi = *(const T *)b->hi;                                       \
            for (int64_t i = 0; i < n; i++)                                       \
                o[i] = v[i] > hi ? hi : v[i];                                     \
        } else if (out != in && n > 0) {                                                   \
            memcpy(out, in, (size_t)n * sizeof(T));                               \
        }                                                                         \
    }

CLIP_FN(clip_f32, float)
CLIP_FN(clip_f64, double)
CLIP_FN(clip_i8, int8_t)
CLIP_FN(clip_u8, uint8_t)
CLIP_FN(clip_i32, int32_t)
CLIP_FN(clip_i64, int64_t)

static const kl_unary_kernel clip_kernels[] = {
    {KEEL_FLOAT, clip_f32}, {KEEL_DOUBLE, clip_f64}, {KEEL_INT8, clip_i8},
    {KEEL_UINT8, clip_u8},  {KEEL_INT32, clip_i32},  {KEEL_INT64, clip_i64}, {0, NULL}};

static const kl_unary_kernel clip_float_kernels[] = {
    {KEEL_FLOAT, clip_f32}, {KEEL_DOUBLE, clip_f64}, {0, NULL}};

/* ---- opsets 1-10: attributes ---------------------------------------------- */

static keel_status clip_infer_v1(kl_opctx *c)
{
    return kl_unary_infer(c, clip_float_kernels);
}

/* An attribute bound converted to x's type (float or double). */
typedef union attr_bound {
    float f;
    double d;
} attr_bound;

static const void *attr_bound_ptr(kl_opctx *c, const char *name, attr_bound *b)
{
    if (!kl_attr_has(c->node, name))
        return NULL;
    b->f = kl_attr_float(c->node, name, 0);
    if (c->in[0]->dtype == KEEL_DOUBLE)
        b->d = b->f;
    return b;
}

static keel_status clip_run_v1(kl_opctx *c)
{
    attr_bound lo, hi;
    const clip_bounds bounds = {attr_bound_ptr(c, "min", &lo), attr_bound_ptr(c, "max", &hi)};
    return kl_unary_run(c, clip_float_kernels, &bounds);
}

/* ---- opsets 11+: inputs ---------------------------------------------------- */

/* A bound input is absent, empty, or one element of x's type. */
static keel_status check_bound(kl_opctx *c, int i)
{
    const kl_tensor *t = i < c->n_in ? c->in[i] : NULL;
    if (!t || kl_numel(t) == 0)
        return KEEL_OK;
    if (t->dtype != c->in[0]->dtype)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "bound input %d has type %s, but x has %s", i,
                          kl_dtype_name(t->dtype), kl_dtype_name(c->in[0]->dtype));
    if (kl_numel(t) != 1)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "bound input %d must hold one value, not %lld", i,
                          (long long)kl_numel(t));
    return KEEL_OK;
}

static keel_status clip_infer_v11(kl_opctx *c)
{
    keel_status st = kl_unary_infer(c, clip_kernels);
    if (st == KEEL_OK)
        st = check_bound(c, 1);
    if (st == KEEL_OK)
        st = check_bound(c, 2);
    return st;
}

static const void *input_bound(const kl_opctx *c, int i)
{
    const kl_tensor *t = i < c->n_in ? c->in[i] : NULL;
    return t && kl_numel(t) == 1 ? t->data : NULL;
}

static keel_status clip_run_v11(kl_opctx *c)
{
    const clip_bounds bounds = {input_bound(c, 1), input_bound(c, 2)};
    return kl_unary_run(c, clip_kernels, &bounds);
}

static const kl_op clip_v1 = {.type = "Clip", .since = 1, .until = 10, .min_inputs = 1,
                              .max_inputs = 1, .flags = KL_OP_INPLACE, .infer = clip_infer_v1,
                              .run = clip_run_v1, .batch = KL_BATCH_ELEMENTWISE};
static const kl_op clip_v11 = {.type = "Clip", .since = 11, .min_inputs = 1, .max_inputs = 3,
                               .flags = KL_OP_INPLACE, .infer = clip_infer_v11,
                               .run = clip_run_v11, .batch = KL_BATCH_ELEMENTWISE};

const kl_op *const kl_opfile_clip[] = {&clip_v1, &clip_v11, NULL};
