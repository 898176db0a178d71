/* test_passes.c -- the passes over the session graph: each optional pass
 * turned off alone leaves the outputs unchanged and the steps it would
 * have removed in place; the records of `keel info --passes` show what
 * each pass did; bad pass lists are refused by name. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"
#include "testutil.h"

#define N_OUT (16 * 36)

static float lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 65536.0f - 0.5f;
}

static void init_random(tb_model *b, const char *name, int rank, const int64_t *dims, uint32_t seed, float scale,
                        float offset)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= dims[d];
    float *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++)
        v[i] = offset + scale * lcg(&seed);
    tb_init_f32(b, name, rank, dims, v);
    free(v);
}

/* x[1,4,6,6] -> Pad -> Conv -> BatchNormalization -> Relu (r1);
 * Conv(r1) + r1 (a2); Conv(a2) * Sigmoid(itself) (m3); Conv(a2) (c4);
 * Concat(m3, c4) -> Reshape [1,-1] -> Relu (y). */
static tb_model *build_model(void)
{
    tb_model *b = tb_new(8, 13);
    int64_t xd[4] = {1, 4, 6, 6}, yd[2] = {1, N_OUT}, w1[4] = {8, 4, 3, 3}, w1x1[4] = {8, 8, 1, 1}, c8[1] = {8};
    int64_t pads_d[1] = {8}, shape_d[1] = {2};
    tb_input(b, "x", KEEL_FLOAT, 4, xd, NULL);
    tb_output(b, "y", KEEL_FLOAT, 2, yd);
    init_random(b, "w1", 4, w1, 1, 1.0f, 0.0f);
    init_random(b, "b1", 1, c8, 2, 1.0f, 0.0f);
    init_random(b, "scale", 1, c8, 3, 0.5f, 1.0f);
    init_random(b, "shift", 1, c8, 4, 0.5f, 0.0f);
    init_random(b, "mean", 1, c8, 5, 0.5f, 0.0f);
    init_random(b, "var", 1, c8, 6, 0.5f, 1.0f);
    init_random(b, "w2", 4, w1x1, 7, 1.0f, 0.0f);
    init_random(b, "w3", 4, w1x1, 8, 1.0f, 0.0f);
    init_random(b, "w4", 4, w1x1, 9, 1.0f, 0.0f);
    const int64_t pads[8] = {0, 0, 1, 1, 0, 0, 1, 1}, shape[2] = {1, -1};
    tb_init_raw(b, "pads", KEEL_INT64, 1, pads_d, pads, sizeof pads);
    tb_init_raw(b, "shape", KEEL_INT64, 1, shape_d, shape, sizeof shape);
    int64_t ks3[2] = {3, 3}, ks1[2] = {1, 1};
    tb_node(b, "Pad", "pad", "x,pads", "xp");
    tb_attr_ints(b, tb_node(b, "Conv", "conv1", "xp,w1,b1", "c1"), "kernel_shape", 2, ks3);
    tb_node(b, "BatchNormalization", "bn", "c1,scale,shift,mean,var", "n1");
    tb_node(b, "Relu", "relu1", "n1", "r1");
    tb_attr_ints(b, tb_node(b, "Conv", "conv2", "r1,w2", "c2"), "kernel_shape", 2, ks1);
    tb_node(b, "Add", "add", "c2,r1", "a2");
    tb_attr_ints(b, tb_node(b, "Conv", "conv3", "a2,w3", "c3"), "kernel_shape", 2, ks1);
    tb_node(b, "Sigmoid", "gate", "c3", "g3");
    tb_node(b, "Mul", "silu", "c3,g3", "m3");
    tb_attr_ints(b, tb_node(b, "Conv", "conv4", "a2,w4", "c4"), "kernel_shape", 2, ks1);
    tb_attr_int(b, tb_node(b, "Concat", "cat", "m3,c4", "cat"), "axis", 1);
    tb_node(b, "Dropout", "drop", "cat", "dropped,mask"); /* the mask named, as PyTorch names it, and unread */
    tb_node(b, "Reshape", "flat", "dropped,shape", "flat");
    tb_node(b, "Relu", "relu_out", "flat", "y");
    return b;
}

static keel_model *load_model(void)
{
    tb_model *b = build_model();
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    keel_model *m = NULL;
    keel_model_load_buffer(&m, buf, len, NULL, "passes.onnx", NULL, NULL, 0);
    free(buf);
    tb_free(b);
    return m;
}

typedef struct outcome {
    int steps, kernels;
    float y[N_OUT];
} outcome;

/* Creates a session at isa with these passes off (and optimize), runs it
 * on a fixed input; false when creation or the run fails. */
static bool run_at(const keel_model *m, int isa, const char *off, int optimize, outcome *o)
{
    keel_options opt;
    keel_options_init(&opt);
    opt.passes_off = off;
    opt.optimize = optimize;
    opt.isa = isa;
    keel_session *s = NULL;
    char err[512];
    if (keel_session_create(&s, m, &opt, NULL, 0, NULL, err, sizeof err) != KEEL_OK)
        return false;
    kl_plan_info plan;
    kl_inspect_plan(s, &plan);
    o->steps = plan.n_steps;
    o->kernels = 0;
    for (int k = 0; k < plan.n_steps; k++) {
        kl_step_info st;
        kl_inspect_step(s, k, &st);
        o->kernels += st.runs_kernel;
    }
    float x[144];
    uint32_t seed = 42;
    for (int i = 0; i < 144; i++)
        x[i] = 2.0f * lcg(&seed);
    tb_fill_nan(o->y, N_OUT);
    keel_tensor in = {KEEL_FLOAT, 4, {1, 4, 6, 6}, x}, out = {.data = o->y};
    keel_status st = keel_session_run(s, &in, &out);
    keel_session_free(s);
    return st == KEEL_OK;
}

/* The counts below are the plain layout's: at AVX2 with the pass
 * blocked_layout off as well (test_blocked_layout has the model's four
 * convs in blocks). */
static bool run_with(const keel_model *m, const char *off, int optimize, outcome *o)
{
    char list[128];
    snprintf(list, sizeof list, "%s%sblocked_layout", off ? off : "", off ? "," : "");
    return run_at(m, KEEL_ISA_AVX2, list, optimize, o);
}

static void test_each_pass_off(void)
{
    keel_model *m = load_model();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    static outcome ref, all, one;
    /* every node runs as the file has it */
    CU_ASSERT_FATAL(run_with(m, "views,slices,in_place", 0, &ref));
    CU_ASSERT_EQUAL(ref.steps, 14);
    CU_ASSERT_EQUAL(ref.kernels, 14);
    CU_ASSERT_FATAL(run_with(m, NULL, 1, &all));
    /* Conv1 (Pad, BN, Relu fused), Conv2 (+residual), Conv3 (SiLU),
     * Conv4, Concat, Dropout and Reshape (views), Relu */
    CU_ASSERT_EQUAL(all.steps, 8);
    CU_ASSERT_EQUAL(all.kernels, 6);
    CU_ASSERT(tb_max_abs_err(all.y, ref.y, N_OUT) < 1e-4);
    static const struct { const char *off; int steps, kernels; } cases[] = {
        {"fuse_pad", 9, 7},       {"fuse_batchnorm", 10, 8}, /* BN stays, and the Relu after it */
        {"fuse_residual", 9, 7},  {"fuse_gated", 10, 8},    {"fuse_activation", 9, 7},
        {"fuse_bias", 8, 6},      {"fuse_gelu", 8, 6}, /* nothing of theirs here (tests/test_fusions.c) */
        {"drop_unread", 8, 7}, /* the Dropout makes its mask, so it runs */
        {"views", 8, 8},          {"slices", 8, 6},         {"in_place", 8, 6},
        {"blocked_layout", 8, 6},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        CU_ASSERT_FATAL(run_with(m, cases[k].off, 1, &one));
        CU_ASSERT_EQUAL(one.steps, cases[k].steps);
        CU_ASSERT_EQUAL(one.kernels, cases[k].kernels);
        if (one.steps != cases[k].steps || one.kernels != cases[k].kernels)
            fprintf(stderr, "\n  %s off: %d steps, %d kernels\n", cases[k].off, one.steps, one.kernels);
        CU_ASSERT(tb_max_abs_err(one.y, ref.y, N_OUT) < 1e-4);
    }
    keel_model_free(m);
}

/* The records name each pass that ran, and the op histograms show the
 * rewrites: BatchNormalization gone after fuse_batchnorm, Pad after
 * fuse_pad, the first Relu after fuse_activation. */
static int count_of(const keel_session *s, int rec, const char *type)
{
    kl_pass_info p;
    kl_inspect_pass(s, rec, &p);
    for (int t = 0; t < p.n_op_types; t++) {
        const char *name;
        int count;
        kl_inspect_pass_op(s, rec, t, &name, &count);
        if (strcmp(name, type) == 0)
            return count;
    }
    return 0;
}

/* The pass blocked_layout's note at isa (test_blocked_layout). */
static const char *blocked_note(int isa)
{
    if (isa == KEEL_ISA_AVX2)
        return "5 nodes in the blocked layout";
    return isa >= KEEL_ISA_AVX512 ? "4 convs would run in blocks, 2 values leave them: too few" : "no blocked kernels";
}

static void test_records(void)
{
    keel_model *m = load_model();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *s = NULL;
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, NULL, NULL, 0, NULL, NULL, 0), KEEL_OK);
    int n = kl_inspect_pass_count(s), k = 0;
    kl_plan_info plan;
    kl_inspect_plan(s, &plan);
    CU_ASSERT_EQUAL(n, 20); /* the model, then 19 passes */
    for (int r = 0; r < n; r++) {
        kl_pass_info p;
        kl_inspect_pass(s, r, &p);
        const char *want = r == 0 ? "model" : keel_pass_name(k++);
        CU_ASSERT_STRING_EQUAL(p.pass, want);
        if (r == 0)
            CU_ASSERT_EQUAL(p.n_nodes, 14);
        if (strcmp(p.pass, "fuse_batchnorm") == 0)
            CU_ASSERT(count_of(s, r, "BatchNormalization") == 0 && count_of(s, r - 1, "BatchNormalization") == 1);
        if (strcmp(p.pass, "fuse_pad") == 0)
            CU_ASSERT(count_of(s, r, "Pad") == 0 && count_of(s, r - 1, "Pad") == 1);
        if (strcmp(p.pass, "fuse_residual") == 0)
            CU_ASSERT(count_of(s, r, "Add") == 0 && count_of(s, r - 1, "Add") == 1);
        if (strcmp(p.pass, "fuse_gated") == 0)
            CU_ASSERT(count_of(s, r, "Mul") == 0 && count_of(s, r, "Sigmoid") == 0);
        if (strcmp(p.pass, "fuse_activation") == 0)
            CU_ASSERT(count_of(s, r, "Relu") == 1 && count_of(s, r - 1, "Relu") == 2);
        if (strcmp(p.pass, "views") == 0)
            CU_ASSERT_STRING_EQUAL(p.note, "2 views"); /* the Dropout, its mask dropped, and the Reshape */
        if (strcmp(p.pass, "slices") == 0)
            CU_ASSERT_STRING_EQUAL(p.note, "2 inputs written in place");
        if (strcmp(p.pass, "in_place") == 0)
            CU_ASSERT_STRING_EQUAL(p.note, "1 outputs in place");
        if (strcmp(p.pass, "blocked_layout") == 0)
            CU_ASSERT_STRING_EQUAL(p.note, blocked_note(plan.isa));
    }
    CU_ASSERT_PTR_NULL(keel_pass_name(k));
    keel_session_free(s);
    keel_model_free(m);
}

/* The model's four convs (none of them Winograd's) could run in the
 * blocked layout, and four are enough with one value leaving them.  At
 * AVX2 (blocks of 8) the Concat of two 8-channel values stays in it too,
 * and one FromBlocked gives its output back before the Dropout: one step
 * and one kernel more than the plain layout's.  At AVX-512 (blocks of 16)
 * the Concat's inputs half fill their blocks, so both would leave, and
 * four convs are too few for two: the plain layout's steps.
 * tests/test_runtime.c's test_blocked_conv checks the kernels. */
static void test_blocked_layout(void)
{
    keel_model *m = load_model();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    for (int isa = KEEL_ISA_AVX2; isa <= KEEL_ISA_AVX512; isa++) {
        if (!tb_isa_runs(isa, "the blocked layout"))
            continue;
        static outcome plain, blocked;
        CU_ASSERT_FATAL(run_at(m, isa, "blocked_layout", 1, &plain));
        CU_ASSERT_FATAL(run_at(m, isa, NULL, 1, &blocked));
        const int more = isa == KEEL_ISA_AVX2;
        CU_ASSERT_EQUAL(plain.steps, 8);
        CU_ASSERT_EQUAL(plain.kernels, 6);
        CU_ASSERT_EQUAL(blocked.steps, 8 + more);
        CU_ASSERT_EQUAL(blocked.kernels, 6 + more);
        if (more) {
            CU_ASSERT(tb_max_abs_err(blocked.y, plain.y, N_OUT) < 1e-4);
        } else {
            CU_ASSERT(memcmp(blocked.y, plain.y, sizeof plain.y) == 0);
        }
    }
    keel_model_free(m);
}

static void test_bad_lists(void)
{
    keel_model *m = load_model();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    static const struct { const char *off, *says; } bad[] = {
        {"nosuch", "no pass 'nosuch'"},
        {"fuse_pad,arena", "cannot turn off the pass 'arena'"},
        {"fold", "cannot turn off the pass 'fold'"},
        {"fuse_pad,,fuse_pa", "no pass 'fuse_pa'"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        keel_options opt;
        keel_options_init(&opt);
        opt.passes_off = bad[k].off;
        keel_session *s = NULL;
        char err[512] = "";
        CU_ASSERT_EQUAL(keel_session_create(&s, m, &opt, NULL, 0, NULL, err, sizeof err), KEEL_ERR_ARGUMENT);
        CU_ASSERT_PTR_NULL(s);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[k].says));
    }
    /* every optional pass at once, spaces and commas between */
    keel_options opt;
    keel_options_init(&opt);
    opt.passes_off = "fuse_batchnorm, fuse_norm,fuse_softmax,fuse_pad,fuse_bias,fuse_residual ,fuse_gelu,fuse_gated,"
                     "fuse_activation,views,slices,in_place";
    keel_session *s = NULL;
    CU_ASSERT_EQUAL(keel_session_create(&s, m, &opt, NULL, 0, NULL, NULL, 0), KEEL_OK);
    keel_session_free(s);
    keel_model_free(m);
}

/* Whether the session's step for node `name` runs a kernel. */
static bool runs_kernel(const keel_session *s, const char *name)
{
    kl_plan_info plan;
    kl_inspect_plan(s, &plan);
    for (int k = 0; k < plan.n_steps; k++) {
        kl_step_info st;
        kl_inspect_step(s, k, &st);
        if (strcmp(st.node_name, name) == 0)
            return st.runs_kernel;
    }
    CU_FAIL("no such step");
    return false;
}

/* x [N, 3, 4] -> Transpose (1, 0, 2) -> Relu -> y [3, N, 4], and x ->
 * Transpose (2, 1, 0) -> z [4, 3, N], in one session at N = 1, 2, 1: the
 * first Transpose moves only a dim of 1 at N = 1 and becomes a view, and
 * copies at N = 2; the second copies at every N.  Outputs against the
 * permutations written out. */
static void test_transpose_views(void)
{
    tb_model *b = tb_new(8, 13);
    const int64_t xd[3] = {-1, 3, 4}, yd[3] = {3, -1, 4}, zd[3] = {4, 3, -1}, swap[3] = {1, 0, 2}, rev[3] = {2, 1, 0};
    tb_input(b, "x", KEEL_FLOAT, 3, xd, "N");
    tb_output(b, "y", KEEL_FLOAT, 3, yd);
    tb_output(b, "z", KEEL_FLOAT, 3, zd);
    tb_attr_ints(b, tb_node(b, "Transpose", "swap", "x", "t"), "perm", 3, swap);
    tb_node(b, "Relu", "relu", "t", "y");
    tb_attr_ints(b, tb_node(b, "Transpose", "rev", "x", "z"), "perm", 3, rev);
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    keel_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(keel_model_load_buffer(&m, buf, len, NULL, "transpose_views.onnx", NULL, NULL, 0), KEEL_OK);
    free(buf);
    tb_free(b);
    keel_session *s = NULL;
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, NULL, NULL, 0, NULL, NULL, 0), KEEL_OK);
    static const int64_t ns[3] = {1, 2, 1};
    for (int r = 0; r < 3; r++) {
        const int64_t n = ns[r];
        float x[2 * 12], y[2 * 12], z[2 * 12];
        for (int i = 0; i < n * 12; i++)
            x[i] = (float)(i % 5) - 2.0f + 0.25f * (float)i;
        tb_fill_nan(y, 24);
        tb_fill_nan(z, 24);
        keel_tensor in = {KEEL_FLOAT, 3, {n, 3, 4}, x}, out[2] = {{.data = y}, {.data = z}};
        CU_ASSERT_EQUAL_FATAL(keel_session_run(s, &in, out), KEEL_OK);
        CU_ASSERT_EQUAL(runs_kernel(s, "swap"), n != 1);
        CU_ASSERT(runs_kernel(s, "rev"));
        for (int a = 0; a < n; a++)
            for (int c = 0; c < 3; c++)
                for (int w = 0; w < 4; w++) {
                    const float v = x[(a * 3 + c) * 4 + w];
                    CU_ASSERT_EQUAL(y[(c * n + a) * 4 + w], v > 0.0f ? v : 0.0f);
                    CU_ASSERT_EQUAL(z[(w * 3 + c) * n + a], v);
                }
    }
    keel_session_free(s);
    keel_model_free(m);
}

void add_passes_suite(void)
{
    CU_pSuite s = CU_add_suite("passes", NULL, NULL);
    CU_add_test(s, "each optional pass off alone: same outputs, its steps kept", test_each_pass_off);
    CU_add_test(s, "the graph after each pass", test_records);
    CU_add_test(s, "the blocked layout: four convs, in it at AVX2, too few at AVX-512", test_blocked_layout);
    CU_add_test(s, "bad passes_off lists are refused by name", test_bad_lists);
    CU_add_test(s, "a Transpose that moves only dims of 1 is a view, at each shape", test_transpose_views);
}
