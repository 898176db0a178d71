/* test_malformed.c -- hostile models: each is refused with its own error
 * naming the file and the node or tensor at fault, and nothing crashes
 * (the sanitizer build runs these too). */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "testutil.h"

static const int64_t d23[] = {2, 3};

/* Loads b and creates a session; returns the first failing status, with
 * the message in err. */
static keel_status load_and_plan(tb_model *b, char *err, size_t n, keel_session **out, keel_model **mout)
{
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    keel_model *m = NULL;
    keel_session *s = NULL;
    keel_status st = keel_model_load_buffer(&m, buf, len, NULL, "bad.onnx", NULL, err, n);
    free(buf);
    if (!st)
        st = keel_session_create(&s, m, NULL, NULL, 0, NULL, err, n);
    if (out && !st)
        *out = s;
    else
        keel_session_free(s);
    if (mout && !st)
        *mout = m;
    else
        keel_model_free(m);
    return st;
}

static void expect(tb_model *b, keel_status want, const char *n1, const char *n2)
{
    char err[1024] = "";
    keel_status st = load_and_plan(b, err, sizeof err, NULL, NULL);
    CU_ASSERT_EQUAL(st, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "bad.onnx"));
    if (n1)
        CU_ASSERT_PTR_NOT_NULL(strstr(err, n1));
    if (n2)
        CU_ASSERT_PTR_NOT_NULL(strstr(err, n2));
    if (st != want || (n1 && !strstr(err, n1)) || (n2 && !strstr(err, n2)))
        fprintf(stderr, "\n  unexpected (status %d): %s\n", st, err);
    tb_free(b);
}

static tb_model *conv_model(int64_t c_in, int64_t w_cin, int64_t group)
{
    tb_model *b = tb_new(8, 13);
    int64_t xd[] = {1, c_in, 5, 5}, wd[] = {4, w_cin, 3, 3};
    tb_input(b, "x", KEEL_FLOAT, 4, xd, NULL);
    tb_output(b, "y", KEEL_FLOAT, 4, (int64_t[]){1, 4, 3, 3});
    float w[4 * 8 * 9] = {0};
    tb_init_f32(b, "w", 4, wd, w);
    Onnx__NodeProto *n = tb_node(b, "Conv", "conv0", "x,w", "y");
    tb_attr_int(b, n, "group", group);
    return b;
}

static void test_conv_channels(void)
{
    expect(conv_model(3, 2, 1), KEEL_ERR_SHAPE, "'conv0'", "channels");
    expect(conv_model(4, 2, 3), KEEL_ERR_SHAPE, "'conv0'", "group");
}

static void test_wrong_dtype(void)
{
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_INT64, 2, d23, NULL);
    tb_output(b, "y", KEEL_FLOAT, 2, d23);
    tb_node(b, "Sigmoid", "sig", "x", "y");
    expect(b, KEEL_ERR_UNSUPPORTED, "'sig'", "int64");
}

static void test_attribute_kind(void)
{
    tb_model *b = conv_model(4, 4, 1);
    Onnx__NodeProto *n = tb_proto(b)->graph->node[0];
    tb_attr_float(b, n, "strides", 2.0f);
    expect(b, KEEL_ERR_INVALID, "'strides' is FLOAT", "INTS expected");
}

static void test_reshape_impossible(void)
{
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 2, d23, NULL);
    tb_output(b, "y", KEEL_FLOAT, 2, (int64_t[]){4, 2});
    int64_t shape[] = {4, 2};
    tb_init_raw(b, "shape", KEEL_INT64, 1, (int64_t[]){2}, shape, sizeof shape);
    tb_node(b, "Reshape", "reshape0", "x,shape", "y");
    expect(b, KEEL_ERR_SHAPE, "'reshape0'", NULL);
}

/* Empty tensors are valid and run; dims too large for the tensor limit are
 * refused at creation, naming the input. */
static void test_zero_and_huge_dims(void)
{
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 2, (int64_t[]){0, 3}, NULL);
    tb_output(b, "y", KEEL_FLOAT, 2, (int64_t[]){0, 3});
    tb_node(b, "Relu", "relu0", "x", "y");
    keel_session *s = NULL;
    keel_model *m = NULL;
    char err[1024];
    CU_ASSERT_EQUAL_FATAL(load_and_plan(b, err, sizeof err, &s, &m), KEEL_OK);
    keel_tensor in = {KEEL_FLOAT, 2, {0, 3}, NULL}, out = {0};
    CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_OK);
    CU_ASSERT_EQUAL(out.rank, 2);
    CU_ASSERT_EQUAL(out.dims[0], 0);
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
    b = tb_new(8, 13);
    tb_input(b, "big", KEEL_FLOAT, 2, (int64_t[]){1 << 20, 1 << 20}, NULL);
    tb_output(b, "y", KEEL_FLOAT, 2, (int64_t[]){1 << 20, 1 << 20});
    tb_node(b, "Relu", "relu0", "big", "y");
    expect(b, KEEL_ERR_LIMIT, "'big'", "limit");
}

static void test_opset_too_new(void)
{
    tb_model *b = tb_new(8, 99);
    tb_input(b, "x", KEEL_FLOAT, 2, d23, NULL);
    tb_output(b, "y", KEEL_FLOAT, 2, d23);
    tb_node(b, "Relu", "r", "x", "y");
    expect(b, KEEL_ERR_UNSUPPORTED, "opset 99", NULL);
}

static void test_missing_input_value(void)
{
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 2, d23, NULL);
    tb_output(b, "y", KEEL_FLOAT, 2, d23);
    tb_node(b, "Add", "add0", "x,bias", "y"); /* 'bias' is neither initializer nor input */
    char err[1024];
    CU_ASSERT_EQUAL(load_and_plan(b, err, sizeof err, NULL, NULL), KEEL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'bias'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'add0'"));
    tb_free(b);
}

static void test_gather_out_of_range_at_run(void)
{
    tb_model *b = tb_new(8, 13);
    tb_input(b, "data", KEEL_FLOAT, 2, (int64_t[]){4, 3}, NULL);
    tb_input(b, "idx", KEEL_INT64, 1, (int64_t[]){2}, NULL);
    tb_output(b, "y", KEEL_FLOAT, 2, d23);
    tb_node(b, "Gather", "gather0", "data,idx", "y");
    keel_session *s;
    keel_model *m;
    char err[1024];
    CU_ASSERT_EQUAL_FATAL(load_and_plan(b, err, sizeof err, &s, &m), KEEL_OK);
    float data[12], y[6];
    for (int i = 0; i < 12; i++)
        data[i] = 10.0f * (float)(i / 3) + (float)(i % 3); /* row r: 10r, 10r + 1, 10r + 2 */
    int64_t idx[2] = {1, 7};
    keel_tensor in[2] = {{KEEL_FLOAT, 2, {4, 3}, data}, {KEEL_INT64, 1, {2}, idx}}, out = {.data = y};
    CU_ASSERT_EQUAL(keel_session_run(s, in, &out), KEEL_ERR_RUNTIME);
    CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "'gather0'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "7"));
    /* after the refused run the session still runs: -4 counts from the end, row 0 */
    idx[1] = -4;
    tb_fill_nan(y, 6);
    CU_ASSERT_EQUAL(keel_session_run(s, in, &out), KEEL_OK);
    static const float want[6] = {10, 11, 12, 0, 1, 2};
    CU_ASSERT_EQUAL(out.rank, 2);
    CU_ASSERT_TRUE(out.dims[0] == 2 && out.dims[1] == 3);
    CU_ASSERT_EQUAL(memcmp(y, want, sizeof want), 0);
    idx[0] = 3, idx[1] = -1; /* both the last row */
    CU_ASSERT_EQUAL(keel_session_run(s, in, &out), KEEL_OK);
    static const float last[6] = {30, 31, 32, 30, 31, 32};
    CU_ASSERT_EQUAL(memcmp(y, last, sizeof last), 0);
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
}

/* Random bit flips in a valid model: whatever happens, a status comes back
 * (under the sanitizers: no invalid access, no leak).  A refused load,
 * plan or run says why, naming the file; a run that succeeds writes every
 * output byte, the same bytes twice (checked with buffers filled with 0x00
 * and with 0xff before the two runs). */
static bool shape_known(const keel_tensor *t)
{
    for (int d = 0; d < t->rank; d++)
        if (t->dims[d] < 0)
            return false;
    return t->rank >= 0;
}

/* Whether every output of s has a known shape. */
static bool planned_ahead(const keel_session *s)
{
    for (int k = 0; k < keel_session_output_count(s); k++) {
        keel_tensor t;
        if (keel_session_output_info(s, k, &t) != KEEL_OK || !shape_known(&t))
            return false;
    }
    return true;
}

static void test_bit_flips(void)
{
    static const float w[] = {1, -2, 3, -4, 5, -6};
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 2, d23, NULL);
    tb_output(b, "y", KEEL_FLOAT, 2, d23);
    tb_init_f32(b, "w", 2, d23, w);
    tb_node(b, "Add", "add", "x,w", "s");
    tb_node(b, "Relu", "relu", "s", "y");
    size_t len;
    uint8_t *good = tb_pack(b, &len);
    uint8_t *buf = malloc(len);
    uint64_t rng = 12345;
    int refused = 0, ran = 0, run_refused = 0;
    for (int trial = 0; trial < 2000; trial++) {
        memcpy(buf, good, len);
        for (int f = 0; f < 1 + trial % 3; f++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            size_t bit = (size_t)(rng >> 33) % (len * 8);
            buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        keel_model *m = NULL;
        keel_session *s = NULL;
        char err[256];
        if (keel_model_load_buffer(&m, buf, len, NULL, "flip.onnx", NULL, err, sizeof err) ||
            keel_session_create(&s, m, NULL, NULL, 0, NULL, err, sizeof err)) {
            refused++;
            CU_ASSERT_PTR_NOT_NULL(strstr(err, "flip.onnx"));
        } else {
            int n_in = keel_session_input_count(s), n_out = keel_session_output_count(s);
            /* a flip may drop the output's entry: ONNX's checker takes such a graph too */
            CU_ASSERT_TRUE_FATAL(n_in >= 0 && n_in <= 4 && n_out >= 0 && n_out <= 4);
            keel_tensor in[4], out[2][4];
            for (int k = 0; k < n_in; k++) {
                CU_ASSERT_EQUAL(keel_session_input_info(s, k, &in[k]), KEEL_OK);
                /* a flip may leave a dim unknown: nothing was planned ahead,
                 * and the run at 1 plans it */
                if (in[k].rank < 0)
                    in[k].rank = 0;
                for (int d = 0; d < in[k].rank; d++)
                    if (in[k].dims[d] < 0)
                        in[k].dims[d] = 1;
                in[k].data = calloc(1, keel_tensor_bytes(&in[k]) + 1);
            }
            if (!planned_ahead(s)) { /* a first run plans; its outputs' shapes are then known */
                keel_tensor lent[4];
                memset(lent, 0, sizeof lent);
                keel_session_run(s, in, lent);
            }
            size_t out_bytes[4];
            for (int k = 0; k < n_out; k++) {
                CU_ASSERT_EQUAL(keel_session_output_info(s, k, &out[0][k]), KEEL_OK);
                if (!shape_known(&out[0][k])) /* the first run failed: so do the two below */
                    out[0][k].rank = 0;
                out[1][k] = out[0][k];
                out_bytes[k] = keel_tensor_bytes(&out[0][k]);
                for (int r = 0; r < 2; r++) {
                    out[r][k].data = malloc(out_bytes[k] + 1);
                    memset(out[r][k].data, r ? 0xff : 0x00, out_bytes[k] + 1);
                }
            }
            keel_status st[2];
            for (int r = 0; r < 2; r++) {
                st[r] = keel_session_run(s, in, out[r]);
                CU_ASSERT(st[r] >= KEEL_OK && st[r] <= KEEL_ERR_LIMIT);
                if (st[r] != KEEL_OK)
                    CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "flip.onnx"));
            }
            CU_ASSERT_EQUAL(st[0], st[1]); /* the same input, the same outcome */
            if (st[0] == KEEL_OK && st[1] == KEEL_OK) {
                for (int k = 0; k < n_out; k++) {
                    CU_ASSERT_EQUAL(keel_tensor_bytes(&out[0][k]), out_bytes[k]);
                    CU_ASSERT_EQUAL(memcmp(out[0][k].data, out[1][k].data, out_bytes[k]), 0);
                }
                ran++;
            } else
                run_refused++;
            for (int k = 0; k < n_in; k++)
                free(in[k].data);
            for (int k = 0; k < n_out; k++)
                free(out[0][k].data), free(out[1][k].data);
        }
        keel_session_free(s);
        keel_model_free(m);
    }
    /* both outcomes are exercised: many flips are refused, many (a weight's
     * bits, a name's) leave a model that runs */
    CU_ASSERT_TRUE(refused > 0);
    CU_ASSERT_TRUE(ran > 0);
    CU_ASSERT_EQUAL(refused + ran + run_refused, 2000);
    fprintf(stderr, "\n  2000 flipped models: %d refused at load or plan, %d refused at run, %d ran\n", refused,
            run_refused, ran);
    free(buf);
    free(good);
    tb_free(b);
}

/* A small CNN: Conv -> Relu -> MaxPool -> GlobalAveragePool -> Flatten -> Gemm. */
typedef struct cnn_weights {
    float w[8 * 27], bias[8], g[40], gb[5];
} cnn_weights;

static void cnn_weights_fill(cnn_weights *p)
{
    for (int i = 0; i < 8 * 27; i++)
        p->w[i] = (float)((i * 37) % 17 - 8) / 16.0f;
    for (int i = 0; i < 8; i++)
        p->bias[i] = 0.1f * (float)i - 0.3f;
    for (int i = 0; i < 40; i++)
        p->g[i] = (float)((i * 13) % 11 - 5) / 8.0f;
    for (int i = 0; i < 5; i++)
        p->gb[i] = 0.05f * (float)i;
}

static void cnn_input(float *x)
{
    for (int i = 0; i < 3 * 144; i++)
        x[i] = (float)(i % 23) / 11.0f - 1.0f;
}

/* The CNN computed directly, in double. */
static void cnn_reference(double *y)
{
    cnn_weights p;
    cnn_weights_fill(&p);
    float x[3 * 144];
    cnn_input(x);
    double r[8][12][12], gap[8];
    for (int m = 0; m < 8; m++)
        for (int oy = 0; oy < 12; oy++)
            for (int ox = 0; ox < 12; ox++) {
                double acc = p.bias[m];
                for (int c = 0; c < 3; c++)
                    for (int a = 0; a < 3; a++)
                        for (int bb = 0; bb < 3; bb++) {
                            int iy = oy - 1 + a, ix = ox - 1 + bb;
                            if (iy >= 0 && iy < 12 && ix >= 0 && ix < 12)
                                acc += (double)p.w[((m * 3 + c) * 3 + a) * 3 + bb] * x[(c * 12 + iy) * 12 + ix];
                        }
                r[m][oy][ox] = acc > 0 ? acc : 0;
            }
    for (int m = 0; m < 8; m++) {
        double sum = 0;
        for (int py = 0; py < 6; py++)
            for (int px = 0; px < 6; px++)
                sum += fmax(fmax(r[m][2 * py][2 * px], r[m][2 * py][2 * px + 1]),
                            fmax(r[m][2 * py + 1][2 * px], r[m][2 * py + 1][2 * px + 1]));
        gap[m] = sum / 36;
    }
    for (int o = 0; o < 5; o++) {
        y[o] = p.gb[o];
        for (int m = 0; m < 8; m++)
            y[o] += (double)p.g[o * 8 + m] * gap[m];
    }
}

static tb_model *small_cnn(void)
{
    tb_model *b = tb_new(8, 13);
    int64_t xd[] = {1, 3, 12, 12}, wd[] = {8, 3, 3, 3}, gd[] = {5, 8};
    cnn_weights p;
    cnn_weights_fill(&p);
    float *w = p.w, *bias = p.bias, *g = p.g, *gb = p.gb;
    tb_input(b, "x", KEEL_FLOAT, 4, xd, NULL);
    tb_output(b, "y", KEEL_FLOAT, 2, (int64_t[]){1, 5});
    tb_init_f32(b, "w", 4, wd, w);
    tb_init_f32(b, "b", 1, (int64_t[]){8}, bias);
    tb_init_f32(b, "g", 2, gd, g);
    tb_init_f32(b, "gb", 1, (int64_t[]){5}, gb);
    Onnx__NodeProto *conv = tb_node(b, "Conv", "conv", "x,w,b", "c");
    tb_attr_ints(b, conv, "pads", 4, (int64_t[]){1, 1, 1, 1});
    tb_node(b, "Relu", "relu", "c", "r");
    Onnx__NodeProto *mp = tb_node(b, "MaxPool", "pool", "r", "p");
    tb_attr_ints(b, mp, "kernel_shape", 2, (int64_t[]){2, 2});
    tb_attr_ints(b, mp, "strides", 2, (int64_t[]){2, 2});
    tb_node(b, "GlobalAveragePool", "gap", "p", "a");
    tb_node(b, "Flatten", "flat", "a", "f");
    Onnx__NodeProto *gemm = tb_node(b, "Gemm", "fc", "f,g,gb", "y");
    tb_attr_int(b, gemm, "transB", 1);
    return b;
}

/* Loads, plans (two threads) and runs the CNN through `count`; returns
 * the first failing status. */
static keel_status cnn_once(const uint8_t *buf, size_t len, tb_counting *count, float *y)
{
    keel_allocator a = tb_counting_allocator(count);
    keel_options opt;
    keel_options_init(&opt);
    opt.allocator = &a;
    opt.threads = 2;
    keel_model *m = NULL;
    keel_session *s = NULL;
    keel_status st = keel_model_load_buffer(&m, buf, len, NULL, "cnn.onnx", &opt, NULL, 0);
    if (!st)
        st = keel_session_create(&s, m, &opt, NULL, 0, NULL, NULL, 0);
    if (!st) {
        float x[3 * 144];
        cnn_input(x);
        keel_tensor in = {KEEL_FLOAT, 4, {1, 3, 12, 12}, x}, out = {.data = y};
        st = keel_session_run(s, &in, &out);
    }
    keel_session_free(s);
    keel_model_free(m);
    return st;
}

/* SQLite-style: every allocation of load, planning and a run fails in
 * turn; each time a clean KEEL_ERR_NOMEM, and nothing is leaked.  The
 * clean run's output matches the CNN computed directly, and a clean run
 * after the sweep gives the same bytes. */
static void test_allocation_failure_sweep(void)
{
    tb_model *b = small_cnn();
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    tb_counting clean = {0};
    float want[5], got[5];
    tb_fill_nan(want, 5);
    CU_ASSERT_EQUAL_FATAL(cnn_once(buf, len, &clean, want), KEEL_OK);
    CU_ASSERT_EQUAL(clean.live_blocks, 0);
    double ref[5];
    cnn_reference(ref);
    for (int o = 0; o < 5; o++)
        CU_ASSERT_DOUBLE_EQUAL(want[o], ref[o], 1e-5 * (1 + fabs(ref[o]))); /* NaN fails */
    int clean_fails = 0, leaks = 0;
    for (long k = 1; k <= clean.total_allocs; k++) {
        tb_counting c = {.fail_at = k};
        keel_status st = cnn_once(buf, len, &c, got);
        clean_fails += st == KEEL_ERR_NOMEM;
        leaks += c.live_blocks != 0 || c.size_mismatch != 0;
    }
    CU_ASSERT_EQUAL(clean_fails, clean.total_allocs);
    CU_ASSERT_EQUAL(leaks, 0);
    tb_counting again = {0};
    tb_fill_nan(got, 5);
    CU_ASSERT_EQUAL(cnn_once(buf, len, &again, got), KEEL_OK);
    CU_ASSERT_EQUAL(memcmp(got, want, sizeof want), 0);
    CU_ASSERT_EQUAL(again.total_allocs, clean.total_allocs);
    fprintf(stderr, "\n  %ld allocations, each failed in turn: all refused cleanly, no leak\n", clean.total_allocs);
    free(buf);
    tb_free(b);
}

/* More unsupported operators than the message has room for: the list is
 * cut at the message's end, the first ones named (the message was
 * written past its buffer's end: clang UBSan, found by scripts/fuzz.sh). */
static void test_many_unsupported_ops(void)
{
    static const int64_t d1[] = {1};
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 1, d1, NULL);
    tb_output(b, "y79", KEEL_FLOAT, 1, d1);
    char prev[32] = "x";
    for (int i = 0; i < 80; i++) {
        char op[64], name[32], out[32];
        snprintf(op, sizeof op, "NoSuchOperatorWithAFairlyLongName%02d", i);
        snprintf(name, sizeof name, "node_with_a_long_name_%02d", i);
        snprintf(out, sizeof out, "y%d", i);
        tb_node(b, op, name, prev, out);
        snprintf(prev, sizeof prev, "%s", out);
    }
    char err[4096];
    memset(err, 'z', sizeof err);
    CU_ASSERT_EQUAL(load_and_plan(b, err, sizeof err, NULL, NULL), KEEL_ERR_UNSUPPORTED);
    CU_ASSERT_TRUE(memchr(err, 0, sizeof err) != NULL);
    CU_ASSERT_TRUE(strlen(err) < 2048);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "80 operators are not supported"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "NoSuchOperatorWithAFairlyLongName00 (opset 13, unknown op): nodes 0 'node_with_a_long_name_00'"));
    tb_free(b);
}

/* Sum of [1], [1] and [13]: the first two are both broadcast over the
 * output (read past a one-element input before: ASan, found by
 * scripts/fuzz.sh). */
static void test_sum_two_broadcast_first(void)
{
    static const int64_t d1[] = {1}, d13[] = {13};
    tb_model *b = tb_new(8, 13);
    tb_input(b, "a", KEEL_FLOAT, 1, d1, NULL);
    tb_input(b, "b", KEEL_FLOAT, 1, d1, NULL);
    tb_input(b, "c", KEEL_FLOAT, 1, d13, NULL);
    tb_output(b, "y", KEEL_FLOAT, 1, d13);
    tb_node(b, "Sum", "sum", "a,b,c", "y");
    char err[1024] = "";
    keel_session *s = NULL;
    keel_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(load_and_plan(b, err, sizeof err, &s, &m), KEEL_OK);
    float a = 1.5f, bb = -4.0f, c[13], y[13];
    for (int i = 0; i < 13; i++)
        c[i] = (float)i, y[i] = NAN;
    keel_tensor in[3] = {{KEEL_FLOAT, 1, {1}, &a}, {KEEL_FLOAT, 1, {1}, &bb}, {KEEL_FLOAT, 1, {13}, c}};
    keel_tensor out = {.data = y};
    CU_ASSERT_EQUAL(keel_session_run(s, in, &out), KEEL_OK);
    for (int i = 0; i < 13; i++)
        CU_ASSERT_DOUBLE_EQUAL(y[i], 1.5 - 4.0 + i, 1e-6);
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
}

void add_malformed_suite(void)
{
    CU_pSuite s = CU_add_suite("malformed models", NULL, NULL);
    CU_add_test(s, "Conv channels and groups", test_conv_channels);
    CU_add_test(s, "more unsupported ops than the message holds", test_many_unsupported_ops);
    CU_add_test(s, "Sum whose first two inputs both broadcast", test_sum_two_broadcast_first);
    CU_add_test(s, "wrong dtype for an op", test_wrong_dtype);
    CU_add_test(s, "attribute of the wrong kind", test_attribute_kind);
    CU_add_test(s, "Reshape to an impossible shape", test_reshape_impossible);
    CU_add_test(s, "opset newer than keel knows", test_opset_too_new);
    CU_add_test(s, "zero dims run; huge dims refused", test_zero_and_huge_dims);
    CU_add_test(s, "missing initializer or input", test_missing_input_value);
    CU_add_test(s, "Gather index out of range at run", test_gather_out_of_range_at_run);
    CU_add_test(s, "random bit flips", test_bit_flips);
    CU_add_test(s, "allocation failure sweep over a small CNN", test_allocation_failure_sweep);
}
