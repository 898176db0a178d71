/* test_hostile_loader.c -- hostile files against the loader (issue 16):
 * subgraphs nested to and past KEEL_MAX_NESTING on a 256 KiB thread stack.  Each must end in a status and a message naming the
 * culprit; every load and session goes through a counting allocator that
 * must be back to zero live blocks afterwards. */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kl.h"
#include "testutil.h"

#define SMALL_STACK ((size_t)256 << 10)

/* ---- a reverse writer: protobuf bytes built from the innermost out ------ */

/* Content lives at buf[start, cap); each call prepends, so a message's
 * length is known when its tag goes in front of it. */
typedef struct rw {
    uint8_t *buf;
    size_t cap, start;
} rw;

static size_t rw_len(const rw *w) { return w->cap - w->start; }

static void rw_bytes(rw *w, const void *p, size_t n)
{
    if (w->start < n) {
        size_t len = rw_len(w), cap = 2 * w->cap + n + 256;
        uint8_t *grown = malloc(cap);
        if (len)
            memcpy(grown + cap - len, w->buf + w->start, len);
        free(w->buf);
        w->buf = grown;
        w->cap = cap;
        w->start = cap - len;
    }
    w->start -= n;
    if (n)
        memcpy(w->buf + w->start, p, n);
}

static void rw_varint(rw *w, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
        v >>= 7;
    } while (v);
    rw_bytes(w, b, n);
}

/* Wraps the last `inner` bytes written as field `field` (length-delimited). */
static void rw_wrap(rw *w, unsigned field, size_t inner)
{
    rw_varint(w, inner);
    rw_varint(w, (uint64_t)field << 3 | 2);
}

static void rw_str(rw *w, unsigned field, const char *s)
{
    rw_bytes(w, s, strlen(s));
    rw_wrap(w, field, strlen(s));
}

static void rw_int(rw *w, unsigned field, uint64_t v)
{
    rw_varint(w, v);
    rw_varint(w, (uint64_t)field << 3);
}

/* ValueInfoProto {name, type: tensor of elem_type with dims} as field
 * `field`; rank < 0: no type at all. */
static void rw_value_info(rw *w, unsigned field, const char *name, int elem_type, int rank,
                          const int64_t *dims)
{
    size_t l0 = rw_len(w);
    if (rank >= 0) {
        size_t t0 = rw_len(w);
        for (int i = rank - 1; i >= 0; i--) { /* prepending: last dim first */
            size_t d0 = rw_len(w);
            rw_int(w, 1, (uint64_t)dims[i]);         /* Dimension.dim_value */
            rw_wrap(w, 1, rw_len(w) - d0);           /* TensorShapeProto.dim */
        }
        rw_wrap(w, 2, rw_len(w) - t0);               /* Tensor.shape */
        rw_int(w, 1, (uint64_t)elem_type);           /* Tensor.elem_type */
        rw_wrap(w, 1, rw_len(w) - t0);               /* TypeProto.tensor_type */
        rw_wrap(w, 2, rw_len(w) - t0);               /* ValueInfoProto.type */
    }
    rw_str(w, 1, name);
    rw_wrap(w, field, rw_len(w) - l0);
}

/* NodeProto {input, output, op_type} as GraphProto.node; whatever was
 * written since `since` (attributes) belongs to it. */
static void rw_node(rw *w, size_t since, const char *op, const char *in, const char *out)
{
    rw_str(w, 4, op);
    rw_str(w, 2, out);
    rw_str(w, 1, in);
    rw_wrap(w, 1, rw_len(w) - since);
}

/* A one-node graph out = op(in) as AttributeProto `attr` (type GRAPH). */
static void rw_leaf_branch(rw *w, const char *attr, const char *op, const char *in, const char *out)
{
    size_t a0 = rw_len(w);
    rw_value_info(w, 12, out, 0, -1, NULL);          /* GraphProto.output */
    rw_str(w, 2, attr);                              /* GraphProto.name */
    size_t n0 = rw_len(w);
    rw_node(w, n0, op, in, out);
    rw_wrap(w, 6, rw_len(w) - a0);                   /* AttributeProto.g */
    rw_int(w, 20, 5);                                /* type GRAPH */
    rw_str(w, 1, attr);
    rw_wrap(w, 5, rw_len(w) - a0);                   /* NodeProto.attribute */
}

/* ModelProto around the main graph content written so far. */
static uint8_t *rw_model(rw *w, size_t *len)
{
    rw_wrap(w, 7, rw_len(w));                        /* ModelProto.graph */
    size_t o0 = rw_len(w);
    rw_int(w, 2, 13);                                /* OperatorSetIdProto.version */
    rw_str(w, 1, "");
    rw_wrap(w, 8, rw_len(w) - o0);                   /* ModelProto.opset_import */
    rw_int(w, 1, 8);                                 /* ModelProto.ir_version */
    *len = rw_len(w);
    uint8_t *out = malloc(*len);
    memcpy(out, w->buf + w->start, *len);
    free(w->buf);
    return out;
}

/* y = If(c) nested `depth` subgraph levels deep: the main graph (level 0)
 * holds an If whose then_branch holds an If ... down to level `depth`,
 * whose graph is Neg(x).  Every else_branch is Identity(x).  So y = -x
 * when c is true, x otherwise.  `cond_const`: c is an initializer (true),
 * and the whole chain runs at session creation; else c is a graph input
 * and the chain runs in keel_session_run. */
static uint8_t *nested_if_model(int depth, bool cond_const, size_t *len)
{
    rw w = {0};
    char name[32];
    snprintf(name, sizeof name, "y%d", depth);
    rw_value_info(&w, 12, name, 0, -1, NULL);
    rw_str(&w, 2, "innermost");
    rw_node(&w, rw_len(&w), "Neg", "x", name);
    for (int k = depth - 1; k >= 0; k--) {
        size_t a0 = rw_len(&w);
        rw_wrap(&w, 6, a0);                          /* AttributeProto.g: level k+1 */
        rw_int(&w, 20, 5);
        rw_str(&w, 1, "then_branch");
        rw_wrap(&w, 5, rw_len(&w));                  /* NodeProto.attribute */
        char e[32];
        snprintf(e, sizeof e, "e%d", k + 1);
        rw_leaf_branch(&w, "else_branch", "Identity", "x", e);
        snprintf(name, sizeof name, "y%d", k);
        rw_node(&w, 0, "If", "c", name);
        if (k > 0) {
            rw_value_info(&w, 12, name, 0, -1, NULL);
            char gname[32];
            snprintf(gname, sizeof gname, "level%d", k);
            rw_str(&w, 2, gname);
        }
    }
    static const int64_t two[] = {2};
    rw_value_info(&w, 12, "y0", KEEL_FLOAT, 1, two);
    rw_value_info(&w, 11, "x", KEEL_FLOAT, 1, two);
    if (cond_const) {
        size_t t0 = rw_len(&w);
        rw_str(&w, 9, "\1");                         /* TensorProto.raw_data */
        rw_str(&w, 8, "c");                          /* TensorProto.name */
        rw_int(&w, 2, KEEL_BOOL);                    /* TensorProto.data_type */
        rw_wrap(&w, 5, rw_len(&w) - t0);             /* GraphProto.initializer */
    } else {
        rw_value_info(&w, 11, "c", KEEL_BOOL, 0, NULL);
    }
    rw_str(&w, 2, "main");
    return rw_model(&w, len);
}

/* ---- a thread with a small stack ------------------------------------------ */

typedef struct stack_job {
    void (*fn)(struct stack_job *);
    const uint8_t *bytes;
    size_t len;
    bool cond_const;
    int stop_after;       /* 1: after loading, 2: after session creation, 0: run too */
    /* results */
    keel_status load_st, create_st, run_st;
    float y[2];
    char err[1024];
    long live_blocks;
    size_t stack_used;    /* high-water mark of the thread's stack, bytes */
    size_t work_used;     /* of which below the thread function's frame */
} stack_job;

/* Paints the unused part of this thread's stack so that the high-water
 * mark can be read afterwards. */
static void paint_stack(uint8_t **lo, uint8_t **hi, uint8_t **top)
{
    pthread_attr_t a;
    void *addr;
    size_t size;
    *lo = *hi = NULL;
    if (pthread_getattr_np(pthread_self(), &a) != 0)
        return;
    pthread_attr_getstack(&a, &addr, &size);
    pthread_attr_destroy(&a);
    uint8_t here;
    *top = &here;
    volatile uint8_t *p = addr;
    /* leave 4 KiB under the current frame alone */
    size_t n = (size_t)(&here - (uint8_t *)addr) - 4096;
    for (size_t i = 0; i < n; i++)
        p[i] = 0xA5;
    *lo = addr;
    *hi = (uint8_t *)addr + size;
}

/* The lowest byte of [lo, hi) written since paint_stack. */
static uint8_t *stack_low_water(uint8_t *lo, uint8_t *hi)
{
    const volatile uint8_t *p = lo;
    size_t i = 0;
    while (lo + i < hi && p[i] == 0xA5)
        i++;
    return lo + i;
}

static void load_create_run(stack_job *j)
{
    tb_counting count = {0};
    keel_allocator alloc = tb_counting_allocator(&count);
    keel_options opt;
    keel_options_init(&opt);
    opt.allocator = &alloc;
    keel_model *m = NULL;
    keel_session *s = NULL;
    j->err[0] = 0;
    j->create_st = j->run_st = KEEL_ERR_ARGUMENT;
    j->load_st = keel_model_load_buffer(&m, j->bytes, j->len, NULL, "nested.onnx", &opt, j->err, sizeof j->err);
    if (!j->load_st && j->stop_after != 1)
        j->create_st = keel_session_create(&s, m, &opt, NULL, 0, NULL, j->err, sizeof j->err);
    if (!j->load_st && !j->create_st && !j->stop_after) {
        float xv[2] = {1.5f, -2.0f};
        uint8_t cv = 1;
        keel_tensor in[2] = {{0}}, out[1] = {{0}};
        int xi = keel_session_input_index(s, "x"), ci = keel_session_input_index(s, "c");
        in[xi] = (keel_tensor){KEEL_FLOAT, 1, {2}, xv};
        if (ci >= 0)
            in[ci] = (keel_tensor){KEEL_BOOL, 0, {0}, &cv};
        j->run_st = keel_session_run(s, in, out);
        if (j->run_st)
            snprintf(j->err, sizeof j->err, "%s", keel_session_errmsg(s));
        else if (out[0].dtype == KEEL_FLOAT && out[0].rank == 1 && out[0].dims[0] == 2)
            memcpy(j->y, out[0].data, sizeof j->y);
    }
    keel_session_free(s);
    keel_model_free(m);
    j->live_blocks = count.live_blocks;
}

static void *stack_thread(void *arg)
{
    stack_job *j = arg;
    uint8_t *lo, *hi, *top;
    paint_stack(&lo, &hi, &top);
    j->fn(j);
    if (lo) {
        uint8_t *low = stack_low_water(lo, hi);
        j->stack_used = (size_t)(hi - low);
        j->work_used = (size_t)(top - low);
    }
    return NULL;
}

/* Runs j->fn on a thread whose stack is SMALL_STACK bytes. */
static void on_small_stack(stack_job *j)
{
    pthread_attr_t a;
    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(pthread_attr_init(&a), 0);
    CU_ASSERT_EQUAL_FATAL(pthread_attr_setstacksize(&a, SMALL_STACK), 0);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, &a, stack_thread, j), 0);
    pthread_join(t, NULL);
    pthread_attr_destroy(&a);
    if (getenv("KEEL_TEST_STACK"))
        fprintf(stderr, "\n  [stack] %s: %.1f KiB of %zu KiB used, %.1f KiB by the work\n",
                j->err[0] ? j->err : "ok", j->stack_used / 1024.0, SMALL_STACK >> 10,
                j->work_used / 1024.0);
}

/* ---- 1. nesting ---------------------------------------------------------------- */

static void nested_runs(int depth, bool cond_const)
{
    stack_job j = {.fn = load_create_run, .cond_const = cond_const};
    uint8_t *bytes = nested_if_model(depth, cond_const, &j.len);
    j.bytes = bytes;
    on_small_stack(&j);
    CU_ASSERT_EQUAL(j.load_st, KEEL_OK);
    CU_ASSERT_EQUAL(j.create_st, KEEL_OK);
    CU_ASSERT_EQUAL(j.run_st, KEEL_OK);
    /* c is true: the innermost Neg decides */
    CU_ASSERT_EQUAL(j.y[0], -1.5f);
    CU_ASSERT_EQUAL(j.y[1], 2.0f);
    CU_ASSERT_EQUAL(j.live_blocks, 0);
    CU_ASSERT(j.stack_used > 0 && j.stack_used < SMALL_STACK);
    if (j.load_st || j.create_st || j.run_st)
        fprintf(stderr, "\n  nested If, depth %d: %s\n", depth, j.err);
    free(bytes);
}

static void test_nesting_at_limit_runs(void)
{
    if (getenv("KEEL_TEST_STACK")) /* where the stack goes: load only, then creation too */
        for (int stop = 1; stop <= 2; stop++)
            for (int c = 0; c < 2; c++) {
                stack_job j = {.fn = load_create_run, .cond_const = c, .stop_after = stop};
                uint8_t *bytes = nested_if_model(KEEL_MAX_NESTING, c, &j.len);
                j.bytes = bytes;
                fprintf(stderr, "\n  [stack] depth %d, cond %s, %s:", KEEL_MAX_NESTING,
                        c ? "constant" : "an input", stop == 1 ? "load" : "load + create");
                on_small_stack(&j);
                free(bytes);
            }
    nested_runs(1, false);
    nested_runs(KEEL_MAX_NESTING, false);
    nested_runs(KEEL_MAX_NESTING, true);
}

static void nested_refused(int depth)
{
    stack_job j = {.fn = load_create_run};
    uint8_t *bytes = nested_if_model(depth, false, &j.len);
    j.bytes = bytes;
    on_small_stack(&j);
    CU_ASSERT_EQUAL(j.load_st, KEEL_ERR_LIMIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(j.err, "nested.onnx"));
    CU_ASSERT_PTR_NOT_NULL(strstr(j.err, "KEEL_MAX_NESTING = 32"));
    /* the depth named is the first one over the limit */
    char want[64];
    snprintf(want, sizeof want, "is at level %d", KEEL_MAX_NESTING + 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(j.err, want));
    CU_ASSERT_EQUAL(j.live_blocks, 0);
    if (j.load_st != KEEL_ERR_LIMIT)
        fprintf(stderr, "\n  nested If, depth %d: status %d: %s\n", depth, j.load_st, j.err);
    free(bytes);
}

static void test_nesting_over_limit_refused(void)
{
    nested_refused(KEEL_MAX_NESTING + 1);
    nested_refused(100);
    nested_refused(5000);
}

/* A model whose input "x" is a sequence of sequences ... of float tensors,
 * `n` sequences deep.  Its deepest message, the TypeProto.Tensor, sits at
 * depth 4 + 2n below the ModelProto. */
static uint8_t *deep_type_model(int n, size_t *len)
{
    rw w = {0};
    rw_int(&w, 1, KEEL_FLOAT);                       /* Tensor.elem_type */
    rw_wrap(&w, 1, rw_len(&w));                      /* TypeProto.tensor_type */
    for (int i = 0; i < n; i++) {
        rw_wrap(&w, 1, rw_len(&w));                  /* Sequence.elem_type */
        rw_wrap(&w, 4, rw_len(&w));                  /* TypeProto.sequence_type */
    }
    rw_wrap(&w, 2, rw_len(&w));                      /* ValueInfoProto.type */
    rw_str(&w, 1, "x");
    rw_wrap(&w, 11, rw_len(&w));                     /* GraphProto.input */
    return rw_model(&w, len);
}

/* TypeProto nests through sequence_type without any graph: the message
 * depth limit holds there.  At the limit the file loads (on the small
 * stack); one level more and 5,000 levels are refused. */
static void test_deep_type(void)
{
    const int at_limit = (KEEL_MAX_MESSAGE_DEPTH - 4) / 2;
    const int depths[] = {at_limit, at_limit + 1, 5000};
    for (int i = 0; i < 3; i++) {
        stack_job j = {.fn = load_create_run, .stop_after = 1};
        uint8_t *bytes = deep_type_model(depths[i], &j.len);
        j.bytes = bytes;
        on_small_stack(&j);
        CU_ASSERT_EQUAL(j.load_st, i ? KEEL_ERR_LIMIT : KEEL_OK);
        if (i) {
            CU_ASSERT_PTR_NOT_NULL(strstr(j.err, "nested.onnx"));
            CU_ASSERT_PTR_NOT_NULL(strstr(j.err, "KEEL_MAX_MESSAGE_DEPTH = 128"));
        }
        CU_ASSERT_EQUAL(j.live_blocks, 0);
        free(bytes);
    }
}

void add_hostile_loader_suite(void)
{
    CU_pSuite s = CU_add_suite("hostile files (loader)", NULL, NULL);
    CU_add_test(s, "If nested to KEEL_MAX_NESTING runs on a 256 KiB stack", test_nesting_at_limit_runs);
    CU_add_test(s, "If nested 33, 100 and 5,000 deep refused", test_nesting_over_limit_refused);
    CU_add_test(s, "TypeProto nested to the message depth limit and past it", test_deep_type);
}
