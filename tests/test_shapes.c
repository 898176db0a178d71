/* test_shapes.c -- one session, any input shape: plans made per shape,
 * kept most recently used first, sharing one arena; results checked
 * against direct loops written here. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keel.h"
#include "session.h"
#include "testutil.h"

#define C_IN 16
#define C_OUT 16

static keel_model *load(tb_model *b, const keel_options *opt)
{
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    keel_model *m = NULL;
    char err[1024];
    if (keel_model_load_buffer(&m, buf, len, NULL, "shapes.onnx", opt, err, sizeof err))
        fprintf(stderr, "\n  load failed: %s\n", err);
    free(buf);
    return m;
}

static float weight_at(int i) { return (float)((i * 37 % 23) - 11) / 64.0f; }

/* x: float[N, 16, H, W] -> Conv 3x3 pad 1 (16 -> 16) -> Relu -> "map";
 * GlobalAveragePool(map) -> "pooled" float[N, 16, 1, 1]. */
static keel_model *conv_model(tb_model **bp, float *w, float *bias)
{
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 4, (int64_t[]){-1, C_IN, -1, -1}, NULL);
    tb_output(b, "map", KEEL_FLOAT, 4, (int64_t[]){-1, C_OUT, -1, -1});
    tb_output(b, "pooled", KEEL_FLOAT, 4, (int64_t[]){-1, C_OUT, 1, 1});
    for (int i = 0; i < C_OUT * C_IN * 9; i++)
        w[i] = weight_at(i);
    for (int i = 0; i < C_OUT; i++)
        bias[i] = (float)(i - 8) / 16.0f;
    tb_init_f32(b, "w", 4, (int64_t[]){C_OUT, C_IN, 3, 3}, w);
    tb_init_f32(b, "b", 1, (int64_t[]){C_OUT}, bias);
    Onnx__NodeProto *conv = tb_node(b, "Conv", "conv", "x,w,b", "c");
    tb_attr_ints(b, conv, "pads", 4, (int64_t[]){1, 1, 1, 1});
    tb_node(b, "Relu", "relu", "c", "map");
    tb_node(b, "GlobalAveragePool", "gap", "map", "pooled");
    *bp = b;
    return load(b, NULL);
}

/* The model's outputs for x[n, C_IN, h, w], by direct loops. */
static void conv_reference(const float *x, int n, int h, int wd, const float *w, const float *bias, float *map,
                           float *pooled)
{
    for (int i = 0; i < n; i++)
        for (int m = 0; m < C_OUT; m++) {
            double sum = 0;
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < wd; xx++) {
                    double acc = bias[m];
                    for (int c = 0; c < C_IN; c++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                int iy = y + ky - 1, ix = xx + kx - 1;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= wd)
                                    continue;
                                acc += (double)x[((i * C_IN + c) * h + iy) * wd + ix] *
                                       w[((m * C_IN + c) * 3 + ky) * 3 + kx];
                            }
                    float v = acc > 0 ? (float)acc : 0.0f;
                    map[((i * C_OUT + m) * h + y) * wd + xx] = v;
                    sum += v;
                }
            pooled[i * C_OUT + m] = (float)(sum / (h * wd));
        }
}

typedef struct shape3 {
    int n, h, w;
} shape3;

/* One run of s at shape sh, checked against the loops; returns the
 * largest error. */
static double run_at(keel_session *s, shape3 sh, const float *w, const float *bias)
{
    size_t nx = (size_t)sh.n * C_IN * sh.h * sh.w, nmap = (size_t)sh.n * C_OUT * sh.h * sh.w;
    float *x = malloc(nx * sizeof *x), *map = malloc(nmap * sizeof *map);
    float *pooled = malloc((size_t)sh.n * C_OUT * sizeof *pooled);
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)((int)(i * 7919 % 101) - 50) / 50.0f;
    conv_reference(x, sh.n, sh.h, sh.w, w, bias, map, pooled);
    keel_tensor in = {KEEL_FLOAT, 4, {sh.n, C_IN, sh.h, sh.w}, x};
    keel_tensor out[2];
    memset(out, 0, sizeof out);
    double err = INFINITY;
    keel_status st = keel_session_run(s, &in, out);
    if (st)
        fprintf(stderr, "\n  run at %dx%dx%d: %s\n", sh.n, sh.h, sh.w, keel_session_errmsg(s));
    else if (out[0].rank == 4 && out[0].dims[0] == sh.n && out[0].dims[2] == sh.h && out[0].dims[3] == sh.w &&
             out[1].rank == 4 && out[1].dims[0] == sh.n && out[1].dims[1] == C_OUT) {
        double e0 = tb_max_abs_err(out[0].data, map, nmap);
        double e1 = tb_max_abs_err(out[1].data, pooled, (size_t)sh.n * C_OUT);
        err = e0 > e1 ? e0 : e1;
        /* output_info tells this run's shapes */
        keel_tensor info;
        keel_session_output_info(s, 0, &info);
        if (info.dims[0] != sh.n || info.dims[2] != sh.h || info.dims[3] != sh.w)
            err = INFINITY;
    }
    free(x);
    free(map);
    free(pooled);
    return err;
}

/* Three shapes and back: each is planned once, earlier plans are reused,
 * and every run matches the loops (the arena grew under the first plan). */
static void test_any_shape_one_session(void)
{
    static float w[C_OUT * C_IN * 9], bias[C_OUT];
    tb_model *b;
    keel_model *m = conv_model(&b, w, bias);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *s;
    char err[1024];
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, NULL, NULL, 0, NULL, err, sizeof err), KEEL_OK);
    keel_session_stats st;
    keel_session_get_stats(s, &st);
    CU_ASSERT_EQUAL(st.plans_made, 0); /* nothing fixes N, H, W yet */
    const shape3 shapes[] = {{1, 4, 4}, {2, 5, 7}, {1, 24, 20}, {1, 4, 4}, {2, 5, 7}, {1, 24, 20}};
    for (int k = 0; k < 6; k++) {
        CU_ASSERT(run_at(s, shapes[k], w, bias) < 1e-4);
        keel_session_get_stats(s, &st);
        CU_ASSERT_EQUAL(st.plans_made, k < 3 ? k + 1 : 3);
        CU_ASSERT_EQUAL(st.runs, k + 1);
    }
    CU_ASSERT_EQUAL(st.plans_kept, 3);
    CU_ASSERT(st.arena_bytes >= (size_t)24 * 20 * C_OUT * sizeof(float));
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
}

/* keel_options.max_plans bounds the plans kept: the least recently used
 * one goes, and its shape is planned again when it comes back. */
static void test_plan_cache_bound(void)
{
    static float w[C_OUT * C_IN * 9], bias[C_OUT];
    tb_model *b;
    keel_model *m = conv_model(&b, w, bias);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_options opt;
    keel_options_init(&opt);
    opt.max_plans = 2;
    keel_session *s;
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, &opt, NULL, 0, NULL, NULL, 0), KEEL_OK);
    const shape3 a = {1, 6, 6}, bb = {1, 8, 5}, c = {1, 3, 9};
    const shape3 order[] = {a, bb, a, c, a, bb};
    const int64_t made[] = {1, 2, 2, 3, 3, 4}; /* c evicts bb (a ran after it); bb comes back */
    keel_session_stats st;
    for (int k = 0; k < 6; k++) {
        CU_ASSERT(run_at(s, order[k], w, bias) < 1e-4);
        keel_session_get_stats(s, &st);
        CU_ASSERT_EQUAL(st.plans_made, made[k]);
        CU_ASSERT(st.plans_kept <= 2);
    }
    keel_session_free(s);
    opt.max_plans = -1;
    char err[256];
    CU_ASSERT_EQUAL(keel_session_create(&s, m, &opt, NULL, 0, NULL, err, sizeof err), KEEL_ERR_ARGUMENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "max_plans"));
    keel_model_free(m);
    tb_free(b);
}

/* Shapes given at creation are planned ahead, and are a hint only. */
static void test_creation_shapes_are_a_hint(void)
{
    static float w[C_OUT * C_IN * 9], bias[C_OUT];
    tb_model *b;
    keel_model *m = conv_model(&b, w, bias);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_tensor hint = {KEEL_FLOAT, 4, {1, C_IN, 10, 10}, NULL};
    keel_session *s;
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, NULL, NULL, 0, &hint, NULL, 0), KEEL_OK);
    keel_session_stats st;
    keel_session_get_stats(s, &st);
    CU_ASSERT_EQUAL(st.plans_made, 1);
    CU_ASSERT(st.last_plan_ms > 0);
    CU_ASSERT(run_at(s, (shape3){1, 10, 10}, w, bias) < 1e-4);
    keel_session_get_stats(s, &st);
    CU_ASSERT_EQUAL(st.plans_made, 1); /* the hint's plan ran */
    CU_ASSERT(run_at(s, (shape3){3, 2, 11}, w, bias) < 1e-4);
    keel_session_get_stats(s, &st);
    CU_ASSERT_EQUAL(st.plans_made, 2);
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
}

/* Fixed dims must match, and one symbolic name takes one value. */
static void test_declared_dims_hold(void)
{
    static const float w3[] = {1, 2, 3};
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 2, (int64_t[]){-1, 3}, "N");
    tb_input(b, "y", KEEL_FLOAT, 2, (int64_t[]){-1, 3}, "N");
    tb_output(b, "out", KEEL_FLOAT, 2, (int64_t[]){-1, 3});
    tb_init_f32(b, "w", 2, (int64_t[]){1, 3}, w3);
    tb_node(b, "Add", "add", "x,y", "s");
    tb_node(b, "Mul", "mul", "s,w", "out");
    keel_model *m = load(b, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *s;
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, NULL, NULL, 0, NULL, NULL, 0), KEEL_OK);
    float xs[12], ys[12];
    for (int i = 0; i < 12; i++) {
        xs[i] = (float)i;
        ys[i] = (float)(100 - i);
    }
    for (int n = 1; n <= 4; n++) {
        keel_tensor in[2] = {{KEEL_FLOAT, 2, {n, 3}, xs}, {KEEL_FLOAT, 2, {n, 3}, ys}};
        keel_tensor out = {0};
        CU_ASSERT_EQUAL_FATAL(keel_session_run(s, in, &out), KEEL_OK);
        CU_ASSERT_EQUAL(out.dims[0], n);
        for (int i = 0; i < n * 3; i++)
            CU_ASSERT_DOUBLE_EQUAL(((float *)out.data)[i], 100.0 * w3[i % 3], 1e-4);
    }
    keel_tensor in[2] = {{KEEL_FLOAT, 2, {2, 3}, xs}, {KEEL_FLOAT, 2, {3, 3}, ys}};
    keel_tensor out = {0};
    CU_ASSERT_EQUAL(keel_session_run(s, in, &out), KEEL_ERR_SHAPE);
    CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "'N'"));
    in[1].dims[0] = 2;
    in[1].dims[1] = 4;
    CU_ASSERT_EQUAL(keel_session_run(s, in, &out), KEEL_ERR_SHAPE);
    CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "'y'"));
    in[1].dims[1] = 3;
    in[1].dtype = KEEL_INT32;
    CU_ASSERT_NOT_EQUAL(keel_session_run(s, in, &out), KEEL_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "'y'"));
    /* the session still runs after refusing those */
    in[1].dtype = KEEL_FLOAT;
    CU_ASSERT_EQUAL(keel_session_run(s, in, &out), KEEL_OK);
    keel_session_stats st;
    keel_session_get_stats(s, &st);
    CU_ASSERT_EQUAL(st.plans_made, 4);
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
}

/* A run at a shape already planned allocates nothing, also after another
 * shape's plan grew the arena. */
static void test_planned_shape_allocates_nothing(void)
{
    static float w[C_OUT * C_IN * 9], bias[C_OUT];
    tb_model *b;
    keel_model *m = conv_model(&b, w, bias);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    tb_counting count = {0};
    keel_allocator a = tb_counting_allocator(&count);
    keel_options opt;
    keel_options_init(&opt);
    opt.allocator = &a;
    keel_session *s;
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, &opt, NULL, 0, NULL, NULL, 0), KEEL_OK);
    CU_ASSERT(run_at(s, (shape3){1, 5, 5}, w, bias) < 1e-4);
    CU_ASSERT(run_at(s, (shape3){1, 30, 30}, w, bias) < 1e-4);
    size_t before = count.total_allocs;
    CU_ASSERT(run_at(s, (shape3){1, 5, 5}, w, bias) < 1e-4);
    CU_ASSERT(run_at(s, (shape3){1, 30, 30}, w, bias) < 1e-4);
    CU_ASSERT_EQUAL(count.total_allocs, before);
    keel_session_free(s);
    keel_model_free(m);
    CU_ASSERT_EQUAL(count.live_blocks, 0);
    CU_ASSERT_EQUAL(count.size_mismatch, 0);
    tb_free(b);
}

/* The prepared state of the Conv step of s's newest plan (conv_state's
 * first two fields: Winograd filters, pointwise panels). */
/* The packed filters of the Conv node of s's newest plan: the one
 * pointer set among the first three of its state (ops/conv.c's
 * conv_state: Winograd's, the channel-vector products', the panels'),
 * or NULL when none or more than one is. */
static const float *conv_packed(const keel_session *s)
{
    const kl_plan *p = s->plans[0];
    for (int k = 0; k < p->n_steps; k++)
        if (strcmp(p->nodes[p->steps[k].node].src->op_type, "Conv") == 0) {
            const float *const *st = p->steps[k].ctx.state, *set = NULL;
            for (int i = 0; st && i < 3; i++) {
                if (st[i] && set)
                    return NULL;
                set = st[i] ? st[i] : set;
            }
            return set;
        }
    return NULL;
}

/* The value feeding input k of the Conv node of s's newest plan. */
static const kl_tensor *conv_input(const keel_session *s, int k)
{
    const kl_plan *p = s->plans[0];
    for (int i = 0; i < p->n_nodes; i++)
        if (strcmp(p->nodes[i].src->op_type, "Conv") == 0)
            return &p->slots[p->nodes[i].in[k]].t;
    return NULL;
}

/* Sessions of one model share its packed weights, each form packed once
 * (Winograd for large outputs, panels for small), and BatchNormalization
 * folded once; a session that does not fold it packs the model's own
 * weights, and every session computes the same outputs. */
static void test_sessions_share_packed_weights(void)
{
    static float w[C_OUT * C_IN * 9];
    static const float ones[C_OUT] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    static const float zeros[C_OUT] = {0};
    float scale[C_OUT], shift[C_OUT];
    for (int i = 0; i < C_OUT; i++) {
        scale[i] = 0.5f + (float)i / 16.0f;
        shift[i] = (float)(i % 5) / 10.0f;
    }
    /* Conv -> BatchNormalization (mean 0, var 1 - eps: a plain scale and
     * shift) -> Relu -> map; GlobalAveragePool -> pooled */
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 4, (int64_t[]){-1, C_IN, -1, -1}, NULL);
    tb_output(b, "map", KEEL_FLOAT, 4, (int64_t[]){-1, C_OUT, -1, -1});
    tb_output(b, "pooled", KEEL_FLOAT, 4, (int64_t[]){-1, C_OUT, 1, 1});
    for (int i = 0; i < C_OUT * C_IN * 9; i++)
        w[i] = weight_at(i);
    tb_init_f32(b, "w", 4, (int64_t[]){C_OUT, C_IN, 3, 3}, w);
    tb_init_f32(b, "scale", 1, (int64_t[]){C_OUT}, scale);
    tb_init_f32(b, "shift", 1, (int64_t[]){C_OUT}, shift);
    tb_init_f32(b, "mean", 1, (int64_t[]){C_OUT}, zeros);
    tb_init_f32(b, "var", 1, (int64_t[]){C_OUT}, ones);
    Onnx__NodeProto *conv = tb_node(b, "Conv", "conv", "x,w", "c");
    tb_attr_ints(b, conv, "pads", 4, (int64_t[]){1, 1, 1, 1});
    Onnx__NodeProto *bn = tb_node(b, "BatchNormalization", "bn", "c,scale,shift,mean,var", "n");
    tb_attr_float(b, bn, "epsilon", 0.0f);
    tb_node(b, "Relu", "relu", "n", "map");
    tb_node(b, "GlobalAveragePool", "gap", "map", "pooled");
    keel_model *m = load(b, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    /* the reference: the BN folded by hand into w and bias */
    float wf[C_OUT * C_IN * 9];
    for (int i = 0; i < C_OUT * C_IN * 9; i++)
        wf[i] = w[i] * scale[i / (C_IN * 9)];
    keel_options no_fold;
    keel_options_init(&no_fold);
    no_fold.passes_off = "fuse_batchnorm";
    keel_session *s[3];
    for (int k = 0; k < 3; k++)
        CU_ASSERT_EQUAL_FATAL(keel_session_create(&s[k], m, k == 2 ? &no_fold : NULL, NULL, 0, NULL, NULL, 0), KEEL_OK);
    const shape3 small = {1, 4, 4}, large = {1, 24, 24};
    for (int round = 0; round < 2; round++) {
        const shape3 sh = round ? large : small;
        const float *packed[3];
        for (int k = 0; k < 3; k++) {
            CU_ASSERT(run_at(s[k], sh, wf, shift) < 1e-4);
            packed[k] = conv_packed(s[k]);
        }
        /* one packing of the filters (which one depends on the shape and
         * the kernel table), shared by the sessions of the same weights */
        CU_ASSERT_PTR_NOT_NULL(packed[0]);
        CU_ASSERT_PTR_EQUAL(packed[0], packed[1]);
        CU_ASSERT_PTR_NOT_EQUAL(packed[0], packed[2]);
    }
    /* the folded weights are the model's, one copy for both sessions */
    CU_ASSERT_PTR_EQUAL(conv_input(s[0], 1)->data, conv_input(s[1], 1)->data);
    CU_ASSERT_PTR_NOT_EQUAL(conv_input(s[0], 1)->data, conv_input(s[2], 1)->data);
    for (int k = 0; k < 3; k++)
        keel_session_free(s[k]);
    keel_model_free(m);
    tb_free(b);
}

/* Weights computed from the model's (here w0 * 2, as exports hold weights
 * in Constant nodes or transpose them) fold once per model: sessions share
 * the result and its packing, and each runs correctly. */
static void test_weights_folded_once_per_model(void)
{
    static float w[C_OUT * C_IN * 9], half[C_OUT * C_IN * 9];
    const float two = 2.0f, zero_bias[C_OUT] = {0};
    for (int i = 0; i < C_OUT * C_IN * 9; i++) {
        w[i] = weight_at(i);
        half[i] = w[i] / 2.0f;
    }
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 4, (int64_t[]){-1, C_IN, -1, -1}, NULL);
    tb_output(b, "map", KEEL_FLOAT, 4, (int64_t[]){-1, C_OUT, -1, -1});
    tb_output(b, "pooled", KEEL_FLOAT, 4, (int64_t[]){-1, C_OUT, 1, 1});
    tb_init_f32(b, "half", 4, (int64_t[]){C_OUT, C_IN, 3, 3}, half);
    tb_init_f32(b, "two", 0, NULL, &two);
    tb_node(b, "Mul", "double", "half,two", "w");
    Onnx__NodeProto *conv = tb_node(b, "Conv", "conv", "x,w", "c");
    tb_attr_ints(b, conv, "pads", 4, (int64_t[]){1, 1, 1, 1});
    tb_node(b, "Relu", "relu", "c", "map");
    tb_node(b, "GlobalAveragePool", "gap", "map", "pooled");
    keel_model *m = load(b, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *s[2];
    for (int k = 0; k < 2; k++) {
        CU_ASSERT_EQUAL_FATAL(keel_session_create(&s[k], m, NULL, NULL, 0, NULL, NULL, 0), KEEL_OK);
        CU_ASSERT(run_at(s[k], (shape3){1, 8, 8}, w, zero_bias) < 1e-4);
        CU_ASSERT_EQUAL(s[k]->plans[0]->n_folded, 1);
    }
    CU_ASSERT_PTR_EQUAL(conv_input(s[0], 1)->data, conv_input(s[1], 1)->data);
    CU_ASSERT_PTR_NOT_NULL(conv_packed(s[0]));
    CU_ASSERT_PTR_EQUAL(conv_packed(s[0]), conv_packed(s[1]));
    /* another shape of the same session reuses them too */
    CU_ASSERT(run_at(s[0], (shape3){2, 3, 5}, w, zero_bias) < 1e-4);
    CU_ASSERT_PTR_EQUAL(conv_input(s[0], 1)->data, conv_input(s[1], 1)->data);
    for (int k = 0; k < 2; k++)
        keel_session_free(s[k]);
    keel_model_free(m);
    tb_free(b);
}

/* ---- weights released once packed ------------------------------------------------ */

typedef struct conv_case {
    int c, m, k, group;
    float *wt;
    char *dir, path[512];
    keel_model *m_;
} conv_case;

/* One Conv (x[1, c, H, W] with H and W symbolic) written to a file and
 * loaded from it: its filters are a weight the model may release. */
static bool conv_case_open(conv_case *cc, int c, int m, int k, int group)
{
    cc->c = c, cc->m = m, cc->k = k, cc->group = group;
    size_t nw = (size_t)m * (c / group) * k * k;
    cc->wt = malloc(nw * sizeof *cc->wt);
    for (size_t i = 0; i < nw; i++)
        cc->wt[i] = weight_at((int)i);
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 4, (int64_t[]){1, c, -1, -1}, NULL);
    tb_output(b, "y", KEEL_FLOAT, 4, (int64_t[]){1, m, -1, -1});
    tb_init_f32(b, "w", 4, (int64_t[]){m, c / group, k, k}, cc->wt);
    Onnx__NodeProto *n = tb_node(b, "Conv", "conv", "x,w", "y");
    tb_attr_ints(b, n, "pads", 4, (int64_t[]){k / 2, k / 2, k / 2, k / 2});
    tb_attr_int(b, n, "group", group);
    cc->dir = tb_tempdir();
    snprintf(cc->path, sizeof cc->path, "%s/conv.onnx", cc->dir);
    int wrote = tb_write(b, cc->path);
    tb_free(b);
    char err[512];
    if (wrote || keel_model_load(&cc->m_, cc->path, NULL, err, sizeof err)) {
        fprintf(stderr, "\n  %s\n", err);
        return false;
    }
    return true;
}

static void conv_case_close(conv_case *cc)
{
    keel_model_free(cc->m_);
    unlink(cc->path);
    rmdir(cc->dir);
    free(cc->dir);
    free(cc->wt);
}

/* A run of s at h x w against the loops; KEEL_OK and the largest error,
 * or the run's status. */
static keel_status conv_case_run(const conv_case *cc, keel_session *s, int h, int w, double *err)
{
    size_t nx = (size_t)cc->c * h * w, ny = (size_t)cc->m * h * w;
    float *x = malloc(nx * sizeof *x), *want = malloc(ny * sizeof *want);
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)((int)(i * 7919 % 101) - 50) / 50.0f;
    tb_naive_conv(x, cc->c, h, w, cc->wt, cc->m, cc->k, cc->group, want);
    keel_tensor in = {KEEL_FLOAT, 4, {1, cc->c, h, w}, x}, out = {0};
    keel_status st = keel_session_run(s, &in, &out);
    *err = st ? INFINITY : tb_max_abs_err(out.data, want, ny);
    free(x);
    free(want);
    return st;
}

/* Packed filters replace the raw ones: the model releases them once packed
 * and reads them back from the file for a form not packed yet; a file
 * changed since the load is refused, and the session goes on at shapes it
 * has packed. */
static void test_weights_released_once_packed(void)
{
    conv_case cc;
    CU_ASSERT_TRUE_FATAL(conv_case_open(&cc, 32, 32, 3, 1));
    keel_model *m = cc.m_;
    CU_ASSERT_EQUAL_FATAL(m->n_weights, 1); /* 36 KiB of filters only Conv reads */
    keel_session *s, *g;
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, NULL, NULL, 0, NULL, NULL, 0), KEEL_OK);
    double err;
    CU_ASSERT_EQUAL(conv_case_run(&cc, s, 4, 4, &err), KEEL_OK); /* panels */
    CU_ASSERT(err < 1e-4);
    CU_ASSERT_PTR_NULL(m->weights[0].data);
    CU_ASSERT_EQUAL(m->weights[0].holds, 0);
    CU_ASSERT_EQUAL(conv_case_run(&cc, s, 20, 24, &err), KEEL_OK); /* Winograd: read back, packed, released */
    CU_ASSERT(err < 1e-4);
    CU_ASSERT_PTR_NULL(m->weights[0].data);
    /* a session on the portable kernels packs its own forms (or runs on the
     * raw filters, holding them while it lives) */
    keel_options generic;
    keel_options_init(&generic);
    generic.isa = KEEL_ISA_GENERIC;
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&g, m, &generic, NULL, 0, NULL, NULL, 0), KEEL_OK);
    CU_ASSERT_EQUAL(conv_case_run(&cc, g, 6, 5, &err), KEEL_OK);
    CU_ASSERT(err < 1e-4);
    keel_session_free(g);
    CU_ASSERT_PTR_NULL(m->weights[0].data);
    CU_ASSERT_EQUAL(m->weights[0].holds, 0);
    /* the file changes under the model: what needs the filters again fails */
    FILE *f = fopen(cc.path, "ab");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("changed", f);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&g, m, &generic, NULL, 0, NULL, NULL, 0), KEEL_OK);
    CU_ASSERT_EQUAL(conv_case_run(&cc, g, 7, 7, &err), KEEL_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(g), "changed since it was loaded"));
    CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(g), "'w'"));
    keel_session_free(g);
    /* forms packed before still serve */
    CU_ASSERT_EQUAL(conv_case_run(&cc, s, 4, 4, &err), KEEL_OK);
    CU_ASSERT(err < 1e-4);
    keel_session_free(s);
    conv_case_close(&cc);
}

/* A depthwise Conv runs on its filters as they are: its plans hold them. */
static void test_weights_held_while_read(void)
{
    conv_case cc;
    CU_ASSERT_TRUE_FATAL(conv_case_open(&cc, 192, 192, 5, 192));
    keel_model *m = cc.m_;
    CU_ASSERT_EQUAL_FATAL(m->n_weights, 1);
    keel_session *s[2];
    double err;
    for (int k = 0; k < 2; k++) {
        CU_ASSERT_EQUAL_FATAL(keel_session_create(&s[k], m, NULL, NULL, 0, NULL, NULL, 0), KEEL_OK);
        CU_ASSERT_EQUAL(conv_case_run(&cc, s[k], 9, 7, &err), KEEL_OK);
        CU_ASSERT(err < 1e-4);
        CU_ASSERT_PTR_NOT_NULL(m->weights[0].data);
        CU_ASSERT_EQUAL(m->weights[0].holds, k + 1);
    }
    CU_ASSERT_EQUAL(conv_case_run(&cc, s[0], 3, 11, &err), KEEL_OK); /* a second plan of s[0] */
    CU_ASSERT(err < 1e-4);
    CU_ASSERT_EQUAL(m->weights[0].holds, 3);
    keel_session_free(s[0]);
    CU_ASSERT_EQUAL(m->weights[0].holds, 1);
    keel_session_free(s[1]);
    CU_ASSERT_PTR_NULL(m->weights[0].data);
    conv_case_close(&cc);
}

void add_shapes_suite(void)
{
    CU_pSuite s = CU_add_suite("any shape per session", NULL, NULL);
    CU_add_test(s, "three shapes and back on one session", test_any_shape_one_session);
    CU_add_test(s, "max_plans bounds the plans kept", test_plan_cache_bound);
    CU_add_test(s, "creation's shapes are a hint", test_creation_shapes_are_a_hint);
    CU_add_test(s, "declared dims hold at every run", test_declared_dims_hold);
    CU_add_test(s, "a planned shape allocates nothing", test_planned_shape_allocates_nothing);
    CU_add_test(s, "sessions share packed weights", test_sessions_share_packed_weights);
    CU_add_test(s, "weights computed from the model's fold once per model", test_weights_folded_once_per_model);
    CU_add_test(s, "weights released once packed, read back for new forms", test_weights_released_once_packed);
    CU_add_test(s, "weights held while a plan runs on them", test_weights_held_while_read);
}
