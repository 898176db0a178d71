/* test_hostile_ops.c -- hostile models, the operator side (issue 16): huge
 * outputs asked for by shape inputs, out-of-range and INT64_MIN indices and
 * axes, zero strides and kernels, NaN and Inf that become counts or
 * indices, string tensors, and a session that stays usable after a failed
 * run.  Each case ends in a status and a message naming the node (or the
 * tensor), never a signal, a leak or an attempt to allocate terabytes; the
 * sanitizer build runs them too, and there a huge allocation aborts. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define BIT(s) (1u << (unsigned)(s))
#define ANY_FAIL (~BIT(KEEL_OK))
#define SMALL_LIMIT 4096u      /* bytes: a 64x64 float tensor (16 KiB) is over it */
#define HUGE_DIM ((int64_t)1 << 20) /* two of them: 2^40 elements, terabytes */

/* A model and the data of its graph inputs, in the order they were added. */
typedef struct hcase {
    tb_model *b;
    int n_in;
    keel_tensor in[6];
    unsigned char store[6][256];
} hcase;

static void hc_new(hcase *h, int opset)
{
    memset(h, 0, sizeof *h);
    h->b = tb_new(8, opset);
}

/* A graph input that the runs feed with `data`. */
static void hc_input(hcase *h, const char *name, int dtype, int rank, const int64_t *dims, const void *data,
                     size_t bytes)
{
    CU_ASSERT_FATAL(h->n_in < 6 && bytes <= sizeof h->store[0]);
    tb_input(h->b, name, dtype, rank, dims, NULL);
    keel_tensor *t = &h->in[h->n_in];
    t->dtype = dtype;
    t->rank = rank;
    for (int i = 0; i < rank; i++)
        t->dims[i] = dims[i];
    memcpy(h->store[h->n_in], data, bytes);
    t->data = h->store[h->n_in];
    h->n_in++;
}

/* A value that is an initializer (dyn false: known at session creation,
 * so the node is inferred and folded then) or a graph input (dyn true: the
 * node is planned at run time, when its data arrives). */
static void hc_param(hcase *h, bool dyn, const char *name, int dtype, int rank, const int64_t *dims,
                     const void *data, size_t bytes)
{
    if (dyn)
        hc_input(h, name, dtype, rank, dims, data, bytes);
    else
        tb_init_raw(h->b, name, dtype, rank, dims, data, bytes);
}

/* Loads and plans h (max_tensor_bytes = limit, 0 for the default), then
 * runs it once; the first failing status, its message in err.  Frees h. */
static keel_status hc_go(hcase *h, uint64_t limit, char *err, size_t n)
{
    keel_options opt;
    keel_options_init(&opt);
    opt.max_tensor_bytes = limit;
    size_t len;
    uint8_t *buf = tb_pack(h->b, &len);
    keel_model *m = NULL;
    keel_session *s = NULL;
    err[0] = 0;
    keel_status st = keel_model_load_buffer(&m, buf, len, NULL, "hostile.onnx", &opt, err, n);
    free(buf);
    if (!st)
        st = keel_session_create(&s, m, &opt, NULL, 0, NULL, err, n);
    if (!st) {
        keel_tensor out[4];
        memset(out, 0, sizeof out);
        st = keel_session_run(s, h->in, out);
        if (st)
            snprintf(err, n, "%s", keel_session_errmsg(s));
    }
    keel_session_free(s);
    keel_model_free(m);
    tb_free(h->b);
    h->b = NULL;
    return st;
}

/* h must fail with a status in `mask` and a message naming the model and
 * `who` (a quoted node or tensor name); mask 0: it must load, plan and run
 * (BIT(KEEL_OK) in mask: either). */
static void hc_expect_at(hcase *h, uint64_t limit, unsigned mask, const char *who, const char *what, int line)
{
    char err[1024];
    keel_status st = hc_go(h, limit, err, sizeof err);
    bool ok = mask ? (st < 32 && (mask & BIT(st)) &&
                      (st == KEEL_OK || (strstr(err, "hostile.onnx") && (!who || strstr(err, who)))))
                   : st == KEEL_OK;
    CU_ASSERT(ok);
    if (!ok || getenv("KEEL_TEST_VERBOSE"))
        fprintf(stderr, "\n  line %d, %s (limit %llu): status %d: %s\n", line, what, (unsigned long long)limit,
                st, err);
}
#define hc_expect(h, limit, mask, who, what) hc_expect_at((h), (limit), (mask), (who), (what), __LINE__)

/* ---- huge outputs -------------------------------------------------------- */

typedef void (*size_builder)(hcase *h, bool dyn, int64_t a, int64_t b);

static void build_expand(hcase *h, bool dyn, int64_t a, int64_t b)
{
    hc_new(h, 13);
    float one = 1;
    hc_input(h, "x", KEEL_FLOAT, 1, (int64_t[]){1}, &one, sizeof one);
    hc_param(h, dyn, "shape", KEEL_INT64, 1, (int64_t[]){2}, (int64_t[]){a, b}, 16);
    tb_node(h->b, "Expand", "big", "x,shape", "y");
    tb_output(h->b, "y", KEEL_FLOAT, 2, (int64_t[]){-1, -1});
}

static void build_constantofshape(hcase *h, bool dyn, int64_t a, int64_t b)
{
    hc_new(h, 13);
    hc_param(h, dyn, "shape", KEEL_INT64, 1, (int64_t[]){2}, (int64_t[]){a, b}, 16);
    tb_node(h->b, "ConstantOfShape", "big", "shape", "y");
    tb_output(h->b, "y", KEEL_FLOAT, 2, (int64_t[]){-1, -1});
}

static void build_tile(hcase *h, bool dyn, int64_t a, int64_t b)
{
    hc_new(h, 13);
    float one = 1;
    hc_input(h, "x", KEEL_FLOAT, 2, (int64_t[]){1, 1}, &one, sizeof one);
    hc_param(h, dyn, "reps", KEEL_INT64, 1, (int64_t[]){2}, (int64_t[]){a, b}, 16);
    tb_node(h->b, "Tile", "big", "x,reps", "y");
    tb_output(h->b, "y", KEEL_FLOAT, 2, (int64_t[]){-1, -1});
}

/* Range over int64: 0 .. a*b (a*b elements, saturated) */
static void build_range(hcase *h, bool dyn, int64_t a, int64_t b)
{
    hc_new(h, 13);
    int64_t zero = 0, one = 1, lim = a > INT64_MAX / b ? INT64_MAX : a * b;
    hc_param(h, dyn, "start", KEEL_INT64, 0, NULL, &zero, 8);
    hc_param(h, dyn, "limit", KEEL_INT64, 0, NULL, &lim, 8);
    hc_param(h, dyn, "delta", KEEL_INT64, 0, NULL, &one, 8);
    tb_node(h->b, "Range", "big", "start,limit,delta", "y");
    tb_output(h->b, "y", KEEL_INT64, 1, (int64_t[]){-1});
}

static void build_resize_sizes(hcase *h, bool dyn, int64_t a, int64_t b)
{
    hc_new(h, 13);
    float x[4] = {1, 2, 3, 4};
    hc_input(h, "x", KEEL_FLOAT, 4, (int64_t[]){1, 1, 2, 2}, x, sizeof x);
    hc_param(h, dyn, "sizes", KEEL_INT64, 1, (int64_t[]){4}, (int64_t[]){1, 1, a, b}, 32);
    tb_node(h->b, "Resize", "big", "x,,,sizes", "y");
    tb_output(h->b, "y", KEEL_FLOAT, 4, (int64_t[]){1, 1, -1, -1});
}

/* scales a/2 and b/2 on a 2x2 image: an a x b output */
static void build_resize_scales(hcase *h, bool dyn, int64_t a, int64_t b)
{
    hc_new(h, 13);
    float x[4] = {1, 2, 3, 4}, scales[4] = {1, 1, (float)a / 2, (float)b / 2};
    hc_input(h, "x", KEEL_FLOAT, 4, (int64_t[]){1, 1, 2, 2}, x, sizeof x);
    hc_param(h, dyn, "scales", KEEL_FLOAT, 1, (int64_t[]){4}, scales, sizeof scales);
    tb_node(h->b, "Resize", "big", "x,,scales", "y");
    tb_output(h->b, "y", KEEL_FLOAT, 4, (int64_t[]){1, 1, -1, -1});
}

static void build_pad(hcase *h, bool dyn, int64_t a, int64_t b)
{
    hc_new(h, 13);
    float one = 1;
    hc_input(h, "x", KEEL_FLOAT, 2, (int64_t[]){1, 1}, &one, sizeof one);
    hc_param(h, dyn, "pads", KEEL_INT64, 1, (int64_t[]){4}, (int64_t[]){0, 0, a - 1, b - 1}, 32);
    tb_node(h->b, "Pad", "big", "x,pads", "y");
    tb_output(h->b, "y", KEEL_FLOAT, 2, (int64_t[]){-1, -1});
}

/* Reshape keeps the element count: a huge shape is a shape error */
static void build_reshape(hcase *h, bool dyn, int64_t a, int64_t b)
{
    hc_new(h, 13);
    float x[4] = {1, 2, 3, 4};
    hc_input(h, "x", KEEL_FLOAT, 2, (int64_t[]){2, 2}, x, sizeof x);
    hc_param(h, dyn, "shape", KEEL_INT64, 1, (int64_t[]){2}, (int64_t[]){a, b}, 16);
    tb_node(h->b, "Reshape", "big", "x,shape", "y");
    tb_output(h->b, "y", KEEL_FLOAT, 2, (int64_t[]){-1, -1});
}

/* For one op, with the shape known at creation and only at run time: a
 * terabyte output is refused under the default and a small limit; a 16 KiB
 * one under the small limit only (and runs under the default). */
static void huge_cases(size_builder build, const char *what)
{
    hcase h;
    for (int dyn = 0; dyn < 2; dyn++) {
        char label[128];
        snprintf(label, sizeof label, "%s, %s", what, dyn ? "at run time" : "at creation");
        build(&h, dyn, HUGE_DIM, HUGE_DIM);
        hc_expect(&h, 0, BIT(KEEL_ERR_LIMIT) | BIT(KEEL_ERR_SHAPE), "'big'", label);
        build(&h, dyn, HUGE_DIM, HUGE_DIM);
        hc_expect(&h, SMALL_LIMIT, BIT(KEEL_ERR_LIMIT) | BIT(KEEL_ERR_SHAPE), "'big'", label);
        build(&h, dyn, INT64_MAX / 2, 4);
        hc_expect(&h, 0, BIT(KEEL_ERR_LIMIT) | BIT(KEEL_ERR_SHAPE), "'big'", label);
        build(&h, dyn, 64, 64);
        hc_expect(&h, SMALL_LIMIT, BIT(KEEL_ERR_LIMIT), "'big'", label);
        build(&h, dyn, 64, 64);
        hc_expect(&h, 0, 0, NULL, label);
    }
}

static void test_huge_expand(void) { huge_cases(build_expand, "Expand"); }
static void test_huge_constantofshape(void) { huge_cases(build_constantofshape, "ConstantOfShape"); }
static void test_huge_tile(void) { huge_cases(build_tile, "Tile"); }
static void test_huge_range(void) { huge_cases(build_range, "Range"); }
static void test_huge_resize_sizes(void) { huge_cases(build_resize_sizes, "Resize sizes"); }
static void test_huge_resize_scales(void) { huge_cases(build_resize_scales, "Resize scales"); }
static void test_huge_pad(void) { huge_cases(build_pad, "Pad"); }

static void test_huge_reshape(void)
{
    hcase h;
    for (int dyn = 0; dyn < 2; dyn++) {
        build_reshape(&h, dyn, HUGE_DIM, HUGE_DIM);
        hc_expect(&h, 0, BIT(KEEL_ERR_SHAPE), "'big'", "Reshape huge");
        build_reshape(&h, dyn, INT64_MAX, 2);
        hc_expect(&h, 0, BIT(KEEL_ERR_SHAPE), "'big'", "Reshape overflowing");
        build_reshape(&h, dyn, -1, INT64_MAX);
        hc_expect(&h, 0, BIT(KEEL_ERR_SHAPE), "'big'", "Reshape -1 and INT64_MAX");
        build_reshape(&h, dyn, INT64_MIN, -1);
        hc_expect(&h, 0, BIT(KEEL_ERR_SHAPE), "'big'", "Reshape INT64_MIN");
        build_reshape(&h, dyn, 4, 1);
        hc_expect(&h, SMALL_LIMIT, 0, NULL, "Reshape 4x1");
    }
}

/* Negative sizes and pads that overflow are shape errors, not allocations. */
static void test_huge_negative_and_overflow(void)
{
    hcase h;
    for (int dyn = 0; dyn < 2; dyn++) {
        build_expand(&h, dyn, -5, 2);
        hc_expect(&h, 0, BIT(KEEL_ERR_SHAPE), "'big'", "Expand negative");
        build_constantofshape(&h, dyn, INT64_MIN, 0);
        hc_expect(&h, 0, BIT(KEEL_ERR_SHAPE), "'big'", "ConstantOfShape INT64_MIN");
        build_constantofshape(&h, dyn, INT64_MAX, INT64_MAX);
        hc_expect(&h, 0, BIT(KEEL_ERR_SHAPE) | BIT(KEEL_ERR_LIMIT), "'big'", "ConstantOfShape INT64_MAX^2");
        build_tile(&h, dyn, INT64_MIN, 1);
        hc_expect(&h, 0, BIT(KEEL_ERR_SHAPE), "'big'", "Tile INT64_MIN");
        build_resize_sizes(&h, dyn, -4, 4);
        hc_expect(&h, 0, BIT(KEEL_ERR_SHAPE) | BIT(KEEL_ERR_INVALID), "'big'", "Resize negative sizes");
        build_pad(&h, dyn, INT64_MAX, 1);
        hc_expect(&h, 0, BIT(KEEL_ERR_SHAPE) | BIT(KEEL_ERR_LIMIT), "'big'", "Pad INT64_MAX");
        build_pad(&h, dyn, INT64_MIN + 1, 1); /* pads of INT64_MIN: crops more than there is */
        hc_expect(&h, 0, BIT(KEEL_ERR_SHAPE), "'big'", "Pad INT64_MIN");
    }
}

/* ---- indices -------------------------------------------------------------- */

static const float data23[6] = {1, 2, 3, 4, 5, 6};

/* op(data [2,3] input, indices param [n], extra...) */
static void build_gather(hcase *h, bool dyn, int64_t v)
{
    hc_new(h, 13);
    hc_input(h, "data", KEEL_FLOAT, 2, (int64_t[]){2, 3}, data23, sizeof data23);
    hc_param(h, dyn, "idx", KEEL_INT64, 1, (int64_t[]){1}, &v, 8);
    Onnx__NodeProto *n = tb_node(h->b, "Gather", "gath", "data,idx", "y");
    tb_attr_int(h->b, n, "axis", 1);
    tb_output(h->b, "y", KEEL_FLOAT, 2, (int64_t[]){2, 1});
}

static void build_gatherelements(hcase *h, bool dyn, int64_t v)
{
    hc_new(h, 13);
    int64_t idx[2] = {0, v};
    hc_input(h, "data", KEEL_FLOAT, 2, (int64_t[]){2, 3}, data23, sizeof data23);
    hc_param(h, dyn, "idx", KEEL_INT64, 2, (int64_t[]){2, 1}, idx, sizeof idx);
    Onnx__NodeProto *n = tb_node(h->b, "GatherElements", "gath", "data,idx", "y");
    tb_attr_int(h->b, n, "axis", 1);
    tb_output(h->b, "y", KEEL_FLOAT, 2, (int64_t[]){2, 1});
}

static void build_gathernd(hcase *h, bool dyn, int64_t v)
{
    hc_new(h, 13);
    int64_t idx[2] = {1, v};
    hc_input(h, "data", KEEL_FLOAT, 2, (int64_t[]){2, 3}, data23, sizeof data23);
    hc_param(h, dyn, "idx", KEEL_INT64, 2, (int64_t[]){1, 2}, idx, sizeof idx);
    tb_node(h->b, "GatherND", "gath", "data,idx", "y");
    tb_output(h->b, "y", KEEL_FLOAT, 1, (int64_t[]){1});
}

static void build_scatternd(hcase *h, bool dyn, int64_t v)
{
    hc_new(h, 13);
    int64_t idx[2] = {v, 0};
    float upd = 9;
    hc_input(h, "data", KEEL_FLOAT, 2, (int64_t[]){2, 3}, data23, sizeof data23);
    hc_param(h, dyn, "idx", KEEL_INT64, 2, (int64_t[]){1, 2}, idx, sizeof idx);
    hc_input(h, "upd", KEEL_FLOAT, 1, (int64_t[]){1}, &upd, sizeof upd);
    tb_node(h->b, "ScatterND", "gath", "data,idx,upd", "y");
    tb_output(h->b, "y", KEEL_FLOAT, 2, (int64_t[]){2, 3});
}

static void build_scatterelements(hcase *h, bool dyn, int64_t v)
{
    hc_new(h, 13);
    float upd = 9;
    hc_input(h, "data", KEEL_FLOAT, 2, (int64_t[]){2, 3}, data23, sizeof data23);
    hc_param(h, dyn, "idx", KEEL_INT64, 2, (int64_t[]){1, 1}, &v, 8);
    hc_input(h, "upd", KEEL_FLOAT, 2, (int64_t[]){1, 1}, &upd, sizeof upd);
    Onnx__NodeProto *n = tb_node(h->b, "ScatterElements", "gath", "data,idx,upd", "y");
    tb_attr_int(h->b, n, "axis", 1);
    tb_output(h->b, "y", KEEL_FLOAT, 2, (int64_t[]){2, 3});
}

typedef void (*index_builder)(hcase *h, bool dyn, int64_t v);

static void index_cases(index_builder build, const char *what)
{
    static const int64_t bad[] = {INT64_MIN, INT64_MIN + 1, -4, 3, 7, INT64_MAX};
    hcase h;
    char label[128];
    for (int dyn = 0; dyn < 2; dyn++) {
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            snprintf(label, sizeof label, "%s index %lld %s", what, (long long)bad[k],
                     dyn ? "at run time" : "at creation");
            build(&h, dyn, bad[k]);
            hc_expect(&h, 0, BIT(KEEL_ERR_RUNTIME) | BIT(KEEL_ERR_INVALID) | BIT(KEEL_ERR_SHAPE), "'gath'",
                      label);
        }
        build(&h, dyn, -1);
        hc_expect(&h, 0, 0, NULL, what);
    }
}

static void test_index_gather(void) { index_cases(build_gather, "Gather"); }
static void test_index_gatherelements(void) { index_cases(build_gatherelements, "GatherElements"); }
static void test_index_gathernd(void) { index_cases(build_gathernd, "GatherND"); }
static void test_index_scatternd(void) { index_cases(build_scatternd, "ScatterND"); }
static void test_index_scatterelements(void) { index_cases(build_scatterelements, "ScatterElements"); }

/* Runs a one-output model and copies up to `cap` floats of its output. */
static keel_status run_floats(hcase *h, float *got, int cap, int64_t *numel, char *err, size_t n)
{
    size_t len;
    uint8_t *buf = tb_pack(h->b, &len);
    keel_model *m = NULL;
    keel_session *s = NULL;
    err[0] = 0;
    *numel = -1;
    keel_status st = keel_model_load_buffer(&m, buf, len, NULL, "hostile.onnx", NULL, err, n);
    free(buf);
    if (!st)
        st = keel_session_create(&s, m, NULL, NULL, 0, NULL, err, n);
    if (!st) {
        keel_tensor out = {0};
        st = keel_session_run(s, h->in, &out);
        if (st) {
            snprintf(err, n, "%s", keel_session_errmsg(s));
        } else {
            *numel = keel_tensor_numel(&out);
            for (int64_t i = 0; i < *numel && i < cap; i++)
                got[i] = ((const float *)out.data)[i];
        }
    }
    keel_session_free(s);
    keel_model_free(m);
    tb_free(h->b);
    h->b = NULL;
    return st;
}

/* Slice of [0..5) along one axis with extreme starts, ends and steps: they
 * clamp as the spec says, and give the elements a by-hand loop gives. */
static void test_slice_extremes(void)
{
    static const struct { int64_t start, end, step; int n; float want[5]; } cases[] = {
        {INT64_MIN, INT64_MAX, 1, 5, {0, 1, 2, 3, 4}},
        {INT64_MAX, INT64_MIN, -1, 5, {4, 3, 2, 1, 0}},
        {INT64_MAX, INT64_MIN, INT64_MIN, 1, {4}},
        {0, INT64_MAX, INT64_MAX, 1, {0}},
        {INT64_MIN, INT64_MIN, 1, 0, {0}},
        {INT64_MAX, INT64_MAX, -1, 0, {0}},
        {-2, INT64_MIN, -2, 2, {3, 1}},
        {1, INT64_MAX, 3, 2, {1, 4}},
    };
    const float x[5] = {0, 1, 2, 3, 4};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (int dyn = 0; dyn < 2; dyn++) {
            hcase h;
            hc_new(&h, 13);
            hc_input(&h, "x", KEEL_FLOAT, 1, (int64_t[]){5}, x, sizeof x);
            hc_param(&h, dyn, "starts", KEEL_INT64, 1, (int64_t[]){1}, &cases[k].start, 8);
            hc_param(&h, dyn, "ends", KEEL_INT64, 1, (int64_t[]){1}, &cases[k].end, 8);
            hc_param(&h, dyn, "axes", KEEL_INT64, 1, (int64_t[]){1}, (int64_t[]){0}, 8);
            hc_param(&h, dyn, "steps", KEEL_INT64, 1, (int64_t[]){1}, &cases[k].step, 8);
            tb_node(h.b, "Slice", "slc", "x,starts,ends,axes,steps", "y");
            tb_output(h.b, "y", KEEL_FLOAT, 1, (int64_t[]){-1});
            float got[5];
            int64_t numel;
            char err[1024];
            keel_status st = run_floats(&h, got, 5, &numel, err, sizeof err);
            bool ok = st == KEEL_OK && numel == cases[k].n;
            for (int i = 0; ok && i < cases[k].n; i++)
                ok = got[i] == cases[k].want[i];
            CU_ASSERT(ok);
            if (!ok)
                fprintf(stderr, "\n  Slice case %zu dyn %d: status %d numel %lld: %s\n", k, dyn, st,
                        (long long)numel, err);
        }
    /* step 0 and axes out of range fail, naming the node */
    for (int dyn = 0; dyn < 2; dyn++) {
        static const int64_t steps[] = {0}, axes[] = {INT64_MIN, 1, -2, INT64_MAX};
        hcase h;
        hc_new(&h, 13);
        hc_input(&h, "x", KEEL_FLOAT, 1, (int64_t[]){5}, x, sizeof x);
        hc_param(&h, dyn, "starts", KEEL_INT64, 1, (int64_t[]){1}, (int64_t[]){0}, 8);
        hc_param(&h, dyn, "ends", KEEL_INT64, 1, (int64_t[]){1}, (int64_t[]){5}, 8);
        hc_param(&h, dyn, "axes", KEEL_INT64, 1, (int64_t[]){1}, (int64_t[]){0}, 8);
        hc_param(&h, dyn, "steps", KEEL_INT64, 1, (int64_t[]){1}, steps, 8);
        tb_node(h.b, "Slice", "slc", "x,starts,ends,axes,steps", "y");
        tb_output(h.b, "y", KEEL_FLOAT, 1, (int64_t[]){-1});
        hc_expect(&h, 0, BIT(KEEL_ERR_INVALID) | BIT(KEEL_ERR_SHAPE), "'slc'", "Slice step 0");
        for (size_t k = 0; k < 4; k++) {
            hc_new(&h, 13);
            hc_input(&h, "x", KEEL_FLOAT, 1, (int64_t[]){5}, x, sizeof x);
            hc_param(&h, dyn, "starts", KEEL_INT64, 1, (int64_t[]){1}, (int64_t[]){0}, 8);
            hc_param(&h, dyn, "ends", KEEL_INT64, 1, (int64_t[]){1}, (int64_t[]){5}, 8);
            hc_param(&h, dyn, "axes", KEEL_INT64, 1, (int64_t[]){1}, &axes[k], 8);
            tb_node(h.b, "Slice", "slc", "x,starts,ends,axes", "y");
            tb_output(h.b, "y", KEEL_FLOAT, 1, (int64_t[]){-1});
            hc_expect(&h, 0, BIT(KEEL_ERR_INVALID) | BIT(KEEL_ERR_SHAPE), "'slc'", "Slice axis out of range");
        }
    }
}

/* OneHot: a depth that is not a sane count is refused; indices out of
 * range (INT64_MIN, INT64_MAX, NaN, Inf) give all-off rows. */
static void build_onehot(hcase *h, bool dyn, int depth_type, const void *depth, int idx_type, const void *idx)
{
    hc_new(h, 13);
    size_t isz = idx_type == KEEL_FLOAT ? 4 : 8;
    hc_input(h, "idx", idx_type, 1, (int64_t[]){3}, idx, 3 * isz);
    hc_param(h, dyn, "depth", depth_type, 0, NULL, depth, depth_type == KEEL_FLOAT ? 4 : 8);
    tb_init_f32(h->b, "vals", 1, (int64_t[]){2}, (float[]){0, 1});
    tb_node(h->b, "OneHot", "oh", "idx,depth,vals", "y");
    tb_output(h->b, "y", KEEL_FLOAT, 2, (int64_t[]){3, -1});
}

static void test_onehot_depth_and_indices(void)
{
    static const int64_t bad_depth[] = {INT64_MIN, -1, 0, INT64_MAX, (int64_t)1 << 40};
    static const float bad_fdepth[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 0.5f};
    const int64_t good_idx[3] = {0, 1, 2};
    hcase h;
    for (int dyn = 0; dyn < 2; dyn++) {
        for (size_t k = 0; k < sizeof bad_depth / sizeof bad_depth[0]; k++) {
            build_onehot(&h, dyn, KEEL_INT64, &bad_depth[k], KEEL_INT64, good_idx);
            hc_expect(&h, 0, BIT(KEEL_ERR_INVALID) | BIT(KEEL_ERR_LIMIT) | BIT(KEEL_ERR_SHAPE), "'oh'",
                      "OneHot int depth");
        }
        for (size_t k = 0; k < sizeof bad_fdepth / sizeof bad_fdepth[0]; k++) {
            build_onehot(&h, dyn, KEEL_FLOAT, &bad_fdepth[k], KEEL_INT64, good_idx);
            hc_expect(&h, 0, BIT(KEEL_ERR_INVALID) | BIT(KEEL_ERR_LIMIT) | BIT(KEEL_ERR_SHAPE), "'oh'",
                      "OneHot float depth");
        }
    }
    /* out-of-range indices: all-off rows, the in-range one set */
    const int64_t idx[3] = {INT64_MIN, INT64_MAX, -1};
    const float fidx[3] = {NAN, INFINITY, -1e30f};
    const int64_t depth = 4;
    for (int f = 0; f < 2; f++) {
        build_onehot(&h, false, KEEL_INT64, &depth, f ? KEEL_FLOAT : KEEL_INT64, f ? (const void *)fidx : idx);
        float got[12];
        int64_t numel;
        char err[1024];
        keel_status st = run_floats(&h, got, 12, &numel, err, sizeof err);
        CU_ASSERT_EQUAL(st, KEEL_OK);
        CU_ASSERT_EQUAL(numel, 12);
        if (st == KEEL_OK && numel == 12) {
            for (int i = 0; i < 12; i++)
                CU_ASSERT_EQUAL(got[i], !f && i == 11 ? 1.0f : 0.0f);
        } else {
            fprintf(stderr, "\n  OneHot extreme indices: %d %s\n", st, err);
        }
    }
}

/* ---- axes ----------------------------------------------------------------- */

/* One node on x [2,3] (graph input) with attribute `attr` = v. */
static void axis_case_as(const char *op, int opset, const char *attr, int64_t v, const char *extra_inputs,
                         unsigned mask)
{
    hcase h;
    hc_new(&h, opset);
    hc_input(&h, "x", KEEL_FLOAT, 2, (int64_t[]){2, 3}, data23, sizeof data23);
    char inputs[64];
    snprintf(inputs, sizeof inputs, "x%s", extra_inputs ? extra_inputs : "");
    if (extra_inputs && strstr(extra_inputs, "idx"))
        tb_init_raw(h.b, "idx", KEEL_INT64, 1, (int64_t[]){1}, (int64_t[]){0}, 8);
    Onnx__NodeProto *n = tb_node(h.b, op, "ax", inputs, strcmp(op, "Split") ? "y" : "y,y2");
    if (!strcmp(attr, "axes") || !strcmp(attr, "perm"))
        tb_attr_ints(h.b, n, attr, 1, &v);
    else
        tb_attr_int(h.b, n, attr, v);
    tb_output(h.b, "y", KEEL_FLOAT, 2, (int64_t[]){-1, -1});
    char label[96];
    snprintf(label, sizeof label, "%s %s=%lld", op, attr, (long long)v);
    hc_expect(&h, 0, mask, mask ? "'ax'" : NULL, label);
}

static void axis_case(const char *op, int opset, const char *attr, int64_t v, const char *extra_inputs)
{
    axis_case_as(op, opset, attr, v, extra_inputs, BIT(KEEL_ERR_SHAPE) | BIT(KEEL_ERR_INVALID));
}

static void test_axis_out_of_range(void)
{
    /* rank 2: valid axes are -2..1 (Flatten: -2..2) */
    static const int64_t bad[] = {INT64_MIN, INT64_MIN + 1, -3, 2, 3, INT64_MAX, (int64_t)1 << 32, -((int64_t)1 << 32)};
    /* the same models with a valid axis run (so the failures below are the axes') */
    static const int64_t good[] = {0, -2};
    for (int k = 0; k < 2; k++) {
        static const char *const ops[][3] = {{"Concat", "axis", ""}, {"Softmax", "axis", ""}, {"LogSoftmax", "axis", ""},
            {"Gather", "axis", ",idx"}, {"Split", "axis", ""}, {"ReduceMax", "axes", ""}, {"ReduceMean", "axes", ""},
            {"ArgMax", "axis", ""}, {"Unsqueeze", "axes", ""}, {"Flatten", "axis", ""}, {"Hardmax", "axis", ""},
            {"TopK", "axis", ",idx"}};
        for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
            axis_case_as(ops[o][0], !strcmp(ops[o][0], "Unsqueeze") || !strcmp(ops[o][0], "Split") ? 11 : 13,
                         ops[o][1], good[k], ops[o][2], 0);
    }
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        int64_t v = bad[k];
        axis_case("Concat", 13, "axis", v, NULL);
        axis_case("Softmax", 13, "axis", v, NULL);
        axis_case("LogSoftmax", 13, "axis", v, NULL);
        axis_case("Softmax", 11, "axis", v, NULL);
        axis_case("Gather", 13, "axis", v, ",idx");
        axis_case("Split", 11, "axis", v, NULL);
        axis_case("ReduceMax", 13, "axes", v, NULL);
        axis_case("ReduceMean", 13, "axes", v, NULL);
        axis_case("ArgMax", 13, "axis", v, NULL);
        axis_case("Squeeze", 11, "axes", v, NULL);
        axis_case("Unsqueeze", 11, "axes", v == 2 ? 4 : v == -3 ? -4 : v, NULL); /* output rank 3: -3..2 */
        if (v != 2)
            axis_case("Flatten", 13, "axis", v, NULL);
        axis_case("Hardmax", 13, "axis", v, NULL);
        axis_case("TopK", 11, "axis", v, ",idx");
    }
}

/* Squeeze/Unsqueeze/ReduceSum with axes from an input; Transpose perms. */
static void test_axes_inputs_and_perm(void)
{
    static const int64_t bad[] = {INT64_MIN, -3, 2, INT64_MAX};
    const char *ops[] = {"Squeeze", "Unsqueeze", "ReduceSum"};
    for (int o = 0; o < 3; o++)
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
            for (int dyn = 0; dyn < 2; dyn++) {
                int64_t v = bad[k]; /* Unsqueeze's output has rank 3: -3..2 are valid */
                if (!strcmp(ops[o], "Unsqueeze"))
                    v = v == 2 ? 3 : v == -3 ? -4 : v;
                hcase h;
                hc_new(&h, 13);
                hc_input(&h, "x", KEEL_FLOAT, 2, (int64_t[]){2, 3}, data23, sizeof data23);
                hc_param(&h, dyn, "axes", KEEL_INT64, 1, (int64_t[]){1}, &v, 8);
                tb_node(h.b, ops[o], "ax", "x,axes", "y");
                tb_output(h.b, "y", KEEL_FLOAT, 2, (int64_t[]){-1, -1});
                hc_expect(&h, 0, BIT(KEEL_ERR_SHAPE) | BIT(KEEL_ERR_INVALID) | BIT(KEEL_ERR_UNSUPPORTED), "'ax'",
                          ops[o]);
            }
    /* the same axis twice */
    for (int o = 0; o < 3; o++) {
        hcase h;
        hc_new(&h, 13);
        hc_input(&h, "x", KEEL_FLOAT, 2, (int64_t[]){1, 3}, data23, 12);
        /* Unsqueeze: output rank 4, where -4 is 0 */
        hc_param(&h, false, "axes", KEEL_INT64, 1, (int64_t[]){2}, (int64_t[]){0, o == 1 ? -4 : -2}, 16);
        tb_node(h.b, ops[o], "ax", "x,axes", "y");
        tb_output(h.b, "y", KEEL_FLOAT, 2, (int64_t[]){-1, -1});
        hc_expect(&h, 0, BIT(KEEL_ERR_SHAPE) | BIT(KEEL_ERR_INVALID), "'ax'", ops[o]);
    }
    static const int64_t perms[][3] = {{0, 0, 1}, {0, 1, 3}, {0, 1, -1}, {INT64_MIN, 0, 1}, {2, 1, INT64_MAX}};
    for (size_t k = 0; k < 5; k++) {
        hcase h;
        hc_new(&h, 13);
        hc_input(&h, "x", KEEL_FLOAT, 3, (int64_t[]){1, 2, 3}, data23, sizeof data23);
        Onnx__NodeProto *n = tb_node(h.b, "Transpose", "ax", "x", "y");
        tb_attr_ints(h.b, n, "perm", 3, perms[k]);
        tb_output(h.b, "y", KEEL_FLOAT, 3, (int64_t[]){-1, -1, -1});
        hc_expect(&h, 0, BIT(KEEL_ERR_SHAPE) | BIT(KEEL_ERR_INVALID), "'ax'", "Transpose perm");
    }
    /* a perm of the wrong length */
    hcase h;
    hc_new(&h, 13);
    hc_input(&h, "x", KEEL_FLOAT, 3, (int64_t[]){1, 2, 3}, data23, sizeof data23);
    Onnx__NodeProto *n = tb_node(h.b, "Transpose", "ax", "x", "y");
    tb_attr_ints(h.b, n, "perm", 2, (int64_t[]){1, 0});
    tb_output(h.b, "y", KEEL_FLOAT, 3, (int64_t[]){-1, -1, -1});
    hc_expect(&h, 0, BIT(KEEL_ERR_SHAPE) | BIT(KEEL_ERR_INVALID), "'ax'", "Transpose perm length");
}

/* ---- zero strides, groups, dilations, kernels ----------------------------- */

/* op on x [1,2,5,5] with one INTS attribute replaced by `vals` (or group). */
static void window_case_as(const char *op, const char *attr, const int64_t *vals, int nv, unsigned mask)
{
    hcase h;
    static float x[50];
    hc_new(&h, 13);
    tb_input(h.b, "x", KEEL_FLOAT, 4, (int64_t[]){1, 2, 5, 5}, NULL);
    h.in[0] = (keel_tensor){KEEL_FLOAT, 4, {1, 2, 5, 5}, x};
    h.n_in = 1;
    bool conv = !strcmp(op, "Conv") || !strcmp(op, "ConvTranspose");
    if (conv) {
        static float w[2 * 2 * 9];
        tb_init_f32(h.b, "w", 4, (int64_t[]){2, 2, 3, 3}, w);
    }
    Onnx__NodeProto *n = tb_node(h.b, op, "win", conv ? "x,w" : "x", "y");
    if (!strcmp(attr, "kernel_shape"))
        tb_attr_ints(h.b, n, "kernel_shape", nv, vals);
    else if (!conv)
        tb_attr_ints(h.b, n, "kernel_shape", 2, (int64_t[]){3, 3});
    if (strcmp(attr, "kernel_shape")) {
        if (!strcmp(attr, "group"))
            tb_attr_int(h.b, n, attr, vals[0]);
        else
            tb_attr_ints(h.b, n, attr, nv, vals);
    }
    tb_output(h.b, "y", KEEL_FLOAT, 4, (int64_t[]){-1, -1, -1, -1});
    char label[96];
    snprintf(label, sizeof label, "%s %s=%lld", op, attr, (long long)vals[0]);
    hc_expect(&h, 0, mask, mask ? "'win'" : NULL, label);
}

static void window_case(const char *op, const char *attr, const int64_t *vals, int nv)
{
    window_case_as(op, attr, vals, nv,
                   BIT(KEEL_ERR_SHAPE) | BIT(KEEL_ERR_INVALID) | BIT(KEEL_ERR_UNSUPPORTED) | BIT(KEEL_ERR_LIMIT));
}

static void test_zero_windows(void)
{
    const char *ops[] = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool"};
    static const int64_t zero[2] = {0, 0}, neg[2] = {-1, 1}, minv[2] = {INT64_MIN, 1}, maxv[2] = {INT64_MAX, 1};
    const int64_t *bad[] = {zero, neg, minv, maxv};
    for (int o = 0; o < 5; o++)
        for (int k = 0; k < 4; k++) {
            bool conv = o < 2;
            /* a stride past the input is valid: one output per dim */
            window_case_as(ops[o], "strides", bad[k], 2,
                           (bad[k] == maxv ? BIT(KEEL_OK) | BIT(KEEL_ERR_LIMIT) : 0) | BIT(KEEL_ERR_SHAPE) |
                               BIT(KEEL_ERR_INVALID));
            window_case(ops[o], "kernel_shape", bad[k], 2);
            if (conv || o == 1 || !strcmp(ops[o], "MaxPool"))
                window_case(ops[o], "dilations", bad[k], 2);
            if (conv && bad[k] != maxv)
                window_case(ops[o], "group", bad[k], 1);
            if (bad[k] != zero)
                window_case(ops[o], "pads", (int64_t[]){bad[k][0], bad[k][0], 0, 0}, 4);
        }
    /* the same models with sane attributes run */
    for (int o = 0; o < 5; o++) {
        window_case_as(ops[o], "strides", (int64_t[]){2, 1}, 2, 0);
        window_case_as(ops[o], "pads", (int64_t[]){1, 1, 1, 1}, 4, 0);
        if (o != 3 && o != 4)
            window_case_as(ops[o], "dilations", (int64_t[]){2, 1}, 2, 0);
        window_case_as(ops[o], "kernel_shape", (int64_t[]){3, 3}, 2, 0);
    }
    /* a kernel larger than the padded input */
    window_case("MaxPool", "kernel_shape", (int64_t[]){9, 9}, 2);
    window_case("AveragePool", "kernel_shape", (int64_t[]){9, 9}, 2);
    window_case("LpPool", "kernel_shape", (int64_t[]){9, 9}, 2);
}

/* ---- NaN and Inf that become indices or counts ---------------------------- */

/* x float [1] -> Cast(int64) -> Gather(data [4], axis 0). */
static void test_cast_nan_to_gather(void)
{
    static const float bad[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 9.3e18f, -9.3e18f, 4.0f, -5.0f};
    const float data[4] = {10, 11, 12, 13};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        for (int dyn = 0; dyn < 2; dyn++) {
            hcase h;
            hc_new(&h, 13);
            hc_input(&h, "data", KEEL_FLOAT, 1, (int64_t[]){4}, data, sizeof data);
            hc_param(&h, dyn, "f", KEEL_FLOAT, 1, (int64_t[]){1}, &bad[k], 4);
            Onnx__NodeProto *c = tb_node(h.b, "Cast", "cast", "f", "i");
            tb_attr_int(h.b, c, "to", KEEL_INT64);
            tb_node(h.b, "Gather", "gath", "data,i", "y");
            tb_output(h.b, "y", KEEL_FLOAT, 1, (int64_t[]){1});
            char label[64];
            snprintf(label, sizeof label, "Cast %g then Gather", (double)bad[k]);
            /* NaN casts to 0 (keel's choice; ONNX leaves it undefined), a valid index */
            hc_expect(&h, 0, isnan(bad[k]) ? 0 : BIT(KEEL_ERR_RUNTIME) | BIT(KEEL_ERR_INVALID),
                      isnan(bad[k]) ? NULL : "'gath'", label);
        }
    }
}

/* TopK with K computed from data: Cast(float k) -> TopK. */
static void test_topk_computed_k(void)
{
    static const float bad[] = {NAN, INFINITY, -INFINITY, 1e30f, -1.0f, 7.0f, 9.3e18f};
    const float x[6] = {5, 1, 4, 2, 6, 3};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        hcase h;
        hc_new(&h, 13);
        hc_input(&h, "x", KEEL_FLOAT, 1, (int64_t[]){6}, x, sizeof x);
        hc_input(&h, "kf", KEEL_FLOAT, 1, (int64_t[]){1}, &bad[k], 4);
        Onnx__NodeProto *c = tb_node(h.b, "Cast", "cast", "kf", "k");
        tb_attr_int(h.b, c, "to", KEEL_INT64);
        tb_node(h.b, "TopK", "topk", "x,k", "v,i");
        tb_output(h.b, "v", KEEL_FLOAT, 1, (int64_t[]){-1});
        tb_output(h.b, "i", KEEL_INT64, 1, (int64_t[]){-1});
        char label[64];
        snprintf(label, sizeof label, "TopK k = %g", (double)bad[k]);
        /* NaN casts to 0: an empty TopK, valid */
        hc_expect(&h, 0, isnan(bad[k]) ? 0 : BIT(KEEL_ERR_INVALID) | BIT(KEEL_ERR_SHAPE) | BIT(KEEL_ERR_RUNTIME),
                  isnan(bad[k]) ? NULL : "'topk'", label);
    }
    /* TopK on a scalar has no axis to take K along */
    hcase h;
    hc_new(&h, 13);
    hc_input(&h, "x", KEEL_FLOAT, 0, NULL, x, 4);
    tb_init_raw(h.b, "k", KEEL_INT64, 1, (int64_t[]){1}, (int64_t[]){1}, 8);
    tb_node(h.b, "TopK", "topk", "x,k", "v,i");
    tb_output(h.b, "v", KEEL_FLOAT, 0, NULL);
    hc_expect(&h, 0, BIT(KEEL_ERR_INVALID) | BIT(KEEL_ERR_SHAPE), "'topk'", "TopK on a scalar");
}

static void build_range_f(hcase *h, bool dyn, int dtype, double start, double limit, double delta)
{
    hc_new(h, 13);
    size_t es = dtype == KEEL_FLOAT ? 4 : 8;
    float fs[3] = {(float)start, (float)limit, (float)delta};
    double ds[3] = {start, limit, delta};
    const char *names[3] = {"start", "limit", "delta"};
    for (int i = 0; i < 3; i++)
        hc_param(h, dyn, names[i], dtype, 0, NULL, dtype == KEEL_FLOAT ? (const void *)&fs[i] : &ds[i], es);
    tb_node(h->b, "Range", "big", "start,limit,delta", "y");
    tb_output(h->b, "y", dtype, 1, (int64_t[]){-1});
}

static void test_range_nonfinite(void)
{
    static const double bad[][3] = {
        {NAN, 10, 1}, {0, NAN, 1}, {0, 10, NAN}, {0, INFINITY, 1}, {-INFINITY, 0, 1}, {0, 10, INFINITY},
        {0, 1e30, 1}, {0, 1e12, 1}, {-1e30, 1e30, 1e-30}, {0, 1, 1e-30}, {0, 10, 0},
        {-3e38, 3e38, 1e-45}, {1e308, -1e308, -1}, {0, 1e300, 1e-300},
    };
    hcase h;
    for (int dt = 0; dt < 2; dt++)
        for (int dyn = 0; dyn < 2; dyn++)
            for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
                int dtype = dt ? KEEL_DOUBLE : KEEL_FLOAT;
                build_range_f(&h, dyn, dtype, bad[k][0], bad[k][1], bad[k][2]);
                char label[96];
                snprintf(label, sizeof label, "Range %s(%g, %g, %g)%s", keel_dtype_name(dtype), bad[k][0],
                         bad[k][1], bad[k][2], dyn ? " at run time" : "");
                hc_expect(&h, 0, BIT(KEEL_ERR_INVALID) | BIT(KEEL_ERR_LIMIT) | BIT(KEEL_ERR_SHAPE), "'big'", label);
            }
}

/* Range over int64 near the ends of the type: counted exactly (a double
 * would round INT64_MAX up and out of range), or refused as too large. */
static void test_range_int64_extremes(void)
{
    static const int64_t big[][3] = {
        {INT64_MIN, INT64_MAX, 1}, {INT64_MAX, INT64_MIN, -1}, {INT64_MIN, INT64_MAX, INT64_MAX / 1000},
        {0, 10, 0}, {INT64_MAX, INT64_MIN, INT64_MIN / 1000},
    };
    for (size_t k = 0; k < sizeof big / sizeof big[0]; k++)
        for (int dyn = 0; dyn < 2; dyn++) {
            hcase h;
            hc_new(&h, 13);
            hc_param(&h, dyn, "start", KEEL_INT64, 0, NULL, &big[k][0], 8);
            hc_param(&h, dyn, "limit", KEEL_INT64, 0, NULL, &big[k][1], 8);
            hc_param(&h, dyn, "delta", KEEL_INT64, 0, NULL, &big[k][2], 8);
            tb_node(h.b, "Range", "big", "start,limit,delta", "y");
            tb_output(h.b, "y", KEEL_INT64, 1, (int64_t[]){-1});
            hc_expect(&h, SMALL_LIMIT, BIT(KEEL_ERR_INVALID) | BIT(KEEL_ERR_LIMIT), "'big'", "Range int64");
        }
    static const int64_t ok[][3] = {
        {INT64_MAX - 3, INT64_MAX, 1}, {INT64_MIN + 3, INT64_MIN, -1}, {INT64_MIN, INT64_MAX, INT64_MAX},
        {INT64_MAX, INT64_MIN, INT64_MIN}, {INT64_MIN, 0, INT64_MAX}, {5, 5, -3},
    };
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++)
        for (int dyn = 0; dyn < 2; dyn++) {
            hcase h;
            hc_new(&h, 13);
            hc_param(&h, dyn, "start", KEEL_INT64, 0, NULL, &ok[k][0], 8);
            hc_param(&h, dyn, "limit", KEEL_INT64, 0, NULL, &ok[k][1], 8);
            hc_param(&h, dyn, "delta", KEEL_INT64, 0, NULL, &ok[k][2], 8);
            tb_node(h.b, "Range", "rng", "start,limit,delta", "y");
            tb_output(h.b, "y", KEEL_INT64, 1, (int64_t[]){-1});
            /* by hand: start, start + delta, ... while short of limit */
            int64_t want[8];
            int n = 0;
            for (int64_t v = ok[k][0]; n < 8; n++) {
                if (ok[k][2] > 0 ? v >= ok[k][1] : v <= ok[k][1])
                    break;
                want[n] = v;
                if (ok[k][2] > 0 ? v > ok[k][1] - ok[k][2] : v < ok[k][1] - ok[k][2]) {
                    n++;
                    break;
                }
                v += ok[k][2];
            }
            size_t len;
            uint8_t *buf = tb_pack(h.b, &len);
            keel_model *m = NULL;
            keel_session *s = NULL;
            char err[1024] = "";
            keel_status st = keel_model_load_buffer(&m, buf, len, NULL, "hostile.onnx", NULL, err, sizeof err);
            if (!st)
                st = keel_session_create(&s, m, NULL, NULL, 0, NULL, err, sizeof err);
            keel_tensor out = {0};
            if (!st && (st = keel_session_run(s, h.in, &out)))
                snprintf(err, sizeof err, "%s", keel_session_errmsg(s));
            bool good = st == KEEL_OK && out.rank == 1 && out.dims[0] == n;
            for (int i = 0; good && i < n; i++)
                good = ((const int64_t *)out.data)[i] == want[i];
            CU_ASSERT(good);
            if (!good)
                fprintf(stderr, "\n  Range(%lld, %lld, %lld): status %d, %lld values (want %d): %s\n",
                        (long long)ok[k][0], (long long)ok[k][1], (long long)ok[k][2], st,
                        st ? -1LL : (long long)out.dims[0], n, err);
            keel_session_free(s);
            keel_model_free(m);
            free(buf);
            tb_free(h.b);
        }
}

static void test_resize_nonfinite_scales(void)
{
    static const float bad[] = {NAN, INFINITY, -INFINITY, 1e30f, 3e38f, -2.0f, 0.0f, 1e-30f};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        for (int dyn = 0; dyn < 2; dyn++)
            for (int mode = 0; mode < 2; mode++) {
                hcase h;
                float x[4] = {1, 2, 3, 4}, scales[4] = {1, 1, bad[k], 2};
                hc_new(&h, 13);
                hc_input(&h, "x", KEEL_FLOAT, 4, (int64_t[]){1, 1, 2, 2}, x, sizeof x);
                hc_param(&h, dyn, "scales", KEEL_FLOAT, 1, (int64_t[]){4}, scales, sizeof scales);
                /* mode 1: with an empty sizes input after the scales */
                tb_node(h.b, "Resize", "big", mode ? "x,,scales" : "x,,scales,", "y");
                tb_output(h.b, "y", KEEL_FLOAT, 4, (int64_t[]){1, 1, -1, -1});
                char label[64];
                snprintf(label, sizeof label, "Resize scale %g%s", (double)bad[k], dyn ? " at run time" : "");
                /* 1e-30 of 2 rows is 0 rows: an empty output is valid */
                hc_expect(&h, 0,
                          bad[k] == 1e-30f ? 0 : BIT(KEEL_ERR_INVALID) | BIT(KEEL_ERR_LIMIT) | BIT(KEEL_ERR_SHAPE),
                          bad[k] == 1e-30f ? NULL : "'big'", label);
            }
}

/* ---- string tensors into numeric ops ---------------------------------------- */

static void test_string_tensors(void)
{
    /* a string initializer: refused at load, naming the tensor */
    static const struct { const char *op, *inputs; } uses[] = {
        {"Add", "x,s"}, {"Relu", "s"}, {"Gather", "x,s"}, {"Reshape", "x,s"},
    };
    for (int k = 0; k < 4; k++) {
        hcase h;
        hc_new(&h, 13);
        hc_input(&h, "x", KEEL_FLOAT, 1, (int64_t[]){2}, data23, 8);
        Onnx__TensorProto *t = tb_init_raw(h.b, "s", KEEL_STRING, 1, (int64_t[]){2}, NULL, 0);
        static ProtobufCBinaryData strs[2] = {{1, (uint8_t *)"a"}, {2, (uint8_t *)"bc"}};
        t->has_raw_data = 0;
        t->n_string_data = 2;
        t->string_data = strs;
        tb_node(h.b, uses[k].op, "str", uses[k].inputs, "y");
        tb_output(h.b, "y", KEEL_FLOAT, 1, (int64_t[]){-1});
        hc_expect(&h, 0, BIT(KEEL_ERR_UNSUPPORTED) | BIT(KEEL_ERR_INVALID), "'s'", uses[k].op);
    }
    /* a string graph input */
    for (int k = 0; k < 4; k++) {
        hcase h;
        hc_new(&h, 13);
        hc_input(&h, "x", KEEL_FLOAT, 1, (int64_t[]){2}, data23, 8);
        tb_input(h.b, "s", KEEL_STRING, 1, (int64_t[]){2}, NULL);
        static const char *strs[2] = {"a", "bc"};
        h.in[h.n_in++] = (keel_tensor){KEEL_STRING, 1, {2}, (void *)strs};
        tb_node(h.b, uses[k].op, "str", uses[k].inputs, "y");
        tb_output(h.b, "y", KEEL_FLOAT, 1, (int64_t[]){-1});
        hc_expect(&h, 0, BIT(KEEL_ERR_UNSUPPORTED) | BIT(KEEL_ERR_INVALID), "'s'", uses[k].op);
    }
    /* strings made inside the graph: Cast to string, then a numeric op
     * refusing them, naming the value */
    for (int k = 0; k < 4; k++) {
        hcase h;
        hc_new(&h, 13);
        hc_input(&h, "x", KEEL_FLOAT, 1, (int64_t[]){2}, data23, 8);
        Onnx__NodeProto *c = tb_node(h.b, "Cast", "tostr", "x", "s");
        tb_attr_int(h.b, c, "to", KEEL_STRING);
        tb_node(h.b, uses[k].op, "str", uses[k].inputs, "y");
        tb_output(h.b, "y", KEEL_FLOAT, 1, (int64_t[]){-1});
        hc_expect(&h, 0, BIT(KEEL_ERR_UNSUPPORTED), "'s'", uses[k].op);
    }
    /* a Constant node holding strings: refused where a numeric op reads them */
    for (int k = 0; k < 4; k++) {
        hcase h;
        hc_new(&h, 13);
        hc_input(&h, "x", KEEL_FLOAT, 1, (int64_t[]){2}, data23, 8);
        Onnx__NodeProto *c = tb_node(h.b, "Constant", "cst", NULL, "s");
        static Onnx__TensorProto t;
        static Onnx__AttributeProto a;
        static Onnx__AttributeProto *ap[1] = {&a};
        static ProtobufCBinaryData strs[2] = {{1, (uint8_t *)"a"}, {2, (uint8_t *)"bc"}};
        static int64_t dims[1] = {2};
        onnx__tensor_proto__init(&t);
        t.has_data_type = 1;
        t.data_type = KEEL_STRING;
        t.n_dims = 1;
        t.dims = dims;
        t.n_string_data = 2;
        t.string_data = strs;
        onnx__attribute_proto__init(&a);
        a.name = "value";
        a.has_type = 1;
        a.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
        a.t = &t;
        c->n_attribute = 1;
        c->attribute = ap;
        tb_node(h.b, uses[k].op, "str", uses[k].inputs, "y");
        tb_output(h.b, "y", KEEL_FLOAT, 1, (int64_t[]){-1});
        hc_expect(&h, 0, BIT(KEEL_ERR_UNSUPPORTED), "'s'", uses[k].op);
    }
}

/* ---- sampling ops with NaN, Inf and far-off coordinates ------------------- */

/* RoiAlign: boxes that are NaN, infinite or far outside the feature map
 * are refused at run time (an adaptive sample grid of 1e30 rows would be
 * a hang); a hostile sampling_ratio is refused at creation. */
static void test_roialign_hostile_boxes(void)
{
    static const float bad[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 1e7f};
    float x[16];
    for (int i = 0; i < 16; i++)
        x[i] = (float)i;
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        for (int pos = 0; pos < 4; pos++) {
            hcase h;
            float rois[4] = {0, 0, 3, 3};
            rois[pos] = bad[k];
            hc_new(&h, 16);
            hc_input(&h, "x", KEEL_FLOAT, 4, (int64_t[]){1, 1, 4, 4}, x, sizeof x);
            hc_input(&h, "rois", KEEL_FLOAT, 2, (int64_t[]){1, 4}, rois, sizeof rois);
            tb_init_raw(h.b, "bi", KEEL_INT64, 1, (int64_t[]){1}, (int64_t[]){0}, 8);
            Onnx__NodeProto *n = tb_node(h.b, "RoiAlign", "roi", "x,rois,bi", "y");
            tb_attr_int(h.b, n, "output_height", 2);
            tb_attr_int(h.b, n, "output_width", 2);
            tb_output(h.b, "y", KEEL_FLOAT, 4, (int64_t[]){1, 1, 2, 2});
            char label[64];
            snprintf(label, sizeof label, "RoiAlign box[%d] = %g", pos, (double)bad[k]);
            hc_expect(&h, 0, BIT(KEEL_ERR_RUNTIME), "'roi'", label);
        }
    static const int64_t ratios[] = {INT64_MAX, (int64_t)1 << 20, -1, 2};
    for (int k = 0; k < 4; k++) {
        hcase h;
        float rois[4] = {0, 0, 3, 3};
        hc_new(&h, 16);
        hc_input(&h, "x", KEEL_FLOAT, 4, (int64_t[]){1, 1, 4, 4}, x, sizeof x);
        hc_input(&h, "rois", KEEL_FLOAT, 2, (int64_t[]){1, 4}, rois, sizeof rois);
        tb_init_raw(h.b, "bi", KEEL_INT64, 1, (int64_t[]){1}, (int64_t[]){0}, 8);
        Onnx__NodeProto *n = tb_node(h.b, "RoiAlign", "roi", "x,rois,bi", "y");
        tb_attr_int(h.b, n, "sampling_ratio", ratios[k]);
        tb_output(h.b, "y", KEEL_FLOAT, 4, (int64_t[]){1, 1, 1, 1});
        hc_expect(&h, 0, k == 3 ? 0 : BIT(KEEL_ERR_LIMIT) | BIT(KEEL_ERR_INVALID), k == 3 ? NULL : "'roi'",
                  "RoiAlign sampling_ratio");
    }
}

/* GridSample: NaN, Inf and far-off grid values are sampled like points
 * outside the image, in every mode and padding, with no undefined
 * conversion (the sanitizer build checks float -> int casts). */
static void test_gridsample_nonfinite_grid(void)
{
    static const char *const modes[] = {"bilinear", "nearest", "bicubic"};
    static const char *const pads[] = {"zeros", "border", "reflection"};
    const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const float grid[8] = {NAN, 0, INFINITY, -INFINITY, 1e30f, -1e30f, 0, 0};
    for (int m = 0; m < 3; m++)
        for (int p = 0; p < 3; p++) {
            hcase h;
            hc_new(&h, 16);
            hc_input(&h, "x", KEEL_FLOAT, 4, (int64_t[]){1, 1, 3, 3}, x, sizeof x);
            hc_input(&h, "grid", KEEL_FLOAT, 4, (int64_t[]){1, 2, 2, 2}, grid, sizeof grid);
            Onnx__NodeProto *n = tb_node(h.b, "GridSample", "gs", "x,grid", "y");
            tb_attr_str(h.b, n, "mode", modes[m]);
            tb_attr_str(h.b, n, "padding_mode", pads[p]);
            tb_output(h.b, "y", KEEL_FLOAT, 4, (int64_t[]){1, 1, 2, 2});
            float got[4];
            int64_t numel;
            char err[1024];
            keel_status st = run_floats(&h, got, 4, &numel, err, sizeof err);
            CU_ASSERT_EQUAL(st, KEEL_OK);
            CU_ASSERT_EQUAL(numel, 4);
            /* the last grid point, (0, 0), is the centre pixel in every mode */
            if (st == KEEL_OK && numel == 4) {
                CU_ASSERT_DOUBLE_EQUAL(got[3], 5.0, 1e-5);
            } else {
                fprintf(stderr, "\n  GridSample %s %s: %d %s\n", modes[m], pads[p], st, err);
            }
        }
}

/* MelWeightMatrix: NaN or infinite edges are refused; a huge finite upper
 * edge puts the filters past the last row (clamped, not converted). */
static void test_melweightmatrix_nonfinite(void)
{
    static const float edges[][2] = {{NAN, 100}, {0, NAN}, {0, INFINITY}, {-INFINITY, 10}, {0, 1e30f}, {0, 3e38f}};
    for (int k = 0; k < 6; k++)
        for (int dyn = 0; dyn < 2; dyn++) {
            hcase h;
            hc_new(&h, 17);
            hc_param(&h, dyn, "bins", KEEL_INT64, 0, NULL, (int64_t[]){4}, 8);
            hc_param(&h, dyn, "len", KEEL_INT64, 0, NULL, (int64_t[]){16}, 8);
            hc_param(&h, dyn, "rate", KEEL_INT64, 0, NULL, (int64_t[]){8000}, 8);
            hc_param(&h, dyn, "lo", KEEL_FLOAT, 0, NULL, &edges[k][0], 4);
            hc_param(&h, dyn, "hi", KEEL_FLOAT, 0, NULL, &edges[k][1], 4);
            tb_node(h.b, "MelWeightMatrix", "mel", "bins,len,rate,lo,hi", "y");
            tb_output(h.b, "y", KEEL_FLOAT, 2, (int64_t[]){-1, -1});
            char label[64];
            snprintf(label, sizeof label, "MelWeightMatrix edges %g, %g", (double)edges[k][0], (double)edges[k][1]);
            hc_expect(&h, 0, k >= 4 ? 0 : BIT(KEEL_ERR_INVALID), k >= 4 ? NULL : "'mel'", label);
        }
}

/* ---- a failed run leaves a usable session ------------------------------------ */

static void test_session_usable_after_failure(void)
{
    /* Gather with indices from a graph input (planned at creation) */
    hcase h;
    hc_new(&h, 13);
    tb_input(h.b, "data", KEEL_FLOAT, 2, (int64_t[]){2, 3}, NULL);
    tb_input(h.b, "idx", KEEL_INT64, 1, (int64_t[]){2}, NULL);
    Onnx__NodeProto *n = tb_node(h.b, "Gather", "gath", "data,idx", "g");
    tb_attr_int(h.b, n, "axis", 1);
    tb_node(h.b, "Relu", "relu", "g", "y");
    tb_output(h.b, "y", KEEL_FLOAT, 2, (int64_t[]){2, 2});
    /* and Expand with its shape from a graph input (planned at each run) */
    tb_input(h.b, "shape", KEEL_INT64, 1, (int64_t[]){3}, NULL);
    tb_node(h.b, "Expand", "expand", "y,shape", "z");
    tb_output(h.b, "z", KEEL_FLOAT, 3, (int64_t[]){-1, -1, -1});
    size_t len;
    uint8_t *buf = tb_pack(h.b, &len);
    keel_model *m = NULL;
    keel_session *s = NULL;
    char err[1024] = "";
    CU_ASSERT_EQUAL_FATAL(keel_model_load_buffer(&m, buf, len, NULL, "hostile.onnx", NULL, err, sizeof err), KEEL_OK);
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, NULL, NULL, 0, NULL, err, sizeof err), KEEL_OK);
    const float data[6] = {1, -2, 3, -4, 5, 6};
    int64_t idx[2], shape[3] = {1, 1, 1};
    keel_tensor in[3] = {{KEEL_FLOAT, 2, {2, 3}, (void *)data}, {KEEL_INT64, 1, {2}, idx}, {KEEL_INT64, 1, {3}, shape}};
    float y[4];
    for (int round = 0; round < 3; round++) {
        /* bad index: fails naming the Gather */
        static const int64_t bad[] = {INT64_MIN, 3, -4};
        idx[0] = 0;
        idx[1] = bad[round];
        keel_tensor out[2] = {{.data = y}, {0}};
        CU_ASSERT_EQUAL(keel_session_run(s, in, out), KEEL_ERR_RUNTIME);
        CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "'gath'"));
        CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "hostile.onnx"));
        /* good index, bad shape: fails naming the Expand */
        idx[1] = -1;
        shape[0] = HUGE_DIM * HUGE_DIM; /* [2^40, 2, 2] */
        shape[1] = 1;
        shape[2] = 1;
        memset(out, 0, sizeof out);
        out[0].data = y;
        CU_ASSERT_EQUAL(keel_session_run(s, in, out), KEEL_ERR_LIMIT);
        CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "'expand'"));
        /* good run: y = relu(data[:, [2-round%2, -1]]), z = y expanded to [3, 2, 2] */
        idx[0] = 2 - round % 2;
        shape[0] = 3;
        shape[1] = 1;
        shape[2] = 1;
        memset(out, 0, sizeof out);
        out[0].data = y;
        keel_status st = keel_session_run(s, in, out);
        CU_ASSERT_EQUAL(st, KEEL_OK);
        if (st)
            fprintf(stderr, "\n  good run after a failed one: %s\n", keel_session_errmsg(s));
        float want[4];
        for (int r = 0; r < 2; r++)
            for (int j = 0; j < 2; j++) {
                float v = data[r * 3 + (j == 0 ? idx[0] : 2)];
                want[r * 2 + j] = v > 0 ? v : 0;
            }
        for (int i = 0; i < 4; i++)
            CU_ASSERT_EQUAL(y[i], want[i]);
        CU_ASSERT_EQUAL(out[1].rank, 3);
        CU_ASSERT_EQUAL(out[1].dims[0], 3);
        CU_ASSERT_EQUAL(out[1].dims[1], 2);
        CU_ASSERT_EQUAL(out[1].dims[2], 2);
        for (int i = 0; !st && i < 12; i++)
            CU_ASSERT_EQUAL(((const float *)out[1].data)[i], want[i % 4]);
    }
    keel_session_free(s);
    keel_model_free(m);
    free(buf);
    tb_free(h.b);
}

void add_hostile_ops_suite(void)
{
    CU_pSuite s = CU_add_suite("hostile models: operators", NULL, NULL);
    CU_add_test(s, "Expand to a huge shape", test_huge_expand);
    CU_add_test(s, "ConstantOfShape of a huge shape", test_huge_constantofshape);
    CU_add_test(s, "Tile by huge repeats", test_huge_tile);
    CU_add_test(s, "Range of a huge count", test_huge_range);
    CU_add_test(s, "Resize to huge sizes", test_huge_resize_sizes);
    CU_add_test(s, "Resize by huge scales", test_huge_resize_scales);
    CU_add_test(s, "Pad by huge pads", test_huge_pad);
    CU_add_test(s, "Reshape to huge or overflowing shapes", test_huge_reshape);
    CU_add_test(s, "negative and overflowing shapes and pads", test_huge_negative_and_overflow);
    CU_add_test(s, "Gather indices out of range and INT64_MIN", test_index_gather);
    CU_add_test(s, "GatherElements indices out of range", test_index_gatherelements);
    CU_add_test(s, "GatherND indices out of range", test_index_gathernd);
    CU_add_test(s, "ScatterND indices out of range", test_index_scatternd);
    CU_add_test(s, "ScatterElements indices out of range", test_index_scatterelements);
    CU_add_test(s, "Slice with INT64_MIN/MAX starts, ends and steps", test_slice_extremes);
    CU_add_test(s, "OneHot depth and extreme indices", test_onehot_depth_and_indices);
    CU_add_test(s, "axis attributes out of range", test_axis_out_of_range);
    CU_add_test(s, "axes inputs and Transpose perms", test_axes_inputs_and_perm);
    CU_add_test(s, "zero strides, kernels, dilations, groups", test_zero_windows);
    CU_add_test(s, "Cast NaN/Inf/1e30 to int64, then Gather", test_cast_nan_to_gather);
    CU_add_test(s, "TopK with a computed K", test_topk_computed_k);
    CU_add_test(s, "Range with NaN, Inf and huge floats", test_range_nonfinite);
    CU_add_test(s, "Range over int64 extremes", test_range_int64_extremes);
    CU_add_test(s, "Resize with NaN, Inf and huge scales", test_resize_nonfinite_scales);
    CU_add_test(s, "RoiAlign with NaN, Inf and far-off boxes", test_roialign_hostile_boxes);
    CU_add_test(s, "GridSample with NaN, Inf and far-off grids", test_gridsample_nonfinite_grid);
    CU_add_test(s, "MelWeightMatrix with NaN and infinite edges", test_melweightmatrix_nonfinite);
    CU_add_test(s, "string tensors into numeric ops", test_string_tensors);
    CU_add_test(s, "session usable after a failed run", test_session_usable_after_failure);
}
