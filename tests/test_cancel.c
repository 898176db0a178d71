/* test_cancel.c -- stopping runs: keel_session_cancel() from another
 * thread, keel_options.time_limit_ms at run time and at creation, and the
 * session's next run afterwards. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"
#include "../onnx/loader.h"
#include "testutil.h"

#define FOREVER ((int64_t)1 << 62)

/* Loop(M, cond, v0) whose body adds 1 to v and keeps cond: with cond true
 * it runs M iterations.  M, cond and v0 are graph inputs, or constants
 * (M = 2^62, cond = true, v0 = 0) when `constant`. */
static tb_model *counting_loop(tb_model **body_out, bool constant)
{
    static const int64_t d1[] = {1};
    static const float one[] = {1.0f};
    tb_model *body = tb_new(8, 13);
    tb_input(body, "i", KEEL_INT64, 0, NULL, NULL);
    tb_input(body, "cond_in", KEEL_BOOL, 0, NULL, NULL);
    tb_input(body, "v_in", KEEL_FLOAT, 1, d1, NULL);
    tb_output(body, "cond_out", KEEL_BOOL, 0, NULL);
    tb_output(body, "v_out", KEEL_FLOAT, 1, d1);
    tb_init_f32(body, "one", 1, d1, one);
    tb_node(body, "Identity", "keep", "cond_in", "cond_out");
    tb_node(body, "Add", "count", "v_in,one", "v_out");

    tb_model *b = tb_new(8, 13);
    if (constant) {
        static const int64_t m = FOREVER;
        static const uint8_t yes = 1;
        tb_init_raw(b, "M", KEEL_INT64, 0, NULL, &m, sizeof m);
        static const float zero[] = {0.0f};
        tb_init_raw(b, "cond", KEEL_BOOL, 0, NULL, &yes, 1);
        tb_init_f32(b, "v0", 1, d1, zero);
    } else {
        tb_input(b, "M", KEEL_INT64, 0, NULL, NULL);
        tb_input(b, "cond", KEEL_BOOL, 0, NULL, NULL);
        tb_input(b, "v0", KEEL_FLOAT, 1, d1, NULL);
    }
    tb_output(b, "v", KEEL_FLOAT, 1, d1);
    Onnx__NodeProto *loop = tb_node(b, "Loop", "loop", "M,cond,v0", "v");
    tb_attr_graph(b, loop, "body", body);
    *body_out = body;
    return b;
}

static keel_model *load_built(tb_model *b)
{
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    keel_model *m = NULL;
    char err[1024];
    if (keel_model_load_buffer(&m, buf, len, NULL, "loop.onnx", NULL, err, sizeof err))
        fprintf(stderr, "\n  load failed: %s\n", err);
    free(buf);
    return m;
}

typedef struct loop_run {
    keel_session *s;
    int64_t m;
    uint8_t cond;
    float v0, v;
    keel_status status;
} loop_run;

static void *run_loop(void *arg)
{
    loop_run *r = arg;
    keel_tensor in[3] = {{KEEL_INT64, 0, {0}, &r->m}, {KEEL_BOOL, 0, {0}, &r->cond},
                         {KEEL_FLOAT, 1, {1}, &r->v0}};
    keel_tensor out = {.data = NULL}; /* the Loop's output shape depends on the data */
    r->status = keel_session_run(r->s, in, &out);
    if (!r->status)
        r->v = out.dtype == KEEL_FLOAT && keel_tensor_numel(&out) == 1 ? *(const float *)out.data : -1;
    return NULL;
}

/* Joins t, failing the test (and leaving the thread) if it has not ended
 * within a minute: a run that cannot be stopped hangs here, not forever. */
static bool join_within_a_minute(pthread_t t)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    int rc = pthread_timedjoin_np(t, NULL, &until);
    CU_ASSERT_EQUAL(rc, 0);
    return rc == 0;
}

static void sleep_ms(long ms)
{
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
}

/* The run after a stopped one counts 3 iterations from 0.5. */
static void check_next_run(keel_session *s)
{
    loop_run r = {s, 3, 1, 0.5f, 0, KEEL_OK};
    run_loop(&r);
    CU_ASSERT_EQUAL(r.status, KEEL_OK);
    CU_ASSERT_EQUAL(r.v, 3.5f);
    if (r.status)
        fprintf(stderr, "\n  %s\n", keel_session_errmsg(s));
}

static void test_cancel_from_another_thread(void)
{
    tb_model *body, *b = counting_loop(&body, false);
    keel_model *m = load_built(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *s = NULL;
    char err[1024];
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, NULL, NULL, 0, NULL, err, sizeof err), KEEL_OK);
    check_next_run(s);
    for (int round = 0; round < 2; round++) { /* the session stays usable */
        loop_run r = {s, FOREVER, 1, 0, 0, KEEL_OK};
        pthread_t t;
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, run_loop, &r), 0);
        sleep_ms(50);
        keel_session_cancel(s);
        if (!join_within_a_minute(t))
            return;
        CU_ASSERT_EQUAL(r.status, KEEL_ERR_CANCELLED);
        CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "cancelled"));
        CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "'loop' (Loop)"));
        check_next_run(s);
    }
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
    tb_free(body);
}

/* A cancel with no run under way stops the next run, before its first
 * node, and only that one. */
static void test_cancel_before_run(void)
{
    tb_model *body, *b = counting_loop(&body, false);
    keel_model *m = load_built(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *s = NULL;
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, NULL, NULL, 0, NULL, NULL, 0), KEEL_OK);
    keel_session_cancel(s);
    keel_session_cancel(s); /* twice is once */
    loop_run r = {s, 3, 1, 0, 0, KEEL_OK};
    run_loop(&r);
    CU_ASSERT_EQUAL(r.status, KEEL_ERR_CANCELLED);
    CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "before node 0 'loop' (Loop)"));
    check_next_run(s);
    keel_session_cancel(NULL); /* no session: nothing happens */
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
    tb_free(body);
}

static void test_time_limit_at_run(void)
{
    tb_model *body, *b = counting_loop(&body, false);
    keel_model *m = load_built(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_options opt;
    keel_options_init(&opt);
    opt.time_limit_ms = 100;
    keel_session *s = NULL;
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, &opt, NULL, 0, NULL, NULL, 0), KEEL_OK);
    for (int round = 0; round < 2; round++) {
        loop_run r = {s, FOREVER, 1, 0, 0, KEEL_OK};
        pthread_t t;
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, run_loop, &r), 0);
        if (!join_within_a_minute(t))
            return;
        CU_ASSERT_EQUAL(r.status, KEEL_ERR_CANCELLED);
        CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "time limit of 100 ms"));
        CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "'loop' (Loop)"));
        check_next_run(s); /* each run has the whole limit */
    }
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
    tb_free(body);
}

typedef struct creation {
    keel_model *m;
    keel_options opt;
    keel_session *s;
    keel_status status;
    char err[1024];
} creation;

static void *create_session(void *arg)
{
    creation *c = arg;
    c->status = keel_session_create(&c->s, c->m, &c->opt, NULL, 0, NULL, c->err, sizeof c->err);
    return NULL;
}

/* A never-ending Loop of constants runs while the session is created: the
 * time limit stops the creation too, with a message naming the node and
 * no session left behind. */
static void test_time_limit_at_creation(void)
{
    tb_model *body, *b = counting_loop(&body, true);
    creation c = {load_built(b)};
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.m);
    keel_options_init(&c.opt);
    c.opt.time_limit_ms = 100;
    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, create_session, &c), 0);
    if (!join_within_a_minute(t))
        return;
    CU_ASSERT_EQUAL(c.status, KEEL_ERR_CANCELLED);
    if (c.status != KEEL_ERR_CANCELLED)
        fprintf(stderr, "\n  %s\n", c.err);
    CU_ASSERT_PTR_NULL(c.s);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.err, "loop.onnx"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.err, "'loop' (Loop)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.err, "time limit of 100 ms"));
    CU_ASSERT_STRING_EQUAL(keel_status_string(KEEL_ERR_CANCELLED), "cancelled");
    keel_model_free(c.m);
    tb_free(b);
    tb_free(body);
}

void add_cancel_suite(void)
{
    CU_pSuite s = CU_add_suite("stopping runs", NULL, NULL);
    CU_add_test(s, "cancel from another thread", test_cancel_from_another_thread);
    CU_add_test(s, "cancel before a run", test_cancel_before_run);
    CU_add_test(s, "time limit of a run", test_time_limit_at_run);
    CU_add_test(s, "time limit of a creation", test_time_limit_at_creation);
}
