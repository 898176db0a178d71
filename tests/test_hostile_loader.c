/* test_hostile_loader.c -- hostile files against the loader (issue 16):
 * subgraphs nested to and past KEEL_MAX_NESTING on a 256 KiB thread stack,
 * external data that tries to leave the model's folder or lies about its
 * size, tensors whose dims and data disagree, and graphs whose names do
 * not add up.  Each must end in a status and a message naming the
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

#include "model.h"
#include "../onnx/loader.h"
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
    uint8_t *lo, *hi, *top;  /* the thread's stack, and the top of its function's frame */
    size_t stack_used;    /* high-water mark of the thread's stack, bytes */
    size_t load_used;     /* below the thread function's frame while loading */
    size_t session_used;  /* below load_create_run's frame while creating and running */
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
    uint8_t *lo = NULL, *hi, *top;
    if (j->lo) { /* what loading took; then paint again for the session */
        j->load_used = (size_t)(j->top - stack_low_water(j->lo, j->hi));
        j->stack_used = (size_t)(j->hi - stack_low_water(j->lo, j->hi));
        paint_stack(&lo, &hi, &top);
    }
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
    if (lo) {
        uint8_t *low = stack_low_water(lo, hi);
        j->session_used = (size_t)(top - low);
        if ((size_t)(hi - low) > j->stack_used)
            j->stack_used = (size_t)(hi - low);
    }
    keel_session_free(s);
    keel_model_free(m);
    j->live_blocks = count.live_blocks;
}

static void *stack_thread(void *arg)
{
    stack_job *j = arg;
    /* painting writes below the stack pointer, which memcheck reports:
     * only when asked for the numbers */
    if (getenv("KEEL_TEST_STACK"))
        paint_stack(&j->lo, &j->hi, &j->top);
    j->fn(j);
    return NULL;
}

/* Runs j->fn on a thread whose stack is SMALL_STACK bytes (with a guard
 * page below it: an overflow is a SIGSEGV, not a quiet overwrite).  With
 * KEEL_TEST_STACK set, prints how much of it was used. */
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
        fprintf(stderr, "\n  [stack] %s: %.1f KiB of %zu KiB used; %.1f KiB by loading, "
                "%.1f KiB by creation and run\n", j->err[0] ? j->err : "ok", j->stack_used / 1024.0,
                SMALL_STACK >> 10, j->load_used / 1024.0, j->session_used / 1024.0);
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

/* ---- helpers for built models ------------------------------------------------- */

static const int64_t d23[] = {2, 3};
static const float w6[] = {1, -2, 3, -4, 5, -6};

/* out = relu(x + w), x and w float[2,3]. */
static tb_model *small_model(void)
{
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 2, d23, NULL);
    tb_output(b, "out", KEEL_FLOAT, 2, d23);
    tb_init_f32(b, "w", 2, d23, w6);
    tb_node(b, "Add", "add0", "x,w", "s");
    tb_node(b, "Relu", "relu0", "s", "out");
    return b;
}

/* Loads bytes (from `path` when not NULL, else from memory with base
 * folder `dir`), then creates a session when `create`; checks that no
 * block outlives the model.  Returns the first failing status. */
static keel_status try_bytes(const uint8_t *buf, size_t len, const char *path, const char *dir,
                             bool create, char *err, size_t n)
{
    tb_counting count = {0};
    keel_allocator alloc = tb_counting_allocator(&count);
    keel_options opt;
    keel_options_init(&opt);
    opt.allocator = &alloc;
    keel_model *m = NULL;
    keel_session *s = NULL;
    err[0] = 0;
    keel_status st = path ? keel_model_load(&m, path, &opt, err, n)
                          : keel_model_load_buffer(&m, buf, len, dir, "built.onnx", &opt, err, n);
    if (!st && create)
        st = keel_session_create(&s, m, &opt, NULL, 0, NULL, err, n);
    keel_session_free(s);
    keel_model_free(m);
    CU_ASSERT_EQUAL(count.live_blocks, 0);
    CU_ASSERT_EQUAL(count.size_mismatch, 0);
    return st;
}

/* Loads b (and plans it when `create`); expects `want` and a message
 * holding the model's name and each needle.  Frees b. */
static void expect(tb_model *b, bool create, keel_status want, const char *n1, const char *n2)
{
    char err[1024];
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    keel_status st = try_bytes(buf, len, NULL, NULL, create, err, sizeof err);
    free(buf);
    CU_ASSERT_EQUAL(st, want);
    if (want) {
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "built.onnx"));
        if (n1)
            CU_ASSERT_PTR_NOT_NULL(strstr(err, n1));
        if (n2)
            CU_ASSERT_PTR_NOT_NULL(strstr(err, n2));
    }
    if (st != want || (want && ((n1 && !strstr(err, n1)) || (n2 && !strstr(err, n2)))))
        fprintf(stderr, "\n  unexpected (status %d, wanted %d): %s\n", st, want, err);
    tb_free(b);
}

/* ---- 2a. external data ------------------------------------------------------------ */

static char ext_keys[4][16], ext_vals[4][64];
static Onnx__StringStringEntryProto ext_entry[4];
static Onnx__StringStringEntryProto *ext_list[4];

/* Makes initializer t external with n key/value pairs. */
static void set_external(Onnx__TensorProto *t, int n, const char *const *kv)
{
    for (int i = 0; i < n; i++) {
        onnx__string_string_entry_proto__init(&ext_entry[i]);
        snprintf(ext_keys[i], sizeof ext_keys[i], "%s", kv[2 * i]);
        snprintf(ext_vals[i], sizeof ext_vals[i], "%s", kv[2 * i + 1]);
        ext_entry[i].key = ext_keys[i];
        ext_entry[i].value = ext_vals[i];
        ext_list[i] = &ext_entry[i];
    }
    t->external_data = ext_list;
    t->n_external_data = (size_t)n;
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    t->has_raw_data = 0;
}

/* small_model with w external: written as dir/model.onnx and loaded from
 * there.  `patch`, if not NULL, is replaced in the file by `with` (same
 * length: a way to put bytes protobuf-c would not write). */
static keel_status load_ext(const char *dir, int n, const char *const *kv, const char *patch,
                            const char *with, char *err, size_t errn, float *first)
{
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 2, d23, NULL);
    tb_output(b, "out", KEEL_FLOAT, 2, d23);
    Onnx__TensorProto *t = tb_init_raw(b, "ext_w", KEEL_FLOAT, 2, d23, NULL, 0);
    tb_node(b, "Add", "add0", "x,ext_w", "out");
    set_external(t, n, kv);
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    t->external_data = NULL;
    t->n_external_data = 0;
    tb_free(b);
    if (patch) {
        size_t pl = strlen(patch);
        for (size_t i = 0; i + pl <= len; i++)
            if (memcmp(buf + i, patch, pl) == 0) {
                memcpy(buf + i, with, pl);
                break;
            }
    }
    char path[512];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    FILE *f = fopen(path, "wb");
    fwrite(buf, 1, len, f);
    fclose(f);
    free(buf);
    tb_counting count = {0};
    keel_allocator alloc = tb_counting_allocator(&count);
    keel_options opt;
    keel_options_init(&opt);
    opt.allocator = &alloc;
    keel_model *m = NULL;
    keel_status st = keel_model_load(&m, path, &opt, err, errn);
    if (!st && first)
        *first = ((float *)m->graph->values[kl_graph_find(m->graph, "ext_w")].init->data)[0];
    keel_model_free(m);
    CU_ASSERT_EQUAL(count.live_blocks, 0);
    unlink(path);
    return st;
}

/* Open file descriptors of the process: every error path closes its own. */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* One external-data case: status, and the message names the file,
 * the tensor and `needle`. */
#define EXT(st_want, needle, ...) do { \
        const char *kv_[] = {__VA_ARGS__}; \
        char err_[1024] = ""; \
        keel_status st_ = load_ext(dir, (int)(sizeof kv_ / sizeof *kv_ / 2), kv_, NULL, NULL, err_, sizeof err_, NULL); \
        CU_ASSERT_EQUAL(st_, st_want); \
        CU_ASSERT_PTR_NOT_NULL(strstr(err_, "model.onnx")); \
        CU_ASSERT_PTR_NOT_NULL(strstr(err_, "ext_w")); \
        CU_ASSERT_PTR_NOT_NULL(strstr(err_, needle)); \
        if (st_ != st_want || !strstr(err_, needle)) \
            fprintf(stderr, "\n  line %d: status %d: %s\n", __LINE__, st_, err_); \
    } while (0)

static void test_external_paths(void)
{
    int fds = open_fds();
    char *dir = tb_tempdir();
    char path[700], outside[600];
    snprintf(path, sizeof path, "%s/w.bin", dir);
    tb_write_floats(path, 8, 10.0f);
    snprintf(path, sizeof path, "%s/sub", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/sub/w.bin", dir);
    tb_write_floats(path, 6, 20.0f);
    snprintf(outside, sizeof outside, "%s.outside", dir);
    mkdir(outside, 0700);
    snprintf(path, sizeof path, "%s/w.bin", outside);
    tb_write_floats(path, 6, 0);

    /* the good cases load */
    float first = 0;
    char err[1024];
    const char *ok1[] = {"location", "w.bin", "offset", "8", "length", "24"};
    CU_ASSERT_EQUAL(load_ext(dir, 3, ok1, NULL, NULL, err, sizeof err, &first), KEEL_OK);
    CU_ASSERT_EQUAL(first, 12.0f);
    const char *ok2[] = {"location", "./sub//w.bin"};
    CU_ASSERT_EQUAL(load_ext(dir, 1, ok2, NULL, NULL, err, sizeof err, &first), KEEL_OK);
    CU_ASSERT_EQUAL(first, 20.0f);

    EXT(KEEL_ERR_INVALID, "inside the model's folder", "location", "../x");
    EXT(KEEL_ERR_INVALID, "inside the model's folder", "location", "sub/../../x");
    EXT(KEEL_ERR_INVALID, "inside the model's folder", "location", "sub/../w.bin");
    EXT(KEEL_ERR_INVALID, "inside the model's folder", "location", "/etc/passwd");
    EXT(KEEL_ERR_INVALID, "inside the model's folder", "location", "");
    EXT(KEEL_ERR_INVALID, "names a folder", "location", "sub/.");
    EXT(KEEL_ERR_INVALID, "not a regular file", "location", "sub/");
    EXT(KEEL_ERR_INVALID, "not a regular file", "location", "sub");
    EXT(KEEL_ERR_IO, "No such file", "location", "missing.bin");

    /* a NUL inside the location: protobuf-c would cut it to "w.bin" */
    const char *nul[] = {"location", "w.binX/../../x"};
    CU_ASSERT_EQUAL(load_ext(dir, 1, nul, "w.binX", "w.bin\0", err, sizeof err, NULL), KEEL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "NUL"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "StringStringEntryProto.value"));

    /* links: a file and a folder leading out, and one that stays inside,
     * are all refused: keel follows no link */
    snprintf(path, sizeof path, "%s/w.bin", outside);
    char link[700];
    snprintf(link, sizeof link, "%s/file_link.bin", dir);
    CU_ASSERT_EQUAL(symlink(path, link), 0);
    EXT(KEEL_ERR_INVALID, "symbolic link", "location", "file_link.bin");
    snprintf(link, sizeof link, "%s/dir_link", dir);
    CU_ASSERT_EQUAL(symlink(outside, link), 0);
    EXT(KEEL_ERR_INVALID, "symbolic link", "location", "dir_link/w.bin");
    snprintf(link, sizeof link, "%s/sub/up", dir);
    CU_ASSERT_EQUAL(symlink("..", link), 0);
    EXT(KEEL_ERR_INVALID, "symbolic link", "location", "sub/up/w.bin");
    snprintf(link, sizeof link, "%s/inside_link.bin", dir);
    CU_ASSERT_EQUAL(symlink("w.bin", link), 0);
    EXT(KEEL_ERR_INVALID, "symbolic link", "location", "inside_link.bin");

    /* a FIFO would block an open without O_NONBLOCK: no hang, refused */
    snprintf(path, sizeof path, "%s/fifo", dir);
    CU_ASSERT_EQUAL(mkfifo(path, 0600), 0);
    EXT(KEEL_ERR_INVALID, "not a regular file", "location", "fifo");

    const char *names[] = {"w.bin", "sub/w.bin", "sub/up", "file_link.bin", "dir_link", "inside_link.bin", "fifo", "sub"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        CU_ASSERT_EQUAL(i == 7 ? rmdir(path) : unlink(path), 0);
    }
    snprintf(path, sizeof path, "%s/w.bin", outside);
    unlink(path);
    rmdir(outside);
    CU_ASSERT_EQUAL(rmdir(dir), 0);
    free(dir);
    CU_ASSERT_EQUAL(open_fds(), fds);
}

static void test_external_offsets_and_keys(void)
{
    int fds = open_fds();
    char *dir = tb_tempdir();
    char path[700];
    snprintf(path, sizeof path, "%s/w.bin", dir);
    tb_write_floats(path, 8, 10.0f); /* 32 bytes; the tensor needs 24 */

    EXT(KEEL_ERR_INVALID, "bad external data offset '-4'", "location", "w.bin", "offset", "-4");
    EXT(KEEL_ERR_INVALID, "bad external data offset '+4'", "location", "w.bin", "offset", "+4");
    EXT(KEEL_ERR_INVALID, "bad external data offset ' 4'", "location", "w.bin", "offset", " 4");
    EXT(KEEL_ERR_INVALID, "bad external data offset ''", "location", "w.bin", "offset", "");
    EXT(KEEL_ERR_INVALID, "bad external data offset '4k'", "location", "w.bin", "offset", "4k");
    EXT(KEEL_ERR_INVALID, "bad external data offset '99999999999999999999'", "location", "w.bin",
        "offset", "99999999999999999999");
    /* 2^63: one past what off_t holds */
    EXT(KEEL_ERR_INVALID, "bad external data offset", "location", "w.bin", "offset", "9223372036854775808");
    /* in range for off_t, but offset + length overflows nothing: past the end */
    EXT(KEEL_ERR_IO, "too short", "location", "w.bin", "offset", "9223372036854775807");
    EXT(KEEL_ERR_IO, "too short", "location", "w.bin", "offset", "33");
    EXT(KEEL_ERR_IO, "too short", "location", "w.bin", "offset", "12");
    EXT(KEEL_ERR_INVALID, "bad external data length '-24'", "location", "w.bin", "length", "-24");
    EXT(KEEL_ERR_INVALID, "length 32 does not match", "location", "w.bin", "length", "32");
    EXT(KEEL_ERR_INVALID, "bad external data length '18446744073709551615'", "location", "w.bin", "length", "18446744073709551615");
    EXT(KEEL_ERR_INVALID, "'location' is given twice", "location", "w.bin", "location", "w.bin");
    EXT(KEEL_ERR_INVALID, "'offset' is given twice", "location", "w.bin", "offset", "0", "offset", "8");
    EXT(KEEL_ERR_INVALID, "unknown external data key 'basepath'", "location", "w.bin", "basepath", "/");
    EXT(KEEL_ERR_INVALID, "entry 1 has no key", "location", "w.bin", "", "x");
    EXT(KEEL_ERR_INVALID, "without a location", "offset", "0");
    /* checksum is ONNX's own key: accepted, not verified */
    const char *ck[] = {"location", "w.bin", "checksum", "abc"};
    char err[1024];
    CU_ASSERT_EQUAL(load_ext(dir, 2, ck, NULL, NULL, err, sizeof err, NULL), KEEL_OK);

    unlink(path);
    CU_ASSERT_EQUAL(rmdir(dir), 0);
    free(dir);
    CU_ASSERT_EQUAL(open_fds(), fds);
}

/* ---- 2b. tensors -------------------------------------------------------------- */

/* An allocator that remembers the largest block asked for. */
static size_t biggest_request;

static void *biggest_alloc(void *user, size_t n)
{
    (void)user;
    if (n > biggest_request)
        biggest_request = n;
    void *p = NULL;
    return n <= ((size_t)64 << 20) && !posix_memalign(&p, 64, n ? n : 1) ? memset(p, 0, n) : NULL;
}

static void biggest_free(void *user, void *p, size_t n)
{
    (void)user;
    (void)n;
    free(p);
}

static void test_huge_dims_little_data(void)
{
    /* 2^30 floats (4 GiB, the default limit) with 4 bytes of data: the
     * length check comes before any allocation, so no block is bigger
     * than the file */
    keel_allocator alloc = {biggest_alloc, biggest_free, NULL};
    biggest_request = 0;
    keel_options opt;
    keel_options_init(&opt);
    opt.allocator = &alloc;
    tb_model *b = small_model();
    static const int64_t big[] = {(int64_t)1 << 30};
    Onnx__TensorProto *t = tb_init_raw(b, "big", KEEL_FLOAT, 1, big, w6, 4);
    (void)t;
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    keel_model *m = NULL;
    char err[1024];
    keel_status st = keel_model_load_buffer(&m, buf, len, NULL, "built.onnx", &opt, err, sizeof err);
    CU_ASSERT_EQUAL(st, KEEL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'big'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "raw_data has 4 bytes"));
    CU_ASSERT(biggest_request < ((size_t)1 << 20));
    free(buf);
    tb_free(b);

    /* the same dims with no data at all: typed fields counted first */
    b = small_model();
    t = tb_init_raw(b, "big", KEEL_FLOAT, 1, big, NULL, 0);
    t->has_raw_data = 0;
    expect(b, false, KEEL_ERR_INVALID, "'big' has 0 values, its dims say 1073741824", NULL);

    /* over the tensor size limit */
    b = small_model();
    static const int64_t huge[] = {(int64_t)1 << 40};
    tb_init_raw(b, "huge", KEEL_FLOAT, 1, huge, NULL, 0);
    expect(b, false, KEEL_ERR_LIMIT, "'huge'", "tensor size limit");
}

static void test_data_length_mismatch(void)
{
    tb_model *b = small_model();
    tb_init_raw(b, "short", KEEL_FLOAT, 2, d23, w6, 20);
    expect(b, false, KEEL_ERR_INVALID, "'short'", "raw_data has 20 bytes, its dims need 24");

    b = small_model();
    tb_init_raw(b, "long", KEEL_INT64, 1, (const int64_t[]){2}, w6, 24);
    expect(b, false, KEEL_ERR_INVALID, "'long'", "raw_data has 24 bytes, its dims need 16");

    /* typed fields: 3 int64 values for dims [2,3] */
    b = small_model();
    Onnx__TensorProto *t = tb_init_raw(b, "typed", KEEL_INT64, 2, d23, NULL, 0);
    static int64_t three[] = {1, 2, 3};
    t->has_raw_data = 0;
    t->int64_data = three;
    t->n_int64_data = 3;
    expect(b, false, KEEL_ERR_INVALID, "'typed' has 3 values, its dims say 6", NULL);

    /* float_data given for an int32 tensor: its int32_data count (0) speaks */
    b = small_model();
    t = tb_init_raw(b, "wrongfield", KEEL_INT32, 1, (const int64_t[]){2}, NULL, 0);
    static float two[] = {1, 2};
    t->has_raw_data = 0;
    t->float_data = two;
    t->n_float_data = 2;
    expect(b, false, KEEL_ERR_INVALID, "'wrongfield' has 0 values, its dims say 2", NULL);
}

static void test_rank_and_overflow(void)
{
    static const int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    tb_model *b = small_model();
    tb_init_raw(b, "rank9", KEEL_FLOAT, 9, nine, w6, 4);
    expect(b, false, KEEL_ERR_UNSUPPORTED, "'rank9' has rank 9", "up to 8");

    b = small_model();
    tb_input(b, "in9", KEEL_FLOAT, 9, nine, NULL);
    expect(b, false, KEEL_ERR_UNSUPPORTED, "'in9' has rank 9", NULL);

    /* 2^32 * 2^32 overflows int64 */
    b = small_model();
    static const int64_t over[] = {(int64_t)1 << 32, (int64_t)1 << 32};
    tb_init_raw(b, "over", KEEL_FLOAT, 2, over, NULL, 0);
    expect(b, false, KEEL_ERR_INVALID, "'over'", "overflows");

    /* 2^62 int64 elements: the element count fits int64, the bytes do not fit 64 bits */
    b = small_model();
    static const int64_t e62[] = {(int64_t)1 << 62};
    tb_init_raw(b, "bytes_over", KEEL_INT64, 1, e62, NULL, 0);
    expect(b, false, KEEL_ERR_LIMIT, "'bytes_over'", NULL);

    b = small_model();
    static const int64_t neg[] = {2, -3};
    tb_init_raw(b, "neg", KEEL_FLOAT, 2, neg, NULL, 0);
    expect(b, false, KEEL_ERR_INVALID, "'neg'", "negative");

    /* a graph input declared [2^40, 2^40]: loads, and session creation
     * refuses it */
    b = tb_new(8, 13);
    static const int64_t vast[] = {(int64_t)1 << 40, (int64_t)1 << 40};
    tb_input(b, "vast", KEEL_FLOAT, 2, vast, NULL);
    tb_output(b, "y", KEEL_FLOAT, 2, vast);
    tb_node(b, "Relu", "relu0", "vast", "y");
    expect(b, true, KEEL_ERR_LIMIT, "'vast'", NULL);
}

/* ---- 2c. names and structure ---------------------------------------------------- */

/* Puts a one-node graph (out = op(in)) into node n as attribute `attr`. */
static Onnx__GraphProto *sub_graph(Onnx__NodeProto *n, const char *attr, const char *op,
                                   const char *in, const char *out)
{
    /* everything static: the tests below use at most two at a time */
    static Onnx__GraphProto g[2];
    static Onnx__NodeProto node[2];
    static Onnx__AttributeProto a[2];
    static Onnx__AttributeProto *alist[2][2];
    static Onnx__ValueInfoProto vi[2];
    static Onnx__ValueInfoProto *vlist[2];
    static char *ins[2][1], *outs[2][1];
    int k = n->n_attribute;
    onnx__graph_proto__init(&g[k]);
    onnx__node_proto__init(&node[k]);
    onnx__attribute_proto__init(&a[k]);
    onnx__value_info_proto__init(&vi[k]);
    ins[k][0] = (char *)in;
    outs[k][0] = (char *)out;
    node[k].op_type = (char *)op;
    node[k].name = (char *)"inner";
    node[k].input = ins[k];
    node[k].n_input = 1;
    node[k].output = outs[k];
    node[k].n_output = 1;
    static Onnx__NodeProto *nlist[2][1];
    nlist[k][0] = &node[k];
    g[k].node = nlist[k];
    g[k].n_node = 1;
    g[k].name = (char *)attr;
    vi[k].name = (char *)out;
    vlist[k] = &vi[k];
    g[k].output = &vlist[k];
    g[k].n_output = 1;
    a[k].name = (char *)attr;
    a[k].has_type = 1;
    a[k].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
    a[k].g = &g[k];
    alist[0][k] = &a[k];
    n->attribute = alist[0];
    n->n_attribute = (size_t)k + 1;
    return &g[k];
}

/* Detaches the static attributes before tb_free sees the node. */
static void expect_sub(tb_model *b, Onnx__NodeProto *n, bool create, keel_status want,
                       const char *n1, const char *n2)
{
    char err[1024];
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    n->attribute = NULL;
    n->n_attribute = 0;
    tb_free(b);
    keel_status st = try_bytes(buf, len, NULL, NULL, create, err, sizeof err);
    free(buf);
    CU_ASSERT_EQUAL(st, want);
    if (want) {
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "built.onnx"));
        if (n1)
            CU_ASSERT_PTR_NOT_NULL(strstr(err, n1));
        if (n2)
            CU_ASSERT_PTR_NOT_NULL(strstr(err, n2));
    }
    if (st != want || (want && ((n1 && !strstr(err, n1)) || (n2 && !strstr(err, n2)))))
        fprintf(stderr, "\n  unexpected (status %d, wanted %d): %s\n", st, want, err);
}

static tb_model *cond_model(void)
{
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 2, d23, NULL);
    tb_input(b, "c", KEEL_BOOL, 0, NULL, NULL);
    tb_output(b, "out", KEEL_FLOAT, 2, d23);
    return b;
}

static void test_unknown_and_empty_names(void)
{
    tb_model *b = small_model();
    tb_node(b, "Relu", "reads_ghost", "ghost", "r");
    expect(b, false, KEEL_ERR_INVALID, "reads_ghost", "'ghost' is not produced");

    /* a subgraph reading a name no enclosing graph defines */
    b = cond_model();
    Onnx__NodeProto *n = tb_node(b, "If", "if0", "c", "out");
    sub_graph(n, "then_branch", "Neg", "ghost", "t");
    sub_graph(n, "else_branch", "Identity", "x", "e");
    expect_sub(b, n, false, KEEL_ERR_INVALID, "if0", "'ghost', which no enclosing graph defines");

    /* an empty name where Add has no optional input */
    b = small_model();
    tb_node(b, "Add", "add_empty", ",x", "a2");
    expect(b, true, KEEL_ERR_INVALID, "add_empty", "required input 0 is empty");

    /* an empty first output */
    b = small_model();
    tb_node(b, "Relu", "no_out", "x", "");
    expect(b, true, KEEL_ERR_INVALID, "no_out", "has no first output");

    /* nameless graph input and initializer */
    b = small_model();
    tb_input(b, "", KEEL_FLOAT, 2, d23, NULL);
    expect(b, false, KEEL_ERR_INVALID, "graph input 1 has no name", NULL);
    b = small_model();
    tb_init_f32(b, "", 2, d23, w6);
    expect(b, false, KEEL_ERR_INVALID, "initializer 1 has no name", NULL);
}

static void test_duplicate_names(void)
{
    tb_model *b = small_model();
    tb_node(b, "Neg", "second", "x", "s");
    expect(b, false, KEEL_ERR_INVALID, "second", "'s' is already produced by another node");

    b = small_model();
    tb_node(b, "Neg", "over_input", "w", "x");
    expect(b, false, KEEL_ERR_INVALID, "over_input", "'x' is already produced by a graph input");

    b = small_model();
    tb_node(b, "Neg", "over_init", "x", "w");
    expect(b, false, KEEL_ERR_INVALID, "over_init", "'w' is already produced by an initializer");

    b = small_model();
    tb_init_f32(b, "w", 2, d23, w6);
    expect(b, false, KEEL_ERR_INVALID, "initializer 'w' is defined twice", NULL);

    b = small_model();
    tb_input(b, "x", KEEL_FLOAT, 2, d23, NULL);
    expect(b, false, KEEL_ERR_INVALID, "graph input 'x' is defined twice", NULL);
}

/* An initializer named like a graph input is that input's default (ONNX
 * IR >= 4); keel holds it constant and the input is not a runtime input,
 * whatever the IR version. */
static void test_initializer_shadows_input(void)
{
    for (int ir = 3; ir <= 8; ir += 5) {
        tb_model *b = tb_new(ir, 13);
        tb_input(b, "x", KEEL_FLOAT, 2, d23, NULL);
        tb_input(b, "w", KEEL_FLOAT, 2, d23, NULL);
        tb_output(b, "out", KEEL_FLOAT, 2, d23);
        tb_init_f32(b, "w", 2, d23, w6);
        tb_node(b, "Add", "add0", "x,w", "out");
        size_t len;
        uint8_t *buf = tb_pack(b, &len);
        tb_free(b);
        keel_model *m = NULL;
        keel_session *s = NULL;
        char err[1024];
        CU_ASSERT_EQUAL_FATAL(keel_model_load_buffer(&m, buf, len, NULL, "built.onnx", NULL, err, sizeof err), KEEL_OK);
        free(buf);
        CU_ASSERT_EQUAL(keel_model_input_count(m), 1);
        CU_ASSERT_STRING_EQUAL(keel_model_input_name(m, 0), "x");
        CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, NULL, NULL, 0, NULL, err, sizeof err), KEEL_OK);
        float xv[6] = {0}, y[6] = {0};
        keel_tensor in = {KEEL_FLOAT, 2, {2, 3}, xv}, out = {KEEL_FLOAT, 2, {2, 3}, y};
        CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_OK);
        CU_ASSERT_EQUAL(y[1], -2.0f);
        CU_ASSERT_EQUAL(y[5], -6.0f);
        keel_session_free(s);
        keel_model_free(m);
    }
}

static void test_cycles(void)
{
    tb_model *b = small_model();
    tb_node(b, "Neg", "c1", "c2out", "c1out");
    tb_node(b, "Neg", "c2", "c1out", "c2out");
    expect(b, false, KEEL_ERR_INVALID, "cycle", NULL);

    /* through a subgraph: the If's branch reads 'late', which a node
     * computes from the If's own output */
    b = cond_model();
    Onnx__NodeProto *n = tb_node(b, "If", "if0", "c", "ifout");
    sub_graph(n, "then_branch", "Neg", "late", "t");
    sub_graph(n, "else_branch", "Identity", "x", "e");
    tb_node(b, "Neg", "makes_late", "ifout", "late");
    tb_node(b, "Identity", "id", "late", "out");
    expect_sub(b, n, false, KEEL_ERR_INVALID, "cycle", NULL);

    /* a branch reading its own node's output */
    b = cond_model();
    n = tb_node(b, "If", "if0", "c", "out");
    sub_graph(n, "then_branch", "Neg", "out", "t");
    sub_graph(n, "else_branch", "Identity", "x", "e");
    expect_sub(b, n, false, KEEL_ERR_INVALID, "cycle", NULL);

    /* a node reading its own output */
    b = small_model();
    tb_node(b, "Neg", "self", "selfout", "selfout");
    expect(b, false, KEEL_ERR_INVALID, "cycle", NULL);
}

void add_hostile_loader_suite(void)
{
    CU_pSuite s = CU_add_suite("hostile files (loader)", NULL, NULL);
    CU_add_test(s, "If nested to KEEL_MAX_NESTING runs on a 256 KiB stack", test_nesting_at_limit_runs);
    CU_add_test(s, "If nested 33, 100 and 5,000 deep refused", test_nesting_over_limit_refused);
    CU_add_test(s, "TypeProto nested to the message depth limit and past it", test_deep_type);
    CU_add_test(s, "external data paths, links, FIFOs", test_external_paths);
    CU_add_test(s, "external data offsets, lengths and keys", test_external_offsets_and_keys);
    CU_add_test(s, "huge dims with little or no data", test_huge_dims_little_data);
    CU_add_test(s, "raw_data and typed counts against dims", test_data_length_mismatch);
    CU_add_test(s, "rank over 8 and overflowing shapes", test_rank_and_overflow);
    CU_add_test(s, "unknown and empty names", test_unknown_and_empty_names);
    CU_add_test(s, "duplicate names", test_duplicate_names);
    CU_add_test(s, "initializer named like an input", test_initializer_shadows_input);
    CU_add_test(s, "cycles, through subgraphs too", test_cycles);
}
