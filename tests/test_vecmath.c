/* test_vecmath.c -- the kernel table's exp, erf, tanh, sigmoid, pow and
 * GELU (ops/kernels/vecmath.c, ops/kernels/x86/vmath.h) against plain
 * loops of the C library, on every table this CPU runs, within the bounds
 * KL_ULP_* and KL_GELU_ABS_* of ops/kernels/mathfn.h; and the ops Exp,
 * Erf, Tanh, Sigmoid and Pow through sessions on 1 and 2 threads, which
 * must agree bit for bit. */
#include <CUnit/CUnit.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/kernels/kernels.h"
#include "../ops/kernels/mathfn.h"
#include "testutil.h"

static const size_t sizes[] = {0, 1, 7, 15, 17, 33, 1003};

/* ---- inputs and distances ------------------------------------------------------ */

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Distance in ulps between a and b (both NaN: 0; one NaN: huge). */
static int64_t ulps(float a, float b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b) ? 0 : INT64_MAX;
    int32_t ia, ib;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    int64_t oa = ia < 0 ? (int64_t)INT32_MIN - ia : ia, ob = ib < 0 ? (int64_t)INT32_MIN - ib : ib;
    return oa > ob ? oa - ob : ob - oa;
}

static const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, 0x1p-149f, -0x1p-149f,
                                 0x1.fffffcp-127f, -0x1p-130f, 0x1p-126f, 1.0f, -1.0f, 0.5f, -2.0f,
                                 88.72f, 88.73f, -87.34f, -103.9f, -104.0f, 3.92f, 0.921875f, 0.625f,
                                 9.02f, -9.02f, 1e30f, -1e30f, FLT_MAX, -FLT_MAX, 1e-20f, 0x1.8p-1f};
#define SPECIALS (sizeof specials / sizeof specials[0])

/* n test inputs: the specials, then floats spread over every exponent and
 * both signs (bit patterns a fixed stride apart), then a dense run over
 * [-12, 12] where the functions bend. */
static float *inputs(size_t n)
{
    float *x = malloc(n * sizeof *x);
    size_t i = 0;
    for (; i < n && i < SPECIALS; i++)
        x[i] = specials[i];
    for (uint64_t k = 0; i < n && k < n / 2; i++, k++)
        x[i] = from_bits((uint32_t)(k * (0x100000000ull / (n / 2)) + 12345u));
    for (size_t k = 0; i < n; i++, k++)
        x[i] = -12.0f + 24.0f * (float)k / (float)(n - k + 1);
    return x;
}

/* The tables this CPU runs. */
static int tables(const kl_kernels **k)
{
    int n = 0;
    for (int isa = KEEL_ISA_GENERIC; isa <= KEEL_ISA_AVX512; isa++)
        if ((int)keel_isa_available((keel_isa)isa) == isa)
            k[n++] = kl_kernels_for(isa);
    return n;
}

/* ---- exp, erf, tanh, sigmoid ----------------------------------------------------- */

enum fn { EXP, ERF, TANH, SIGMOID };

static float reference(enum fn f, float x)
{
    switch (f) {
    case EXP: return expf(x);
    case ERF: return erff(x);
    case TANH: return tanhf(x);
    default: return (float)(1.0 / (1.0 + exp(-(double)x)));
    }
}

static void run_fn(const kl_kernels *k, enum fn f, float *y, const float *x, size_t n)
{
    switch (f) {
    case EXP: k->exp.fn(y, x, n); return;
    case ERF: k->erf.fn(y, x, n); return;
    case TANH: k->tanh.fn(y, x, n); return;
    default:
        memcpy(y, x, n * sizeof *y);
        k->sigmoid.fn(y, n, false);
    }
}

/* Whether y, table k's f(x), is within bound ulps of the C library (the
 * x86 sigmoids: 0 below KL_SIGMOID_ZERO_BELOW). */
static bool close_enough(const kl_kernels *k, enum fn f, float y, float x, int64_t bound)
{
    if (f == SIGMOID && k->isa != KEEL_ISA_GENERIC && x < KL_SIGMOID_ZERO_BELOW)
        return y == 0.0f && reference(f, x) < KL_SIGMOID_TAIL;
    if (f == SIGMOID && k->isa == KEEL_ISA_AVX2)
        bound = KL_ULP_SIGMOID_AVX2;
    return ulps(y, reference(f, x)) <= bound;
}

/* Every table's f within bound of the C library over the inputs, at every
 * odd size (the elements past n untouched), and in place. */
static void check_fn(enum fn f, int64_t bound)
{
    const kl_kernels *k[3];
    int nk = tables(k);
    const size_t n = 1 << 20;
    float *x = inputs(n), *y = malloc((n + 1) * sizeof *y);
    for (int t = 0; t < nk; t++) {
        run_fn(k[t], f, y, x, n);
        size_t misses = 0;
        for (size_t i = 0; i < n; i++)
            misses += !close_enough(k[t], f, y[i], x[i], bound);
        CU_ASSERT_EQUAL(misses, 0);
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            y[sizes[s]] = 42.0f;
            run_fn(k[t], f, y, x, sizes[s]);
            CU_ASSERT_EQUAL(y[sizes[s]], 42.0f);
            for (size_t i = 0; i < sizes[s]; i++)
                CU_ASSERT(close_enough(k[t], f, y[i], x[i], bound));
        }
        memcpy(y, x, n * sizeof *y);
        run_fn(k[t], f, y, y, 1003);
        for (size_t i = 0; i < 1003; i++)
            CU_ASSERT(close_enough(k[t], f, y[i], x[i], bound));
    }
    free(x);
    free(y);
}

static void test_exp(void)
{
    check_fn(EXP, KL_ULP_EXP);
}

static void test_erf(void)
{
    check_fn(ERF, KL_ULP_ERF);
}

static void test_tanh(void)
{
    check_fn(TANH, KL_ULP_TANH);
}

static void test_sigmoid(void)
{
    check_fn(SIGMOID, KL_ULP_SIGMOID);
}

/* The limits, exactly (the AVX2 sigmoid within its ulps): NaN in, NaN out. */
static void test_limits(void)
{
    const kl_kernels *k[3];
    int nk = tables(k);
    const float x[5] = {INFINITY, -INFINITY, NAN, 0.0f, -0.0f};
    const float want[4][5] = {{INFINITY, 0.0f, NAN, 1.0f, 1.0f},
                              {1.0f, -1.0f, NAN, 0.0f, -0.0f},
                              {1.0f, -1.0f, NAN, 0.0f, -0.0f},
                              {1.0f, 0.0f, NAN, 0.5f, 0.5f}};
    for (int t = 0; t < nk; t++)
        for (int f = EXP; f <= SIGMOID; f++) {
            float y[5];
            run_fn(k[t], (enum fn)f, y, x, 5);
            for (int i = 0; i < 5; i++) {
                bool near = f == SIGMOID && k[t]->isa == KEEL_ISA_AVX2 && ulps(y[i], want[f][i]) <= KL_ULP_SIGMOID_AVX2;
                CU_ASSERT(isnan(want[f][i]) ? isnan(y[i]) : near || !memcmp(&y[i], &want[f][i], sizeof y[i]));
            }
        }
}

/* ---- pow ----------------------------------------------------------------------- */

/* What the exact exponents are defined as. */
static bool exact_pow(float e, float x, float *want)
{
    if (e == 2.0f)
        *want = x * x;
    else if (e == 3.0f)
        *want = x * x * x;
    else if (e == -1.0f)
        *want = 1.0f / x;
    else if (e == 0.5f)
        *want = x == -INFINITY ? INFINITY : x == 0.0f ? 0.0f : sqrtf(x);
    else if (e == 1.0f)
        *want = x;
    else if (e == 0.0f)
        *want = 1.0f;
    else
        return false;
    return true;
}

static int64_t pow_bound(float e)
{
    return e == 4.0f ? KL_ULP_POW_4 : e == -0.5f ? 1 : KL_ULP_POW;
}

static void test_pow(void)
{
    static const float exps[] = {2, 3, -1, 0.5f, 1, 0, 4, -0.5f, 1.0f / 3, -1.0f / 3, 2.5f, -2.5f, 0.1f,
                                 7, -7, 10.5f, 100, -2, 1e10f, 126.5f, INFINITY, -INFINITY, NAN};
    const kl_kernels *k[3];
    int nk = tables(k);
    const size_t n = 1 << 18;
    float *x = inputs(n), *y = malloc((n + 1) * sizeof *y);
    for (int t = 0; t < nk; t++)
        for (size_t j = 0; j < sizeof exps / sizeof exps[0]; j++) {
            const float e = exps[j];
            int64_t worst = 0, inexact = 0;
            k[t]->pow.fn(y, x, n, e);
            for (size_t i = 0; i < n; i++) {
                float want;
                if (exact_pow(e, x[i], &want)) {
                    inexact += !(isnan(want) ? isnan(y[i]) : !memcmp(&want, &y[i], sizeof want));
                    continue;
                }
                int64_t d = ulps(y[i], powf(x[i], e));
                worst = d > worst ? d : worst;
            }
            CU_ASSERT_EQUAL(inexact, 0);
            CU_ASSERT(worst <= pow_bound(e));
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                y[sizes[s]] = 42.0f;
                k[t]->pow.fn(y, x, sizes[s], e);
                CU_ASSERT_EQUAL(y[sizes[s]], 42.0f);
            }
        }
    free(x);
    free(y);
}

/* C's special cases of pow, exactly (every table). */
static void test_pow_specials(void)
{
    static const struct {
        float x, e, want;
    } cases[] = {{-8, 1.0f / 3, NAN},       {-2, 3, -8},           {0, -1, INFINITY},     {-0.0f, -1, -INFINITY},
                 {NAN, 0, 1},               {1, NAN, 1},           {1, 2.5f, 1},          {-1, INFINITY, 1},
                 {0.5f, INFINITY, 0},       {2, -INFINITY, 0},     {-0.0f, 3, -0.0f},     {-0.0f, 2.5f, 0},
                 {-0.0f, -2.5f, INFINITY},  {0, -2, INFINITY},     {-INFINITY, 3, -INFINITY},
                 {-INFINITY, -3, -0.0f},    {-INFINITY, 2.5f, INFINITY}, {-INFINITY, -2.5f, 0},
                 {INFINITY, -0.5f, 0},      {-INFINITY, 0.5f, INFINITY}, {-0.0f, 0.5f, 0},
                 {-0.0f, -0.5f, INFINITY},  {-4, 0.5f, NAN},       {NAN, 2.5f, NAN},      {-2, 2.5f, NAN},
                 {-3, 2, 9},                {-2, -2, 0.25f},       {-1, 7, -1},           {0x1p-149f, 0.5f, 0}};
    const kl_kernels *k[3];
    int nk = tables(k);
    for (int t = 0; t < nk; t++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            float y;
            k[t]->pow.fn(&y, &cases[c].x, 1, cases[c].e);
            float want = cases[c].want;
            if (c + 1 == sizeof cases / sizeof cases[0])
                want = sqrtf(cases[c].x);
            CU_ASSERT(isnan(want) ? isnan(y) : !memcmp(&y, &want, sizeof y));
        }
}

/* ---- GELU ------------------------------------------------------------------------ */

/* Whether y, table k's GELU of x, is the formula's result (generic table:
 * exactly, but for the sign of a zero) or within KL_ULP_GELU ulps of it
 * plus the form's KL_GELU_ABS_* |x| (x86); NaN and infinities exactly. */
static bool gelu_close(const kl_kernels *k, bool tanh_form, float y, float x)
{
    const float want = tanh_form ? kl_gelu_tanhf(x) : kl_gelu_erff(x);
    if (isnan(want) || isnan(y))
        return isnan(want) && isnan(y);
    if (isinf(want) || isinf(y) || k->isa == KEEL_ISA_GENERIC)
        return y == want;
    const double ulp = want == 0.0f ? 0x1p-149 : fmax(ldexp(1.0, ilogbf(want) - 23), 0x1p-149);
    const double abs_part = (tanh_form ? KL_GELU_ABS_TANH : KL_GELU_ABS_ERF) * fabs((double)x);
    return fabs((double)y - want) <= KL_ULP_GELU * ulp + abs_part;
}

static void run_gelu(const kl_kernels *k, bool tanh_form, float *y, const float *x, size_t n)
{
    memcpy(y, x, n * sizeof *y);
    k->gelu.fn(y, n, tanh_form);
}

/* Both forms on every table over the inputs, at every odd size (the
 * elements past n untouched). */
static void test_gelu(void)
{
    const kl_kernels *k[3];
    int nk = tables(k);
    const size_t n = 1 << 20;
    float *x = inputs(n), *y = malloc((n + 1) * sizeof *y);
    for (int t = 0; t < nk; t++)
        for (int form = 0; form < 2; form++) {
            run_gelu(k[t], form, y, x, n);
            size_t misses = 0;
            for (size_t i = 0; i < n; i++)
                misses += !gelu_close(k[t], form, y[i], x[i]);
            CU_ASSERT_EQUAL(misses, 0);
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                y[sizes[s]] = 42.0f;
                run_gelu(k[t], form, y, x, sizes[s]);
                CU_ASSERT_EQUAL(y[sizes[s]], 42.0f);
                for (size_t i = 0; i < sizes[s]; i++)
                    CU_ASSERT(gelu_close(k[t], form, y[i], x[i]));
            }
        }
    free(x);
    free(y);
}

/* The limits of both forms on every table: +Inf, NaN at -Inf (as the
 * spelled-out formula), NaN, zeros, and x itself or 0 far out. */
static void test_gelu_limits(void)
{
    const kl_kernels *k[3];
    int nk = tables(k);
    const float x[7] = {INFINITY, -INFINITY, NAN, 0.0f, -0.0f, 30.0f, -30.0f};
    const float want[7] = {INFINITY, NAN, NAN, 0.0f, 0.0f, 30.0f, 0.0f};
    for (int t = 0; t < nk; t++)
        for (int form = 0; form < 2; form++) {
            float y[7];
            run_gelu(k[t], form, y, x, 7);
            for (int i = 0; i < 7; i++)
                CU_ASSERT(isnan(want[i]) ? isnan(y[i]) : y[i] == want[i]);
        }
}

/* ---- the ops, through sessions --------------------------------------------------- */

/* y = OP(x) (Pow: x ^ e, e an initializer of n_e equal values) on [1, n]
 * at isa and threads; returns the output (malloc'd). */
static float *run_op(const char *op, float e, int64_t n_e, const float *x, int64_t n, int isa, int threads)
{
    const int64_t d[] = {1, n};
    tb_model *b = tb_new(8, 14);
    tb_input(b, "x", KEEL_FLOAT, 2, d, NULL);
    tb_output(b, "y", KEEL_FLOAT, 2, d);
    if (!strcmp(op, "Pow")) {
        float *ev = malloc((size_t)n_e * sizeof *ev);
        for (int64_t i = 0; i < n_e; i++)
            ev[i] = e;
        tb_init_f32(b, "e", 1, &n_e, ev);
        free(ev);
        tb_node(b, "Pow", "p", "x,e", "y");
    } else
        tb_node(b, op, "u", "x", "y");
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    keel_model *m = NULL;
    char err[1024];
    CU_ASSERT_EQUAL_FATAL(keel_model_load_buffer(&m, buf, len, NULL, "v.onnx", NULL, err, sizeof err), KEEL_OK);
    keel_options opt;
    keel_options_init(&opt);
    opt.isa = isa;
    opt.threads = threads;
    keel_session *s = NULL;
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, &opt, NULL, 0, NULL, err, sizeof err), KEEL_OK);
    float *y = malloc((size_t)n * sizeof *y);
    keel_tensor in = {KEEL_FLOAT, 2, {1, n}, (void *)x}, out = {KEEL_FLOAT, 2, {1, n}, y};
    CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_OK);
    keel_session_free(s);
    keel_model_free(m);
    free(buf);
    tb_free(b);
    return y;
}

/* Each op at every table, 1 and 2 threads, sizes up to several blocks:
 * the two thread counts agree bit for bit, and the result is within the
 * bound of the C library. */
static void test_ops_threads(void)
{
    static const struct {
        const char *op;
        float e;
        int64_t n_e;
        int64_t bound;
    } ops[] = {{"Exp", 0, 0, KL_ULP_EXP},     {"Erf", 0, 0, KL_ULP_ERF},  {"Tanh", 0, 0, KL_ULP_TANH},
               {"Sigmoid", 0, 0, KL_ULP_SIGMOID}, {"Pow", 2, 1, 0},   {"Pow", 2.5f, 1, KL_ULP_POW},
               {"Pow", -1, 3, 0}};
    static const int64_t lens[] = {1, 17, 1003, 3 * 4096 + 5};
    float *x = inputs(3 * 4096 + 5);
    for (int isa = KEEL_ISA_GENERIC; isa <= KEEL_ISA_AVX512; isa++) {
        if ((int)keel_isa_available((keel_isa)isa) != isa)
            continue;
        for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
            for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
                const int64_t n = lens[l];
                /* a broadcast exponent of n_e values only when it fits x */
                const int64_t n_e = ops[o].n_e > 1 && n % ops[o].n_e ? 1 : ops[o].n_e;
                float *one = run_op(ops[o].op, ops[o].e, n_e, x, n, isa, 1);
                float *two = run_op(ops[o].op, ops[o].e, n_e, x, n, isa, 2);
                CU_ASSERT_EQUAL(memcmp(one, two, (size_t)n * sizeof *one), 0);
                enum fn f = !strcmp(ops[o].op, "Exp") ? EXP : !strcmp(ops[o].op, "Erf") ? ERF
                          : !strcmp(ops[o].op, "Tanh") ? TANH : SIGMOID;
                int64_t misses = 0;
                for (int64_t i = 0; i < n; i++) {
                    if (!ops[o].n_e) {
                        misses += !close_enough(kl_kernels_for(isa), f, one[i], x[i], ops[o].bound);
                        continue;
                    }
                    float want = ops[o].e == 2 ? x[i] * x[i] : ops[o].e == -1 ? 1.0f / x[i] : powf(x[i], ops[o].e);
                    misses += ulps(one[i], want) > ops[o].bound;
                }
                CU_ASSERT_EQUAL(misses, 0);
                free(one);
                free(two);
            }
    }
    free(x);
}

void add_vecmath_suite(void)
{
    CU_pSuite s = CU_add_suite("vector math kernels", NULL, NULL);
    CU_add_test(s, "exp within KL_ULP_EXP of expf on every table", test_exp);
    CU_add_test(s, "erf within KL_ULP_ERF of erff on every table", test_erf);
    CU_add_test(s, "tanh within KL_ULP_TANH of tanhf on every table", test_tanh);
    CU_add_test(s, "sigmoid within KL_ULP_SIGMOID of 1 / (1 + exp(-x))", test_sigmoid);
    CU_add_test(s, "exp, erf, tanh and sigmoid at NaN, the infinities and zeros", test_limits);
    CU_add_test(s, "pow: exact exponents bit for bit, others within KL_ULP_POW of powf", test_pow);
    CU_add_test(s, "pow: C's special cases", test_pow_specials);
    CU_add_test(s, "gelu (erf and tanh forms) within KL_ULP_GELU and KL_GELU_ABS_* of the formula", test_gelu);
    CU_add_test(s, "gelu at NaN, the infinities, zeros and far out", test_gelu_limits);
    CU_add_test(s, "the ops on 1 and 2 threads agree and stay within the bounds", test_ops_threads);
}
