/* test_loader.c -- the loader: valid models decode right, each kind of bad
 * file gets its own error naming the file and the culprit. */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "../onnx/loader.h"
#include "checker.h"
#include "testutil.h"

static const int64_t d23[] = {2, 3};

/* A valid model: out = relu(x + w), x and w float[2,3]. */
static tb_model *small_model(void)
{
    static const float w[] = {1, -2, 3, -4, 5, -6};
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 2, d23, NULL);
    tb_output(b, "out", KEEL_FLOAT, 2, d23);
    tb_init_f32(b, "w", 2, d23, w);
    tb_node(b, "Add", "add0", "x,w", "s");
    tb_node(b, "Relu", "relu0", "s", "out");
    return b;
}

/* Loads b from memory; returns the status and leaves the message in err. */
static keel_status load_built(tb_model *b, char *err, size_t n, keel_model **out)
{
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    keel_model *m = NULL;
    keel_status st = keel_model_load_buffer(&m, buf, len, NULL, "built.onnx", NULL, err, n);
    free(buf);
    if (out)
        *out = m;
    else
        keel_model_free(m);
    return st;
}

static void expect_error(tb_model *b, keel_status want, const char *needle1, const char *needle2)
{
    char err[1024] = "";
    keel_status st = load_built(b, err, sizeof err, NULL);
    CU_ASSERT_EQUAL(st, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "built.onnx"));
    if (needle1)
        CU_ASSERT_PTR_NOT_NULL(strstr(err, needle1));
    if (needle2)
        CU_ASSERT_PTR_NOT_NULL(strstr(err, needle2));
    if (st != want || (needle1 && !strstr(err, needle1)) || (needle2 && !strstr(err, needle2)))
        fprintf(stderr, "\n  unexpected error (status %d): %s\n", st, err);
    tb_free(b);
}

static void test_valid_model(void)
{
    tb_model *b = small_model();
    char err[1024];
    keel_model *m;
    CU_ASSERT_EQUAL_FATAL(load_built(b, err, sizeof err, &m), KEEL_OK);
    const kl_graph *g = m->graph;
    CU_ASSERT_EQUAL(g->n_nodes, 2);
    CU_ASSERT_EQUAL(g->n_inputs, 1);
    CU_ASSERT_EQUAL(g->n_outputs, 1);
    CU_ASSERT_STRING_EQUAL(g->nodes[0].op_type, "Add");
    int w = kl_graph_find(g, "w");
    CU_ASSERT_TRUE_FATAL(w >= 0);
    CU_ASSERT_EQUAL(g->values[w].kind, KL_VALUE_INIT);
    CU_ASSERT_EQUAL(((float *)g->values[w].init->data)[5], -6.0f);
    CU_ASSERT_EQUAL(kl_model_opset(m, "ai.onnx"), 13);
    keel_model_free(m);
    tb_free(b);
}

static void test_nodes_sorted(void)
{
    /* the file lists the consumer first */
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 2, d23, NULL);
    tb_output(b, "out", KEEL_FLOAT, 2, d23);
    tb_node(b, "Relu", "second", "mid", "out");
    tb_node(b, "Relu", "first", "x", "mid");
    keel_model *m;
    char err[1024];
    CU_ASSERT_EQUAL_FATAL(load_built(b, err, sizeof err, &m), KEEL_OK);
    CU_ASSERT_STRING_EQUAL(m->graph->nodes[0].name, "first");
    CU_ASSERT_STRING_EQUAL(m->graph->nodes[1].name, "second");
    keel_model_free(m);
    tb_free(b);
}

static void test_typed_fields(void)
{
    tb_model *b = small_model();
    Onnx__TensorProto *t = tb_init_raw(b, "i8", KEEL_INT8, 1, (int64_t[]){3}, NULL, 0);
    t->has_raw_data = 0;
    int32_t vals[] = {-1, 2, -128};
    t->int32_data = vals;
    t->n_int32_data = 3;
    Onnx__TensorProto *h = tb_init_raw(b, "half", KEEL_FLOAT16, 1, (int64_t[]){1}, NULL, 0);
    h->has_raw_data = 0;
    int32_t hv[] = {0x3c00}; /* 1.0 */
    h->int32_data = hv;
    h->n_int32_data = 1;
    keel_model *m;
    char err[1024];
    CU_ASSERT_EQUAL_FATAL(load_built(b, err, sizeof err, &m), KEEL_OK);
    const kl_tensor *i8 = m->graph->values[kl_graph_find(m->graph, "i8")].init;
    CU_ASSERT_EQUAL(((int8_t *)i8->data)[0], -1);
    CU_ASSERT_EQUAL(((int8_t *)i8->data)[2], -128);
    const kl_tensor *hf = m->graph->values[kl_graph_find(m->graph, "half")].init;
    CU_ASSERT_EQUAL(kl_half_to_float(((uint16_t *)hf->data)[0]), 1.0f);
    keel_model_free(m);
    t->int32_data = NULL; /* owned by the test's stack */
    t->n_int32_data = 0;
    h->int32_data = NULL;
    h->n_int32_data = 0;
    tb_free(b);
}

static void test_truncated(void)
{
    tb_model *b = small_model();
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    int refused = 0, tried = 0;
    for (size_t cut = 1; cut < len; cut += 7) {
        keel_model *m = NULL;
        char err[1024] = "";
        keel_status st = keel_model_load_buffer(&m, buf, cut, NULL, "cut.onnx", NULL, err, sizeof err);
        tried++;
        if (st != KEEL_OK) {
            refused++;
            CU_ASSERT_PTR_NOT_NULL(strstr(err, "cut.onnx"));
            CU_ASSERT_PTR_NULL(m);
        }
        keel_model_free(m);
    }
    /* every cut inside a field breaks the encoding or drops a needed part */
    CU_ASSERT_EQUAL(refused, tried);
    free(buf);
    tb_free(b);
}

static void test_not_protobuf(void)
{
    const char text[] = "this is not an onnx file at all \xff\xff\xff\xff";
    keel_model *m;
    char err[1024];
    CU_ASSERT_EQUAL(keel_model_load_buffer(&m, text, sizeof text, NULL, "text.onnx", NULL, err, sizeof err),
                    KEEL_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "text.onnx"));
}

static void test_raw_data_length(void)
{
    tb_model *b = small_model();
    float five[5] = {0};
    tb_init_raw(b, "short_w", KEEL_FLOAT, 2, d23, five, sizeof five);
    expect_error(b, KEEL_ERR_INVALID, "short_w", "raw_data has 20 bytes");
}

static void test_negative_dims(void)
{
    tb_model *b = small_model();
    tb_init_raw(b, "neg", KEEL_FLOAT, 2, (int64_t[]){2, -3}, NULL, 0);
    expect_error(b, KEEL_ERR_INVALID, "neg", "negative");
}

static void test_overflowing_dims(void)
{
    tb_model *b = small_model();
    tb_init_raw(b, "huge", KEEL_FLOAT, 3, (int64_t[]){1 << 30, 1 << 30, 1 << 30}, NULL, 0);
    expect_error(b, KEEL_ERR_INVALID, "huge", "overflow");
}

static void test_unsupported_dtype(void)
{
    tb_model *b = small_model();
    tb_init_raw(b, "cplx", 14 /* complex64 */, 1, (int64_t[]){1}, "12345678", 8);
    expect_error(b, KEEL_ERR_UNSUPPORTED, "cplx", "complex64");
}

static void test_unknown_ir(void)
{
    tb_model *b = small_model();
    tb_proto(b)->ir_version = 99;
    expect_error(b, KEEL_ERR_UNSUPPORTED, "IR version 99", NULL);
}

static void test_cycle(void)
{
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 2, d23, NULL);
    tb_output(b, "out", KEEL_FLOAT, 2, d23);
    tb_node(b, "Add", "a", "x,c", "b_out");
    tb_node(b, "Relu", "b", "b_out", "c");
    tb_node(b, "Relu", "c", "c", "out");
    expect_error(b, KEEL_ERR_INVALID, "cycle", "Add");
}

static void test_dangling_input(void)
{
    tb_model *b = small_model();
    tb_node(b, "Relu", "lost", "nowhere", "y");
    expect_error(b, KEEL_ERR_INVALID, "'lost'", "'nowhere'");
}

static void test_produced_twice(void)
{
    tb_model *b = small_model();
    tb_node(b, "Relu", "again", "x", "s");
    expect_error(b, KEEL_ERR_INVALID, "'again'", "already produced");
}

static void test_missing_graph_output(void)
{
    tb_model *b = small_model();
    tb_output(b, "ghost", KEEL_FLOAT, 2, d23);
    expect_error(b, KEEL_ERR_INVALID, "ghost", NULL);
}

/* ---- external data ---------------------------------------------------------------- */

static void set_external(tb_model *b, Onnx__TensorProto *t, const char *location, const char *offset)
{
    static Onnx__StringStringEntryProto loc, off;
    static Onnx__StringStringEntryProto *entries[2];
    (void)b;
    onnx__string_string_entry_proto__init(&loc);
    onnx__string_string_entry_proto__init(&off);
    loc.key = "location";
    loc.value = (char *)location;
    off.key = "offset";
    off.value = (char *)offset;
    entries[0] = &loc;
    entries[1] = &off;
    t->external_data = entries;
    t->n_external_data = offset ? 2 : 1;
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    t->has_raw_data = 0;
}

static keel_status load_external(const char *location, const char *offset, const char *dir,
                                 char *err, size_t n, float *first)
{
    tb_model *b = small_model();
    Onnx__TensorProto *t = tb_init_raw(b, "ext_w", KEEL_FLOAT, 2, d23, NULL, 0);
    set_external(b, t, location, offset);
    char path[512];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    tb_write(b, path);
    keel_model *m = NULL;
    keel_status st = keel_model_load(&m, path, NULL, err, n);
    if (!st && first)
        *first = ((float *)m->graph->values[kl_graph_find(m->graph, "ext_w")].init->data)[0];
    keel_model_free(m);
    t->external_data = NULL;
    t->n_external_data = 0;
    tb_free(b);
    return st;
}

static void test_external_data(void)
{
    char *dir = tb_tempdir();
    char path[512], err[1024], outside[512];
    float first = 0;
    snprintf(path, sizeof path, "%s/weights.bin", dir);
    tb_write_floats(path, 8, 10.0f);
    CU_ASSERT_EQUAL(load_external("weights.bin", "8", dir, err, sizeof err, &first), KEEL_OK);
    CU_ASSERT_EQUAL(first, 12.0f);
    /* too short: 8 floats, 6 wanted from float 4 on */
    CU_ASSERT_EQUAL(load_external("weights.bin", "16", dir, err, sizeof err, NULL), KEEL_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "too short"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "ext_w"));
    CU_ASSERT_EQUAL(load_external("missing.bin", NULL, dir, err, sizeof err, NULL), KEEL_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "missing.bin"));
    CU_ASSERT_EQUAL(load_external("../weights.bin", NULL, dir, err, sizeof err, NULL), KEEL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "inside the model's folder"));
    CU_ASSERT_EQUAL(load_external("/etc/passwd", NULL, dir, err, sizeof err, NULL), KEEL_ERR_INVALID);
    /* a symlink leading out */
    snprintf(outside, sizeof outside, "%s.outside", dir);
    tb_write_floats(outside, 8, 0);
    snprintf(path, sizeof path, "%s/link.bin", dir);
    CU_ASSERT_EQUAL(symlink(outside, path), 0);
    CU_ASSERT_EQUAL(load_external("link.bin", NULL, dir, err, sizeof err, NULL), KEEL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "outside"));
    unlink(path);
    unlink(outside);
    snprintf(path, sizeof path, "%s/weights.bin", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    unlink(path);
    rmdir(dir);
    free(dir);
}

static void test_external_from_memory(void)
{
    tb_model *b = small_model();
    Onnx__TensorProto *t = tb_init_raw(b, "ext_w", KEEL_FLOAT, 2, d23, NULL, 0);
    set_external(b, t, "weights.bin", NULL);
    expect_error(b, KEEL_ERR_INVALID, "ext_w", "from memory");
}

/* ---- allocation ------------------------------------------------------------------- */

static void test_allocator_sees_everything(void)
{
    tb_counting count = {0};
    keel_allocator a = tb_counting_allocator(&count);
    keel_options opt;
    keel_options_init(&opt);
    opt.allocator = &a;
    tb_model *b = small_model();
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    keel_model *m;
    char err[1024];
    CU_ASSERT_EQUAL_FATAL(keel_model_load_buffer(&m, buf, len, NULL, "a.onnx", &opt, err, sizeof err), KEEL_OK);
    CU_ASSERT_TRUE(count.live_blocks > 0);
    keel_model_free(m);
    CU_ASSERT_EQUAL(count.live_blocks, 0);
    CU_ASSERT_EQUAL(count.live_bytes, 0);
    CU_ASSERT_EQUAL(count.size_mismatch, 0);
    /* each allocation failing in turn: a clean error and nothing leaked */
    long total = count.total_allocs;
    for (long k = 1; k <= total; k++) {
        tb_counting c2 = {.fail_at = k};
        keel_allocator a2 = tb_counting_allocator(&c2);
        opt.allocator = &a2;
        keel_status st = keel_model_load_buffer(&m, buf, len, NULL, "a.onnx", &opt, err, sizeof err);
        CU_ASSERT_EQUAL(st, KEEL_ERR_NOMEM);
        CU_ASSERT_PTR_NULL(m);
        CU_ASSERT_EQUAL(c2.live_blocks, 0);
        keel_model_free(m);
    }
    free(buf);
    tb_free(b);
}

/* What the file says about itself reads back; "" where it says nothing.
 * Each allocation failing in turn leaks nothing. */
static void test_metadata(void)
{
    Onnx__StringStringEntryProto meta[2] = {ONNX__STRING_STRING_ENTRY_PROTO__INIT,
                                            ONNX__STRING_STRING_ENTRY_PROTO__INIT};
    Onnx__StringStringEntryProto *meta_list[2] = {&meta[0], &meta[1]};
    meta[0].key = "license", meta[0].value = "MIT";
    meta[1].key = "author", meta[1].value = "";
    tb_model *b = small_model();
    tb_proto(b)->n_metadata_props = 2;
    tb_proto(b)->metadata_props = meta_list;
    tb_proto(b)->doc_string = "doc";
    tb_proto(b)->model_version = 3;
    tb_proto(b)->has_model_version = 1;
    keel_model *m;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(load_built(b, err, sizeof err, &m), KEEL_OK);
    const char *key = "x", *value = "x";
    CU_ASSERT_EQUAL(keel_model_metadata(m, 0, &key, &value), 2);
    CU_ASSERT_STRING_EQUAL(key, "license");
    CU_ASSERT_STRING_EQUAL(value, "MIT");
    CU_ASSERT_EQUAL(keel_model_metadata(m, 1, &key, NULL), 2);
    CU_ASSERT_STRING_EQUAL(key, "author");
    CU_ASSERT_EQUAL(keel_model_metadata(m, 2, &key, &value), 2);
    CU_ASSERT(key == NULL && value == NULL);
    CU_ASSERT_EQUAL(keel_model_metadata(m, -1, &key, &value), 2);
    CU_ASSERT_PTR_NULL(key);
    keel_model_about about;
    keel_model_describe(m, &about);
    CU_ASSERT_STRING_EQUAL(about.doc_string, "doc");
    CU_ASSERT_STRING_EQUAL(about.domain, "");
    CU_ASSERT_EQUAL(about.model_version, 3);
    CU_ASSERT_EQUAL(about.ir_version, 8);
    keel_model_free(m);
    CU_ASSERT_EQUAL(keel_model_metadata(NULL, 0, &key, &value), 0);
    CU_ASSERT_PTR_NULL(key);
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    for (long k = 1;; k++) {
        tb_counting c = {.fail_at = k};
        keel_allocator a = tb_counting_allocator(&c);
        keel_options opt;
        keel_options_init(&opt);
        opt.allocator = &a;
        keel_status st = keel_model_load_buffer(&m, buf, len, NULL, "meta.onnx", &opt, err, sizeof err);
        keel_model_free(m);
        CU_ASSERT_EQUAL(c.live_blocks, 0);
        if (st == KEEL_OK)
            break;
        CU_ASSERT_EQUAL_FATAL(st, KEEL_ERR_NOMEM);
    }
    free(buf);
    tb_proto(b)->n_metadata_props = 0;
    tb_proto(b)->metadata_props = NULL;
    tb_free(b);
}

/* ---- the conformance suite's models ----------------------------------------------- */

/* Models keel refuses on purpose, by case name, with the reason checked
 * against the error text. */
static const struct { const char *name, *needle; } deliberate_refusals[] = {
    {"test_if_opt", "kind 13"}, /* optional types through TypeProto attributes */
};

static const char *refusal_needle(const char *name)
{
    for (size_t i = 0; i < sizeof deliberate_refusals / sizeof deliberate_refusals[0]; i++)
        if (strcmp(deliberate_refusals[i].name, name) == 0)
            return deliberate_refusals[i].needle;
    return NULL;
}

static void test_conformance_models_load(void)
{
    static const char *const folders[] = {"node", "simple", "pytorch-converted", "pytorch-operator"};
    const char *root = "/usr/share/libonnx-testdata/data";
    int loaded = 0, refused = 0, unexpected = 0;
    for (size_t f = 0; f < 4; f++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s", root, folders[f]);
        DIR *d = opendir(dir);
        CU_ASSERT_PTR_NOT_NULL_FATAL(d); /* libonnx-testdata must be installed */
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.')
                continue;
            char path[1024], err[1024];
            snprintf(path, sizeof path, "%s/%s/model.onnx", dir, e->d_name);
            if (access(path, R_OK) != 0)
                continue;
            keel_model *m;
            keel_status st = keel_model_load(&m, path, NULL, err, sizeof err);
            if (st == KEEL_OK) {
                loaded++;
                keel_model_free(m);
                continue;
            }
            const char *needle = refusal_needle(e->d_name);
            if (needle && strstr(err, needle)) {
                refused++;
            } else {
                unexpected++;
                fprintf(stderr, "\n  refused: %s", err);
            }
        }
        closedir(d);
    }
    fprintf(stderr, "\n  conformance models: %d loaded, %d refused on purpose, %d refused unexpectedly\n",
            loaded, refused, unexpected);
    CU_ASSERT_EQUAL(unexpected, 0);
    CU_ASSERT_TRUE(loaded > 1000);
}

/* ---- the weights' block ------------------------------------------------------------ */

/* Raw initializer payloads share one block of the main graph, each at a
 * 64-byte boundary, with their own values, and at least 64 bytes of guard
 * after each; under AddressSanitizer the guard is poisoned. */
static void test_weights_block(void)
{
    static const float w1[] = {1, -2, 3, -4, 5, -6}, w3[] = {7};
    static const int64_t d1[] = {1}, i5[] = {-1, 2, -3, 4, -5}, d5[] = {5};
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 2, d23, NULL);
    tb_output(b, "out", KEEL_FLOAT, 2, d23);
    tb_init_f32(b, "w1", 2, d23, w1);
    tb_init_raw(b, "i5", KEEL_INT64, 1, d5, i5, sizeof i5);
    tb_init_f32(b, "w3", 1, d1, w3);
    tb_node(b, "Add", "add0", "x,w1", "s");
    tb_node(b, "Relu", "relu0", "s", "out");
    char err[512];
    keel_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(load_built(b, err, sizeof err, &m), KEEL_OK);
    const kl_graph *g = m->graph;
    const char *names[] = {"w1", "i5", "w3"};
    const void *want[] = {w1, i5, w3};
    const size_t bytes[] = {sizeof w1, sizeof i5, sizeof w3};
    const uint8_t *data[3];
    for (int i = 0; i < 3; i++) {
        int id = kl_graph_find(g, names[i]);
        CU_ASSERT_TRUE_FATAL(id >= 0 && g->values[id].init);
        data[i] = g->values[id].init->data;
        CU_ASSERT_EQUAL(kl_nbytes(g->values[id].init), bytes[i]);
        CU_ASSERT_EQUAL(memcmp(data[i], want[i], bytes[i]), 0);
        CU_ASSERT_EQUAL((uintptr_t)data[i] % 64, 0);
        CU_ASSERT_TRUE(data[i] >= g->weights && data[i] + bytes[i] <= g->weights + g->weights_bytes);
#ifdef KL_ASAN
        CU_ASSERT_FALSE(__asan_address_is_poisoned(data[i] + bytes[i] - 1));
        CU_ASSERT_TRUE(__asan_address_is_poisoned(data[i] + bytes[i]));
        CU_ASSERT_TRUE(__asan_address_is_poisoned(data[i] + bytes[i] + 63));
#endif
    }
    CU_ASSERT_TRUE(data[1] >= data[0] + bytes[0] + 64 || data[0] >= data[1] + bytes[1] + 64);
    CU_ASSERT_TRUE(data[2] >= data[1] + bytes[1] + 64 || data[1] >= data[2] + bytes[2] + 64);
    CU_ASSERT_PTR_NOT_NULL(g->weights);
    keel_model_free(m);
    tb_free(b);
}

/* The default allocator's blocks, small (from calloc) and large (mapped
 * with huge pages): 64-byte aligned, zeroed, writable to their last byte;
 * under AddressSanitizer the bytes just before and after are poisoned. */
static void test_default_allocator_bounds(void)
{
    kl_env env;
    kl_env_init(&env, NULL);
    const size_t sizes[] = {1, 100, 4096, (size_t)5 << 20, ((size_t)4 << 20) + 4032};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint8_t *p = kl_alloc(&env, sizes[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_EQUAL((uintptr_t)p % 64, 0);
        CU_ASSERT_EQUAL(p[0] | p[sizes[i] / 2] | p[sizes[i] - 1], 0);
        p[0] = p[sizes[i] - 1] = 0xA5;
#ifdef KL_ASAN
        CU_ASSERT_TRUE(__asan_address_is_poisoned(p - 1));
        CU_ASSERT_TRUE(__asan_address_is_poisoned(p + sizes[i]));
        CU_ASSERT_FALSE(__asan_address_is_poisoned(p + sizes[i] - 1));
#endif
        kl_free(&env, p, sizes[i]);
    }
}

void add_loader_suite(void)
{
    CU_pSuite s = CU_add_suite("loader", NULL, NULL);
    CU_add_test(s, "valid model", test_valid_model);
    CU_add_test(s, "nodes sorted topologically", test_nodes_sorted);
    CU_add_test(s, "typed data fields", test_typed_fields);
    CU_add_test(s, "truncated file", test_truncated);
    CU_add_test(s, "not protobuf", test_not_protobuf);
    CU_add_test(s, "raw_data length mismatch", test_raw_data_length);
    CU_add_test(s, "negative dims", test_negative_dims);
    CU_add_test(s, "overflowing dims", test_overflowing_dims);
    CU_add_test(s, "unsupported dtype", test_unsupported_dtype);
    CU_add_test(s, "unknown IR version", test_unknown_ir);
    CU_add_test(s, "cycle", test_cycle);
    CU_add_test(s, "dangling input", test_dangling_input);
    CU_add_test(s, "name produced twice", test_produced_twice);
    CU_add_test(s, "graph output not produced", test_missing_graph_output);
    CU_add_test(s, "external data", test_external_data);
    CU_add_test(s, "external data from memory", test_external_from_memory);
    CU_add_test(s, "allocator hook and failure sweep", test_allocator_sees_everything);
    CU_add_test(s, "initializers in one block", test_weights_block);
    CU_add_test(s, "default allocator bounds", test_default_allocator_bounds);
    CU_add_test(s, "conformance models load", test_conformance_models_load);
    CU_add_test(s, "metadata_props, doc string and model version", test_metadata);
}
