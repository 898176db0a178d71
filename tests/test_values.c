/* test_values.c -- strings, sequences and optional values through the C
 * API: passing and receiving them, their ownership, and malformed ones
 * (each ends with a status and a message naming what is at fault). */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../onnx/onnx.pb-c.h"
#include "testutil.h"

static const int SEQ[] = {KEEL_SEQUENCE};
static const int OPT[] = {KEEL_OPTIONAL};

/* Loads b (freed) into *m and makes a session *s with allocator `a`
 * (NULL: keel's); the status, its message in err. */
static keel_status open_model(tb_model *b, const keel_allocator *a, keel_model **m, keel_session **s, char *err,
                              size_t n)
{
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    tb_free(b);
    keel_options opt;
    keel_options_init(&opt);
    opt.allocator = a;
    *s = NULL;
    keel_status st = keel_model_load_buffer(m, buf, len, NULL, "values.onnx", &opt, err, n);
    free(buf);
    if (!st)
        st = keel_session_create(s, *m, &opt, NULL, 0, NULL, err, n);
    return st;
}

/* seq = SequenceInsert(items, x) (at the end); y = SequenceAt(seq, -1);
 * len = SequenceLength(seq); first = SequenceAt(seq, 0). */
static tb_model *insert_model(void)
{
    tb_model *b = tb_new(8, 13);
    tb_value_kind(b, true, "items", SEQ, 1, KEEL_FLOAT);
    tb_input(b, "x", KEEL_FLOAT, 1, (int64_t[]){-1}, "n");
    int64_t last = -1, zero = 0;
    tb_init_raw(b, "last", KEEL_INT64, 0, NULL, &last, 8);
    tb_init_raw(b, "zero", KEEL_INT64, 0, NULL, &zero, 8);
    tb_node(b, "SequenceInsert", "ins", "items,x", "seq");
    tb_node(b, "SequenceAt", "at_last", "seq,last", "y");
    tb_node(b, "SequenceLength", "len", "seq", "len");
    tb_node(b, "SequenceAt", "at_first", "seq,zero", "first");
    tb_value_kind(b, false, "seq", SEQ, 1, KEEL_FLOAT);
    tb_output(b, "y", KEEL_FLOAT, 1, (int64_t[]){-1});
    tb_output(b, "len", KEEL_INT64, 0, NULL);
    tb_output(b, "first", KEEL_FLOAT, 1, (int64_t[]){-1});
    return b;
}

/* A caller's sequence in, a sequence out (lent by the session), runs of
 * different lengths on one session, and nothing left allocated. */
static void test_sequence_in_and_out(void)
{
    tb_counting count = {0};
    keel_allocator a = tb_counting_allocator(&count);
    keel_model *m;
    keel_session *s;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(open_model(insert_model(), &a, &m, &s, err, sizeof err), KEEL_OK);
    float a0[2] = {1, 2}, a1[3] = {3, 4, 5}, xv[1] = {7};
    keel_tensor items[2] = {{KEEL_FLOAT, 1, {2}, a0}, {KEEL_FLOAT, 1, {3}, a1}};
    for (int n = 0; n <= 2; n++) {
        keel_tensor in[2] = {{KEEL_SEQUENCE, 1, {n}, items}, {KEEL_FLOAT, 1, {1}, xv}};
        keel_tensor out[4];
        memset(out, 0, sizeof out);
        CU_ASSERT_EQUAL_FATAL(keel_session_run(s, in, out), KEEL_OK);
        CU_ASSERT_EQUAL(out[0].dtype, KEEL_SEQUENCE);
        CU_ASSERT_EQUAL(out[0].rank, 1);
        CU_ASSERT_EQUAL(out[0].dims[0], n + 1);
        const keel_tensor *got = out[0].data;
        for (int i = 0; i < n; i++) { /* copies of the caller's items, then x */
            CU_ASSERT_EQUAL(got[i].dims[0], items[i].dims[0]);
            CU_ASSERT_PTR_NOT_EQUAL(got[i].data, items[i].data);
            CU_ASSERT(memcmp(got[i].data, items[i].data, (size_t)items[i].dims[0] * 4) == 0);
        }
        CU_ASSERT_EQUAL(got[n].dims[0], 1);
        CU_ASSERT_EQUAL(((float *)got[n].data)[0], 7);
        CU_ASSERT_EQUAL(((float *)out[1].data)[0], 7);
        CU_ASSERT_EQUAL(*(int64_t *)out[2].data, n + 1);
        CU_ASSERT_EQUAL(out[3].dims[0], n ? 2 : 1);
        CU_ASSERT_EQUAL(((float *)out[3].data)[0], n ? 1 : 7);
    }
    keel_session_stats st;
    keel_session_get_stats(s, &st);
    CU_ASSERT_EQUAL(st.plans_made, 1); /* the sequence's length is not a shape */
    keel_session_free(s);
    keel_model_free(m);
    CU_ASSERT_EQUAL(count.live_blocks, 0);
    CU_ASSERT_EQUAL(count.size_mismatch, 0);
}

/* A sequence output asked for into a caller's buffer is refused. */
static void test_sequence_output_needs_null(void)
{
    keel_model *m;
    keel_session *s;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(open_model(insert_model(), NULL, &m, &s, err, sizeof err), KEEL_OK);
    float xv[1] = {7}, buf[64];
    keel_tensor in[2] = {{KEEL_SEQUENCE, 1, {0}, NULL}, {KEEL_FLOAT, 1, {1}, xv}};
    keel_tensor out[4];
    memset(out, 0, sizeof out);
    out[0].data = buf;
    CU_ASSERT_EQUAL(keel_session_run(s, in, out), KEEL_ERR_ARGUMENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "'seq'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "data = NULL"));
    keel_session_free(s);
    keel_model_free(m);
}

/* Malformed sequences from a caller: mixed element types, a nested
 * sequence, an item without data; each names the input. */
static void test_bad_caller_sequences(void)
{
    keel_model *m;
    keel_session *s;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(open_model(insert_model(), NULL, &m, &s, err, sizeof err), KEEL_OK);
    float f[2] = {1, 2}, xv[1] = {7};
    int64_t i64[2] = {1, 2};
    keel_tensor mixed[2] = {{KEEL_FLOAT, 1, {2}, f}, {KEEL_INT64, 1, {2}, i64}};
    keel_tensor inner = {KEEL_SEQUENCE, 1, {1}, mixed};
    keel_tensor nested[1] = {inner};
    keel_tensor nodata[1] = {{KEEL_FLOAT, 1, {2}, NULL}};
    keel_tensor ints[1] = {{KEEL_INT64, 1, {2}, i64}};
    const struct { keel_tensor seq; keel_status st; const char *says; } cases[] = {
        {{KEEL_SEQUENCE, 1, {2}, mixed}, KEEL_ERR_ARGUMENT, "mixes element types"},
        {{KEEL_SEQUENCE, 1, {1}, nested}, KEEL_ERR_ARGUMENT, "not sequences"},
        {{KEEL_SEQUENCE, 1, {1}, nodata}, KEEL_ERR_ARGUMENT, "has no data"},
        {{KEEL_SEQUENCE, 1, {1}, ints}, KEEL_ERR_ARGUMENT, "declares a sequence of float"},
        {{KEEL_SEQUENCE, 2, {1, 1}, ints}, KEEL_ERR_ARGUMENT, "rank 2"},
        {{KEEL_SEQUENCE, 1, {3}, NULL}, KEEL_ERR_ARGUMENT, "without data"},
        {{KEEL_FLOAT, 1, {2}, f}, KEEL_ERR_ARGUMENT, "the model declares"},
        {{KEEL_NONE, 0, {0}, NULL}, KEEL_ERR_ARGUMENT, "not optional"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        keel_tensor in[2] = {cases[k].seq, {KEEL_FLOAT, 1, {1}, xv}};
        keel_tensor out[4];
        memset(out, 0, sizeof out);
        CU_ASSERT_EQUAL(keel_session_run(s, in, out), cases[k].st);
        const char *msg = keel_session_errmsg(s);
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, "'items'"));
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, cases[k].says));
        if (!strstr(msg, cases[k].says))
            fprintf(stderr, "\n  case %zu: %s\n", k, msg);
    }
    keel_session_free(s);
    keel_model_free(m);
}

/* An empty sequence read at an index: SequenceAt fails at run time,
 * naming the node and the position. */
static void test_empty_sequence_at(void)
{
    tb_model *b = tb_new(8, 13);
    tb_input(b, "pos", KEEL_INT64, 0, NULL, NULL);
    tb_node(b, "SequenceEmpty", "empty", NULL, "seq");
    tb_node(b, "SequenceAt", "read", "seq,pos", "y");
    tb_output(b, "y", KEEL_FLOAT, 1, (int64_t[]){-1});
    keel_model *m;
    keel_session *s;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(open_model(b, NULL, &m, &s, err, sizeof err), KEEL_OK);
    for (int64_t pos = -1; pos <= 0; pos++) {
        keel_tensor in[1] = {{KEEL_INT64, 0, {0}, &pos}}, out[1];
        memset(out, 0, sizeof out);
        CU_ASSERT_EQUAL(keel_session_run(s, in, out), KEEL_ERR_RUNTIME);
        CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "'read' (SequenceAt)"));
        CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "of a sequence of 0 items"));
    }
    keel_session_free(s);
    keel_model_free(m);
}

/* Optional inputs: given a tensor or nothing; OptionalHasElement and
 * OptionalGetElement on both (getting from nothing fails). */
static void test_optional_input(void)
{
    tb_model *b = tb_new(8, 18);
    tb_value_kind(b, true, "o", OPT, 1, KEEL_FLOAT);
    tb_node(b, "OptionalHasElement", "has", "o", "has");
    tb_output(b, "has", KEEL_BOOL, 0, NULL);
    keel_model *m;
    keel_session *s;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(open_model(b, NULL, &m, &s, err, sizeof err), KEEL_OK);
    keel_tensor info;
    CU_ASSERT_EQUAL(keel_model_input_info(m, 0, &info, NULL), KEEL_OK);
    CU_ASSERT_EQUAL(info.dtype, KEEL_OPTIONAL);
    float f[2] = {1, 2};
    keel_tensor given[2] = {{KEEL_FLOAT, 1, {2}, f}, {KEEL_NONE, 0, {0}, NULL}};
    for (int k = 0; k < 2; k++) {
        keel_tensor out[1];
        memset(out, 0, sizeof out);
        CU_ASSERT_EQUAL_FATAL(keel_session_run(s, &given[k], out), KEEL_OK);
        CU_ASSERT_EQUAL(*(uint8_t *)out[0].data, k == 0);
    }
    keel_session_free(s);
    keel_model_free(m);

    b = tb_new(8, 18);
    tb_value_kind(b, true, "o", OPT, 1, KEEL_FLOAT);
    tb_node(b, "OptionalGetElement", "get", "o", "y");
    tb_output(b, "y", KEEL_FLOAT, 1, (int64_t[]){-1});
    CU_ASSERT_EQUAL_FATAL(open_model(b, NULL, &m, &s, err, sizeof err), KEEL_OK);
    keel_tensor out[1];
    memset(out, 0, sizeof out);
    CU_ASSERT_EQUAL(keel_session_run(s, &given[0], out), KEEL_OK);
    CU_ASSERT_EQUAL(out[0].dims[0], 2);
    CU_ASSERT_EQUAL(((float *)out[0].data)[1], 2);
    memset(out, 0, sizeof out);
    CU_ASSERT_EQUAL(keel_session_run(s, &given[1], out), KEEL_ERR_RUNTIME);
    CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "'get' (OptionalGetElement): the optional input holds nothing"));
    keel_session_free(s);
    keel_model_free(m);
}

/* An optional of an optional: refused at load in a declaration, and in
 * an OptionalProto, naming the value. */
static void test_optional_of_optional(void)
{
    static const int opt_opt[] = {KEEL_OPTIONAL, KEEL_OPTIONAL};
    tb_model *b = tb_new(8, 18);
    tb_value_kind(b, true, "oo", opt_opt, 2, KEEL_FLOAT);
    tb_node(b, "OptionalHasElement", "has", "oo", "has");
    tb_output(b, "has", KEEL_BOOL, 0, NULL);
    keel_model *m = NULL;
    keel_session *s = NULL;
    char err[512];
    CU_ASSERT_EQUAL(open_model(b, NULL, &m, &s, err, sizeof err), KEEL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "values.onnx: value 'oo' is declared an optional of an optional"));
    keel_model_free(m);

    Onnx__OptionalProto inner = ONNX__OPTIONAL_PROTO__INIT, outer = ONNX__OPTIONAL_PROTO__INIT;
    outer.name = "wrapped";
    outer.has_elem_type = 1;
    outer.elem_type = 5;
    outer.optional_value = &inner;
    uint8_t buf[64];
    size_t len = onnx__optional_proto__pack(&outer, buf);
    keel_tensor t;
    CU_ASSERT_EQUAL(keel_value_decode(&t, KEEL_OPTIONAL, buf, len, "o.pb", NULL, err, sizeof err),
                    KEEL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "o.pb: optional 'wrapped' holds an optional"));
}

/* SequenceProto data: mixed element types and nested sequences are
 * refused; a good one decodes into one block and encodes back to the
 * same bytes. */
static void test_sequence_proto(void)
{
    float f[2] = {1.5f, -2};
    int64_t i64[1] = {9};
    Onnx__TensorProto a = ONNX__TENSOR_PROTO__INIT, c = ONNX__TENSOR_PROTO__INIT;
    int64_t two = 2, one = 1;
    a.n_dims = 1, a.dims = &two, a.has_data_type = 1, a.data_type = KEEL_FLOAT;
    a.has_raw_data = 1, a.raw_data.len = 8, a.raw_data.data = (uint8_t *)f;
    c.n_dims = 1, c.dims = &one, c.has_data_type = 1, c.data_type = KEEL_INT64;
    c.has_raw_data = 1, c.raw_data.len = 8, c.raw_data.data = (uint8_t *)i64;
    Onnx__TensorProto *mixed[2] = {&a, &c}, *same[2] = {&a, &a};
    Onnx__SequenceProto sp = ONNX__SEQUENCE_PROTO__INIT;
    sp.name = "s";
    sp.has_elem_type = 1;
    sp.elem_type = 1;
    sp.n_tensor_values = 2;
    sp.tensor_values = mixed;
    uint8_t buf[256], back[256];
    char err[512];
    keel_tensor t;
    size_t len = onnx__sequence_proto__pack(&sp, buf);
    CU_ASSERT_EQUAL(keel_value_decode(&t, KEEL_SEQUENCE, buf, len, "s.pb", NULL, err, sizeof err), KEEL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "s.pb: sequence 's' mixes element types: item 0 is float, item 1 is int64"));

    Onnx__SequenceProto inner = ONNX__SEQUENCE_PROTO__INIT, *inners[1] = {&inner};
    Onnx__SequenceProto nest = ONNX__SEQUENCE_PROTO__INIT;
    nest.name = "n";
    nest.n_sequence_values = 1;
    nest.sequence_values = inners;
    len = onnx__sequence_proto__pack(&nest, buf);
    CU_ASSERT_EQUAL(keel_value_decode(&t, KEEL_SEQUENCE, buf, len, "n.pb", NULL, err, sizeof err),
                    KEEL_ERR_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "n.pb: sequence 'n' holds values that are not tensors"));

    sp.tensor_values = same;
    len = onnx__sequence_proto__pack(&sp, buf);
    tb_counting count = {0};
    keel_allocator al = tb_counting_allocator(&count);
    CU_ASSERT_EQUAL_FATAL(keel_value_decode(&t, KEEL_SEQUENCE, buf, len, "s.pb", &al, err, sizeof err), KEEL_OK);
    CU_ASSERT_EQUAL(count.live_blocks, 1); /* one block: items and their data */
    CU_ASSERT_EQUAL(t.dims[0], 2);
    const keel_tensor *items = t.data;
    CU_ASSERT_EQUAL(((float *)items[1].data)[0], 1.5f);
    size_t out_len = 0;
    CU_ASSERT_EQUAL(keel_value_encode(&t, "s", back, sizeof back, &out_len), KEEL_OK);
    CU_ASSERT_EQUAL(out_len, len);
    CU_ASSERT(memcmp(back, buf, len) == 0);
    keel_tensor_release(&t, &al);
    CU_ASSERT_EQUAL(count.live_blocks, 0);
    CU_ASSERT_EQUAL(count.size_mismatch, 0);
}

/* Strings: a caller's strings are copied, outputs lent; a string without
 * its terminator within the size limit, a NULL string, and a TensorProto
 * whose string runs past the end are refused. */
static void test_strings(void)
{
    tb_model *b = tb_new(8, 13);
    tb_input(b, "s", KEEL_STRING, 1, (int64_t[]){-1}, "n");
    tb_node(b, "Identity", "copy", "s", "t");
    tb_output(b, "t", KEEL_STRING, 1, (int64_t[]){-1});
    keel_options opt;
    keel_options_init(&opt);
    opt.max_tensor_bytes = 64;
    size_t len;
    uint8_t *bytes = tb_pack(b, &len);
    tb_free(b);
    keel_model *m;
    keel_session *s;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(keel_model_load_buffer(&m, bytes, len, NULL, "str.onnx", &opt, err, sizeof err), KEEL_OK);
    free(bytes);
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, &opt, NULL, 0, NULL, err, sizeof err), KEEL_OK);
    char words[2][8] = {"hello", ""};
    char *ptrs[2] = {words[0], words[1]};
    keel_tensor in = {KEEL_STRING, 1, {2}, ptrs}, out;
    memset(&out, 0, sizeof out);
    CU_ASSERT_EQUAL_FATAL(keel_session_run(s, &in, &out), KEEL_OK);
    char **got = out.data;
    CU_ASSERT_STRING_EQUAL(got[0], "hello");
    CU_ASSERT_STRING_EQUAL(got[1], "");
    CU_ASSERT_PTR_NOT_EQUAL(got[0], words[0]);
    words[0][0] = 'j'; /* keel kept no pointer to the caller's strings */
    CU_ASSERT_STRING_EQUAL(got[0], "hello");

    char *unterminated = malloc(100);
    memset(unterminated, 'a', 100);
    char *bad[2] = {words[0], unterminated};
    in.data = bad;
    CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_ERR_LIMIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "input 's': string 1 has no terminator"));
    free(unterminated);
    bad[1] = NULL;
    CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_ERR_ARGUMENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "input 's': string 1 is NULL"));
    keel_session_free(s);
    keel_model_free(m);

    /* string_data whose length runs past the message's end */
    static const uint8_t cut[] = {0x08, 0x01, 0x10, 0x08, 0x32, 0x09, 'a', 'b'};
    keel_tensor t;
    CU_ASSERT_EQUAL(keel_tensor_decode(&t, cut, sizeof cut, "cut.pb", NULL, NULL, 0, err, sizeof err),
                    KEEL_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cut.pb"));
}

/* Strings made in the graph: a Constant's value_strings and a Cast to
 * string, compared with Equal against an input and given out; a numeric
 * input cast from strings that are not numbers fails naming the string. */
static void test_strings_in_graph(void)
{
    tb_model *b = tb_new(8, 13);
    tb_input(b, "s", KEEL_STRING, 1, (int64_t[]){2}, NULL);
    tb_input(b, "x", KEEL_FLOAT, 1, (int64_t[]){2}, NULL);
    static const char *const words[2] = {"0.5", "yy"};
    tb_attr_strs(b, tb_node(b, "Constant", "words", NULL, "c"), "value_strings", 2, words);
    tb_attr_int(b, tb_node(b, "Cast", "text", "x", "t"), "to", KEEL_STRING);
    tb_node(b, "Equal", "eq_c", "c,s", "same_c");
    tb_node(b, "Equal", "eq_t", "t,s", "same_t");
    tb_attr_int(b, tb_node(b, "Cast", "num", "s", "n"), "to", KEEL_DOUBLE);
    tb_output(b, "same_c", KEEL_BOOL, 1, (int64_t[]){2});
    tb_output(b, "same_t", KEEL_BOOL, 1, (int64_t[]){2});
    tb_output(b, "t", KEEL_STRING, 1, (int64_t[]){2});
    tb_output(b, "n", KEEL_DOUBLE, 1, (int64_t[]){2});
    keel_model *m;
    keel_session *s;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(open_model(b, NULL, &m, &s, err, sizeof err), KEEL_OK);
    const char *in_s[2] = {"0.5", "-1e3"};
    float in_x[2] = {0.5f, -1000};
    keel_tensor in[2] = {{KEEL_STRING, 1, {2}, (void *)in_s}, {KEEL_FLOAT, 1, {2}, in_x}}, out[4];
    memset(out, 0, sizeof out);
    CU_ASSERT_EQUAL_FATAL(keel_session_run(s, in, out), KEEL_OK);
    const uint8_t *same_c = out[0].data, *same_t = out[1].data;
    CU_ASSERT(same_c[0] == 1 && same_c[1] == 0);
    CU_ASSERT(same_t[0] == 1 && same_t[1] == 0); /* "-1000.0" is not "-1e3" */
    CU_ASSERT_STRING_EQUAL(((char **)out[2].data)[1], "-1000.0");
    CU_ASSERT_EQUAL(((double *)out[3].data)[1], -1000.0);
    in_s[1] = "12abc";
    memset(out, 0, sizeof out);
    CU_ASSERT_EQUAL(keel_session_run(s, in, out), KEEL_ERR_RUNTIME);
    CU_ASSERT_PTR_NOT_NULL(strstr(keel_session_errmsg(s), "'num' (Cast): string 1 \"12abc\" is not a number"));
    keel_session_free(s);
    keel_model_free(m);
}

/* An output declared a string that a numeric op, planned at each run,
 * gives as numbers: the declaration does not stop the run (the op's own
 * inference decides the kind). */
static void test_declared_string_numeric_output(void)
{
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 1, (int64_t[]){4}, NULL);
    tb_node(b, "NonZero", "nz", "x", "idx");
    tb_attr_int(b, tb_node(b, "Cast", "to_float", "idx", "f"), "to", KEEL_FLOAT);
    tb_node(b, "Relu", "relu", "f", "y");
    tb_output(b, "y", KEEL_STRING, 2, (int64_t[]){1, -1});
    keel_model *m;
    keel_session *s;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(open_model(b, NULL, &m, &s, err, sizeof err), KEEL_OK);
    float x[4] = {0, 2, 0, 3};
    keel_tensor in = {KEEL_FLOAT, 1, {4}, x}, out;
    memset(&out, 0, sizeof out);
    CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_OK);
    CU_ASSERT_EQUAL(out.dtype, KEEL_FLOAT);
    CU_ASSERT_EQUAL(out.dims[1], 2);
    CU_ASSERT(out.data && ((float *)out.data)[0] == 1 && ((float *)out.data)[1] == 3);
    keel_session_free(s);
    keel_model_free(m);
}

void add_values_suite(void)
{
    CU_pSuite s = CU_add_suite("strings, sequences and optional values", NULL, NULL);
    CU_add_test(s, "a sequence in and out, lengths vary on one plan, no leak", test_sequence_in_and_out);
    CU_add_test(s, "a sequence output into a caller's buffer refused", test_sequence_output_needs_null);
    CU_add_test(s, "malformed sequences from a caller", test_bad_caller_sequences);
    CU_add_test(s, "an empty sequence read at an index", test_empty_sequence_at);
    CU_add_test(s, "optional inputs: a tensor or nothing", test_optional_input);
    CU_add_test(s, "an optional of an optional refused", test_optional_of_optional);
    CU_add_test(s, "SequenceProto data: mixed, nested, round trip", test_sequence_proto);
    CU_add_test(s, "strings: copied, lent, unterminated, NULL, cut", test_strings);
    CU_add_test(s, "strings made in the graph: Constant, Cast, Equal", test_strings_in_graph);
    CU_add_test(s, "an output declared a string, given as numbers", test_declared_string_numeric_output);
}
