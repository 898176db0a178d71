/* test_threads.c -- sessions of one shared model in 8 threads at once,
 * with cancellations arriving while they run: every completed run's
 * outputs equal, bit for bit, those of one session run alone, and a
 * cancelled run leaves its session correct.  `make check-tsan` runs it
 * under ThreadSanitizer. */
#include <CUnit/Basic.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "keel.h"
#include "testutil.h"

#define WORKERS 8
#define RUNS 12
#define N_OUT 10

/* x[1,8,12,12] -> Conv 3x3 + Relu -> Conv 3x3, plus Conv 1x1 of x ->
 * Add -> Relu -> MaxPool 2x2 -> Conv 1x1 -> GlobalAveragePool -> Flatten
 * -> Gemm: 10 values.  Seeded weights. */
static float *seeded(size_t n, unsigned seed)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = ((float)(seed >> 9 & 0xffff) / 65536.0f - 0.5f) * 0.4f;
    }
    return v;
}

static tb_model *small_cnn(float **keep, int *n_keep)
{
    static const int64_t xd[] = {1, 8, 12, 12}, yd[] = {1, N_OUT};
    static const int64_t w1d[] = {16, 8, 3, 3}, w2d[] = {16, 16, 3, 3}, wsd[] = {16, 8, 1, 1},
                         w3d[] = {32, 16, 1, 1}, b16[] = {16}, b32[] = {32}, gd[] = {N_OUT, 32},
                         gb[] = {N_OUT};
    static const int64_t one[] = {1, 1, 1, 1}, two[] = {2, 2};
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 4, xd, NULL);
    tb_output(b, "y", KEEL_FLOAT, 2, yd);
    struct { const char *name; int rank; const int64_t *dims; size_t n; } w[] = {
        {"w1", 4, w1d, 16 * 8 * 9}, {"b1", 1, b16, 16}, {"w2", 4, w2d, 16 * 16 * 9}, {"b2", 1, b16, 16},
        {"ws", 4, wsd, 16 * 8}, {"w3", 4, w3d, 32 * 16}, {"b3", 1, b32, 32}, {"g", 2, gd, N_OUT * 32},
        {"gb", 1, gb, N_OUT}};
    *n_keep = 0;
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
        float *v = seeded(w[i].n, 7u + (unsigned)i);
        tb_init_f32(b, w[i].name, w[i].rank, w[i].dims, v);
        keep[(*n_keep)++] = v;
    }
    Onnx__NodeProto *n = tb_node(b, "Conv", "conv1", "x,w1,b1", "c1");
    tb_attr_ints(b, n, "pads", 4, one);
    tb_node(b, "Relu", "relu1", "c1", "r1");
    n = tb_node(b, "Conv", "conv2", "r1,w2,b2", "c2");
    tb_attr_ints(b, n, "pads", 4, one);
    tb_node(b, "Conv", "skip", "x,ws", "s");
    tb_node(b, "Add", "add", "c2,s", "a");
    tb_node(b, "Relu", "relu2", "a", "r2");
    n = tb_node(b, "MaxPool", "pool", "r2", "p");
    tb_attr_ints(b, n, "kernel_shape", 2, two);
    tb_attr_ints(b, n, "strides", 2, two);
    tb_node(b, "Conv", "conv3", "p,w3,b3", "c3");
    tb_node(b, "GlobalAveragePool", "gap", "c3", "g0");
    tb_node(b, "Flatten", "flat", "g0", "f");
    n = tb_node(b, "Gemm", "fc", "f,g,gb", "y");
    tb_attr_int(b, n, "transB", 1);
    return b;
}

typedef struct shared {
    keel_model *model;
    float *inputs[WORKERS];
    float want[2][WORKERS][N_OUT];           /* per thread count of a session */
    _Atomic(keel_session *) live[WORKERS];    /* what the canceller may cancel */
    atomic_int stop;
    pthread_barrier_t ran;                    /* every worker done running */
    pthread_barrier_t freed;                  /* the canceller stopped: free */
} shared;

typedef struct worker {
    shared *sh;
    int id;
    int completed, cancelled, wrong, failed;
} worker;

static keel_status run_once(keel_session *s, const float *x, float *y)
{
    keel_tensor in = {KEEL_FLOAT, 4, {1, 8, 12, 12}, (void *)x}, out = {.data = y};
    return keel_session_run(s, &in, &out);
}

static keel_session *new_session(keel_model *m, int threads)
{
    keel_options opt;
    keel_options_init(&opt);
    opt.threads = threads;
    keel_session *s = NULL;
    char err[512];
    if (keel_session_create(&s, m, &opt, NULL, 0, NULL, err, sizeof err))
        fprintf(stderr, "\n  session: %s\n", err);
    return s;
}

/* Each worker runs its own input on a session of its own (threads 1 or
 * 2), cancelling itself before every fourth run: that run must stop, the
 * others complete (or are stopped by the canceller) and match. */
static void *work(void *arg)
{
    worker *w = arg;
    shared *sh = w->sh;
    const int threads = 1 + w->id % 2;
    keel_session *s = new_session(sh->model, threads);
    atomic_store(&sh->live[w->id], s);
    for (int r = 0; s && r < RUNS; r++) {
        float y[N_OUT];
        for (int i = 0; i < N_OUT; i++)
            y[i] = NAN;
        if (r % 4 == 3)
            keel_session_cancel(s);
        keel_status st = run_once(s, sh->inputs[w->id], y);
        if (st == KEEL_ERR_CANCELLED)
            w->cancelled++;
        else if (st)
            w->failed++;
        else if (r % 4 == 3)
            w->failed++; /* a cancel before the run must stop it */
        else {
            w->completed++;
            w->wrong += memcmp(y, sh->want[threads - 1][w->id], sizeof y) != 0;
        }
    }
    pthread_barrier_wait(&sh->ran);
    pthread_barrier_wait(&sh->freed);
    keel_session_free(s);
    return NULL;
}

static void *canceller(void *arg)
{
    shared *sh = arg;
    unsigned k = 0;
    while (!atomic_load(&sh->stop)) {
        keel_session *s = atomic_load(&sh->live[k++ % WORKERS]);
        if (s)
            keel_session_cancel(s);
        struct timespec d = {0, 700000};
        nanosleep(&d, NULL);
    }
    return NULL;
}

static void test_sessions_in_eight_threads(void)
{
    float *keep[16];
    int n_keep;
    tb_model *b = small_cnn(keep, &n_keep);
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    static shared sh;
    memset(&sh, 0, sizeof sh);
    char err[512];
    /* the references come from a model of their own, so that the workers'
     * sessions race to pack their model's weights, which they then share */
    keel_model *ref_model;
    CU_ASSERT_EQUAL_FATAL(keel_model_load_buffer(&ref_model, buf, len, NULL, "cnn.onnx", NULL, err, sizeof err),
                          KEEL_OK);
    CU_ASSERT_EQUAL_FATAL(keel_model_load_buffer(&sh.model, buf, len, NULL, "cnn.onnx", NULL, err, sizeof err),
                          KEEL_OK);
    for (int t = 0; t < WORKERS; t++)
        sh.inputs[t] = seeded(8 * 12 * 12, 100u + (unsigned)t);
    for (int threads = 1; threads <= 2; threads++) { /* the references, one session alone */
        keel_session *s = new_session(ref_model, threads);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        for (int t = 0; t < WORKERS; t++) {
            CU_ASSERT_EQUAL(run_once(s, sh.inputs[t], sh.want[threads - 1][t]), KEEL_OK);
            for (int i = 0; i < N_OUT; i++)
                CU_ASSERT_TRUE(sh.want[threads - 1][t][i] == sh.want[threads - 1][t][i]); /* not NaN */
        }
        keel_session_free(s);
    }
    pthread_barrier_init(&sh.ran, NULL, WORKERS + 1);
    pthread_barrier_init(&sh.freed, NULL, WORKERS + 1);
    worker w[WORKERS];
    pthread_t tid[WORKERS], ctid;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&ctid, NULL, canceller, &sh), 0);
    for (int t = 0; t < WORKERS; t++) {
        w[t] = (worker){&sh, t, 0, 0, 0, 0};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[t], NULL, work, &w[t]), 0);
    }
    pthread_barrier_wait(&sh.ran);
    atomic_store(&sh.stop, 1);
    pthread_join(ctid, NULL);
    pthread_barrier_wait(&sh.freed);
    int completed = 0, cancelled = 0;
    for (int t = 0; t < WORKERS; t++) {
        pthread_join(tid[t], NULL);
        CU_ASSERT_EQUAL(w[t].failed, 0);
        CU_ASSERT_EQUAL(w[t].wrong, 0);
        CU_ASSERT_TRUE(w[t].cancelled >= RUNS / 4);
        completed += w[t].completed;
        cancelled += w[t].cancelled;
    }
    fprintf(stderr, "\n  %d runs completed and matched, %d cancelled\n", completed, cancelled);
    CU_ASSERT_TRUE(completed > 0);
    pthread_barrier_destroy(&sh.ran);
    pthread_barrier_destroy(&sh.freed);
    for (int t = 0; t < WORKERS; t++)
        free(sh.inputs[t]);
    keel_model_free(sh.model);
    keel_model_free(ref_model);
    free(buf);
    for (int i = 0; i < n_keep; i++)
        free(keep[i]);
    tb_free(b);
}

/* ---- weights packed, released and read back from eight threads ---------------------- */

#define WC 32 /* channels: 36 KiB of 3x3 filters, a weight the model may release */

typedef struct conv_worker {
    keel_model *model;
    const float *wt;
    int id, wrong, failed;
} conv_worker;

/* Sessions on the portable kernels or the CPU's best, at shapes taking
 * panels or Winograd filters: they pack, hold, release and read back the
 * model's filters at once. */
static void *conv_work(void *arg)
{
    conv_worker *w = arg;
    keel_options opt;
    keel_options_init(&opt);
    opt.isa = w->id % 3 == 0 ? KEEL_ISA_GENERIC : KEEL_ISA_AUTO;
    static const int shapes[][2] = {{4, 4}, {20, 24}, {7, 5}, {16, 16}, {4, 4}};
    for (int round = 0; round < 3; round++) {
        keel_session *s = NULL;
        if (keel_session_create(&s, w->model, &opt, NULL, 0, NULL, NULL, 0)) {
            w->failed++;
            continue;
        }
        for (int r = 0; r < 5; r++) {
            int h = shapes[(r + w->id) % 5][0], wd = shapes[(r + w->id) % 5][1];
            float *x = seeded((size_t)WC * h * wd, 7u * (unsigned)w->id + (unsigned)r);
            float *want = malloc((size_t)WC * h * wd * sizeof *want);
            tb_naive_conv(x, WC, h, wd, w->wt, WC, 3, 1, want);
            keel_tensor in = {KEEL_FLOAT, 4, {1, WC, h, wd}, x}, out = {0};
            if (keel_session_run(s, &in, &out))
                w->failed++;
            else
                w->wrong += tb_max_abs_err(out.data, want, (size_t)WC * h * wd) > 1e-4;
            free(x);
            free(want);
        }
        keel_session_free(s);
    }
    return NULL;
}

static void test_weights_shared_in_eight_threads(void)
{
    float *wt = seeded((size_t)WC * WC * 9, 4242u);
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 4, (int64_t[]){1, WC, -1, -1}, NULL);
    tb_output(b, "y", KEEL_FLOAT, 4, (int64_t[]){1, WC, -1, -1});
    tb_init_f32(b, "w", 4, (int64_t[]){WC, WC, 3, 3}, wt);
    Onnx__NodeProto *n = tb_node(b, "Conv", "conv", "x,w", "y");
    tb_attr_ints(b, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    char *dir = tb_tempdir(), path[512];
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(path, sizeof path, "%s/conv.onnx", dir);
    CU_ASSERT_EQUAL_FATAL(tb_write(b, path), 0);
    keel_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(keel_model_load(&m, path, NULL, NULL, 0), KEEL_OK);
    conv_worker w[WORKERS];
    pthread_t tid[WORKERS];
    for (int t = 0; t < WORKERS; t++) {
        w[t] = (conv_worker){m, wt, t, 0, 0};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[t], NULL, conv_work, &w[t]), 0);
    }
    for (int t = 0; t < WORKERS; t++) {
        pthread_join(tid[t], NULL);
        CU_ASSERT_EQUAL(w[t].failed, 0);
        CU_ASSERT_EQUAL(w[t].wrong, 0);
    }
    keel_model_free(m);
    unlink(path);
    rmdir(dir);
    free(dir);
    free(wt);
    tb_free(b);
}

int main(void)
{
    openblas_set_num_threads(1); /* the embedder's choice (keel.h) */
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("threads", NULL, NULL);
    CU_add_test(s, "sessions of one model in 8 threads, cancelled as they run", test_sessions_in_eight_threads);
    CU_add_test(s, "weights packed, released and read back in 8 threads", test_weights_shared_in_eight_threads);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    return (failed || run == 0) ? 1 : 0;
}
