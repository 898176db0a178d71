/* test_fusions.c -- the epilogue fusions of transformer exports: a Linear
 * layer's bias (fuse_bias), and GELU spelled out with Erf or Tanh
 * (fuse_gelu) after a MatMul or Gemm, with and without a residual, or
 * alone (ai.keel's Gelu).  Each tiny model runs fused and with the passes
 * off, on every instruction set this CPU runs, on 1 and 2 threads, at odd
 * sizes, with NaN and infinities among the inputs, against plain double
 * loops of what the graph computes; the number of steps shows what was
 * fused, and a value read outside the pattern keeps it from fusing. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"
#include "testutil.h"

enum product { NONE, MATMUL, GEMM };   /* GEMM: with its own C, a row */
enum bias { NO_BIAS, ROW_AFTER, ROW_FIRST, COLUMN };  /* [n] as Add(y, b); [1, n] as Add(b, y); [m, 1] */
enum gelu {
    NO_GELU,
    ERF_DIV,         /* Div(x, sqrt 2), Erf, Add 1, Mul(x, .), Mul(., 0.5): PyTorch's */
    ERF_HALF_FIRST,  /* Mul(x, 1/sqrt 2), Erf, Add 1, Mul(0.5, x), Mul(., s) */
    ERF_HALF_INSIDE, /* Div, Erf, Add 1, Mul(s, 0.5), Mul(x, .) */
    TANH_CUBE,       /* x * (x * x), Mul(0.044715), Add(x), Mul(sqrt(2/pi)), Tanh, Add 1, Mul(0.5, x), Mul(., s) */
    TANH_POW         /* Pow(x, 3), ..., Mul(x, s), Mul(., 0.5) */
};
enum extra { NO_EXTRA, EXTRA_PRODUCT, EXTRA_X, EXTRA_ERF };  /* also a graph output */

typedef struct spec {
    const char *name;
    enum product product;
    int64_t batch, m, k, n;   /* x [batch, m, k] (batch 0: [m, k]); NONE: x is GELU's input [batch, m, n] */
    enum bias bias;
    bool residual;           /* + r [batch, m, n], a graph input */
    enum gelu gelu;
    enum extra extra;
    int steps_fused, steps_unfused;
    const char *op_fused;    /* an op the fused plan runs, or NULL */
    const char *gone_fused;  /* an op it no longer runs, or NULL */
} spec;

#define OFF "fuse_bias,fuse_residual,fuse_gelu"

static const spec specs[] = {
    {"MatMul + bias + GELU (PyTorch's erf)", MATMUL, 2, 37, 67, 83, ROW_AFTER, false, ERF_DIV, NO_EXTRA, 1, 7,
     "MatMul", "Erf"},
    {"MatMul + bias first + residual, k of two steps", MATMUL, 0, 45, 300, 64, ROW_FIRST, true, NO_GELU,
     NO_EXTRA, 2, 4, "MatMul", "Add"}, /* and the Identity that names y */
    {"Gemm with C + bias + GELU (tanh, x*x*x)", GEMM, 0, 33, 50, 40, ROW_AFTER, false, TANH_CUBE, NO_EXTRA, 1,
     11, "Gemm", "Tanh"},
    {"MatMul + GELU (tanh, Pow)", MATMUL, 0, 19, 40, 17, NO_BIAS, false, TANH_POW, NO_EXTRA, 1, 9, "MatMul",
     "Pow"},
    {"MatMul + bias + residual + GELU (0.5 x first)", MATMUL, 2, 9, 31, 48, ROW_AFTER, true, ERF_HALF_FIRST,
     NO_EXTRA, 1, 8, "MatMul", "Erf"},
    {"GELU of an input (x * (s * 0.5))", NONE, 3, 5, 0, 7, NO_BIAS, false, ERF_HALF_INSIDE, NO_EXTRA, 1, 5,
     "Gelu", "Erf"},
    {"GELU (tanh) of an input", NONE, 2, 3, 0, 1003, NO_BIAS, false, TANH_CUBE, NO_EXTRA, 1, 9, "Gelu", "Tanh"},
    {"GELU's input also an output: one Gelu node", MATMUL, 2, 7, 23, 33, ROW_AFTER, false, ERF_DIV, EXTRA_X, 2, 7,
     "Gelu", "Erf"},
    {"a value inside the GELU also an output: not fused", MATMUL, 2, 7, 23, 33, ROW_AFTER, false, ERF_DIV,
     EXTRA_ERF, 6, 7, "Erf", "Gelu"},
    {"the product also an output: no bias, one Gelu node", MATMUL, 0, 11, 17, 21, ROW_AFTER, false, ERF_DIV,
     EXTRA_PRODUCT, 3, 7, "Gelu", "Erf"},
    {"a bias down the columns: not fused (one Gelu node)", MATMUL, 0, 13, 9, 35, COLUMN, false, ERF_DIV,
     NO_EXTRA, 3, 7, "Add", "Erf"},
};
#define N_SPECS (sizeof specs / sizeof specs[0])

static float lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 65536.0f - 0.5f;
}

/* n values in (-scale, scale), none 0. */
static float *random_floats(int64_t n, uint32_t seed, float scale)
{
    float *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    for (int64_t i = 0; i < n; i++) {
        float r = lcg(&seed);
        v[i] = scale * (r + (r < 0 ? -0.01f : 0.01f));
    }
    return v;
}

/* ---- the sizes of a spec -------------------------------------------------------- */

static int64_t rows(const spec *c)
{
    return (c->batch ? c->batch : 1) * c->m;
}

/* The dims of the product's output (and of every value after it). */
static int out_dims(const spec *c, int64_t *d)
{
    int r = 0;
    if (c->batch)
        d[r++] = c->batch;
    d[r++] = c->m;
    d[r++] = c->n;
    return r;
}

static int x_dims(const spec *c, int64_t *d)
{
    int r = out_dims(c, d);
    if (c->product != NONE)
        d[r - 1] = c->k;
    return r;
}

static int64_t bias_len(const spec *c)
{
    return c->bias == COLUMN ? c->m : c->n;
}

/* ---- the model ------------------------------------------------------------------ */

static void scalar(tb_model *b, const char *name, float v)
{
    tb_init_f32(b, name, 0, NULL, &v);
}

/* The GELU chain from value x to value y. */
static void gelu_nodes(tb_model *b, enum gelu g, const char *x, const char *y)
{
    char in[64];
    scalar(b, "one", 1.0f);
    scalar(b, "half", 0.5f);
    if (g == TANH_CUBE || g == TANH_POW) {
        scalar(b, "k", 0.044715f);
        scalar(b, "sqrt_2_pi", 0.7978845608f);
        if (g == TANH_POW) {
            scalar(b, "three", 3.0f);
            snprintf(in, sizeof in, "%s,three", x);
            tb_node(b, "Pow", "cube", in, "x3");
        } else {
            snprintf(in, sizeof in, "%s,%s", x, x);
            tb_node(b, "Mul", "square", in, "x2");
            snprintf(in, sizeof in, "%s,x2", x);
            tb_node(b, "Mul", "cube", in, "x3");
        }
        tb_node(b, "Mul", "kx3", "k,x3", "kx3");
        snprintf(in, sizeof in, "%s,kx3", x);
        tb_node(b, "Add", "inner", in, "u");
        tb_node(b, "Mul", "scaled", "u,sqrt_2_pi", "cu");
        tb_node(b, "Tanh", "tanh", "cu", "f");
    } else {
        if (g == ERF_HALF_FIRST) {
            scalar(b, "rsqrt2", 0.70710677f);
            snprintf(in, sizeof in, "%s,rsqrt2", x);
            tb_node(b, "Mul", "arg", in, "a");
        } else {
            scalar(b, "sqrt2", 1.4142135f);
            snprintf(in, sizeof in, "%s,sqrt2", x);
            tb_node(b, "Div", "arg", in, "a");
        }
        tb_node(b, "Erf", "erf", "a", "f");
    }
    tb_node(b, "Add", "one_plus", "f,one", "s");
    if (g == ERF_HALF_FIRST || g == TANH_CUBE) {
        snprintf(in, sizeof in, "half,%s", x);
        tb_node(b, "Mul", "half_x", in, "hx");
        tb_node(b, "Mul", "gelu", "hx,s", y);
    } else if (g == ERF_HALF_INSIDE) {
        tb_node(b, "Mul", "half_s", "s,half", "hs");
        snprintf(in, sizeof in, "%s,hs", x);
        tb_node(b, "Mul", "gelu", in, y);
    } else {
        snprintf(in, sizeof in, "%s,s", x);
        tb_node(b, "Mul", "x_s", in, "xs");
        tb_node(b, "Mul", "gelu", "xs,half", y);
    }
}

/* Adds the bias Add after value `in`, into "biased". */
static void bias_node(tb_model *b, const spec *c, const char *in)
{
    const int64_t len = bias_len(c), row[1] = {len}, first[2] = {1, len}, col[2] = {len, 1};
    float *v = random_floats(len, 7, 1.0f);
    char ops[64];
    if (c->bias == ROW_FIRST) {
        tb_init_f32(b, "bias", 2, first, v);
        snprintf(ops, sizeof ops, "bias,%s", in);
    } else {
        tb_init_f32(b, "bias", c->bias == COLUMN ? 2 : 1, c->bias == COLUMN ? col : row, v);
        snprintf(ops, sizeof ops, "%s,bias", in);
    }
    tb_node(b, "Add", "add_bias", ops, "biased");
    free(v);
}

static tb_model *build(const spec *c)
{
    tb_model *b = tb_new(8, 13);
    int64_t xd[3], yd[3];
    const int xr = x_dims(c, xd), yr = out_dims(c, yd);
    tb_input(b, "x", KEEL_FLOAT, xr, xd, NULL);
    if (c->residual)
        tb_input(b, "r", KEEL_FLOAT, yr, yd, NULL);
    const char *v = "x";
    if (c->product != NONE) {
        const int64_t wd[2] = {c->k, c->n};
        float *w = random_floats(c->k * c->n, 3, 0.5f), *cv = random_floats(c->n, 5, 1.0f);
        tb_init_f32(b, "w", 2, wd, w);
        if (c->product == GEMM) {
            tb_init_f32(b, "c", 1, &c->n, cv);
            tb_node(b, "Gemm", "product", "x,w,c", "prod");
        } else
            tb_node(b, "MatMul", "product", "x,w", "prod");
        free(w);
        free(cv);
        v = "prod";
    }
    if (c->bias != NO_BIAS) {
        bias_node(b, c, v);
        v = "biased";
    }
    if (c->residual) {
        char ops[64];
        snprintf(ops, sizeof ops, "r,%s", v);
        tb_node(b, "Add", "add_residual", ops, "summed");
        v = "summed";
    }
    if (c->gelu != NO_GELU)
        gelu_nodes(b, c->gelu, v, "y");
    else
        tb_node(b, "Identity", "out", v, "y");
    tb_output(b, "y", KEEL_FLOAT, yr, yd);
    if (c->extra != NO_EXTRA)
        tb_output(b, c->extra == EXTRA_PRODUCT ? "prod" : c->extra == EXTRA_X ? v : "f", KEEL_FLOAT, yr, yd);
    return b;
}

/* ---- what the graph computes, in double --------------------------------------- */

static double gelu_of(enum gelu g, double v)
{
    if (g == NO_GELU)
        return v;
    if (g == TANH_CUBE || g == TANH_POW)
        return 0.5 * v * (1.0 + tanh(0.7978845608 * (v + 0.044715 * v * v * v)));
    return 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
}

typedef struct data {
    float *x, *r;
    float *want, *want_extra;   /* y; and the extra output */
} data;

/* Inputs (NaN, +Inf and -Inf in three rows of x; special values
 * throughout when x is GELU's own input) and the graph's outputs. */
static void make_data(const spec *c, data *d)
{
    int64_t xd[3], yd[3];
    const int xr = x_dims(c, xd), yr = out_dims(c, yd);
    int64_t nx = 1, ny = 1;
    for (int i = 0; i < xr; i++)
        nx *= xd[i];
    for (int i = 0; i < yr; i++)
        ny *= yd[i];
    d->x = random_floats(nx, 11, c->product == NONE ? 12.0f : 1.0f);
    d->r = random_floats(ny, 13, 1.0f);
    const int64_t kx = c->product == NONE ? c->n : c->k;
    d->x[0 * kx + 1] = NAN;
    d->x[2 * kx + 3 % kx] = INFINITY;
    d->x[4 * kx + 1 % kx] = -INFINITY;
    if (c->product == NONE) {
        static const float special[] = {0.0f, -0.0f, 1e-40f, -1e-40f, 3e38f, -3e38f, 1e10f, -1e10f, -5.5f, -9.0f};
        for (size_t i = 0; i < sizeof special / sizeof special[0] && 10 + i < (size_t)nx; i++)
            d->x[10 + i] = special[i];
    }
    d->want = malloc((size_t)ny * sizeof(float));
    d->want_extra = malloc((size_t)ny * sizeof(float));
    float *w = c->product != NONE ? random_floats(c->k * c->n, 3, 0.5f) : NULL;
    float *cv = random_floats(c->n, 5, 1.0f), *bias = random_floats(bias_len(c), 7, 1.0f);
    for (int64_t i = 0; i < rows(c); i++)
        for (int64_t j = 0; j < c->n; j++) {
            double v = 0;
            if (c->product == NONE)
                v = d->x[i * c->n + j];
            for (int64_t q = 0; c->product != NONE && q < c->k; q++)
                v += (double)d->x[i * c->k + q] * w[q * c->n + j];
            if (c->product == GEMM)
                v += cv[j];
            const double prod = v;
            if (c->bias != NO_BIAS)
                v += bias[c->bias == COLUMN ? i % c->m : j];
            if (c->residual)
                v += d->r[i * c->n + j];
            d->want[i * c->n + j] = (float)gelu_of(c->gelu, v);
            d->want_extra[i * c->n + j] = (float)(c->extra == EXTRA_PRODUCT ? prod : c->extra == EXTRA_X ? v
                                                                                 : erf(v / sqrt(2.0)));
        }
    free(w);
    free(cv);
    free(bias);
}

static void free_data(data *d)
{
    free(d->x);
    free(d->r);
    free(d->want);
    free(d->want_extra);
}

/* Elements that differ: NaN where the other is not, another infinity,
 * or farther apart than 1e-4 (relative above 1). */
static int64_t mismatches(const float *got, const float *want, int64_t n)
{
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        const double g = got[i], w = want[i];
        if (isnan(g) || isnan(w) || isinf(g) || isinf(w))
            bad += !(isnan(g) && isnan(w)) && g != w;
        else
            bad += !(fabs(g - w) <= 1e-4 * (1.0 + fabs(w)));
    }
    return bad;
}

/* ---- running ---------------------------------------------------------------------- */

typedef struct outcome {
    int steps;
    bool has_op, has_gone;
} outcome;

static bool plan_runs(const keel_session *s, const char *op)
{
    kl_plan_info plan;
    kl_inspect_plan(s, &plan);
    for (int k = 0; op && k < plan.n_steps; k++) {
        kl_step_info st;
        kl_inspect_step(s, k, &st);
        if (strcmp(st.op_type, op) == 0)
            return true;
    }
    return false;
}

/* A session of m at isa and threads with these passes off (NULL on
 * failure, said on stderr), and its plan's steps in *steps. */
static keel_session *session_for(const char *name, const keel_model *m, int isa, int threads, const char *off,
                                 int *steps)
{
    keel_session *s;
    char err[512];
    if (tb_session(&s, m, isa, threads, off, err, sizeof err) != KEEL_OK) {
        fprintf(stderr, "\n  %s: %s\n", name, err);
        return NULL;
    }
    kl_plan_info plan;
    kl_inspect_plan(s, &plan);
    *steps = plan.n_steps;
    return s;
}

/* One session of m at isa and threads with these passes off: its steps,
 * and whether its outputs match d. */
static bool run_one(const spec *c, const keel_model *m, const data *d, int isa, int threads, const char *off,
                    outcome *o)
{
    keel_session *s = session_for(c->name, m, isa, threads, off, &o->steps);
    if (!s)
        return false;
    o->has_op = plan_runs(s, c->op_fused);
    o->has_gone = plan_runs(s, c->gone_fused);
    int64_t xd[3], yd[3];
    const int xr = x_dims(c, xd), yr = out_dims(c, yd);
    const int64_t ny = rows(c) * c->n;
    float *y = malloc((size_t)ny * sizeof *y), *extra = malloc((size_t)ny * sizeof *extra);
    tb_fill_nan(y, (size_t)ny);
    tb_fill_nan(extra, (size_t)ny);
    keel_tensor in[2] = {{KEEL_FLOAT, xr, {0}, d->x}, {KEEL_FLOAT, yr, {0}, d->r}}, out[2] = {{.data = y},
                                                                                          {.data = extra}};
    memcpy(in[0].dims, xd, sizeof xd);
    memcpy(in[1].dims, yd, sizeof yd);
    bool ok = keel_session_run(s, in, out) == KEEL_OK && mismatches(y, d->want, ny) == 0 &&
              (c->extra == NO_EXTRA || mismatches(extra, d->want_extra, ny) == 0);
    if (!ok)
        fprintf(stderr, "\n  %s, isa %d, %d threads, off '%s': %lld and %lld elements differ\n", c->name, isa,
                threads, off ? off : "", (long long)mismatches(y, d->want, ny),
                (long long)(c->extra ? mismatches(extra, d->want_extra, ny) : 0));
    free(y);
    free(extra);
    keel_session_free(s);
    return ok;
}

static void test_spec(const spec *c)
{
    tb_model *b = build(c);
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    keel_model *m = NULL;
    char err[512];
    if (keel_model_load_buffer(&m, buf, len, NULL, "fusions.onnx", NULL, err, sizeof err) != KEEL_OK)
        fprintf(stderr, "\n  %s: %s\n", c->name, err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    data d;
    make_data(c, &d);
    for (int isa = KEEL_ISA_GENERIC; isa <= KEEL_ISA_AVX512; isa++) {
        if (!tb_isa_runs(isa, c->name))
            continue;
        for (int threads = 1; threads <= 2; threads++) {
            outcome fused, plain;
            CU_ASSERT(run_one(c, m, &d, isa, threads, NULL, &fused));
            CU_ASSERT(run_one(c, m, &d, isa, threads, OFF, &plain));
            CU_ASSERT_EQUAL(fused.steps, c->steps_fused);
            CU_ASSERT_EQUAL(plain.steps, c->steps_unfused);
            CU_ASSERT(fused.has_op && !fused.has_gone);
            if (fused.steps != c->steps_fused || plain.steps != c->steps_unfused || !fused.has_op || fused.has_gone)
                fprintf(stderr, "\n  %s: %d steps fused, %d not (%s %s, %s %s)\n", c->name, fused.steps,
                        plain.steps, c->op_fused, fused.has_op ? "runs" : "missing", c->gone_fused,
                        fused.has_gone ? "runs" : "gone");
        }
    }
    free_data(&d);
    keel_model_free(m);
    free(buf);
    tb_free(b);
}

static void test_all_specs(void)
{
    for (size_t k = 0; k < N_SPECS; k++)
        test_spec(&specs[k]);
}

/* ---- GELU after a convolution --------------------------------------------------- */

/* Conv (k x k, group, bias) then GELU as PyTorch spells it, fused into the
 * Conv's epilogue (1 step; 6 with the passes off) through each of the
 * convolution's paths (1x1, 3x3, depthwise), on every isa, 1 and 2
 * threads, against direct loops.  Finite inputs: Winograd's transforms
 * make an infinity NaN whatever the epilogue. */
static void conv_gelu(int k, int group)
{
    enum { C = 16, H = 13, W = 11, N = C * H * W };
    tb_model *b = tb_new(8, 13);
    const int64_t xd[4] = {1, C, H, W}, wd[4] = {C, C / group, k, k}, bd[1] = {C};
    const int64_t ks[2] = {k, k}, pads[4] = {k / 2, k / 2, k / 2, k / 2};
    float *wt = random_floats(C * (C / group) * k * k, 3, 0.5f), *bias = random_floats(C, 7, 1.0f);
    tb_input(b, "x", KEEL_FLOAT, 4, xd, NULL);
    tb_output(b, "y", KEEL_FLOAT, 4, xd);
    tb_init_f32(b, "w", 4, wd, wt);
    tb_init_f32(b, "b", 1, bd, bias);
    Onnx__NodeProto *conv = tb_node(b, "Conv", "conv", "x,w,b", "prod");
    tb_attr_ints(b, conv, "kernel_shape", 2, ks);
    tb_attr_ints(b, conv, "pads", 4, pads);
    tb_attr_int(b, conv, "group", group);
    gelu_nodes(b, ERF_DIV, "prod", "y");
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    keel_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(keel_model_load_buffer(&m, buf, len, NULL, "conv.onnx", NULL, NULL, 0), KEEL_OK);
    float *x = random_floats(N, 11, 2.0f), want[N], y[N];
    tb_naive_conv(x, C, H, W, wt, C, k, group, want);
    for (int i = 0; i < N; i++)
        want[i] = (float)gelu_of(ERF_DIV, (double)want[i] + bias[i / (H * W)]);
    for (int isa = KEEL_ISA_GENERIC; isa <= KEEL_ISA_AVX512; isa++)
        for (int threads = 1; threads <= 2 && (int)keel_isa_available((keel_isa)isa) == isa; threads++)
            for (int fused = 0; fused < 2; fused++) {
                int steps = 0;
                keel_session *s = session_for("conv", m, isa, threads, fused ? NULL : OFF, &steps);
                CU_ASSERT_PTR_NOT_NULL_FATAL(s);
                CU_ASSERT_EQUAL(steps, fused ? 1 : 6);
                tb_fill_nan(y, N);
                keel_tensor in = {KEEL_FLOAT, 4, {1, C, H, W}, x}, out = {.data = y};
                CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_OK);
                CU_ASSERT_EQUAL(mismatches(y, want, N), 0);
                keel_session_free(s);
            }
    free(wt);
    free(bias);
    free(x);
    keel_model_free(m);
    free(buf);
    tb_free(b);
}

static void test_conv_gelu(void)
{
    conv_gelu(1, 1);
    conv_gelu(3, 1);
    conv_gelu(3, 16);
}

void add_fusions_suite(void)
{
    CU_pSuite s = CU_add_suite("epilogue fusions (bias, GELU)", NULL, NULL);
    CU_add_test(s, "each pattern fused and not, every isa, 1 and 2 threads, against double loops", test_all_specs);
    CU_add_test(s, "GELU into a Conv's epilogue: 1x1, 3x3 and depthwise", test_conv_gelu);
}
