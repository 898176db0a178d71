/* test_runtime.c -- sessions: op resolution, shape inference and folding,
 * the memory plan, and runs. */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../ops/kernels/kernels.h"
#include "session.h"
#include "../onnx/loader.h"
#include "testutil.h"

static const int64_t d23[] = {2, 3};
static const float w23[] = {1, -2, 3, -4, 5, -6};

static keel_model *load(tb_model *b, const keel_options *opt)
{
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    keel_model *m = NULL;
    char err[1024];
    if (keel_model_load_buffer(&m, buf, len, NULL, "rt.onnx", opt, err, sizeof err))
        fprintf(stderr, "\n  load failed: %s\n", err);
    free(buf);
    return m;
}

/* out = relu(relu(x + w) * w): a chain for the planner */
static tb_model *chain_model(const int64_t *xdims, const char *sym)
{
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 2, xdims, sym);
    tb_output(b, "out", KEEL_FLOAT, 2, d23);
    tb_init_f32(b, "w", 2, d23, w23);
    tb_node(b, "Add", "add", "x,w", "s");
    tb_node(b, "Relu", "relu1", "s", "r");
    tb_node(b, "Mul", "mul", "r,w", "p");
    tb_node(b, "Relu", "relu2", "p", "out");
    return b;
}

static void expected_chain(const float *x, float *want)
{
    for (int i = 0; i < 6; i++) {
        float r = fmaxf(x[i] + w23[i], 0.0f);
        want[i] = fmaxf(r * w23[i], 0.0f);
    }
}

static void test_run_chain(void)
{
    tb_model *b = chain_model(d23, NULL);
    keel_model *m = load(b, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *s;
    char err[1024];
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, NULL, NULL, 0, NULL, err, sizeof err), KEEL_OK);
    float x[6] = {0.5f, 1.5f, -2.5f, 3.5f, -4.5f, 9.0f}, y[6] = {0}, want[6];
    keel_tensor in = {KEEL_FLOAT, 2, {2, 3}, x}, out = {0};
    out.data = y;
    CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_OK);
    expected_chain(x, want);
    for (int i = 0; i < 6; i++)
        CU_ASSERT_DOUBLE_EQUAL(y[i], want[i], 1e-6);
    CU_ASSERT_EQUAL(out.rank, 2);
    CU_ASSERT_EQUAL(kl_session_plan_conflicts(s->plans[0]), 0);
    /* relu and mul run in place: the arena holds less than all intermediates */
    CU_ASSERT_TRUE(s->arena_size < s->plans[0]->sum_intermediates);
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
}

/* Depthwise Conv (group = channels) against a direct loop, over the shapes
 * that pick each kernel: channels in groups of 16 or 8 (channel-blocked) or not
 * (row kernel), 3x3/5x5 at stride 1 and 2, odd sizes, uneven pads, a
 * dilation (generic loop), two images, one and two threads, each
 * instruction set's kernels. */
typedef struct dw_case {
    int64_t n, c, h, w, k, stride, dil, pads[4]; /* pads: top, left, bottom, right */
    bool specials;                               /* a NaN and an Inf in x */
} dw_case;

static void dw_reference(const dw_case *t, const float *x, const float *w, const float *bias, float *y,
                         int64_t oh, int64_t ow)
{
    for (int64_t n = 0; n < t->n; n++)
        for (int64_t c = 0; c < t->c; c++)
            for (int64_t oy = 0; oy < oh; oy++)
                for (int64_t ox = 0; ox < ow; ox++) {
                    double s = bias[c];
                    for (int64_t a = 0; a < t->k; a++)
                        for (int64_t b = 0; b < t->k; b++) {
                            int64_t iy = oy * t->stride - t->pads[0] + a * t->dil;
                            int64_t ix = ox * t->stride - t->pads[1] + b * t->dil;
                            if (iy >= 0 && iy < t->h && ix >= 0 && ix < t->w)
                                s += (double)w[(c * t->k + a) * t->k + b] *
                                     x[((n * t->c + c) * t->h + iy) * t->w + ix];
                        }
                    y[((n * t->c + c) * oh + oy) * ow + ox] = (float)s;
                }
}

static void run_dw_case(const dw_case *t, int isa, int threads)
{
    int64_t oh = (t->h + t->pads[0] + t->pads[2] - t->dil * (t->k - 1) - 1) / t->stride + 1;
    int64_t ow = (t->w + t->pads[1] + t->pads[3] - t->dil * (t->k - 1) - 1) / t->stride + 1;
    int64_t xd[4] = {t->n, t->c, t->h, t->w}, wd[4] = {t->c, 1, t->k, t->k}, bd[1] = {t->c};
    int64_t yd[4] = {t->n, t->c, oh, ow};
    size_t nx = (size_t)(t->n * t->c * t->h * t->w), nw = (size_t)(t->c * t->k * t->k), ny = (size_t)(t->n * t->c * oh * ow);
    float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *bias = malloc((size_t)t->c * sizeof *bias);
    float *y = malloc(ny * sizeof *y), *want = malloc(ny * sizeof *want);
    tb_fill_nan(y, ny); /* an element the kernel leaves unwritten fails */
    uint32_t r = 12345;
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)((r = r * 1103515245u + 12345u) >> 8) / 16777216.0f - 0.5f;
    for (size_t i = 0; i < nw; i++)
        w[i] = (float)((r = r * 1103515245u + 12345u) >> 8) / 16777216.0f - 0.5f;
    for (int64_t i = 0; i < t->c; i++)
        bias[i] = 0.01f * (float)i;
    if (t->specials) {
        x[nx / 3] = NAN;
        x[2 * nx / 3] = INFINITY;
    }
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 4, xd, NULL);
    tb_output(b, "y", KEEL_FLOAT, 4, yd);
    tb_init_f32(b, "w", 4, wd, w);
    tb_init_f32(b, "b", 1, bd, bias);
    Onnx__NodeProto *node = tb_node(b, "Conv", "dw", "x,w,b", "y");
    int64_t ks[2] = {t->k, t->k}, st[2] = {t->stride, t->stride}, dl[2] = {t->dil, t->dil};
    tb_attr_ints(b, node, "kernel_shape", 2, ks);
    tb_attr_ints(b, node, "strides", 2, st);
    tb_attr_ints(b, node, "dilations", 2, dl);
    tb_attr_ints(b, node, "pads", 4, t->pads);
    tb_attr_int(b, node, "group", t->c);
    keel_model *m = load(b, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *s;
    char err[1024];
    CU_ASSERT_EQUAL_FATAL(tb_session(&s, m, isa, threads, NULL, err, sizeof err), KEEL_OK);
    CU_ASSERT_EQUAL(s->env.isa, isa); /* the kernels asked for, not a fallback */
    keel_tensor in = {KEEL_FLOAT, 4, {t->n, t->c, t->h, t->w}, x}, out = {0};
    out.data = y;
    CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_OK);
    dw_reference(t, x, w, bias, want, oh, ow);
    double worst = tb_max_abs_err(y, want, ny); /* NaN where y is NaN */
    if (!(worst <= 1e-5))
        fprintf(stderr, "\n  depthwise c=%lld %lldx%lld k=%lld s=%lld d=%lld isa=%s threads=%d: error %g\n",
                (long long)t->c, (long long)t->h, (long long)t->w, (long long)t->k, (long long)t->stride,
                (long long)t->dil, keel_isa_name((keel_isa)s->env.isa), threads, worst);
    CU_ASSERT(worst <= 1e-5);
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
    free(x), free(w), free(bias), free(y), free(want);
}

/* ---- MaxPool 3x3, stride 2 and stride 1 --------------------------------------- */

/* A model of one pooling node, x of dims xd to y of dims yd, a k x k
 * window at stride s with pads; *node takes further attributes. */
static tb_model *pool_model(const char *op, const int64_t xd[4], const int64_t yd[4], int64_t k, int64_t s,
                            const int64_t pads[4], Onnx__NodeProto **node)
{
    int64_t ks[2] = {k, k}, st[2] = {s, s};
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 4, xd, NULL);
    tb_output(b, "y", KEEL_FLOAT, 4, yd);
    *node = tb_node(b, op, "pool", "x", "y");
    tb_attr_ints(b, *node, "kernel_shape", 2, ks);
    tb_attr_ints(b, *node, "strides", 2, st);
    tb_attr_ints(b, *node, "pads", 4, pads);
    return b;
}

/* One run of the pooling model m on x (dims xd) into y (ny floats, set
 * to NaN first: an element the kernel leaves unwritten fails), in a
 * session of isa and threads; the output's description. */
static keel_tensor run_pool(keel_model *m, int isa, int threads, const int64_t xd[4], float *x, float *y, size_t ny)
{
    keel_session *ses;
    char err[1024];
    keel_tensor in = {KEEL_FLOAT, 4, {xd[0], xd[1], xd[2], xd[3]}, x}, out = {0};
    out.data = y;
    tb_fill_nan(y, ny);
    CU_ASSERT_EQUAL_FATAL(tb_session(&ses, m, isa, threads, NULL, err, sizeof err), KEEL_OK);
    CU_ASSERT_EQUAL(keel_session_run(ses, &in, &out), KEEL_OK);
    keel_session_free(ses);
    return out;
}

typedef struct mp_case {
    int64_t h, w, pads[4];
    bool ceil;
    int64_t stride, c;
    int64_t k; /* 0: 3 */
} mp_case;

static int64_t mp_out(int64_t in, int64_t lo, int64_t hi, bool ceil, int64_t s, int64_t k)
{
    int64_t span = in + lo + hi - k, o = (ceil ? span + s - 1 : span) / s + 1;
    return ceil && (o - 1) * s >= in + lo ? o - 1 : o; /* no window starting in the right padding */
}

/* keel's 3-wide stride-2 rows (a row maximum, then even/odd columns) and
 * its stride-1 "same" pools (row maxima, then column maxima, flat across
 * rows and planes) against the window maximum taken element by element,
 * on each instruction set and thread count: NaN never wins, infinities
 * do (zeros of either sign are equal here: which one a window of them
 * gives depends on the order of its taps). */
static void run_maxpool_case(const mp_case *t, int isa)
{
    const int64_t c = t->c, s = t->stride, k = t->k ? t->k : 3;
    const int64_t oh = mp_out(t->h, t->pads[0], t->pads[2], t->ceil, s, k), ow = mp_out(t->w, t->pads[1], t->pads[3], t->ceil, s, k);
    size_t nx = (size_t)(c * t->h * t->w), ny = (size_t)(c * oh * ow);
    float *x = malloc(nx * sizeof *x), *y = malloc(ny * sizeof *y), *want = malloc(ny * sizeof *want);
    uint32_t r = 777;
    for (size_t i = 0; i < nx; i++) {
        r = r * 1103515245u + 12345u;
        /* one in eight a zero of either sign, where windows of zeros and
         * negatives meet */
        x[i] = (r >> 29) == 0 ? ((r >> 8) & 1 ? -0.0f : 0.0f) : (float)(r >> 8) / 16777216.0f - 0.75f;
    }
    x[5] = NAN;
    x[nx / 2] = INFINITY;
    x[nx - 1] = NAN;
    x[nx - 2] = -INFINITY;
    for (int64_t p = 0; p < c; p++)
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++) {
                float best = -INFINITY;
                for (int64_t ky = 0; ky < k; ky++)
                    for (int64_t kx = 0; kx < k; kx++) {
                        int64_t iy = oy * s - t->pads[0] + ky, ix = ox * s - t->pads[1] + kx;
                        if (iy >= 0 && iy < t->h && ix >= 0 && ix < t->w && x[(p * t->h + iy) * t->w + ix] > best)
                            best = x[(p * t->h + iy) * t->w + ix];
                    }
                want[(p * oh + oy) * ow + ox] = best;
            }
    int64_t xd[4] = {1, c, t->h, t->w}, yd[4] = {1, c, oh, ow};
    Onnx__NodeProto *node;
    tb_model *b = pool_model("MaxPool", xd, yd, k, s, t->pads, &node);
    tb_attr_int(b, node, "ceil_mode", t->ceil);
    keel_model *m = load(b, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    for (int threads = 1; threads <= 2; threads++) {
        keel_tensor out = run_pool(m, isa, threads, xd, x, y, ny);
        CU_ASSERT_EQUAL(out.dims[2], oh);
        CU_ASSERT_EQUAL(out.dims[3], ow);
        int wrong = 0;
        for (size_t i = 0; i < ny; i++)
            wrong += y[i] != want[i]; /* never NaN: NaN never wins */
        if (wrong)
            fprintf(stderr, "\n  maxpool %lldx%lld kernel %lld stride %lld pads %lld,%lld ceil %d, %s, %d threads: %d of %zu outputs wrong\n",
                    (long long)t->h, (long long)t->w, (long long)k, (long long)s, (long long)t->pads[0], (long long)t->pads[1],
                    t->ceil, keel_isa_name((keel_isa)isa), threads, wrong, ny);
        CU_ASSERT_EQUAL(wrong, 0);
    }
    keel_model_free(m);
    tb_free(b);
    free(x), free(y), free(want);
}

static void test_maxpool(void)
{
    static const mp_case cases[] = {
        {111, 111, {0, 0, 0, 0}, true, 2, 3},  /* SqueezeNet's */
        {112, 112, {1, 1, 1, 1}, false, 2, 3}, /* ResNet's */
        {147, 147, {0, 0, 0, 0}, false, 2, 3}, /* Inception-v3's */
        {9, 16, {0, 1, 1, 0}, true, 2, 3},
        {5, 4, {1, 0, 0, 1}, false, 2, 3},
        {7, 1200, {0, 0, 0, 0}, false, 2, 3}, /* rows wider than the row path takes */
        {8, 33, {2, 2, 2, 2}, true, 2, 3},
        {4, 3, {2, 1, 2, 2}, false, 2, 3},
        {3, 1, {1, 2, 1, 2}, true, 2, 3},
        /* stride 1, padding 1: GoogLeNet's branch pools, planes taken
         * together (7x7: 41 at a time, 100 of them in three passes) */
        {7, 7, {1, 1, 1, 1}, true, 1, 100},
        {28, 28, {1, 1, 1, 1}, true, 1, 5},
        {14, 14, {1, 1, 1, 1}, false, 1, 33},
        {2, 2, {1, 1, 1, 1}, false, 1, 700},
        {2, 9, {1, 1, 1, 1}, false, 1, 3},
        {45, 45, {1, 1, 1, 1}, false, 1, 2}, /* 2025 floats: one plane a pass */
        {46, 46, {1, 1, 1, 1}, false, 1, 2}, /* too large for a pass: the row path */
        {1, 5, {1, 1, 1, 1}, false, 1, 4},   /* one row: the row path */
        {6, 5, {0, 1, 1, 1}, false, 1, 4},   /* asymmetric padding: the row path */
        /* 2x2 stride 2 (GoogLeNet's last pool; AVX-512: 16 outputs of a
         * row at a time, from 32 columns) */
        {14, 14, {0, 0, 0, 0}, true, 2, 5, 2},
        {13, 45, {0, 0, 0, 0}, true, 2, 3, 2},
        {9, 33, {1, 1, 1, 1}, false, 2, 3, 2},
        {3, 3, {0, 0, 0, 0}, true, 2, 3, 2},  /* ceil: the last window half outside */
        {28, 100, {1, 0, 0, 1}, true, 2, 2},  /* 3x3, outputs past 16 and 32 in a row */
    };
    for (int isa = KEEL_ISA_GENERIC; isa <= KEEL_ISA_AVX512; isa++)
        if (tb_isa_runs(isa, "MaxPool"))
            for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
                run_maxpool_case(&cases[i], isa);
}

/* ---- AveragePool 3x3, stride 1, padding 1, padding counted -------------------- */

/* Inception-v3's branch pools (row sums, then column sums, flat across
 * rows and planes; larger planes a row at a time) against the window sum
 * in double over 9, on each instruction set and thread count; NaN and
 * infinities reach the windows they are in. */
static void run_avgpool_same_case(int64_t c, int64_t h, int64_t w, int isa)
{
    const size_t n = (size_t)(c * h * w);
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *want = malloc(n * sizeof *want);
    uint32_t r = 4242;
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((r = r * 1103515245u + 12345u) >> 8) / 16777216.0f - 0.5f;
    x[n / 3] = NAN;
    x[n / 2] = INFINITY;
    for (int64_t p = 0; p < c; p++)
        for (int64_t oy = 0; oy < h; oy++)
            for (int64_t ox = 0; ox < w; ox++) {
                double sum = 0;
                for (int64_t iy = oy - 1; iy <= oy + 1; iy++)
                    for (int64_t ix = ox - 1; ix <= ox + 1; ix++)
                        if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                            sum += x[(p * h + iy) * w + ix];
                want[(p * h + oy) * w + ox] = (float)(sum / 9.0);
            }
    int64_t xd[4] = {1, c, h, w}, pads[4] = {1, 1, 1, 1};
    Onnx__NodeProto *node;
    tb_model *b = pool_model("AveragePool", xd, xd, 3, 1, pads, &node);
    tb_attr_int(b, node, "count_include_pad", 1);
    keel_model *m = load(b, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    for (int threads = 1; threads <= 2; threads++) {
        run_pool(m, isa, threads, xd, x, y, n);
        int wrong = 0;
        for (size_t i = 0; i < n; i++)
            wrong += isnan(want[i]) ? !isnan(y[i])
                                    : !(y[i] == want[i] || fabsf(y[i] - want[i]) <= 1e-6f * (1.0f + fabsf(want[i])));
        if (wrong)
            fprintf(stderr, "\n  avgpool %lldx%lldx%lld, %s, %d threads: %d of %zu outputs wrong\n", (long long)c,
                    (long long)h, (long long)w, keel_isa_name((keel_isa)isa), threads, wrong, n);
        CU_ASSERT_EQUAL(wrong, 0);
    }
    keel_model_free(m);
    tb_free(b);
    free(x), free(y), free(want);
}

static void test_avgpool_same(void)
{
    /* 17x17 and 8x8: Inception-v3's; 2x2 and 2x9: the smallest planes; 45x45
     * one plane a pass; 46x46 and 35x70 a row at a time */
    static const int64_t cases[][3] = {{40, 17, 17}, {70, 8, 8}, {600, 2, 2}, {5, 2, 9}, {3, 45, 45}, {2, 46, 46}, {3, 35, 70}};
    for (int isa = KEEL_ISA_GENERIC; isa <= KEEL_ISA_AVX512; isa++)
        if (tb_isa_runs(isa, "AveragePool"))
            for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
                run_avgpool_same_case(cases[i][0], cases[i][1], cases[i][2], isa);
}

/* Where element (row, kk) of W [m][k] belongs in kern's packing: the
 * layouts of kernels/conv.h, written out here from their definition. */
static size_t packed_at(const kl_kernels *kern, int64_t m, int64_t k, int64_t row, int64_t kk)
{
    const int64_t mr = kl_pw_panel_rows(kern), p = row / mr, r = row % mr;
    if (!kl_pw_wide(kern))
        return (size_t)((p * k + kk) * mr + r);
    const int64_t kb = kk / KL_PW12_KC * KL_PW12_KC, kc = k - kb < KL_PW12_KC ? k - kb : KL_PW12_KC;
    return (size_t)(kl_pw12_panel_at(kl_pw12_panels(m), p, kb, kc) + (kk - kb) * mr + r);
}

/* W packed whole (the AVX-512 table packs with its own transposing
 * kernel) puts every element where the layout says, zeros in the rows
 * past m; Winograd packs its transformed filters a block of rows at a
 * time, and the blocks must land exactly where one whole packing puts
 * them.  On each instruction set this CPU runs; k over one step of the
 * 12x32 tiles (256) and not a multiple of 16. */
static void check_packing(int isa, int64_t m, int64_t k)
{
    const kl_kernels *kern = kl_kernels_for(isa);
    float *w = malloc((size_t)(m * k) * sizeof *w);
    for (int64_t i = 0; i < m * k; i++)
        w[i] = (float)(i % 97) - 48.0f + 0.25f;
    const size_t n = kl_pw_packed_floats(kern, m, k);
    float *whole = malloc(n * sizeof *whole), *blocks = malloc(n * sizeof *blocks), *want = malloc(n * sizeof *want);
    memset(whole, 0x7f, n * sizeof *whole);
    memset(blocks, 0x7f, n * sizeof *blocks);
    for (size_t i = 0; i < n; i++)
        want[i] = 0.0f;
    for (int64_t row = 0; row < m; row++)
        for (int64_t kk = 0; kk < k; kk++)
            want[packed_at(kern, m, k, row, kk)] = w[row * k + kk];
    kl_pw_pack_into(kern, m, k, w, whole);
    CU_ASSERT_EQUAL(memcmp(whole, want, n * sizeof *whole), 0);
    const int64_t step = 2 * kl_pw_panel_rows(kern);
    for (int64_t row0 = 0; row0 < m; row0 += step)
        kl_pw_pack_rows(kern, m, k, row0, m - row0 < step ? m - row0 : step, w + row0 * k, blocks);
    CU_ASSERT_EQUAL(memcmp(whole, blocks, n * sizeof *whole), 0);
    free(w), free(whole), free(blocks), free(want);
}

static void test_pack_rows_in_blocks(void)
{
    static const int64_t sizes[][2] = {{35, 19}, {12, 16}, {1, 1}, {13, 300}, {25, 513}, {7, 33}};
    for (int isa = KEEL_ISA_AVX2; isa <= KEEL_ISA_AVX512; isa++)
        if (tb_isa_runs(isa, "packing of W"))
            for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
                check_packing(isa, sizes[i][0], sizes[i][1]);
}

/* Transpose against index arithmetic, bit for bit (NaN payloads and
 * infinities included: it moves bits), on each instruction set's
 * transpose_plane, on one thread and two: planes whose sides are not
 * multiples of 8 or 16, ConvNeXt's NCHW -> NHWC and back, and attention's
 * heads (large enough to be shared out over the threads). */
typedef struct transpose_case {
    int rank;
    int64_t dims[4];
    int64_t perm[4];
} transpose_case;

/* Runs the model b (freed here) of one float input x [dims] at isa and
 * threads; its one output, n 4-byte values into y, must be want's bits. */
static void expect_bits(tb_model *b, int rank, const int64_t *dims, const uint32_t *x, uint32_t *y,
                        const uint32_t *want, int64_t n, int isa, int threads)
{
    keel_model *m = load(b, NULL);
    tb_free(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *s;
    char err[1024];
    CU_ASSERT_EQUAL_FATAL(tb_session(&s, m, isa, threads, NULL, err, sizeof err), KEEL_OK);
    keel_tensor in = {KEEL_FLOAT, rank, {0}, (void *)x}, out = {.data = y};
    memcpy(in.dims, dims, (size_t)rank * sizeof *dims);
    CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_OK);
    CU_ASSERT_EQUAL(memcmp(y, want, (size_t)n * 4), 0);
    keel_session_free(s);
    keel_model_free(m);
}

static void run_transpose_case(const transpose_case *t, int isa, int threads)
{
    int64_t n = 1, ydims[4], xstride[4];
    for (int d = t->rank - 1; d >= 0; d--) {
        xstride[d] = n;
        n *= t->dims[d];
    }
    for (int d = 0; d < t->rank; d++)
        ydims[d] = t->dims[t->perm[d]];
    uint32_t *x = malloc((size_t)n * 4), *y = malloc((size_t)n * 4), *want = malloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++)
        x[i] = (uint32_t)(i * 2654435761u) | (i % 5 == 0 ? 0x7f800000u : 0); /* NaNs and infinities among them */
    for (int64_t i = 0; i < n; i++) { /* output element i at its row-major index over ydims */
        int64_t rest = i, at = 0;
        for (int d = t->rank - 1; d >= 0; d--) {
            at += rest % ydims[d] * xstride[t->perm[d]];
            rest /= ydims[d];
        }
        want[i] = x[at];
    }
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, t->rank, t->dims, NULL);
    tb_output(b, "y", KEEL_FLOAT, t->rank, ydims);
    tb_attr_ints(b, tb_node(b, "Transpose", "t", "x", "y"), "perm", t->rank, t->perm);
    expect_bits(b, t->rank, t->dims, x, y, want, n, isa, threads);
    free(x), free(y), free(want);
}

static void test_transpose_planes(void)
{
    static const transpose_case cases[] = {
        {2, {33, 17}, {1, 0}},           {2, {16, 48}, {1, 0}},        {3, {3, 40, 35}, {0, 2, 1}},
        {4, {1, 96, 14, 14}, {0, 2, 3, 1}}, {4, {1, 14, 14, 96}, {0, 3, 1, 2}}, {4, {2, 7, 5, 19}, {3, 1, 0, 2}},
        {2, {1, 9}, {1, 0}},             {3, {5, 1, 31}, {2, 1, 0}},
        {3, {197, 12, 64}, {1, 0, 2}},   {3, {197, 12, 64}, {1, 2, 0}}, {4, {1, 29, 57, 96}, {0, 3, 1, 2}},
        {3, {1, 301, 129}, {2, 0, 1}},
    };
    for (int isa = KEEL_ISA_GENERIC; isa <= KEEL_ISA_AVX512; isa++)
        if (tb_isa_runs(isa, "transpose planes"))
            for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
                for (int threads = 1; threads <= 2; threads++)
                    run_transpose_case(&cases[i], isa, threads);
}

/* Slice against index arithmetic, bit for bit, on one thread and two:
 * attention's q, k and v out of the in-projection's output (a third of
 * the last axis), and a reversed, strided slice; both large enough to be
 * shared out over the threads. */
typedef struct slice_case {
    int64_t dims[3];
    int64_t start, end, axis, step;
} slice_case;

static void run_slice_case(const slice_case *t, int threads)
{
    const int64_t n = t->dims[0] * t->dims[1] * t->dims[2], len = t->dims[t->axis];
    int64_t count = 0, ydims[3];
    for (int64_t i = t->start; t->step > 0 ? i < t->end : i > t->end; i += t->step)
        count++;
    memcpy(ydims, t->dims, sizeof ydims);
    ydims[t->axis] = count;
    const int64_t yn = n / len * count;
    uint32_t *x = malloc((size_t)n * 4), *y = malloc((size_t)yn * 4), *want = malloc((size_t)yn * 4);
    for (int64_t i = 0; i < n; i++)
        x[i] = (uint32_t)(i * 2654435761u) | (i % 7 == 0 ? 0x7f800000u : 0);
    for (int64_t i = 0; i < yn; i++) {
        int64_t idx[3], rest = i;
        for (int d = 2; d >= 0; d--) {
            idx[d] = rest % ydims[d];
            rest /= ydims[d];
        }
        idx[t->axis] = t->start + idx[t->axis] * t->step;
        want[i] = x[(idx[0] * t->dims[1] + idx[1]) * t->dims[2] + idx[2]];
    }
    tb_model *b = tb_new(8, 13);
    const int64_t one[1] = {1};
    tb_input(b, "x", KEEL_FLOAT, 3, t->dims, NULL);
    tb_output(b, "y", KEEL_FLOAT, 3, ydims);
    tb_init_raw(b, "starts", KEEL_INT64, 1, one, &t->start, sizeof t->start);
    tb_init_raw(b, "ends", KEEL_INT64, 1, one, &t->end, sizeof t->end);
    tb_init_raw(b, "axes", KEEL_INT64, 1, one, &t->axis, sizeof t->axis);
    tb_init_raw(b, "steps", KEEL_INT64, 1, one, &t->step, sizeof t->step);
    tb_node(b, "Slice", "s", "x,starts,ends,axes,steps", "y");
    expect_bits(b, 3, t->dims, x, y, want, yn, KEEL_ISA_AUTO, threads);
    free(x), free(y), free(want);
}

static void test_slice_threads(void)
{
    static const slice_case cases[] = {
        {{197, 1, 2304}, 768, 1536, 2, 1},
        {{301, 3, 130}, 299, 0, 0, -2},
        {{5, 2, 9}, 1, 8, 2, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (int threads = 1; threads <= 2; threads++)
            run_slice_case(&cases[i], threads);
}

static void test_depthwise_kernels(void)
{
    static const dw_case cases[] = {
        {2, 16, 7, 7, 3, 1, 1, {1, 1, 1, 1}},     {2, 16, 14, 14, 5, 1, 1, {2, 2, 2, 2}},
        {1, 24, 15, 13, 3, 2, 1, {1, 1, 1, 1}},   {1, 16, 14, 14, 5, 2, 1, {1, 2, 2, 1}},
        {1, 8, 57, 57, 3, 2, 1, {0, 0, 1, 1}},    {1, 16, 60, 60, 3, 1, 1, {1, 1, 1, 1}},
        {2, 12, 9, 11, 3, 1, 1, {1, 1, 1, 1}},    {1, 12, 17, 17, 5, 2, 1, {2, 2, 2, 2}},
        {1, 8, 10, 10, 3, 1, 2, {2, 2, 2, 2}},    {1, 8, 5, 6, 3, 1, 1, {0, 0, 0, 0}},
        {1, 32, 15, 13, 3, 2, 1, {1, 1, 1, 1}},   {2, 48, 9, 11, 3, 1, 1, {1, 0, 1, 2}},
        /* 7x7 (ConvNeXt) and sizes without a kernel of their own */
        {1, 16, 14, 14, 7, 1, 1, {3, 3, 3, 3}},   {1, 24, 15, 13, 7, 2, 1, {3, 3, 3, 3}},
        {1, 8, 60, 61, 7, 1, 1, {3, 3, 3, 3}},    {1, 8, 59, 60, 7, 2, 1, {3, 2, 3, 2}},
        {2, 16, 12, 11, 9, 1, 1, {4, 4, 4, 4}},   {1, 16, 13, 13, 4, 3, 1, {1, 1, 2, 2}},
        {1, 8, 9, 9, 11, 2, 1, {5, 5, 5, 5}},     {1, 32, 7, 7, 7, 1, 1, {3, 3, 3, 3}},
        {1, 16, 14, 14, 7, 1, 1, {3, 3, 3, 3}, true}, {1, 8, 60, 61, 7, 1, 1, {3, 3, 3, 3}, true},
        {1, 16, 11, 11, 9, 2, 1, {4, 4, 4, 4}, true}, {1, 12, 13, 13, 3, 1, 1, {1, 1, 1, 1}, true},
    };
    for (int isa = KEEL_ISA_GENERIC; isa <= KEEL_ISA_AVX512; isa++)
        if (tb_isa_runs(isa, "depthwise kernels"))
            for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
                for (int threads = 1; threads <= 2; threads++)
                    run_dw_case(&cases[i], isa, threads);
}

/* Conv (one group) against a direct loop, on each instruction set's
 * kernels (a set this CPU lacks falls back to the best it has): 1x1 on
 * the input, im2col with short and long K, Winograd, row counts that
 * leave every remainder of the AVX2 (6) and AVX-512 (12) panels, column
 * counts with partial chunks, K over one step of the AVX-512 kernel
 * (256), stride 1 without padding, 7x1 and 1x7 kernels, groups, and the
 * fused epilogues: a residual with Relu in the tile, a Sigmoid after it. */
typedef struct conv_case {
    int64_t c, m, h, w, k, stride, pad;
    int epi;                /* 0 none, 1 residual + Relu, 2 Sigmoid, 3 residual */
    int64_t kw, pad_w;      /* when kw > 0: a k x kw kernel, pads pad (H) and pad_w (W) */
    int64_t group;          /* 0: one */
    bool special;           /* a NaN and infinities of both signs in x */
    int64_t batch;          /* 0: one image */
} conv_case;

static int64_t case_batch(const conv_case *t)
{
    return t->batch ? t->batch : 1;
}

static int64_t case_kw(const conv_case *t)
{
    return t->kw ? t->kw : t->k;
}

static int64_t case_pad_w(const conv_case *t)
{
    return t->kw ? t->pad_w : t->pad;
}

static int64_t case_group(const conv_case *t)
{
    return t->group ? t->group : 1;
}

static double conv_reference(const conv_case *t, const float *x, const float *w, const float *bias,
                             const float *res, float *y, int64_t oh, int64_t ow)
{
    const int64_t kw = case_kw(t), pw = case_pad_w(t), cg = t->c / case_group(t), mg = t->m / case_group(t);
    double worst_scale = 0;
    for (int64_t m = 0; m < t->m; m++)
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++) {
                double s = bias[m], mag = fabs(bias[m]);
                for (int64_t c = m / mg * cg; c < (m / mg + 1) * cg; c++)
                    for (int64_t a = 0; a < t->k; a++)
                        for (int64_t b = 0; b < kw; b++) {
                            int64_t iy = oy * t->stride - t->pad + a, ix = ox * t->stride - pw + b;
                            if (iy < 0 || iy >= t->h || ix < 0 || ix >= t->w)
                                continue;
                            double p = (double)w[((m * cg + c % cg) * t->k + a) * kw + b] * x[(c * t->h + iy) * t->w + ix];
                            s += p;
                            mag += isfinite(p) ? fabs(p) : 0.0; /* the scale of the finite outputs */
                        }
                size_t i = (size_t)((m * oh + oy) * ow + ox);
                if (t->epi == 1 || t->epi == 3)
                    s += res[i], mag += fabs(res[i]);
                if (t->epi == 1)
                    s = s > 0 || isnan(s) ? s : 0; /* Relu keeps NaN */
                if (t->epi == 2)
                    s = 1.0 / (1.0 + exp(-s));
                y[i] = (float)s;
                worst_scale = mag > worst_scale ? mag : worst_scale;
            }
    return worst_scale;
}

/* The outputs of t's model on `threads` threads (malloc'ed), checked
 * against conv_reference image by image. */
static float *run_conv_case(const conv_case *t, int isa, int threads)
{
    const int64_t kw = case_kw(t), pw = case_pad_w(t);
    const int64_t oh = (t->h + 2 * t->pad - t->k) / t->stride + 1, ow = (t->w + 2 * pw - kw) / t->stride + 1;
    const int64_t cg = t->c / case_group(t), nb = case_batch(t);
    int64_t xd[4] = {nb, t->c, t->h, t->w}, wd[4] = {t->m, cg, t->k, kw}, bd[1] = {t->m}, yd[4] = {nb, t->m, oh, ow};
    const size_t image_x = (size_t)(t->c * t->h * t->w), image_y = (size_t)(t->m * oh * ow);
    size_t nx = image_x * (size_t)nb, nw = (size_t)(t->m * cg * t->k * kw), ny = image_y * (size_t)nb;
    float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *bias = malloc((size_t)t->m * sizeof *bias);
    float *res = malloc(ny * sizeof *res), *y = malloc(ny * sizeof *y), *want = malloc(ny * sizeof *want);
    uint32_t r = 777;
#define NEXT_UNIT() ((float)((r = r * 1103515245u + 12345u) >> 8) / 16777216.0f - 0.5f)
    for (size_t i = 0; i < nx; i++)
        x[i] = NEXT_UNIT();
    for (size_t i = 0; i < nw; i++)
        w[i] = NEXT_UNIT();
    for (size_t i = 0; i < ny; i++)
        res[i] = NEXT_UNIT();
#undef NEXT_UNIT
    if (t->special) /* in the first, a middle and the last channel */
        x[nx / 3] = NAN, x[0] = INFINITY, x[nx - 1] = -INFINITY;
    for (int64_t i = 0; i < t->m; i++)
        bias[i] = 0.01f * (float)(i % 17) - 0.05f;
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 4, xd, NULL);
    if (t->epi == 1 || t->epi == 3)
        tb_input(b, "r", KEEL_FLOAT, 4, yd, NULL);
    tb_output(b, "y", KEEL_FLOAT, 4, yd);
    tb_init_f32(b, "w", 4, wd, w);
    tb_init_f32(b, "b", 1, bd, bias);
    const char *conv_out = t->epi == 0 ? "y" : t->epi == 1 ? "c" : t->epi == 2 ? "c" : "y0";
    Onnx__NodeProto *node = tb_node(b, "Conv", "conv", "x,w,b", conv_out);
    if (t->epi == 1) {
        tb_node(b, "Add", "add", "c,r", "s");
        tb_node(b, "Relu", "relu", "s", "y");
    } else if (t->epi == 2)
        tb_node(b, "Sigmoid", "sigmoid", "c", "y");
    else if (t->epi == 3)
        tb_node(b, "Add", "add", "r,y0", "y");
    int64_t ks[2] = {t->k, kw}, st[2] = {t->stride, t->stride}, pads[4] = {t->pad, pw, t->pad, pw};
    tb_attr_ints(b, node, "kernel_shape", 2, ks);
    tb_attr_ints(b, node, "strides", 2, st);
    tb_attr_ints(b, node, "pads", 4, pads);
    tb_attr_int(b, node, "group", case_group(t));
    keel_options opt;
    keel_options_init(&opt);
    opt.threads = threads;
    opt.isa = isa;
    keel_model *m = load(b, &opt);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *s = NULL;
    char err[1024];
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, &opt, NULL, 0, NULL, err, sizeof err), KEEL_OK);
    CU_ASSERT_EQUAL(s->env.isa, isa); /* the kernels asked for, not a fallback */
    keel_tensor in[2] = {{KEEL_FLOAT, 4, {nb, t->c, t->h, t->w}, x}, {KEEL_FLOAT, 4, {nb, t->m, oh, ow}, res}};
    keel_tensor out = {.data = y};
    CU_ASSERT_EQUAL(keel_session_run(s, in, &out), KEEL_OK);
    double scale = 0;
    for (size_t i = 0; i < (size_t)nb; i++) {
        double image_scale = conv_reference(t, x + i * image_x, w, bias, res + i * image_y, want + i * image_y, oh, ow);
        scale = image_scale > scale ? image_scale : scale;
    }
    double worst = tb_max_abs_err(y, want, ny); /* NaN where y is NaN */
    /* float32 sums of K products: a few ulps of the sum of magnitudes */
    if (!(worst <= 1e-6 * scale))
        fprintf(stderr, "\n  conv n=%lld c=%lld m=%lld g=%lld %lldx%lld k=%lldx%lld s=%lld epi=%d isa=%s threads=%d: error %g of %g\n",
                (long long)nb, (long long)t->c, (long long)t->m, (long long)case_group(t), (long long)t->h, (long long)t->w,
                (long long)t->k, (long long)kw, (long long)t->stride, t->epi, keel_isa_name((keel_isa)s->env.isa),
                threads, worst, scale);
    CU_ASSERT(worst <= 1e-6 * scale);
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
    free(x), free(w), free(bias), free(res), free(want);
    return y;
}

static void test_conv_kernels(void)
{
    static const conv_case cases[] = {
        {16, 5, 7, 7, 1, 1, 0, 0},     {16, 13, 9, 5, 1, 1, 0, 1},    {3, 30, 14, 14, 1, 1, 0, 2},
        {300, 23, 7, 7, 1, 1, 0, 1},   {64, 64, 33, 17, 1, 1, 0, 3},  {40, 18, 6, 6, 1, 1, 0, 1},
        {8, 19, 15, 15, 3, 2, 1, 1},   {3, 16, 31, 29, 7, 2, 3, 0},   {64, 29, 9, 9, 3, 2, 1, 3},
        {40, 12, 8, 9, 3, 2, 0, 2},    {16, 20, 7, 7, 3, 1, 1, 1},    {24, 35, 15, 13, 3, 1, 1, 3},
        {300, 16, 8, 8, 3, 1, 1, 0},   {8, 19, 9, 8, 3, 1, 0, 1},     {24, 20, 17, 17, 7, 1, 3, 0, 1, 0},
        {24, 20, 17, 17, 1, 1, 0, 3, 7, 3}, {12, 14, 10, 9, 5, 1, 2, 1, 3, 0},
        /* groups (ShuffleNet v1's 1x1 in 3), with a residual; 3x3 in 2 */
        {60, 48, 14, 14, 1, 1, 0, 1, 0, 0, 3}, {24, 36, 9, 11, 3, 2, 1, 3, 0, 0, 2},
        /* 196 columns (7 chunks of 32, 13 of 16) in two blocks: two threads
         * share the rows, not the columns */
        {16, 1024, 14, 14, 1, 1, 0, 1},
        /* the channel-vector products (out channels a multiple of 16, at
         * most 1024 positions): blocks of 64 with 16, 32 and 48 left; 1-5
         * positions past the tiles of 6; K from 64 (below, the 12x32
         * tiles) over several steps of 128; two threads on ranges of
         * positions (one block, blocks that share out unevenly, unfolded
         * columns) and on blocks (1x1, an even count); 1x1, strided 1x1,
         * 3x3 stride 2, 3x3 stride 1 below Winograd's 49 outputs; every
         * epilogue; NaN and infinities */
        {300, 80, 7, 7, 1, 1, 0, 1},   {33, 48, 15, 15, 3, 2, 1, 2},  {96, 32, 1, 1, 1, 1, 0, 3},
        {70, 112, 1, 5, 1, 1, 0, 0},   {20, 128, 6, 6, 3, 1, 1, 3},   {64, 192, 14, 14, 1, 1, 0, 1},
        {130, 64, 13, 13, 1, 2, 0, 2}, {24, 16, 11, 9, 3, 2, 1, 0},   {72, 128, 9, 9, 1, 1, 0, 2},
        {72, 64, 7, 7, 1, 1, 0, 1, 0, 0, 0, true}, {17, 48, 9, 9, 3, 2, 1, 0, 0, 0, 0, true},
        /* out channels not a multiple of 16 (the last 16 lanes part
         * padding); 3x3 stride 1 from 64 channels or fewer, which take
         * the path before Winograd */
        {70, 520, 5, 5, 1, 1, 0, 1},   {48, 64, 13, 13, 3, 1, 1, 1},
        {64, 530, 8, 8, 3, 2, 1, 3, 0, 0, 0, true},
        /* batches of 3: on two threads, two images one per thread and the
         * third split; on three, one each.  Winograd, the channel-vector
         * products on the input and unfolded, the 12x32 tiles on the
         * input and unfolded, groups, OpenBLAS on columns (K over 4608) */
        {96, 64, 14, 14, 3, 1, 1, 1, 0, 0, 0, false, 3}, {300, 80, 7, 7, 1, 1, 0, 3, 0, 0, 0, false, 3},
        {33, 48, 15, 15, 3, 2, 1, 2, 0, 0, 0, false, 3}, {64, 64, 33, 17, 1, 1, 0, 3, 0, 0, 0, false, 3},
        {3, 16, 31, 29, 7, 2, 3, 1, 0, 0, 0, false, 3},  {60, 48, 14, 14, 1, 1, 0, 1, 0, 0, 3, false, 3},
        {520, 20, 9, 9, 3, 1, 1, 3, 0, 0, 0, false, 3},
        /* Winograd on maps two threads run in bands of tile rows (21 rows
         * of 20 tiles: 11 and 10), alone and the third image of a batch */
        {20, 48, 41, 39, 3, 1, 1, 3}, {20, 48, 41, 39, 3, 1, 1, 1, 0, 0, 0, false, 3},
        /* Winograd rows of 53 outputs (27 tiles: AVX-512's transforms take
         * 16 and 11, the output's second store 5 columns) and a last tile
         * row of one output row */
        {24, 40, 11, 53, 3, 1, 1, 1},
    };
    /* every case at 1, 2 and (batches) 3 threads: the same bytes at each */
    for (int isa = KEEL_ISA_GENERIC; isa <= KEEL_ISA_AVX512; isa++)
        if (tb_isa_runs(isa, "conv kernels"))
            for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                const conv_case *t = &cases[i];
                const int64_t oh = (t->h + 2 * t->pad - t->k) / t->stride + 1;
                const int64_t ow = (t->w + 2 * case_pad_w(t) - case_kw(t)) / t->stride + 1;
                const size_t bytes = (size_t)(case_batch(t) * t->m * oh * ow) * sizeof(float);
                float *one = run_conv_case(t, isa, 1);
                for (int threads = 2; threads <= (t->batch ? 3 : 2); threads++) {
                    float *more = run_conv_case(t, isa, threads);
                    CU_ASSERT(memcmp(one, more, bytes) == 0);
                    free(more);
                }
                free(one);
            }
}

/* The blocked layout (AVX-512): a stem conv reads x's 1 to 3 channels in
 * the plain layout and writes blocks of 16, the conv under test reads
 * them, then (pool) a MaxPool 3x3 stride 2 in blocks, and four 1x1 convs,
 * two joined by a Concat or an Add, all in blocks.  Against the same
 * model with the pass blocked_layout off (the plain kernels, which
 * test_conv_kernels holds to a direct loop), and the same bytes on two
 * threads.  The cases take: channels not whole blocks, in and out; out
 * blocks past the tiles' four (one, two, three left); 1x1 over two passes
 * of input blocks; 3x3, 5x5, 1x7 and 7x7 kernels, stride 2, pads at each
 * edge and none; rows of 6 tiles and partial ones; every epilogue: the
 * residual with Relu, Clip, Sigmoid (applied over the rows), none; a
 * Winograd conv of more than 64 channels, which stays plain (and with it
 * the whole graph: a stem alone is too little for the layout); two
 * images. */
typedef struct blocked_case {
    int64_t xc, c, m, h, w, k, kw, stride, pad, pad_w;
    int epi;        /* 0 none, 1 residual (the stem's output) + Relu, 2 Clip(0, 6), 3 Sigmoid */
    bool pool;
    int64_t batch;  /* 0: one image */
    int64_t stem_k; /* 0: 3x3 stride 1 pad 1; 7: 7x7 stride 2 pad 3 */
} blocked_case;

/* t's stem: its kernel, stride and pad, and its output's extent. */
typedef struct blocked_stem {
    int64_t k, stride, pad, h, w;
} blocked_stem;

static blocked_stem stem_of(const blocked_case *t)
{
    blocked_stem st = {.k = t->stem_k ? t->stem_k : 3, .stride = t->stem_k ? 2 : 1};
    st.pad = st.k / 2;
    st.h = (t->h + 2 * st.pad - st.k) / st.stride + 1;
    st.w = (t->w + 2 * st.pad - st.k) / st.stride + 1;
    return st;
}

/* The model of t, its output's element count in *ny. */
static tb_model *blocked_model(const blocked_case *t, size_t *ny, int64_t *yd)
{
    const blocked_stem sg = stem_of(t);
    const int64_t nb = t->batch ? t->batch : 1, sk = sg.k, ss = sg.stride, sp = sg.pad, sh = sg.h, sw = sg.w;
    const int64_t oh = (sh + 2 * t->pad - t->k) / t->stride + 1, ow = (sw + 2 * t->pad_w - t->kw) / t->stride + 1;
    int64_t xd[4] = {nb, t->xc, t->h, t->w}, w0d[4] = {t->c, t->xc, sk, sk}, b0d[1] = {t->c};
    int64_t w1d[4] = {t->m, t->c, t->k, t->kw}, b1d[1] = {t->m};
    yd[0] = nb, yd[1] = t->m, yd[2] = t->pool ? (oh + 2 - 3) / 2 + 1 : oh, yd[3] = t->pool ? (ow + 2 - 3) / 2 + 1 : ow;
    *ny = (size_t)(yd[0] * yd[1] * yd[2] * yd[3]);
    const size_t n0 = (size_t)(t->c * t->xc * sk * sk), n1 = (size_t)(t->m * t->c * t->k * t->kw);
    float *w0 = malloc(n0 * sizeof *w0), *w1 = malloc(n1 * sizeof *w1);
    float *b0 = malloc((size_t)t->c * sizeof *b0), *b1 = malloc((size_t)t->m * sizeof *b1);
    uint32_t r = 4242;
#define NEXT_UNIT() ((float)((r = r * 1103515245u + 12345u) >> 8) / 16777216.0f - 0.5f)
    for (size_t i = 0; i < n0; i++)
        w0[i] = NEXT_UNIT();
    for (size_t i = 0; i < n1; i++)
        w1[i] = NEXT_UNIT() * 0.5f;
    for (int64_t i = 0; i < t->c; i++)
        b0[i] = NEXT_UNIT();
    for (int64_t i = 0; i < t->m; i++)
        b1[i] = NEXT_UNIT();
#undef NEXT_UNIT
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 4, xd, NULL);
    tb_output(b, "y", KEEL_FLOAT, 4, yd);
    tb_init_f32(b, "w0", 4, w0d, w0);
    tb_init_f32(b, "b0", 1, b0d, b0);
    tb_init_f32(b, "w1", 4, w1d, w1);
    tb_init_f32(b, "b1", 1, b1d, b1);
    free(w0), free(w1), free(b0), free(b1);
    int64_t ks0[2] = {sk, sk}, st0[2] = {ss, ss}, p0[4] = {sp, sp, sp, sp};
    Onnx__NodeProto *stem = tb_node(b, "Conv", "stem", "x,w0,b0", "s0");
    tb_attr_ints(b, stem, "kernel_shape", 2, ks0);
    tb_attr_ints(b, stem, "strides", 2, st0);
    tb_attr_ints(b, stem, "pads", 4, p0);
    tb_node(b, "Relu", "stem_relu", "s0", "a");
    const char *out = "c", *conv_out = t->epi ? "c0" : out;
    Onnx__NodeProto *conv = tb_node(b, "Conv", "conv", "a,w1,b1", conv_out);
    int64_t ks[2] = {t->k, t->kw}, st[2] = {t->stride, t->stride}, pads[4] = {t->pad, t->pad_w, t->pad, t->pad_w};
    tb_attr_ints(b, conv, "kernel_shape", 2, ks);
    tb_attr_ints(b, conv, "strides", 2, st);
    tb_attr_ints(b, conv, "pads", 4, pads);
    if (t->epi == 1) {
        tb_node(b, "Add", "add", "c0,a", "c1");
        tb_node(b, "Relu", "relu", "c1", out);
    } else if (t->epi == 2) {
        Onnx__NodeProto *clip = tb_node(b, "Clip", "clip", "c0", out);
        tb_attr_float(b, clip, "min", 0.0f);
        tb_attr_float(b, clip, "max", 6.0f);
    } else if (t->epi == 3)
        tb_node(b, "Sigmoid", "sigmoid", "c0", out);
    if (t->pool) {
        int64_t pk[2] = {3, 3}, ps[2] = {2, 2}, pp[4] = {1, 1, 1, 1};
        Onnx__NodeProto *pool = tb_node(b, "MaxPool", "pool", "c", "p");
        tb_attr_ints(b, pool, "kernel_shape", 2, pk);
        tb_attr_ints(b, pool, "strides", 2, ps);
        tb_attr_ints(b, pool, "pads", 4, pp);
    }
    /* the tail: four 1x1 convs, two of them joined by a Concat (whole
     * blocks) or an Add */
    const bool cat = t->m % 16 == 0;
    int64_t td[4] = {t->m, t->m, 1, 1}, t3d[4] = {t->m, cat ? 2 * t->m : t->m, 1, 1}, ks1[2] = {1, 1};
    const size_t nt = (size_t)(t->m * t->m * 2);
    float *wt = malloc(nt * sizeof *wt);
    for (int k = 0; k < 4; k++) {
        for (size_t i = 0; i < nt; i++)
            wt[i] = (float)((i * 2654435761u + (size_t)k * 97) % 1000) / 1000.0f / (float)t->m - 0.5f / (float)t->m;
        char name[8];
        snprintf(name, sizeof name, "t%d", k);
        tb_init_f32(b, name, 4, k == 2 ? t3d : td, wt);
    }
    free(wt);
    tb_attr_ints(b, tb_node(b, "Conv", "tail0", t->pool ? "p,t0" : "c,t0", "u0"), "kernel_shape", 2, ks1);
    tb_attr_ints(b, tb_node(b, "Conv", "tail1", t->pool ? "p,t1" : "c,t1", "u1"), "kernel_shape", 2, ks1);
    if (cat)
        tb_attr_int(b, tb_node(b, "Concat", "cat", "u0,u1", "j"), "axis", 1);
    else
        tb_node(b, "Add", "join", "u0,u1", "j");
    tb_attr_ints(b, tb_node(b, "Conv", "tail2", "j,t2", "u2"), "kernel_shape", 2, ks1);
    tb_attr_ints(b, tb_node(b, "Conv", "tail3", "u2,t3", "y"), "kernel_shape", 2, ks1);
    return b;
}

/* Model b (freed) on input x [nb][xc][h][w] at isa on `threads` threads
 * with the passes `off` off: its output of ny floats (malloc'ed),
 * *blocked_nodes the plan's nodes of the blocked layout's ops (FromBlocked
 * aside), *split the images of its batch split (0: none). */
static float *run_blocked_model(tb_model *b, const float *x, int64_t nb, int64_t xc, int64_t h, int64_t w, size_t ny,
                                int isa, const char *off, int threads, int *blocked_nodes, int64_t *split)
{
    float *y = malloc(ny * sizeof *y);
    keel_options opt;
    keel_options_init(&opt);
    opt.threads = threads;
    opt.isa = isa;
    opt.passes_off = off;
    keel_model *m = load(b, &opt);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *s = NULL;
    char err[512] = "";
    keel_status st = keel_session_create(&s, m, &opt, NULL, 0, NULL, err, sizeof err);
    if (st)
        fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT_EQUAL_FATAL(st, KEEL_OK);
    *blocked_nodes = 0;
    for (int i = 0; i < s->plans[0]->n_nodes; i++) {
        const kl_op *op = s->plans[0]->nodes[i].op;
        *blocked_nodes += op == &kl_op_blocked_conv || op == &kl_op_blocked_maxpool ||
                          op == &kl_op_blocked_global_average_pool || op == &kl_op_blocked_scale;
    }
    *split = s->plans[0]->batch;
    keel_tensor in = {KEEL_FLOAT, 4, {nb, xc, h, w}, (float *)x};
    keel_tensor out = {.data = y};
    tb_fill_nan(y, ny);
    CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_OK);
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
    return y;
}

/* The blocked layout's output (got, and on two threads two) against the
 * plain layout's (want): close, and the same bytes on both thread counts;
 * all three freed. */
static void check_blocked(const char *what, size_t i, float *want, float *got, float *two, size_t ny)
{
    double scale = 1;
    for (size_t j = 0; j < ny; j++)
        scale = fabs(want[j]) > scale ? fabs(want[j]) : scale;
    double err = tb_max_abs_err(got, want, ny);
    if (!(err <= 1e-5 * scale))
        fprintf(stderr, "\n  %s case %zu: error %g of %g\n", what, i, err, scale);
    CU_ASSERT(err <= 1e-5 * scale);
    CU_ASSERT(memcmp(got, two, ny * sizeof *got) == 0);
    free(want), free(got), free(two);
}

/* An input of n floats, the same for every run. */
static float *blocked_input(size_t n)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((i * 7919) % 997) / 997.0f - 0.4f;
    return x;
}

/* t's output at isa on `threads` threads, the pass blocked_layout off or
 * not (malloc'ed). */
static float *run_blocked_case(const blocked_case *t, int isa, const char *off, int threads, int *blocked_nodes)
{
    size_t ny;
    int64_t yd[4], split;
    tb_model *b = blocked_model(t, &ny, yd);
    const int64_t nb = t->batch ? t->batch : 1;
    float *x = blocked_input((size_t)(nb * t->xc * t->h * t->w));
    float *y = run_blocked_model(b, x, nb, t->xc, t->h, t->w, ny, isa, off, threads, blocked_nodes, &split);
    free(x);
    return y;
}

/* Whether Winograd computes t's conv at isa (its own rule, kl_wino_applies). */
static bool blocked_wino(const blocked_case *t, int isa)
{
    const blocked_stem sg = stem_of(t);
    kl_conv_geom g = {.nsp = 2, .n = 1, .c = t->c, .m = t->m, .group = 1, .kern = kl_kernels_for(isa)};
    const int64_t in[3] = {1, sg.h, sg.w}, k[3] = {1, t->k, t->kw}, st[3] = {1, t->stride, t->stride};
    for (int d = 0; d < 3; d++) {
        g.in[d] = in[d], g.k[d] = k[d], g.stride[d] = st[d], g.dil[d] = 1;
        g.pad[d] = d == 0 ? 0 : d == 1 ? t->pad : t->pad_w;
        g.out[d] = (in[d] + 2 * g.pad[d] - k[d]) / st[d] + 1;
    }
    return kl_wino_applies(&g);
}

static void test_blocked_conv(void)
{
    static const blocked_case cases[] = {
        {3, 16, 16, 9, 9, 3, 3, 1, 1, 1, 1, true},       {3, 32, 80, 13, 13, 3, 3, 1, 1, 1, 0, false},
        {3, 48, 40, 11, 17, 3, 3, 2, 1, 1, 2, false},     {2, 160, 48, 7, 7, 1, 1, 1, 0, 0, 3, false},
        {3, 24, 32, 15, 12, 1, 7, 1, 0, 3, 0, true},      {1, 16, 200, 20, 23, 5, 5, 1, 2, 2, 2, false},
        {3, 64, 64, 14, 14, 3, 3, 1, 1, 1, 1, false},     {3, 96, 32, 8, 8, 3, 3, 1, 1, 1, 0, false},
        {3, 16, 16, 9, 9, 3, 3, 1, 1, 1, 1, true, 2},     {3, 64, 24, 32, 29, 3, 3, 2, 0, 0, 0, true, 0, 7},
        {3, 32, 48, 6, 40, 7, 7, 1, 3, 3, 3, false},      {4, 16, 96, 5, 5, 3, 3, 1, 0, 0, 2, false},
        {3, 20, 20, 9, 11, 3, 3, 1, 1, 1, 1, false},     {2, 12, 36, 10, 9, 5, 5, 2, 2, 2, 0, true},
    };
    for (int isa = KEEL_ISA_AVX2; isa <= KEEL_ISA_AVX512; isa++) {
        if (!tb_isa_runs(isa, "the blocked layout"))
            continue;
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            const blocked_case *t = &cases[i];
            size_t ny;
            int64_t yd[4];
            tb_free(blocked_model(t, &ny, yd));
            int plain_nodes, blocked_nodes, two_nodes;
            float *want = run_blocked_case(t, isa, "blocked_layout", 1, &plain_nodes);
            float *got = run_blocked_case(t, isa, NULL, 1, &blocked_nodes);
            float *two = run_blocked_case(t, isa, NULL, 2, &two_nodes);
            CU_ASSERT_EQUAL(plain_nodes, 0);
            /* the stem, the conv and the tail's four, the MaxPool; none when
             * the conv stays plain for Winograd (on AVX2 always, on AVX-512
             * above 64 channels), which leaves too few (a stem) */
            const bool kept = blocked_wino(t, isa) && (isa == KEEL_ISA_AVX2 || t->c > 64);
            CU_ASSERT_EQUAL(blocked_nodes, kept ? 0 : 6 + t->pool);
            check_blocked(isa == KEEL_ISA_AVX2 ? "blocked avx2" : "blocked avx512", i, want, got, two, ny);
        }
    }
}

/* A mobile block in the blocked layout (AVX-512): stem 3x3 stride 2,
 * expansion 1x1 with Relu, depthwise k x k (stride 1 or 2) with Clip, a
 * squeeze-excite (GlobalAveragePool, 1x1 with Relu, 1x1 with Sigmoid,
 * the Mul by its scale), projection 1x1 with the block's input as its
 * residual where the shapes allow.  Against the pass blocked_layout off,
 * and the same bytes on two threads. */
typedef struct mobile_case {
    int64_t c, e, h, w, k, stride, batch;
} mobile_case;

static float *run_mobile_case(const mobile_case *t, int isa, const char *off, int threads, int *blocked_nodes,
                              size_t *ny)
{
    const int64_t nb = t->batch ? t->batch : 1, sh = (t->h - 1) / 2 + 1, sw = (t->w - 1) / 2 + 1;
    const int64_t p = t->k / 2, oh = (sh + 2 * p - t->k) / t->stride + 1, ow = (sw + 2 * p - t->k) / t->stride + 1;
    const int64_t sq = 8;
    int64_t xd[4] = {nb, 3, t->h, t->w}, yd[4] = {nb, t->c, oh, ow};
    int64_t d0[4] = {t->c, 3, 3, 3}, d1[4] = {t->e, t->c, 1, 1}, d2[4] = {t->e, 1, t->k, t->k};
    int64_t d3[4] = {sq, t->e, 1, 1}, d4[4] = {t->e, sq, 1, 1}, d5[4] = {t->c, t->e, 1, 1};
    int64_t *dims[6] = {d0, d1, d2, d3, d4, d5};
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 4, xd, NULL);
    tb_output(b, "y", KEEL_FLOAT, 4, yd);
    uint32_t r = 99;
    for (int i = 0; i < 6; i++) {
        const int64_t n = dims[i][0] * dims[i][1] * dims[i][2] * dims[i][3];
        float *v = malloc((size_t)n * sizeof *v), *bias = malloc((size_t)dims[i][0] * sizeof *bias);
        const float scale = 2.0f / sqrtf((float)(dims[i][1] * dims[i][2] * dims[i][3]));
        for (int64_t k = 0; k < n; k++)
            v[k] = ((float)((r = r * 1103515245u + 12345u) >> 8) / 16777216.0f - 0.5f) * scale;
        for (int64_t k = 0; k < dims[i][0]; k++)
            bias[k] = (float)((r = r * 1103515245u + 12345u) >> 8) / 16777216.0f - 0.5f;
        char wn[8], bn[8];
        snprintf(wn, sizeof wn, "w%d", i);
        snprintf(bn, sizeof bn, "b%d", i);
        tb_init_f32(b, wn, 4, dims[i], v);
        tb_init_f32(b, bn, 1, dims[i], bias);
        free(v), free(bias);
    }
    int64_t k3[2] = {3, 3}, s2[2] = {2, 2}, p1[4] = {1, 1, 1, 1}, k1[2] = {1, 1};
    int64_t kd[2] = {t->k, t->k}, sd[2] = {t->stride, t->stride}, pd[4] = {p, p, p, p};
    Onnx__NodeProto *n = tb_node(b, "Conv", "stem", "x,w0,b0", "s0");
    tb_attr_ints(b, n, "kernel_shape", 2, k3);
    tb_attr_ints(b, n, "strides", 2, s2);
    tb_attr_ints(b, n, "pads", 4, p1);
    tb_node(b, "Relu", "stem_relu", "s0", "a");
    tb_attr_ints(b, tb_node(b, "Conv", "expand", "a,w1,b1", "e0"), "kernel_shape", 2, k1);
    tb_node(b, "Relu", "expand_relu", "e0", "e");
    n = tb_node(b, "Conv", "dw", "e,w2,b2", "d0");
    tb_attr_ints(b, n, "kernel_shape", 2, kd);
    tb_attr_ints(b, n, "strides", 2, sd);
    tb_attr_ints(b, n, "pads", 4, pd);
    tb_attr_int(b, n, "group", t->e);
    n = tb_node(b, "Clip", "dw_clip", "d0", "d");
    tb_attr_float(b, n, "min", 0.0f);
    tb_attr_float(b, n, "max", 6.0f);
    tb_node(b, "GlobalAveragePool", "se_pool", "d", "g");
    tb_attr_ints(b, tb_node(b, "Conv", "se_reduce", "g,w3,b3", "g1"), "kernel_shape", 2, k1);
    tb_node(b, "Relu", "se_relu", "g1", "g2");
    tb_attr_ints(b, tb_node(b, "Conv", "se_expand", "g2,w4,b4", "g3"), "kernel_shape", 2, k1);
    tb_node(b, "Sigmoid", "se_gate", "g3", "g4");
    tb_node(b, "Mul", "se_scale", "g4,d", "m");
    tb_attr_ints(b, tb_node(b, "Conv", "project", "m,w5,b5", t->stride == 1 ? "q" : "y"), "kernel_shape", 2, k1);
    if (t->stride == 1)
        tb_node(b, "Add", "residual", "q,a", "y");
    *ny = (size_t)(nb * t->c * oh * ow);
    float *x = blocked_input((size_t)(nb * 3 * t->h * t->w));
    int64_t split;
    float *y = run_blocked_model(b, x, nb, 3, t->h, t->w, *ny, isa, off, threads, blocked_nodes, &split);
    /* two images on two threads: one each, through plans of one image
     * (every blocked op keeps the images apart) */
    CU_ASSERT(t->batch < 2 || threads < 2 || split == t->batch);
    free(x);
    return y;
}

static void test_blocked_mobile(void)
{
    static const mobile_case cases[] = {
        {16, 48, 19, 23, 3, 1}, {24, 72, 17, 17, 5, 2}, {16, 40, 9, 12, 3, 2, 2}, {32, 96, 8, 8, 3, 1},
        {20, 36, 11, 13, 3, 1},
    };
    for (int isa = KEEL_ISA_AVX2; isa <= KEEL_ISA_AVX512; isa++) {
        if (!tb_isa_runs(isa, "the blocked layout"))
            continue;
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            size_t ny;
            int plain_nodes, blocked_nodes, two_nodes;
            float *want = run_mobile_case(&cases[i], isa, "blocked_layout", 1, &plain_nodes, &ny);
            float *got = run_mobile_case(&cases[i], isa, NULL, 1, &blocked_nodes, &ny);
            float *two = run_mobile_case(&cases[i], isa, NULL, 2, &two_nodes, &ny);
            CU_ASSERT_EQUAL(plain_nodes, 0);
            CU_ASSERT_EQUAL(blocked_nodes, 8); /* six convs, the pool, the scale */
            check_blocked(isa == KEEL_ISA_AVX2 ? "mobile avx2" : "mobile avx512", i, want, got, two, ny);
        }
    }
}

/* Sigmoid's float path: blocks of 4096 split over two threads, the last
 * one partial, into a new buffer and in place (over Neg's output), large
 * and NaN inputs included, on each instruction set's vector code. */
static void run_sigmoid_blocks(int isa)
{
    const int64_t n = 3 * 4096 + 77;
    int64_t d[1] = {n};
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 1, d, NULL);
    tb_output(b, "y1", KEEL_FLOAT, 1, d);
    tb_output(b, "y2", KEEL_FLOAT, 1, d);
    tb_node(b, "Sigmoid", "sig1", "x", "y1");
    tb_node(b, "Neg", "neg", "x", "nx");
    tb_node(b, "Sigmoid", "sig2", "nx", "y2");
    keel_options opt;
    keel_options_init(&opt);
    opt.threads = 2;
    opt.isa = isa;
    keel_model *m = load(b, &opt);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *s = NULL;
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, &opt, NULL, 0, NULL, NULL, 0), KEEL_OK);
    CU_ASSERT_EQUAL(s->env.isa, isa); /* the vector code asked for, not a fallback */
    float *x = malloc((size_t)n * sizeof *x), *y1 = malloc((size_t)n * sizeof *y1), *y2 = malloc((size_t)n * sizeof *y2);
    float *w1 = malloc((size_t)n * sizeof *w1), *w2 = malloc((size_t)n * sizeof *w2);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)((i * 7919) % 4001 - 2000) / 100.0f; /* -20 .. 20 */
    x[5] = 200.0f, x[6] = -200.0f, x[7] = NAN;
    tb_fill_nan(y1, (size_t)n);
    tb_fill_nan(y2, (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        w1[i] = (float)(1.0 / (1.0 + exp(-(double)x[i])));
        w2[i] = (float)(1.0 / (1.0 + exp((double)x[i]))); /* NaN at 7, where NaN is expected */
    }
    keel_tensor in = {KEEL_FLOAT, 1, {n}, x}, outs[2] = {{.data = y1}, {.data = y2}};
    CU_ASSERT_EQUAL(keel_session_run(s, &in, outs), KEEL_OK);
    double e1 = tb_max_abs_err(y1, w1, (size_t)n), e2 = tb_max_abs_err(y2, w2, (size_t)n);
    if (!(e1 < 1e-6 && e2 < 1e-6))
        fprintf(stderr, "\n  sigmoid isa=%s: errors %g, %g\n", keel_isa_name((keel_isa)isa), e1, e2);
    CU_ASSERT(e1 < 1e-6);
    CU_ASSERT(e2 < 1e-6);
    CU_ASSERT(isnan(y1[7]) && isnan(y2[7]));
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
    free(x), free(y1), free(y2), free(w1), free(w2);
}

static void test_sigmoid_blocks(void)
{
    for (int isa = KEEL_ISA_GENERIC; isa <= KEEL_ISA_AVX512; isa++)
        if (tb_isa_runs(isa, "Sigmoid blocks"))
            run_sigmoid_blocks(isa);
}

/* Conv -> BatchNormalization -> x * gate(x) (a model exported without
 * constant folding), gate Sigmoid (SiLU) or HardSigmoid(1/6, 1/2)
 * (HardSwish): BN folds into the Conv and the product fuses through it,
 * one kernel left; the result equals the unoptimized session's and a
 * direct computation. */
static void run_gated_after_bn(bool hard)
{
    int64_t xd[4] = {1, 3, 5, 6}, wd[4] = {4, 3, 3, 3}, cd[1] = {4};
    float w[108], cb[4] = {0.1f, -0.2f, 0.05f, 0.3f}, scale[4] = {1.5f, 0.5f, -1.0f, 2.0f};
    float shift[4] = {0.2f, -0.1f, 0.0f, 0.4f}, mean[4] = {0.3f, -0.2f, 0.1f, 0.0f}, var[4] = {0.5f, 1.5f, 2.0f, 0.8f};
    for (int i = 0; i < 108; i++)
        w[i] = (float)((i * 37) % 19 - 9) / 20.0f;
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 4, xd, NULL);
    int64_t yd[4] = {1, 4, 5, 6};
    tb_output(b, "y", KEEL_FLOAT, 4, yd);
    tb_init_f32(b, "w", 4, wd, w);
    tb_init_f32(b, "cb", 1, cd, cb);
    tb_init_f32(b, "scale", 1, cd, scale);
    tb_init_f32(b, "shift", 1, cd, shift);
    tb_init_f32(b, "mean", 1, cd, mean);
    tb_init_f32(b, "var", 1, cd, var);
    int64_t ks[2] = {3, 3}, pads[4] = {1, 1, 1, 1};
    Onnx__NodeProto *conv = tb_node(b, "Conv", "conv", "x,w,cb", "c");
    tb_attr_ints(b, conv, "kernel_shape", 2, ks);
    tb_attr_ints(b, conv, "pads", 4, pads);
    tb_node(b, "BatchNormalization", "bn", "c,scale,shift,mean,var", "n");
    Onnx__NodeProto *gate = tb_node(b, hard ? "HardSigmoid" : "Sigmoid", "gate", "n", "g");
    if (hard)
        tb_attr_float(b, gate, "alpha", 1.0f / 6.0f);
    tb_node(b, "Mul", "silu", "n,g", "y");
    float x[90], y[2][120], want[120];
    tb_fill_nan(y[0], 120);
    tb_fill_nan(y[1], 120);
    for (int i = 0; i < 90; i++)
        x[i] = (float)((i * 53) % 29 - 14) / 7.0f;
    for (int optimize = 0; optimize <= 1; optimize++) {
        keel_options opt;
        keel_options_init(&opt);
        opt.optimize = optimize;
        keel_model *m = load(b, &opt);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        keel_session *s = NULL;
        CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, &opt, NULL, 0, NULL, NULL, 0), KEEL_OK);
        int kernels = 0;
        for (int k = 0; k < s->plans[0]->n_steps; k++)
            kernels += !s->plans[0]->steps[k].view;
        CU_ASSERT_EQUAL(kernels, optimize ? 1 : 4);
        keel_tensor in = {KEEL_FLOAT, 4, {1, 3, 5, 6}, x}, out = {.data = y[optimize]};
        CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_OK);
        keel_session_free(s);
        keel_model_free(m);
    }
    for (int mo = 0; mo < 4; mo++)
        for (int oy = 0; oy < 5; oy++)
            for (int ox = 0; ox < 6; ox++) {
                double acc = cb[mo];
                for (int ci = 0; ci < 3; ci++)
                    for (int a = 0; a < 3; a++)
                        for (int bb = 0; bb < 3; bb++) {
                            int iy = oy - 1 + a, ix = ox - 1 + bb;
                            if (iy >= 0 && iy < 5 && ix >= 0 && ix < 6)
                                acc += (double)w[((mo * 3 + ci) * 3 + a) * 3 + bb] * x[(ci * 5 + iy) * 6 + ix];
                        }
                double nv = (acc - mean[mo]) / sqrt(var[mo] + 1e-5) * scale[mo] + shift[mo];
                double hs = nv / 6.0 + 0.5;
                want[(mo * 5 + oy) * 6 + ox] = (float)(hard ? nv * (hs < 0 ? 0 : hs > 1 ? 1 : hs) : nv / (1.0 + exp(-nv)));
            }
    /* NaN (an element left unwritten) fails */
    CU_ASSERT(tb_max_abs_err(y[0], want, 120) < 1e-5);
    CU_ASSERT(tb_max_abs_err(y[1], want, 120) < 1e-5);
    tb_free(b);
}

static void test_gated_after_folded_bn(void)
{
    run_gated_after_bn(false);
    run_gated_after_bn(true);
}

/* A zero Pad of the spatial dims before a Conv and before an AveragePool
 * (counting the padded zeros, as the explicit Pad did) is fused into them;
 * a Pad of another value or over the channels is not.  Every output
 * equals the unoptimized session's. */
static void test_pad_fusion(void)
{
    int64_t xd[4] = {1, 4, 7, 6}, wd[4] = {5, 4, 3, 3}, pd[1] = {8}, one[1] = {1};
    int64_t spatial[8] = {0, 0, 1, 2, 0, 0, 2, 1}, channels[8] = {0, 1, 1, 1, 0, 0, 1, 1};
    int64_t ring[8] = {0, 0, 1, 1, 0, 0, 1, 1}; /* Inception's: the 3x3 pool's fast path */
    float w[180], value[1] = {0.5f};
    for (int i = 0; i < 180; i++)
        w[i] = (float)((i * 41) % 23 - 11) / 25.0f;
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 4, xd, NULL);
    int64_t cd[4] = {1, 5, 4, 4}, ad[4] = {1, 4, 8, 7}, hd[4] = {1, 4, 10, 9}, qd[4] = {1, 5, 7, 6};
    tb_output(b, "conv", KEEL_FLOAT, 4, cd);
    tb_output(b, "avg", KEEL_FLOAT, 4, ad);
    tb_output(b, "half", KEEL_FLOAT, 4, hd);
    tb_output(b, "chan", KEEL_FLOAT, 4, qd);
    tb_output(b, "same", KEEL_FLOAT, 4, xd);
    tb_init_f32(b, "w", 4, wd, w);
    tb_init_raw(b, "sp", KEEL_INT64, 1, pd, spatial, sizeof spatial);
    tb_init_raw(b, "cp", KEEL_INT64, 1, pd, channels, sizeof channels);
    tb_init_raw(b, "rp", KEEL_INT64, 1, pd, ring, sizeof ring);
    tb_init_f32(b, "v", 1, one, value);
    tb_node(b, "Pad", "pad1", "x,sp", "p1");
    int64_t ks[2] = {3, 3}, st[2] = {2, 2};
    Onnx__NodeProto *conv = tb_node(b, "Conv", "conv", "p1,w", "conv");
    tb_attr_ints(b, conv, "kernel_shape", 2, ks);
    tb_attr_ints(b, conv, "strides", 2, st);
    tb_node(b, "Pad", "pad2", "x,sp", "p2");
    Onnx__NodeProto *avg = tb_node(b, "AveragePool", "avg", "p2", "a0");
    tb_attr_ints(b, avg, "kernel_shape", 2, ks);
    int64_t ones[2] = {1, 1};
    tb_attr_ints(b, avg, "strides", 2, ones);
    tb_node(b, "Relu", "relu", "a0", "avg");
    tb_node(b, "Pad", "pad3", "x,sp,v", "half"); /* pads with 0.5: not fused */
    tb_node(b, "Pad", "pad4", "x,cp", "p4");     /* pads a channel: not fused */
    Onnx__NodeProto *avg2 = tb_node(b, "AveragePool", "avg2", "p4", "chan");
    tb_attr_ints(b, avg2, "kernel_shape", 2, ks);
    tb_node(b, "Pad", "pad5", "x,rp", "p5");
    Onnx__NodeProto *avg3 = tb_node(b, "AveragePool", "avg3", "p5", "same");
    tb_attr_ints(b, avg3, "kernel_shape", 2, ks);
    float x[168], out[2][5][400];
    for (int i = 0; i < 168; i++)
        x[i] = (float)((i * 29) % 17 - 8) / 4.0f;
    int kernels[2] = {0, 0};
    for (int optimize = 0; optimize <= 1; optimize++) {
        keel_options opt;
        keel_options_init(&opt);
        opt.optimize = optimize;
        keel_model *m = load(b, &opt);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        keel_session *s = NULL;
        char err[512];
        if (keel_session_create(&s, m, &opt, NULL, 0, NULL, err, sizeof err))
            fprintf(stderr, "\n  %s\n", err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        for (int k = 0; k < s->plans[0]->n_steps; k++)
            kernels[optimize] += !s->plans[0]->steps[k].view;
        keel_tensor in = {KEEL_FLOAT, 4, {1, 4, 7, 6}, x};
        keel_tensor outs[5] = {{.data = out[optimize][0]}, {.data = out[optimize][1]}, {.data = out[optimize][2]},
                               {.data = out[optimize][3]}, {.data = out[optimize][4]}};
        CU_ASSERT_EQUAL(keel_session_run(s, &in, outs), KEEL_OK);
        keel_session_free(s);
        keel_model_free(m);
    }
    /* pad1, pad2 and pad5 fused; pad3, pad4 and the rest run */
    CU_ASSERT_EQUAL(kernels[0], 10);
    CU_ASSERT_EQUAL(kernels[1], 7);
    const int64_t sizes[5] = {80, 224, 360, 210, 168};
    for (int o = 0; o < 5; o++)
        for (int64_t i = 0; i < sizes[o]; i++)
            CU_ASSERT_DOUBLE_EQUAL(out[1][o][i], out[0][o][i], 1e-5);
    tb_free(b);
}

static const float *value_data(const keel_session *s, const char *name)
{
    for (int v = 0; v < s->g->n_values; v++)
        if (strcmp(s->g->values[v].name, name) == 0)
            return s->plans[0]->slots[v].t.data;
    return NULL;
}

/* Concat on channels at batch 1 is planned in place: its inputs' storage
 * (through a fused Relu's view) is a slice of its output, the plan has no
 * conflict although an input is read again after the Concat, and an input
 * given twice or a batch of 2 still copy.  Values checked against plain
 * arithmetic. */
static void test_concat_in_place(void)
{
    for (int batch = 1; batch <= 2; batch++) {
        int64_t xd[3] = {batch, 2, 3}, cd[3] = {batch, 6, 3};
        tb_model *b = tb_new(8, 13);
        tb_input(b, "x", KEEL_FLOAT, 3, xd, NULL);
        tb_output(b, "c", KEEL_FLOAT, 3, cd);
        tb_output(b, "d", KEEL_FLOAT, 3, xd);
        /* e before t, f and v, which die before the Concat: the planner
         * may reuse their bytes only outside e's slice */
        tb_node(b, "Exp", "exp", "x", "e");
        tb_node(b, "Sigmoid", "sig", "x", "t");
        tb_node(b, "Mul", "tx", "t,x", "f");
        tb_node(b, "ReduceMean", "mean", "f", "v");
        tb_node(b, "Add", "add", "x,v", "a");
        Onnx__NodeProto *cat = tb_node(b, "Concat", "cat", "e,a,a", "c");
        tb_attr_int(b, cat, "axis", 1);
        tb_node(b, "Mul", "mul", "a,e", "d"); /* a and e read after the Concat */
        keel_model *m = load(b, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        keel_session *s = NULL;
        char err[1024];
        CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, NULL, NULL, 0, NULL, err, sizeof err), KEEL_OK);
        CU_ASSERT_EQUAL(kl_session_plan_conflicts(s->plans[0]), 0);
        const float *c_data = value_data(s, "c");
        /* e is at its slice at batch 1; a is given twice and copied */
        CU_ASSERT_EQUAL(value_data(s, "e") == c_data, batch == 1);
        CU_ASSERT_TRUE(value_data(s, "a") < c_data || value_data(s, "a") >= c_data + 18 * batch);
        float x[12] = {0.5f, -1.5f, 2.0f, -0.25f, 3.0f, -2.0f, 1.0f, -1.0f, 0.75f, -0.5f, 0.0f, 1.25f};
        float c[36], d[12];
        keel_tensor in = {KEEL_FLOAT, 3, {batch, 2, 3}, x}, outs[2] = {{.data = c}, {.data = d}};
        CU_ASSERT_EQUAL(keel_session_run(s, &in, outs), KEEL_OK);
        for (int n = 0; n < batch; n++)
            for (int i = 0; i < 6; i++) {
                float mean = 0; /* ReduceMean over every axis */
                for (int q = 0; q < 6 * batch; q++)
                    mean += x[q] / (1.0f + expf(-x[q])) / (6.0f * (float)batch);
                float xi = x[n * 6 + i], e = expf(xi), a = xi + mean;
                CU_ASSERT_DOUBLE_EQUAL(c[n * 18 + i], e, 1e-5);
                CU_ASSERT_DOUBLE_EQUAL(c[n * 18 + 6 + i], a, 1e-6);
                CU_ASSERT_DOUBLE_EQUAL(c[n * 18 + 12 + i], a, 1e-6);
                CU_ASSERT_DOUBLE_EQUAL(d[n * 6 + i], a * e, 1e-5);
            }
        keel_session_free(s);
        keel_model_free(m);
        tb_free(b);
    }
}

/* An elementwise step whose output is a slice of a Concat's output, with an
 * input that dies there (PaddleOCR's detector neck: Add(conv, se_mul) into
 * the Concat of upsampled maps): the step writes its slice, not over its
 * input at the slice's offset past the input's end.  With and without the
 * rewrites; values checked against plain arithmetic. */
static void test_concat_slice_not_in_place(void)
{
    for (int optimize = 0; optimize <= 1; optimize++) {
        int64_t xd[4] = {1, 2, 2, 2}, cd[4] = {1, 6, 2, 2};
        tb_model *b = tb_new(8, 13);
        tb_input(b, "x", KEEL_FLOAT, 4, xd, NULL);
        tb_output(b, "c", KEEL_FLOAT, 4, cd);
        tb_node(b, "Exp", "exp", "x", "e");
        tb_node(b, "Neg", "neg", "x", "m");
        tb_node(b, "Sigmoid", "sig", "x", "t");
        tb_node(b, "Add", "add", "m,t", "a"); /* m and t die here */
        Onnx__NodeProto *cat = tb_node(b, "Concat", "cat", "e,x,a", "c");
        tb_attr_int(b, cat, "axis", 1);
        keel_options opt;
        keel_options_init(&opt);
        opt.optimize = optimize;
        keel_model *m = load(b, &opt);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        keel_session *s = NULL;
        char err[1024];
        CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, &opt, NULL, 0, NULL, err, sizeof err), KEEL_OK);
        CU_ASSERT_EQUAL(kl_session_plan_conflicts(s->plans[0]), 0);
        const float *c_data = value_data(s, "c");
        CU_ASSERT_PTR_EQUAL(value_data(s, "a"), c_data + 16);
        float x[8] = {0.5f, -1.5f, 2.0f, -0.25f, 3.0f, -2.0f, 1.0f, -1.0f}, c[24];
        for (int i = 0; i < 24; i++)
            c[i] = NAN;
        keel_tensor in = {KEEL_FLOAT, 4, {1, 2, 2, 2}, x}, out = {.data = c};
        CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_OK);
        for (int i = 0; i < 8; i++) {
            CU_ASSERT_DOUBLE_EQUAL(c[i], expf(x[i]), 1e-5);
            CU_ASSERT_DOUBLE_EQUAL(c[8 + i], x[i], 0);
            CU_ASSERT_DOUBLE_EQUAL(c[16 + i], -x[i] + 1.0f / (1.0f + expf(-x[i])), 1e-6);
        }
        keel_session_free(s);
        keel_model_free(m);
        tb_free(b);
    }
}

/* Dropout (opset 13) whose ratio and training_mode are graph inputs: the
 * values are only known at run time.  Training with ratio 0, or not
 * training, passes x through with an all-true mask; training with a
 * nonzero ratio would drop at random and is refused at that run, naming
 * the node. */
static void test_dropout_runtime_ratio(void)
{
    int64_t xd[2] = {2, 3}, scalar[1] = {0};
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 2, xd, NULL);
    tb_input(b, "ratio", KEEL_FLOAT, 0, scalar, NULL);
    tb_input(b, "training", KEEL_BOOL, 0, scalar, NULL);
    tb_output(b, "y", KEEL_FLOAT, 2, xd);
    tb_output(b, "mask", KEEL_BOOL, 2, xd);
    tb_node(b, "Dropout", "drop", "x,ratio,training", "y,mask");
    keel_model *m = load(b, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *s = NULL;
    char err[1024] = "";
    if (keel_session_create(&s, m, NULL, NULL, 0, NULL, err, sizeof err))
        fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    float x[6] = {1.5f, -2.0f, 0.25f, 3.0f, -0.5f, 7.0f};
    static const struct { float ratio; uint8_t training; keel_status want; } runs[] = {
        {0.0f, 1, KEEL_OK}, {0.5f, 0, KEEL_OK}, {0.5f, 1, KEEL_ERR_UNSUPPORTED}, {0.0f, 1, KEEL_OK},
    };
    for (size_t r = 0; r < sizeof runs / sizeof *runs; r++) {
        float ratio = runs[r].ratio;
        uint8_t training = runs[r].training;
        keel_tensor in[3] = {{KEEL_FLOAT, 2, {2, 3}, x}, {KEEL_FLOAT, 0, {0}, &ratio}, {KEEL_BOOL, 0, {0}, &training}};
        keel_tensor outs[2] = {{.data = NULL}, {.data = NULL}}; /* planned at run time: keel lends them */
        keel_status st = keel_session_run(s, in, outs);
        if (st != runs[r].want)
            fprintf(stderr, "\n  run %zu: status %d: %s\n", r, st, keel_session_errmsg(s));
        CU_ASSERT_EQUAL(st, runs[r].want);
        if (runs[r].want == KEEL_OK && st == KEEL_OK) {
            CU_ASSERT_EQUAL(outs[0].dtype, KEEL_FLOAT);
            CU_ASSERT_EQUAL(outs[1].dtype, KEEL_BOOL);
            CU_ASSERT_TRUE(outs[0].rank == 2 && outs[0].dims[0] == 2 && outs[0].dims[1] == 3);
            CU_ASSERT_TRUE(outs[1].rank == 2 && outs[1].dims[0] == 2 && outs[1].dims[1] == 3);
            CU_ASSERT_EQUAL(memcmp(outs[0].data, x, sizeof x), 0);
            for (int i = 0; i < 6; i++)
                CU_ASSERT_EQUAL(((const uint8_t *)outs[1].data)[i], 1);
        } else if (runs[r].want != KEEL_OK) {
            CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "'drop'"));
            CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "ratio"));
        }
    }
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
}

static void test_run_allocates_nothing(void)
{
    tb_counting count = {0};
    keel_allocator a = tb_counting_allocator(&count);
    keel_options opt;
    keel_options_init(&opt);
    opt.allocator = &a;
    tb_model *b = chain_model(d23, NULL);
    keel_model *m = load(b, &opt);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *s;
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, &opt, NULL, 0, NULL, NULL, 0), KEEL_OK);
    long before = count.total_allocs;
    float x[6] = {1, 2, 3, 4, 5, 6}, y[6];
    keel_tensor in = {KEEL_FLOAT, 2, {2, 3}, x}, out = {.data = y};
    CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_OK);
    CU_ASSERT_EQUAL(count.total_allocs, before);
    keel_session_free(s);
    keel_model_free(m);
    CU_ASSERT_EQUAL(count.live_blocks, 0);
    CU_ASSERT_EQUAL(count.size_mismatch, 0);
    /* every allocation of session creation failing in turn */
    m = load(b, &opt);
    long start = count.total_allocs;
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, &opt, NULL, 0, NULL, NULL, 0), KEEL_OK);
    long n_allocs = count.total_allocs - start;
    keel_session_free(s);
    for (long k = 1; k <= n_allocs; k++) {
        count.fail_at = count.total_allocs + k;
        keel_status st = keel_session_create(&s, m, &opt, NULL, 0, NULL, NULL, 0);
        CU_ASSERT_EQUAL(st, KEEL_ERR_NOMEM);
        CU_ASSERT_PTR_NULL(s);
    }
    count.fail_at = 0;
    keel_model_free(m);
    CU_ASSERT_EQUAL(count.live_blocks, 0);
    tb_free(b);
}

static void test_wrong_input_shape(void)
{
    tb_model *b = chain_model(d23, NULL);
    keel_model *m = load(b, NULL);
    keel_session *s;
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, NULL, NULL, 0, NULL, NULL, 0), KEEL_OK);
    float x[6] = {0}, y[6];
    keel_tensor in = {KEEL_FLOAT, 2, {3, 2}, x}, out = {.data = y};
    CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_ERR_SHAPE);
    CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "'x'"));
    in.dims[0] = 2;
    in.dims[1] = 3;
    in.dtype = KEEL_INT64;
    CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_ERR_SHAPE);
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
}

typedef struct log_record {
    int count;
    keel_log_level level;
    char last[256];
} log_record;

static void record_log(void *user, keel_log_level level, const char *message)
{
    log_record *r = user;
    r->count++;
    r->level = level;
    snprintf(r->last, sizeof r->last, "%s", message);
}

/* Notes reach the log callback (and nothing is printed); inputs and
 * outputs can be found by name. */
static void test_log_and_names(void)
{
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 2, (int64_t[]){-1, 3}, "N");
    tb_output(b, "out", KEEL_FLOAT, 2, (int64_t[]){-1, 3});
    tb_init_f32(b, "w", 2, (int64_t[]){1, 3}, w23);
    tb_node(b, "Add", "add", "x,w", "out");
    log_record rec = {0};
    keel_options opt;
    keel_options_init(&opt);
    opt.log = record_log;
    opt.log_user = &rec;
    keel_model *m = load(b, &opt);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *s;
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, &opt, NULL, 0, NULL, NULL, 0), KEEL_OK);
    /* N bound by nothing: nothing is planned ahead, so nothing to note */
    CU_ASSERT_EQUAL(rec.count, 0);
    keel_tensor info;
    CU_ASSERT_EQUAL(keel_session_input_info(s, 0, &info), KEEL_OK);
    CU_ASSERT_EQUAL(info.rank, 2);
    CU_ASSERT_EQUAL(info.dims[0], -1);
    CU_ASSERT_EQUAL(info.dims[1], 3);
    CU_ASSERT_EQUAL(keel_session_input_index(s, "x"), 0);
    CU_ASSERT_EQUAL(keel_session_output_index(s, "out"), 0);
    CU_ASSERT_EQUAL(keel_session_input_index(s, "nope"), -1);
    CU_ASSERT_EQUAL(keel_session_output_index(s, NULL), -1);
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
}

static void test_symbolic_dims(void)
{
    /* x: float[N, 3] + w: float[1, 3] broadcast */
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 2, (int64_t[]){-1, 3}, "N");
    tb_output(b, "out", KEEL_FLOAT, 2, (int64_t[]){-1, 3});
    tb_init_f32(b, "w", 2, (int64_t[]){1, 3}, w23);
    tb_node(b, "Add", "add", "x,w", "out");
    keel_model *m = load(b, NULL);
    keel_session *s;
    keel_dim_binding n4 = {"N", 4};
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, NULL, &n4, 1, NULL, NULL, 0), KEEL_OK);
    keel_tensor info;
    keel_session_output_info(s, 0, &info);
    CU_ASSERT_EQUAL(info.rank, 2);
    CU_ASSERT_EQUAL(info.dims[0], 4);
    CU_ASSERT_EQUAL(info.dims[1], 3);
    keel_session_free(s);
    /* a given input shape fixes N too */
    keel_tensor shape = {KEEL_FLOAT, 2, {7, 3}, NULL};
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, NULL, NULL, 0, &shape, NULL, 0), KEEL_OK);
    keel_session_output_info(s, 0, &info);
    CU_ASSERT_EQUAL(info.dims[0], 7);
    keel_session_free(s);
    /* a given shape contradicting a fixed dim is refused */
    shape.dims[1] = 5;
    char err[1024];
    CU_ASSERT_EQUAL(keel_session_create(&s, m, NULL, NULL, 0, &shape, err, sizeof err), KEEL_ERR_SHAPE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'x'"));
    keel_model_free(m);
    tb_free(b);
}

static void test_missing_ops_listed(void)
{
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 2, d23, NULL);
    tb_output(b, "out", KEEL_FLOAT, 2, d23);
    tb_node(b, "FrobnicateA", "fa", "x", "a");
    tb_node(b, "Relu", "r", "a", "b");
    tb_node(b, "FrobnicateB", "fb", "b", "c");
    tb_node(b, "FrobnicateA", "fa2", "c", "out");
    keel_model *m = load(b, NULL);
    keel_session *s;
    char err[1024];
    CU_ASSERT_EQUAL(keel_session_create(&s, m, NULL, NULL, 0, NULL, err, sizeof err), KEEL_ERR_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "2 operators are not supported"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "FrobnicateA"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "FrobnicateB"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'fa2'"));
    CU_ASSERT_PTR_NULL(strstr(err, "Relu"));
    keel_model_free(m);
    tb_free(b);
}

/* The PyTorch export pattern: Reshape's target computed from Shape. */
static void test_shape_chain_folds(void)
{
    tb_model *b = tb_new(8, 13);
    int64_t xd[] = {2, 3, 4};
    tb_input(b, "x", KEEL_FLOAT, 3, xd, NULL);
    tb_output(b, "out", KEEL_FLOAT, 2, (int64_t[]){2, 12});
    int64_t zero = 0, minus1 = -1, axes0 = 0;
    tb_init_raw(b, "idx0", KEEL_INT64, 0, NULL, &zero, 8);
    tb_init_raw(b, "m1", KEEL_INT64, 1, (int64_t[]){1}, &minus1, 8);
    tb_init_raw(b, "axes", KEEL_INT64, 1, (int64_t[]){1}, &axes0, 8);
    tb_node(b, "Shape", "shape", "x", "shp");
    tb_node(b, "Gather", "gather", "shp,idx0", "batch");
    tb_node(b, "Unsqueeze", "unsq", "batch,axes", "batch1");
    tb_node(b, "Concat", "concat", "batch1,m1", "target");
    tb_attr_int(b, tb_proto(b)->graph->node[3], "axis", 0);
    tb_node(b, "Reshape", "reshape", "x,target", "out");
    keel_model *m = load(b, NULL);
    keel_session *s;
    char err[1024];
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, NULL, NULL, 0, NULL, err, sizeof err), KEEL_OK);
    CU_ASSERT_EQUAL(s->plans[0]->n_folded, 4);
    CU_ASSERT_EQUAL(s->plans[0]->n_steps, 1);
    keel_tensor info;
    keel_session_output_info(s, 0, &info);
    CU_ASSERT_EQUAL(info.dims[0], 2);
    CU_ASSERT_EQUAL(info.dims[1], 12);
    float x[24], y[24];
    for (int i = 0; i < 24; i++)
        x[i] = (float)i * 0.5f;
    keel_tensor in = {KEEL_FLOAT, 3, {2, 3, 4}, x}, out = {.data = y};
    CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_OK);
    CU_ASSERT_EQUAL(memcmp(x, y, sizeof x), 0);
    /* Reshape is a view: its value is counted, but nothing is placed */
    CU_ASSERT_EQUAL(s->plans[0]->sum_intermediates, sizeof y);
    CU_ASSERT_EQUAL(s->arena_size, 0);
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
}

/* A Reshape whose target shape is a graph input given without data: it
 * and the Relu after it are planned at each run; the rest stays static. */
static void test_data_dependent_shapes(void)
{
    tb_counting count = {0};
    keel_allocator a = tb_counting_allocator(&count);
    keel_options opt;
    keel_options_init(&opt);
    opt.allocator = &a;
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 2, (int64_t[]){2, 6}, NULL);
    tb_input(b, "shape", KEEL_INT64, 1, (int64_t[]){2}, NULL);
    tb_output(b, "y", KEEL_FLOAT, 2, (int64_t[]){-1, -1});
    tb_output(b, "z", KEEL_FLOAT, 2, (int64_t[]){2, 6});
    tb_init_f32(b, "zero", 1, (int64_t[]){1}, (float[]){0});
    tb_node(b, "Sub", "neg", "zero,x", "nx");
    tb_node(b, "Reshape", "reshape", "nx,shape", "r");
    tb_node(b, "Relu", "relu", "r", "y");
    tb_node(b, "Relu", "relu2", "x", "z");
    keel_model *m = load(b, &opt);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *s;
    char err[1024];
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, &opt, NULL, 0, NULL, err, sizeof err), KEEL_OK);
    CU_ASSERT_EQUAL(s->plans[0]->n_dynamic, 2);
    keel_tensor info;
    keel_session_output_info(s, 0, &info);
    CU_ASSERT_EQUAL(info.rank, -1);
    keel_session_output_info(s, 1, &info);
    CU_ASSERT_EQUAL(info.rank, 2);
    float x[12];
    for (int i = 0; i < 12; i++)
        x[i] = (float)(i - 6);
    int64_t shapes[3][2] = {{3, 4}, {12, 1}, {5, 5}};
    for (int t = 0; t < 3; t++) {
        keel_tensor in[2] = {{KEEL_FLOAT, 2, {2, 6}, x}, {KEEL_INT64, 1, {2}, shapes[t]}};
        keel_tensor out[2] = {{0}};
        long before = count.total_allocs;
        keel_status st = keel_session_run(s, in, out);
        if (t == 2) { /* 25 elements cannot hold 12 */
            CU_ASSERT_EQUAL(st, KEEL_ERR_SHAPE);
            CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "reshape"));
            break;
        }
        CU_ASSERT_EQUAL_FATAL(st, KEEL_OK);
        CU_ASSERT_EQUAL(out[0].rank, 2);
        CU_ASSERT_EQUAL(out[0].dims[0], shapes[t][0]);
        CU_ASSERT_EQUAL(out[0].dims[1], shapes[t][1]);
        const float *y = out[0].data, *z = out[1].data;
        for (int i = 0; i < 12; i++) {
            CU_ASSERT_EQUAL(y[i], x[i] < 0 ? -x[i] : 0.0f);
            CU_ASSERT_EQUAL(z[i], x[i] > 0 ? x[i] : 0.0f);
        }
        if (t == 1) /* same element count: the buffers of the first run are reused */
            CU_ASSERT_EQUAL(count.total_allocs, before);
        /* a caller buffer cannot receive a data-dependent output */
        float buf[12];
        keel_tensor out2[2] = {{.data = buf}, {0}};
        CU_ASSERT_EQUAL(keel_session_run(s, in, out2), KEEL_ERR_ARGUMENT);
    }
    keel_session_free(s);
    keel_model_free(m);
    CU_ASSERT_EQUAL(count.live_blocks, 0);
    CU_ASSERT_EQUAL(count.size_mismatch, 0);
    tb_free(b);
}

/* A TensorProto file of the conformance suite, or NULL. */
static kl_tensor *read_pb(kl_env *env, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    kl_tensor *t = NULL;
    char *name = NULL;
    if (kl_tensor_from_pb(env, buf, n, path, &t, &name) != KEEL_OK)
        return NULL;
    kl_free(env, name, strlen(name) + 1);
    return t;
}

/* If and Loop whose condition and trip count are graph inputs given
 * without data: planned and run at each run, results as the suite's. */
static void run_control_case(const char *dir, int n_in, int n_out)
{
    char path[512];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    keel_model *m = NULL;
    char err[1024];
    CU_ASSERT_EQUAL_FATAL(keel_model_load(&m, path, NULL, err, sizeof err), KEEL_OK);
    keel_session *s;
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, NULL, NULL, 0, NULL, err, sizeof err), KEEL_OK);
    CU_ASSERT(s->plans[0]->n_dynamic >= 1);
    kl_env env;
    kl_env_init(&env, NULL);
    kl_tensor *in[4] = {0}, *want[4] = {0};
    keel_tensor ins[4], outs[4] = {{0}};
    for (int k = 0; k < n_in; k++) {
        snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, k);
        CU_ASSERT_PTR_NOT_NULL_FATAL(in[k] = read_pb(&env, path));
        ins[k] = *in[k];
    }
    for (int run = 0; run < 2; run++) { /* the second run reuses the buffers */
        CU_ASSERT_EQUAL_FATAL(keel_session_run(s, ins, outs), KEEL_OK);
        for (int k = 0; k < n_out; k++) {
            snprintf(path, sizeof path, "%s/test_data_set_0/output_%d.pb", dir, k);
            if (!want[k])
                CU_ASSERT_PTR_NOT_NULL_FATAL(want[k] = read_pb(&env, path));
            CU_ASSERT_EQUAL(kl_numel(&outs[k]), kl_numel(want[k]));
            CU_ASSERT_EQUAL(memcmp(outs[k].data, want[k]->data, kl_nbytes(want[k])), 0);
            outs[k].data = NULL;
        }
    }
    for (int k = 0; k < 4; k++) {
        kl_tensor_free(&env, in[k]);
        kl_tensor_free(&env, want[k]);
    }
    keel_session_free(s);
    keel_model_free(m);
}

static void test_if_and_loop_at_run_time(void)
{
    run_control_case("/usr/share/libonnx-testdata/data/node/test_if", 1, 1);
    run_control_case("/usr/share/libonnx-testdata/data/node/test_loop11", 3, 2);
}

/* Every conformance node model keel can plan: no two live values overlap. */
static void test_plans_never_overlap(void)
{
    const char *root = "/usr/share/libonnx-testdata/data/node";
    DIR *d = opendir(root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    int planned = 0, conflicts = 0;
    for (struct dirent *e; (e = readdir(d));) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/model.onnx", root, e->d_name);
        if (e->d_name[0] == '.' || access(path, R_OK))
            continue;
        keel_model *m;
        keel_session *s;
        if (keel_model_load(&m, path, NULL, NULL, 0))
            continue;
        if (keel_session_create(&s, m, NULL, NULL, 0, NULL, NULL, 0) == KEEL_OK && s->n_plans) {
            planned++;
            int c = kl_session_plan_conflicts(s->plans[0]);
            if (c)
                fprintf(stderr, "\n  %s: %d overlapping live values", e->d_name, c);
            conflicts += c;
        }
        keel_session_free(s);
        keel_model_free(m);
    }
    closedir(d);
    fprintf(stderr, "\n  %d conformance models planned\n", planned);
    CU_ASSERT_TRUE(planned > 100);
    CU_ASSERT_EQUAL(conflicts, 0);
}

/* ---- a custom op through the public API alone ---------------------------------- */

static keel_status scaled_square_infer(keel_op_context *c, void *user)
{
    (void)user;
    const keel_tensor *x = keel_op_input(c, 0);
    if (keel_op_input_count(c) != 1 || x->dtype != KEEL_FLOAT)
        return keel_op_fail(c, KEEL_ERR_SHAPE, "wants one float input");
    keel_tensor *y = keel_op_output(c, 0);
    *y = *x;
    y->data = NULL;
    return KEEL_OK;
}

static keel_status scaled_square_run(keel_op_context *c, void *user)
{
    int *calls = user;
    const keel_tensor *x = keel_op_input(c, 0);
    keel_tensor *y = keel_op_output(c, 0);
    float scale = keel_op_attr_float(c, "scale", 1.0f);
    for (int64_t i = 0; i < keel_tensor_numel(x); i++) {
        float v = ((const float *)x->data)[i];
        if (v < -100.0f)
            return keel_op_fail(c, KEEL_ERR_RUNTIME, "input below -100");
        ((float *)y->data)[i] = scale * v * v;
    }
    (*calls)++;
    return KEEL_OK;
}

static void test_custom_op(void)
{
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 2, d23, NULL);
    tb_output(b, "out", KEEL_FLOAT, 2, d23);
    Onnx__NodeProto *n = tb_node(b, "ScaledSquare", "sq", "x", "y");
    n->domain = "com.example";
    tb_attr_float(b, n, "scale", 0.5f);
    tb_node(b, "Relu", "relu", "y", "out");
    static Onnx__OperatorSetIdProto custom_set = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    custom_set.domain = "com.example";
    custom_set.has_version = 1;
    custom_set.version = 1;
    Onnx__OperatorSetIdProto *sets[2] = {tb_proto(b)->opset_import[0], &custom_set};
    tb_proto(b)->opset_import = sets;
    tb_proto(b)->n_opset_import = 2;
    keel_model *m = load(b, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *s;
    char err[1024];
    /* without the op: refused, naming it */
    CU_ASSERT_EQUAL(keel_session_create(&s, m, NULL, NULL, 0, NULL, err, sizeof err), KEEL_ERR_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "com.example.ScaledSquare"));
    int calls = 0;
    keel_custom_op op = {"com.example", "ScaledSquare", 1, 0, scaled_square_infer, scaled_square_run, &calls};
    CU_ASSERT_EQUAL_FATAL(keel_model_add_op(m, &op), KEEL_OK);
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, NULL, NULL, 0, NULL, err, sizeof err), KEEL_OK);
    float x[6] = {1, -2, 3, -4, 5, -6}, y[6];
    keel_tensor in = {KEEL_FLOAT, 2, {2, 3}, x}, out = {.data = y};
    CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_OK);
    for (int i = 0; i < 6; i++)
        CU_ASSERT_DOUBLE_EQUAL(y[i], 0.5f * x[i] * x[i], 1e-6);
    CU_ASSERT_EQUAL(calls, 1);
    x[2] = -1000;
    CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_ERR_RUNTIME);
    CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "'sq'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "below -100"));
    keel_session_free(s);
    keel_model_free(m);
    tb_proto(b)->opset_import = NULL;
    tb_proto(b)->n_opset_import = 0;
    tb_free(b);
}

/* ---- the thread pool -------------------------------------------------------------- */

typedef struct fill_job {
    int *hits;
} fill_job;

static void mark_range(void *arg, int64_t lo, int64_t hi)
{
    fill_job *j = arg;
    for (int64_t i = lo; i < hi; i++)
        j->hits[i]++;
}

static void test_pool_covers_every_item_once(void)
{
    kl_env env;
    kl_env_init(&env, NULL);
    for (int threads = 1; threads <= 4; threads++) {
        kl_pool *pool = kl_pool_new(&env, threads);
        CU_ASSERT_EQUAL(kl_pool_threads(pool), threads);
        for (int64_t n = 0; n < 40; n += 3) {
            int hits[40] = {0};
            fill_job j = {hits};
            for (int round = 0; round < 5; round++)
                kl_parallel_for(pool, n, mark_range, &j);
            for (int64_t i = 0; i < 40; i++)
                CU_ASSERT_EQUAL(hits[i], i < n ? 5 : 0);
        }
        kl_pool_free(pool);
    }
}

typedef struct range_job {
    int64_t lo[40], hi[40]; /* per item: the range it ran in (each item's own entries: no race) */
} range_job;

static void note_range(void *arg, int64_t lo, int64_t hi)
{
    range_job *j = arg;
    for (int64_t i = lo; i < hi; i++)
        j->lo[i] = lo, j->hi[i] = hi;
}

/* kl_parallel_for_fine: every item once, in ranges of at most a share's
 * (n / threads, rounded up) 1 / ranges_per_thread, none across two
 * threads' shares: with 10 items, 2 threads and 4 ranges each, shares
 * [0, 5) and [5, 10), not a range [4, 6). */
static void test_pool_fine_ranges(void)
{
    kl_env env;
    kl_env_init(&env, NULL);
    for (int threads = 2; threads <= 4; threads++) {
        kl_pool *pool = kl_pool_new(&env, threads);
        for (int per = 1; per <= 4; per++)
            for (int64_t n = 1; n <= 40; n++) {
                range_job j;
                for (int64_t i = 0; i < 40; i++)
                    j.lo[i] = j.hi[i] = -1;
                kl_parallel_for_fine(pool, n, per, note_range, &j);
                const int64_t share = (n + threads - 1) / threads, chunk = (share + per - 1) / per;
                for (int64_t i = 0; i < n; i++) {
                    CU_ASSERT(j.lo[i] >= 0 && j.lo[i] <= i && i < j.hi[i]);
                    CU_ASSERT(j.hi[i] - j.lo[i] <= chunk);
                    CU_ASSERT_EQUAL(j.lo[i] / share, (j.hi[i] - 1) / share);
                }
                for (int64_t i = n; i < 40; i++)
                    CU_ASSERT_EQUAL(j.lo[i], -1);
            }
        kl_pool_free(pool);
    }
}

typedef struct slot_job {
    kl_pool *pool;
    int ranges[4], slots[4];
} slot_job;

static void record_slot(void *arg, int64_t lo, int64_t hi)
{
    slot_job *j = arg;
    j->ranges[lo] += (int)(hi - lo);
    j->slots[lo] = kl_pool_slot(j->pool, 0, lo);
}

/* kl_parallel_for_each_thread: thread t runs range t, and only it, every
 * time, mixed with kl_parallel_for's claimed ranges. */
static void test_pool_each_thread_its_range(void)
{
    kl_env env;
    kl_env_init(&env, NULL);
    for (int threads = 1; threads <= 4; threads++) {
        kl_pool *pool = kl_pool_new(&env, threads);
        for (int round = 0; round < 20; round++) {
            slot_job j = {pool, {0}, {-1, -1, -1, -1}};
            kl_parallel_for_each_thread(pool, record_slot, &j);
            for (int t = 0; t < 4; t++) {
                CU_ASSERT_EQUAL(j.ranges[t], t < threads ? 1 : 0);
                CU_ASSERT_EQUAL(j.slots[t], t < threads ? t : -1);
            }
            int hits[7] = {0};
            fill_job f = {hits};
            kl_parallel_for(pool, 7, mark_range, &f);
            for (int i = 0; i < 7; i++)
                CU_ASSERT_EQUAL(hits[i], 1);
        }
        kl_pool_free(pool);
    }
}

/* A binary op with x [3, 40, 30, 30] and b of `bdims` (graph inputs both,
 * so that the batch does not split), at 1 and 2 threads (its rows split
 * over them from 32768 outputs), against a plain loop over the broadcast. */
static void check_binary_split(const char *op, int brank, const int64_t *bdims)
{
    static const int64_t xd[4] = {3, 40, 30, 30};
    const size_t nx = 3 * 40 * 30 * 30;
    size_t nb = 1;
    for (int i = 0; i < brank; i++)
        nb *= (size_t)bdims[i];
    float *x = malloc(nx * sizeof *x), *bv = malloc(nb * sizeof *bv), *y = malloc(nx * sizeof *y);
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)(i % 97) * 0.125f - 6.0f;
    for (size_t i = 0; i < nb; i++)
        bv[i] = (float)(i % 13) * 0.25f + 0.5f;
    for (int threads = 1; threads <= 2; threads++) {
        tb_model *b = tb_new(8, 13);
        tb_input(b, "x", KEEL_FLOAT, 4, xd, NULL);
        tb_output(b, "y", KEEL_FLOAT, 4, xd);
        tb_input(b, "b", KEEL_FLOAT, brank, bdims, NULL);
        tb_node(b, op, "op", "x,b", "y");
        keel_model *m = load(b, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        keel_session *s;
        char err[256];
        CU_ASSERT_EQUAL_FATAL(tb_session(&s, m, KEEL_ISA_AUTO, threads, NULL, err, sizeof err), KEEL_OK);
        keel_tensor in[2] = {{KEEL_FLOAT, 4, {3, 40, 30, 30}, x}, {KEEL_FLOAT, brank, {0}, bv}}, out = {.data = y};
        memcpy(in[1].dims, bdims, (size_t)brank * sizeof *bdims);
        CU_ASSERT_EQUAL(keel_session_run(s, in, &out), KEEL_OK);
        CU_ASSERT_EQUAL(s->plans[0]->batch, 0);
        size_t wrong = 0;
        for (size_t i = 0; i < nx; i++) {
            const int64_t at[4] = {(int64_t)(i / 36000), (int64_t)(i / 900 % 40), (int64_t)(i / 30 % 30),
                                   (int64_t)(i % 30)};
            size_t k = 0;
            for (int d = 0; d < brank; d++) {
                const int64_t dim = bdims[d], pos = at[4 - brank + d];
                k = k * (size_t)dim + (size_t)(dim == 1 ? 0 : pos);
            }
            const float want = !strcmp(op, "Mul") ? x[i] * bv[k] : !strcmp(op, "Add") ? x[i] + bv[k] : x[i] - bv[k];
            wrong += y[i] != want;
        }
        CU_ASSERT_EQUAL(wrong, 0);
        keel_session_free(s);
        keel_model_free(m);
        tb_free(b);
    }
    free(x), free(bv), free(y);
}

static void test_binary_split_rows(void)
{
    static const int64_t per_channel[4] = {1, 40, 1, 1}, per_column[1] = {30}, rows[3] = {40, 30, 1};
    check_binary_split("Mul", 4, per_channel);
    check_binary_split("Add", 1, per_column);
    check_binary_split("Sub", 3, rows);
}

/* ---- threads: two sessions of one model, run at once ------------------------------ */

typedef struct runner {
    keel_session *s;
    float x[6], y[6];
    int runs;
    keel_status st;
} runner;

static void *run_many(void *p)
{
    runner *r = p;
    keel_tensor in = {KEEL_FLOAT, 2, {2, 3}, r->x}, out = {.data = r->y};
    for (int i = 0; i < r->runs && !r->st; i++)
        r->st = keel_session_run(r->s, &in, &out);
    return NULL;
}

static void test_sessions_in_parallel(void)
{
    tb_model *b = chain_model(d23, NULL);
    keel_model *m = load(b, NULL);
    keel_options opt;
    keel_options_init(&opt);
    opt.threads = 2; /* each session also has a worker of its own */
    runner r[2] = {{.runs = 2000}, {.runs = 2000}};
    for (int k = 0; k < 2; k++) {
        CU_ASSERT_EQUAL_FATAL(keel_session_create(&r[k].s, m, &opt, NULL, 0, NULL, NULL, 0), KEEL_OK);
        for (int i = 0; i < 6; i++)
            r[k].x[i] = (float)(i + 1) * (k ? -0.5f : 0.75f);
    }
    pthread_t t[2];
    for (int k = 0; k < 2; k++)
        pthread_create(&t[k], NULL, run_many, &r[k]);
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], NULL);
    for (int k = 0; k < 2; k++) {
        float want[6];
        expected_chain(r[k].x, want);
        CU_ASSERT_EQUAL(r[k].st, KEEL_OK);
        for (int i = 0; i < 6; i++)
            CU_ASSERT_DOUBLE_EQUAL(r[k].y[i], want[i], 1e-6);
        keel_session_free(r[k].s);
    }
    keel_model_free(m);
    tb_free(b);
}

void add_runtime_suite(void)
{
    CU_pSuite s = CU_add_suite("runtime", NULL, NULL);
    CU_add_test(s, "run a chain", test_run_chain);
    CU_add_test(s, "a run allocates nothing; creation failure sweep", test_run_allocates_nothing);
    CU_add_test(s, "wrong input shape at run", test_wrong_input_shape);
    CU_add_test(s, "symbolic dims", test_symbolic_dims);
    CU_add_test(s, "log callback and names", test_log_and_names);
    CU_add_test(s, "missing ops listed at once", test_missing_ops_listed);
    CU_add_test(s, "Shape chain folds; Reshape is a view", test_shape_chain_folds);
    CU_add_test(s, "plans never overlap", test_plans_never_overlap);
    CU_add_test(s, "shapes that depend on data are planned at run time", test_data_dependent_shapes);
    CU_add_test(s, "If and Loop planned at run time", test_if_and_loop_at_run_time);
    CU_add_test(s, "custom op through the public API", test_custom_op);
    CU_add_test(s, "thread pool covers every item once", test_pool_covers_every_item_once);
    CU_add_test(s, "thread pool: fine ranges within each thread's share", test_pool_fine_ranges);
    CU_add_test(s, "each thread runs its own range", test_pool_each_thread_its_range);
    CU_add_test(s, "binary ops split their rows over two threads", test_binary_split_rows);
    CU_add_test(s, "depthwise kernels match a direct loop", test_depthwise_kernels);
    CU_add_test(s, "Transpose moves every bit where the permutation says", test_transpose_planes);
    CU_add_test(s, "Slice moves every bit where its starts and steps say", test_slice_threads);
    CU_add_test(s, "conv kernels match a direct loop on every instruction set", test_conv_kernels);
    CU_add_test(s, "the blocked layout's convs and MaxPool match the plain layout's", test_blocked_conv);
    CU_add_test(s, "a mobile block (depthwise, squeeze-excite) in the blocked layout", test_blocked_mobile);
    CU_add_test(s, "weights packed whole and in blocks of rows land where the layout says", test_pack_rows_in_blocks);
    CU_add_test(s, "MaxPool 3x3 and 2x2, stride 2 and 1, against window maxima", test_maxpool);
    CU_add_test(s, "AveragePool 3x3 stride 1 padding 1 against window sums", test_avgpool_same);
    CU_add_test(s, "Concat planned in place", test_concat_in_place);
    CU_add_test(s, "Concat slice not written in place", test_concat_slice_not_in_place);
    CU_add_test(s, "Pad fused into Conv and AveragePool", test_pad_fusion);
    CU_add_test(s, "Sigmoid in blocks over two threads", test_sigmoid_blocks);
    CU_add_test(s, "SiLU and HardSwish fuse through a folded BatchNormalization", test_gated_after_folded_bn);
    CU_add_test(s, "two sessions of one model in two threads", test_sessions_in_parallel);
    CU_add_test(s, "Dropout with ratio and training_mode known at run time", test_dropout_runtime_ratio);
}
