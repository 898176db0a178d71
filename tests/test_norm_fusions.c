/* test_norm_fusions.c -- the passes fuse_norm and fuse_softmax and the
 * kernels behind them.  LayerNorm as PyTorch exports it before opset 17
 * (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, then Mul by gamma
 * and Add of beta) becomes one LayerNormalization, and a Mul or Div by a
 * constant before Softmax the Softmax's input scale.  Each pattern runs
 * fused and unfused (keel_options.passes_off), and LayerNormalization as
 * opset 17 has it, on every instruction set the CPU runs, on 1 and 2
 * threads (which give the same bits), with rows of odd lengths, some
 * holding NaN or an infinity, against plain double loops; where an
 * intermediate has another reader, or the pattern is not exactly the
 * normalization, nothing is fused. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"
#include "testutil.h"

static const int64_t lens[] = {1, 7, 17, 768, 1000, 4096};
#define N_LENS (sizeof lens / sizeof lens[0])

static float lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 65536.0f - 0.5f;
}

/* Rows enough for the kernels to split them over the threads. */
static int64_t rows_for(int64_t len)
{
    int64_t rows = 20000 / len + 1;
    return rows < 8 ? 8 : rows;
}

/* x: each row its own offset and spread; rows 1, 2 and 3 hold NaN, +Inf
 * and -Inf (where there are more than 3 rows). */
static float *make_x(int64_t rows, int64_t len, uint32_t seed)
{
    float *x = malloc((size_t)(rows * len) * sizeof *x);
    for (int64_t r = 0; r < rows; r++) {
        const float offset = (float)(r % 5) - 2.0f, spread = 1.0f + (float)(r % 3);
        for (int64_t i = 0; i < len; i++)
            x[r * len + i] = offset + spread * 4.0f * lcg(&seed);
    }
    if (rows > 3) {
        x[1 * len + len / 2] = NAN;
        x[2 * len + len / 3] = INFINITY;
        x[3 * len] = -INFINITY;
    }
    return x;
}

static float *random_vec(int64_t n, float lo, float hi, uint32_t seed)
{
    float *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++)
        v[i] = lo + (hi - lo) * (lcg(&seed) + 0.5f);
    return v;
}

/* The largest |got - want| / max(floor, |want|), or NaN where one side is
 * NaN and the other is not (compare as `err <= tol`). */
static double max_rel_err(const float *got, const double *want, int64_t n, double floor)
{
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isnan(got[i]) != !isnan(want[i]))
            return NAN;
        if (isnan(want[i]) || (isinf(want[i]) && got[i] == want[i]))
            continue;
        const double e = fabs(got[i] - want[i]) / fmax(floor, fabs(want[i]));
        worst = e > worst ? e : worst;
    }
    return worst;
}

/* ---- sessions ------------------------------------------------------------------ */

typedef struct run_cfg {
    int isa, threads;
    const char *off;      /* keel_options.passes_off */
} run_cfg;

static keel_model *load(tb_model *b)
{
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    keel_model *m = NULL;
    char err[512];
    keel_status st = keel_model_load_buffer(&m, buf, len, NULL, "norm.onnx", NULL, err, sizeof err);
    if (st)
        fprintf(stderr, "\n  load: %s\n", err);
    free(buf);
    return m;
}

/* Runs m on input x into y[0..n_out) (n floats each, filled with NaN
 * first); *n_type: the steps running op `type`, *n_steps all of them.
 * False when creation or the run fails. */
static bool run(const keel_model *m, const run_cfg *cfg, const keel_tensor *x, int64_t n, float **y, int n_out,
                const char *type, int *n_type, int *n_steps)
{
    keel_session *s;
    char err[512];
    if (tb_session(&s, m, cfg->isa, cfg->threads, cfg->off, err, sizeof err) != KEEL_OK) {
        fprintf(stderr, "\n  create: %s\n", err);
        return false;
    }
    kl_plan_info plan;
    kl_inspect_plan(s, &plan);
    *n_steps = plan.n_steps;
    *n_type = 0;
    for (int k = 0; k < plan.n_steps; k++) {
        kl_step_info st;
        kl_inspect_step(s, k, &st);
        *n_type += strcmp(st.op_type, type) == 0;
    }
    keel_tensor out[3];
    memset(out, 0, sizeof out);
    for (int k = 0; k < n_out; k++) {
        tb_fill_nan(y[k], (size_t)n);
        out[k].data = y[k];
    }
    keel_status st = keel_session_run(s, x, out);
    if (st)
        fprintf(stderr, "\n  run: %s\n", keel_session_errmsg(s));
    keel_session_free(s);
    return st == KEEL_OK;
}

/* x as a tensor of rank 2 ([rows, len]) or 3 ([1, rows, len]). */
static keel_tensor input(int rank, const float *x, int64_t rows, int64_t len)
{
    keel_tensor t = {KEEL_FLOAT, rank, {rank == 3 ? 1 : rows, rank == 3 ? rows : len, len}, (void *)x};
    return t;
}

static int n_isas(int *isas)
{
    int n = 0;
    for (int isa = KEEL_ISA_GENERIC; isa <= KEEL_ISA_AVX512; isa++)
        if ((int)keel_isa_available((keel_isa)isa) == isa)
            isas[n++] = isa;
    return n;
}

/* ---- LayerNormalization (opset 17) ------------------------------------------------------- */

/* y = (x - mean) / sqrt(var + eps) * gamma + beta per row, in double. */
static void ref_layernorm(const float *x, int64_t rows, int64_t len, const float *gamma, const float *beta,
                          double eps, double *y)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * len;
        double mean = 0, var = 0;
        for (int64_t i = 0; i < len; i++)
            mean += xr[i];
        mean /= (double)len;
        for (int64_t i = 0; i < len; i++)
            var += (xr[i] - mean) * (xr[i] - mean);
        const double inv = 1.0 / sqrt(var / (double)len + eps);
        for (int64_t i = 0; i < len; i++)
            y[r * len + i] = (xr[i] - mean) * inv * (gamma ? gamma[i] : 1.0) + (beta ? beta[i] : 0.0);
    }
}

/* Its three outputs over [rows, len], or [rows, 2, len / 2], from axis 1. */
static void check_layernorm_op(int64_t len, int rank)
{
    const int64_t rows = rows_for(len), n = rows * len;
    float *gamma = random_vec(len, 0.5f, 1.5f, 3), *beta = random_vec(len, -0.5f, 0.5f, 4);
    float *x = make_x(rows, len, 99);
    double *want = malloc((size_t)n * sizeof *want);
    ref_layernorm(x, rows, len, gamma, beta, 1e-5, want);
    tb_model *b = tb_new(8, 17);
    const int64_t d2[2] = {rows, len}, d3[3] = {rows, 2, len / 2}, s2[2] = {2, len / 2}, st[3] = {rows, 1, 1};
    const int64_t *xd = rank == 3 ? d3 : d2;
    tb_input(b, "x", KEEL_FLOAT, rank, xd, NULL);
    tb_output(b, "y", KEEL_FLOAT, rank, xd);
    tb_output(b, "mean", KEEL_FLOAT, rank, st);
    tb_output(b, "inv", KEEL_FLOAT, rank, st);
    tb_init_f32(b, "gamma", rank - 1, rank == 3 ? s2 : &len, gamma);
    tb_init_f32(b, "beta", rank - 1, rank == 3 ? s2 : &len, beta);
    tb_attr_int(b, tb_node(b, "LayerNormalization", "ln", "x,gamma,beta", "y,mean,inv"), "axis", 1);
    keel_model *m = load(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    float *y = malloc((size_t)n * sizeof *y), *mean = malloc((size_t)n * sizeof *mean);
    float *inv = malloc((size_t)n * sizeof *inv), *y2 = malloc((size_t)n * sizeof *y2);
    int isas[3], k = n_isas(isas);
    for (int i = 0; i < k; i++)
        for (int threads = 1; threads <= 2; threads++) {
            float *outs[3] = {threads == 1 ? y : y2, mean, inv};
            run_cfg c = {isas[i], threads, NULL};
            int n_ln, n_steps;
            keel_tensor in = {KEEL_FLOAT, rank, {rows, xd[1], rank == 3 ? xd[2] : 0}, x};
            CU_ASSERT_FATAL(run(m, &c, &in, n, outs, 3, "LayerNormalization", &n_ln, &n_steps));
            CU_ASSERT_EQUAL(n_ln, 1);
            const double err = max_rel_err(outs[0], want, n, 1.0);
            CU_ASSERT(err <= 1e-5);
            for (int64_t r = 4; r < rows; r++) { /* the rows without NaN or infinities */
                double mu = 0, var = 0;
                for (int64_t j = 0; j < len; j++)
                    mu += x[r * len + j];
                mu /= (double)len;
                for (int64_t j = 0; j < len; j++)
                    var += (x[r * len + j] - mu) * (x[r * len + j] - mu);
                CU_ASSERT(fabs(mean[r] - mu) <= 1e-6 * fmax(1.0, fabs(mu)));
                CU_ASSERT(fabs(inv[r] - 1.0 / sqrt(var / (double)len + 1e-5)) <= 1e-5 * inv[r]);
            }
        }
    CU_ASSERT(memcmp(y, y2, (size_t)n * sizeof *y) == 0);
    keel_model_free(m);
    tb_free(b);
    free(gamma), free(beta), free(x), free(want), free(y), free(y2), free(mean), free(inv);
}

static void test_layernorm_op(void)
{
    for (size_t l = 0; l < N_LENS; l++)
        check_layernorm_op(lens[l], 2);
    check_layernorm_op(34, 3);
    check_layernorm_op(1000, 3);
}

/* ---- LayerNorm as exported ---------------------------------------------------------- */

/* What a decomposed LayerNorm model differs in. */
typedef struct ln_form {
    int opset;            /* 18: ReduceMean takes its axes as an input */
    int rank;             /* of x: 2 ([rows, len]) or 3 ([1, rows, len]) */
    bool gamma, beta;
    float eps;
    float exponent;       /* of the Pow: 2 for a LayerNorm */
    int64_t axis;         /* of both ReduceMeans */
    bool extra_reader;    /* d = x - mean is a graph output too */
} ln_form;

static void mean_node(tb_model *b, const ln_form *f, const char *name, const char *in, const char *out)
{
    if (f->opset >= 18) {
        char inputs[64];
        snprintf(inputs, sizeof inputs, "%s,axes", in);
        tb_node(b, "ReduceMean", name, inputs, out);
    } else {
        tb_attr_ints(b, tb_node(b, "ReduceMean", name, in, out), "axes", 1, &f->axis);
    }
}

/* x -> mean -> d = x - mean -> d^e -> mean -> + eps -> sqrt -> d / . (n),
 * then * gamma (g), + beta (y); the last value made is output y. */
static tb_model *build_layernorm(const ln_form *f, int64_t rows, int64_t len, const float *gamma, const float *beta)
{
    tb_model *b = tb_new(8, f->opset);
    const int64_t d3[3] = {1, rows, len}, d2[2] = {rows, len}, one = 1;
    const int64_t *dims = f->rank == 3 ? d3 : d2;
    tb_input(b, "x", KEEL_FLOAT, f->rank, dims, NULL);
    tb_output(b, "y", KEEL_FLOAT, f->rank, dims);
    if (f->extra_reader)
        tb_output(b, "d", KEEL_FLOAT, f->rank, dims);
    tb_init_f32(b, "e", 0, NULL, &f->exponent);
    tb_init_f32(b, "eps", 0, NULL, &f->eps);
    tb_init_raw(b, "axes", KEEL_INT64, 1, &one, &f->axis, sizeof f->axis);
    tb_init_f32(b, "gamma", 1, &len, gamma);
    tb_init_f32(b, "beta", 1, &len, beta);
    mean_node(b, f, "mean", "x", "m");
    tb_node(b, "Sub", "sub", "x,m", "d");
    tb_node(b, "Pow", "pow", "d,e", "p");
    mean_node(b, f, "var", "p", "v");
    tb_node(b, "Add", "add_eps", "v,eps", "ve");
    tb_node(b, "Sqrt", "sqrt", "ve", "sd");
    const char *last = f->gamma || f->beta ? "n" : "y";
    tb_node(b, "Div", "div", "d,sd", last);
    if (f->gamma)
        tb_node(b, "Mul", "mul", "gamma,n", f->beta ? "g" : "y"); /* gamma first: either order fuses */
    if (f->beta)
        tb_node(b, "Add", "add_beta", f->gamma ? "g,beta" : "n,beta", "y");
    return b;
}

/* Form f over rows of len on every instruction set and 1 and 2 threads,
 * with fuse_norm on (`fuses`: one LayerNormalization step, and nothing
 * else unless an intermediate is an output) and off, against the double
 * loop when f is a LayerNorm. */
static void check_layernorm(const ln_form *f, int64_t len, bool fuses)
{
    const int64_t rows = rows_for(len), n = rows * len;
    float *gamma = random_vec(len, 0.5f, 1.5f, 7), *beta = random_vec(len, -0.5f, 0.5f, 8);
    float *x = make_x(rows, len, (uint32_t)len), *y1 = malloc((size_t)n * sizeof *y1);
    float *y2 = malloc((size_t)n * sizeof *y2), *d = malloc((size_t)n * sizeof *d);
    double *want = malloc((size_t)n * sizeof *want);
    ref_layernorm(x, rows, len, f->gamma ? gamma : NULL, f->beta ? beta : NULL, f->eps, want);
    tb_model *b = build_layernorm(f, rows, len, gamma, beta);
    keel_model *m = load(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    int isas[3], k = n_isas(isas);
    for (int i = 0; i < k; i++)
        for (int fused = 0; fused < 2; fused++) {
            int n_ln, n_steps;
            float *out1[2] = {y1, d}, *out2[2] = {y2, d};
            run_cfg c1 = {isas[i], 1, fused ? NULL : "fuse_norm"}, c2 = {isas[i], 2, c1.off};
            const keel_tensor in = input(f->rank, x, rows, len);
            CU_ASSERT_FATAL(run(m, &c1, &in, n, out1, 1 + f->extra_reader, "LayerNormalization", &n_ln, &n_steps));
            CU_ASSERT_EQUAL(n_ln, fused && fuses ? 1 : 0);
            if (fused && fuses && !f->extra_reader)
                CU_ASSERT_EQUAL(n_steps, 1);
            CU_ASSERT_FATAL(run(m, &c2, &in, n, out2, 1 + f->extra_reader, "LayerNormalization", &n_ln, &n_steps));
            CU_ASSERT(memcmp(y1, y2, (size_t)n * sizeof *y1) == 0); /* the same bits on 2 threads */
            if (f->exponent != 2.0f || (f->axis != -1 && f->axis != f->rank - 1))
                continue; /* not a LayerNorm */
            const double err = max_rel_err(y1, want, n, 1.0);
            CU_ASSERT(err <= 1e-5);
            if (!(err <= 1e-5))
                fprintf(stderr, "\n  LayerNorm len %lld isa %d %s: error %g\n", (long long)len, isas[i],
                        fused ? "fused" : "unfused", err);
        }
    keel_model_free(m);
    tb_free(b);
    free(gamma), free(beta), free(x), free(y1), free(y2), free(d), free(want);
}

static void test_layernorm_fused(void)
{
    for (size_t l = 0; l < N_LENS; l++) {
        /* the affine parts, the opset and the rank in turn */
        const ln_form f = {.opset = l % 2 ? 18 : 14, .rank = l % 3 ? 2 : 3, .gamma = l % 3 != 1, .beta = l % 3 != 2,
                           .eps = l % 2 ? 1e-5f : 1e-6f, .exponent = 2.0f, .axis = l % 2 ? -1 : (l % 3 ? 1 : 2)};
        check_layernorm(&f, lens[l], true);
    }
    const ln_form bare = {.opset = 13, .rank = 2, .eps = 1e-5f, .exponent = 2.0f, .axis = -1}; /* Scale: ones */
    check_layernorm(&bare, 768, true);
}

/* Not the normalization, or an intermediate another node needs. */
static void test_layernorm_not_fused(void)
{
    const ln_form plain = {.opset = 14, .rank = 2, .gamma = true, .beta = true, .eps = 1e-5f, .exponent = 2.0f,
                           .axis = -1};
    ln_form f = plain;
    f.extra_reader = true;
    check_layernorm(&f, 17, false);
    f = plain;
    f.exponent = 3.0f;
    check_layernorm(&f, 17, false);
    f = plain;
    f.axis = 0; /* over the rows */
    check_layernorm(&f, 17, false);
}

/* ---- the scale before Softmax ---------------------------------------------------------- */

typedef struct sm_form {
    const char *op;       /* "Mul" or "Div" */
    float c;              /* its constant */
    int opset;
    int64_t axis;         /* of the Softmax */
    bool extra_reader;    /* the scaled value is a graph output too */
} sm_form;

/* x -> op(x, c) (t) -> Softmax -> y. */
static tb_model *build_softmax(const sm_form *f, int64_t rows, int64_t len)
{
    tb_model *b = tb_new(8, f->opset);
    const int64_t dims[2] = {rows, len};
    tb_input(b, "x", KEEL_FLOAT, 2, dims, NULL);
    tb_output(b, "y", KEEL_FLOAT, 2, dims);
    if (f->extra_reader)
        tb_output(b, "t", KEEL_FLOAT, 2, dims);
    tb_init_f32(b, "c", 0, NULL, &f->c);
    tb_node(b, f->op, "scale", "x,c", "t");
    tb_attr_int(b, tb_node(b, "Softmax", "softmax", "t", "y"), "axis", f->axis);
    return b;
}

/* softmax(x * s) along rows (axis 1) or columns (axis 0), in double, the
 * product rounded to float as the graph's Mul does. */
static void ref_softmax(const float *x, int64_t rows, int64_t len, float s, int64_t axis, double *y)
{
    const int64_t lines = axis == 0 ? len : rows, count = axis == 0 ? rows : len;
    const int64_t step = axis == 0 ? len : 1, start = axis == 0 ? 1 : len;
    for (int64_t l = 0; l < lines; l++) {
        const float *xl = x + l * start;
        double m = -INFINITY, sum = 0;
        for (int64_t i = 0; i < count; i++)
            m = (float)(xl[i * step] * s) > m ? (float)(xl[i * step] * s) : m; /* NaN never wins */
        for (int64_t i = 0; i < count; i++)
            sum += exp((float)(xl[i * step] * s) - m);
        for (int64_t i = 0; i < count; i++)
            y[l * start + i * step] = exp((float)(xl[i * step] * s) - m) / sum;
    }
}

static void check_softmax(const sm_form *f, int64_t len, bool fuses)
{
    const int64_t rows = rows_for(len), n = rows * len;
    const float s = strcmp(f->op, "Div") == 0 ? 1.0f / f->c : f->c;
    float *x = make_x(rows, len, 5), *y = malloc((size_t)n * sizeof *y), *y2 = malloc((size_t)n * sizeof *y2);
    float *unfused = malloc((size_t)n * sizeof *unfused), *t = malloc((size_t)n * sizeof *t);
    double *want = malloc((size_t)n * sizeof *want);
    ref_softmax(x, rows, len, s, f->axis < 0 ? 1 : f->axis, want);
    tb_model *b = build_softmax(f, rows, len);
    keel_model *m = load(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    int isas[3], k = n_isas(isas);
    for (int i = 0; i < k; i++) {
        int n_sm, n_steps;
        float *o1[2] = {y, t}, *o2[2] = {y2, t}, *o3[2] = {unfused, t};
        run_cfg c1 = {isas[i], 1, NULL}, c2 = {isas[i], 2, NULL}, off = {isas[i], 1, "fuse_softmax"};
        const keel_tensor in = input(2, x, rows, len);
        CU_ASSERT_FATAL(run(m, &c1, &in, n, o1, 1 + f->extra_reader, "Softmax", &n_sm, &n_steps));
        CU_ASSERT_EQUAL(n_steps, fuses ? 1 : 2);
        CU_ASSERT_FATAL(run(m, &c2, &in, n, o2, 1 + f->extra_reader, "Softmax", &n_sm, &n_steps));
        CU_ASSERT_FATAL(run(m, &off, &in, n, o3, 1 + f->extra_reader, "Softmax", &n_sm, &n_steps));
        CU_ASSERT_EQUAL(n_steps, 2);
        CU_ASSERT(memcmp(y, y2, (size_t)n * sizeof *y) == 0);
        /* x * s rounds as the Mul did: the Softmax after it sees the same floats */
        CU_ASSERT(memcmp(y, unfused, (size_t)n * sizeof *y) == 0);
        const double err = max_rel_err(y, want, n, 1e-30);
        CU_ASSERT(err <= 1e-5);
        if (!(err <= 1e-5))
            fprintf(stderr, "\n  Softmax %s %g len %lld isa %d: error %g\n", f->op, f->c, (long long)len, isas[i], err);
    }
    keel_model_free(m);
    tb_free(b);
    free(x), free(y), free(y2), free(unfused), free(t), free(want);
}

static void test_softmax_scale(void)
{
    for (size_t l = 0; l < N_LENS; l++) {
        const sm_form mul = {"Mul", -0.3f, 13, -1, false}, div = {"Div", 8.0f, 13, 1, false};
        check_softmax(&mul, lens[l], true);
        check_softmax(&div, lens[l], true);
    }
    /* opset 11: the rows from axis 1 on, which is the last one here */
    const sm_form old = {"Mul", 0.125f, 11, 1, false};
    check_softmax(&old, 17, true);
}

static void test_softmax_scale_not_fused(void)
{
    const sm_form three = {"Div", 3.0f, 13, -1, false}; /* x / 3 and x * (1 / 3) round apart */
    const sm_form columns = {"Mul", 0.5f, 13, 0, false};
    const sm_form read = {"Mul", 0.5f, 13, -1, true};
    check_softmax(&three, 17, false);
    check_softmax(&columns, 17, false);
    check_softmax(&read, 17, false);
}

void add_norm_fusions_suite(void)
{
    CU_pSuite s = CU_add_suite("norm fusions", NULL, NULL);
    CU_add_test(s, "LayerNormalization: outputs and statistics against double", test_layernorm_op);
    CU_add_test(s, "decomposed LayerNorm: fused and not, every ISA, 1 and 2 threads", test_layernorm_fused);
    CU_add_test(s, "decomposed LayerNorm: not fused where it must not be", test_layernorm_not_fused);
    CU_add_test(s, "scale before Softmax: fused, the same bits as unfused", test_softmax_scale);
    CU_add_test(s, "scale before Softmax: not fused where it must not be", test_softmax_scale_not_fused);
}

