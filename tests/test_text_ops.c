/* test_text_ops.c -- the text ops, StringNormalizer and TfIdfVectorizer:
 * small models built here, outputs checked against values worked out by
 * hand from the ONNX spec, and hostile attributes that must end in a
 * status and a message naming the node.  Every run goes through a
 * counting allocator: nothing leaks and every free names its size. */
#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define NODE "'txt'"   /* the node's name as messages quote it */

/* One model's load, plan and run; out (output 0) is lent by the session
 * until tr_end. */
typedef struct text_run {
    tb_counting count;
    keel_allocator alloc;
    keel_options opt;
    keel_model *m;
    keel_session *s;
    keel_status st;
    char err[1024];
    keel_tensor out;
} text_run;

/* Loads b (freed here), plans it and runs it on `in`, with a time limit
 * of limit_ms (0: none). */
static void tr_go_limit(text_run *r, tb_model *b, const keel_tensor *in, uint64_t limit_ms)
{
    memset(r, 0, sizeof *r);
    r->alloc = tb_counting_allocator(&r->count);
    keel_options_init(&r->opt);
    r->opt.allocator = &r->alloc;
    r->opt.time_limit_ms = limit_ms;
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    r->st = keel_model_load_buffer(&r->m, buf, len, NULL, "text.onnx", &r->opt, r->err, sizeof r->err);
    free(buf);
    tb_free(b);
    if (!r->st)
        r->st = keel_session_create(&r->s, r->m, &r->opt, NULL, 0, NULL, r->err, sizeof r->err);
    if (!r->st && (r->st = keel_session_run(r->s, in, &r->out)))
        snprintf(r->err, sizeof r->err, "%s", keel_session_errmsg(r->s));
}

static void tr_go(text_run *r, tb_model *b, const keel_tensor *in)
{
    tr_go_limit(r, b, in, 0);
}

/* Frees r's session and model; none of its memory may be left. */
static void tr_end(text_run *r)
{
    keel_session_free(r->s);
    keel_model_free(r->m);
    CU_ASSERT_EQUAL(r->count.live_blocks, 0);
    CU_ASSERT_EQUAL(r->count.size_mismatch, 0);
}

/* r ran, giving strings of these dims and values. */
static void expect_strings(text_run *r, int rank, const int64_t *dims, int n, const char *const *want,
                           const char *what)
{
    bool ok = r->st == KEEL_OK && r->out.dtype == KEEL_STRING && r->out.rank == rank &&
              keel_tensor_numel(&r->out) == n;
    for (int d = 0; ok && d < rank; d++)
        ok = r->out.dims[d] == dims[d];
    for (int i = 0; ok && i < n; i++)
        ok = !strcmp(((char *const *)r->out.data)[i], want[i]);
    CU_ASSERT(ok);
    if (!ok) {
        fprintf(stderr, "\n  %s: status %d (%s):", what, r->st, r->err);
        for (int64_t i = 0; !r->st && i < keel_tensor_numel(&r->out); i++)
            fprintf(stderr, " \"%s\"", ((char *const *)r->out.data)[i]);
        fprintf(stderr, "\n");
    }
    tr_end(r);
}

/* r ran, giving floats of these dims and values (exact: small counts and
 * products of them with weights that floats hold exactly). */
static void expect_floats(text_run *r, int rank, const int64_t *dims, int n, const float *want, const char *what)
{
    bool ok = r->st == KEEL_OK && r->out.dtype == KEEL_FLOAT && r->out.rank == rank &&
              keel_tensor_numel(&r->out) == n;
    for (int d = 0; ok && d < rank; d++)
        ok = r->out.dims[d] == dims[d];
    for (int i = 0; ok && i < n; i++)
        ok = ((const float *)r->out.data)[i] == want[i];
    CU_ASSERT(ok);
    if (!ok) {
        fprintf(stderr, "\n  %s: status %d (%s):", what, r->st, r->err);
        for (int64_t i = 0; !r->st && i < keel_tensor_numel(&r->out); i++)
            fprintf(stderr, " %g", (double)((const float *)r->out.data)[i]);
        fprintf(stderr, "\n");
    }
    tr_end(r);
}

/* r failed with `status`, its message naming the model and the node. */
static void expect_fail(text_run *r, keel_status status, const char *what)
{
    bool ok = r->st == status && strstr(r->err, "text.onnx") && strstr(r->err, NODE);
    CU_ASSERT(ok);
    if (!ok || getenv("KEEL_TEST_VERBOSE"))
        fprintf(stderr, "\n  %s: status %d (want %d): %s\n", what, r->st, status, r->err);
    tr_end(r);
}

/* ---- StringNormalizer ---------------------------------------------------- */

/* A StringNormalizer of x (strings, dims `dims`) into y; the caller adds
 * attributes to *node. */
static tb_model *sn_model(int rank, const int64_t *dims, Onnx__NodeProto **node)
{
    tb_model *b = tb_new(8, 10);
    tb_input(b, "x", KEEL_STRING, rank, dims, NULL);
    *node = tb_node(b, "StringNormalizer", "txt", "x", "y");
    tb_output(b, "y", KEEL_STRING, rank, (int64_t[]){rank == 2 ? 1 : -1, -1});
    return b;
}

static void test_strnorm_stopwords(void)
{
    static const char *words[] = {"The", "quick", "THE", "Fox", "tHe"};
    static const char *stop[] = {"the"};
    keel_tensor in = {KEEL_STRING, 1, {5}, (void *)words};
    Onnx__NodeProto *n;
    text_run r;

    /* ignoring case, every form of "the" goes; the rest in lower case */
    tb_model *b = sn_model(1, (int64_t[]){5}, &n);
    tb_attr_strs(b, n, "stopwords", 1, stop);
    tb_attr_str(b, n, "case_change_action", "LOWER");
    tr_go(&r, b, &in);
    expect_strings(&r, 1, (int64_t[]){2}, 2, (const char *[]){"quick", "fox"}, "case-insensitive, LOWER");

    /* case-sensitive: none of them is "the"; UPPER */
    b = sn_model(1, (int64_t[]){5}, &n);
    tb_attr_strs(b, n, "stopwords", 1, stop);
    tb_attr_int(b, n, "is_case_sensitive", 1);
    tb_attr_str(b, n, "case_change_action", "UPPER");
    tr_go(&r, b, &in);
    expect_strings(&r, 1, (int64_t[]){5}, 5, (const char *[]){"THE", "QUICK", "THE", "FOX", "THE"},
                   "case-sensitive, UPPER");

    /* no stopwords, no case change: the input as it is */
    b = sn_model(1, (int64_t[]){5}, &n);
    tr_go(&r, b, &in);
    expect_strings(&r, 1, (int64_t[]){5}, 5, words, "no attributes");
}

static void test_strnorm_all_removed(void)
{
    static const char *words[] = {"A", "a"};
    static const char *stop[] = {"a"};
    Onnx__NodeProto *n;
    text_run r;

    /* [1, 2] input, both removed: [1, 1] holding "" */
    tb_model *b = sn_model(2, (int64_t[]){1, 2}, &n);
    tb_attr_strs(b, n, "stopwords", 1, stop);
    tr_go(&r, b, &(keel_tensor){KEEL_STRING, 2, {1, 2}, (void *)words});
    expect_strings(&r, 2, (int64_t[]){1, 1}, 1, (const char *[]){""}, "[1, 2] all removed");

    /* [2] input: [1] holding "" */
    b = sn_model(1, (int64_t[]){2}, &n);
    tb_attr_strs(b, n, "stopwords", 1, stop);
    tb_attr_str(b, n, "case_change_action", "UPPER");
    tr_go(&r, b, &(keel_tensor){KEEL_STRING, 1, {2}, (void *)words});
    expect_strings(&r, 1, (int64_t[]){1}, 1, (const char *[]){""}, "[2] all removed");
}

static void test_strnorm_utf8(void)
{
    /* two-byte letters change case, sharp s (no one-letter capital) and a
     * three-byte character stay; stopwords compare across cases of them */
    static const char *words[] = {"\xC3\xA9" "clair", "stra\xC3\x9F" "e", "\xD0\x96\xD0\xA3\xD0\x9A",
                                  "\xE2\x82\xAC" "uro", "\xCE\xA3"};
    static const char *stop[] = {"\xD0\xB6\xD1\x83\xD0\xBA"}; /* the beetle, in lower case */
    Onnx__NodeProto *n;
    text_run r;
    tb_model *b = sn_model(1, (int64_t[]){5}, &n);
    tb_attr_str(b, n, "case_change_action", "UPPER");
    tb_attr_str(b, n, "locale", "en_US");
    tr_go(&r, b, &(keel_tensor){KEEL_STRING, 1, {5}, (void *)words});
    expect_strings(&r, 1, (int64_t[]){5}, 5,
                   (const char *[]){"\xC3\x89" "CLAIR", "STRA\xC3\x9F" "E", "\xD0\x96\xD0\xA3\xD0\x9A",
                                    "\xE2\x82\xAC" "URO", "\xCE\xA3"},
                   "UTF-8 UPPER");

    b = sn_model(1, (int64_t[]){5}, &n);
    tb_attr_str(b, n, "case_change_action", "LOWER");
    tb_attr_strs(b, n, "stopwords", 1, stop);
    tr_go(&r, b, &(keel_tensor){KEEL_STRING, 1, {5}, (void *)words});
    expect_strings(&r, 1, (int64_t[]){4}, 4,
                   (const char *[]){"\xC3\xA9" "clair", "stra\xC3\x9F" "e", "\xE2\x82\xAC" "uro", "\xCF\x83"},
                   "UTF-8 LOWER, a Cyrillic stopword");
}

static void test_strnorm_hostile(void)
{
    static const char *words[] = {"a", "b", "c", "d"};
    Onnx__NodeProto *n;
    text_run r;

    tb_model *b = sn_model(1, (int64_t[]){4}, &n);
    tb_attr_str(b, n, "case_change_action", "TITLE");
    tr_go(&r, b, &(keel_tensor){KEEL_STRING, 1, {4}, (void *)words});
    expect_fail(&r, KEEL_ERR_INVALID, "case_change_action TITLE");

    b = sn_model(1, (int64_t[]){4}, &n);
    tb_attr_int(b, n, "stopwords", 3);
    tr_go(&r, b, &(keel_tensor){KEEL_STRING, 1, {4}, (void *)words});
    expect_fail(&r, KEEL_ERR_INVALID, "stopwords an int");

    /* two rows: the spec takes [C] and [1, C] only */
    b = sn_model(2, (int64_t[]){2, 2}, &n);
    tr_go(&r, b, &(keel_tensor){KEEL_STRING, 2, {2, 2}, (void *)words});
    expect_fail(&r, KEEL_ERR_SHAPE, "[2, 2] input");

    /* numbers in: refused, not read as pointers */
    b = tb_new(8, 10);
    tb_input(b, "x", KEEL_INT64, 1, (int64_t[]){2}, NULL);
    tb_node(b, "StringNormalizer", "txt", "x", "y");
    tb_output(b, "y", KEEL_STRING, 1, (int64_t[]){-1});
    tr_go(&r, b, &(keel_tensor){KEEL_INT64, 1, {2}, (int64_t[]){1, 2}});
    expect_fail(&r, KEEL_ERR_INVALID, "int64 input");
}

/* ---- TfIdfVectorizer ----------------------------------------------------- */

/* The attributes of a TfIdfVectorizer; n_* -1 leaves one out. */
typedef struct tf_attrs {
    const char *mode;
    int64_t min_n, max_n, skip;
    int n_counts;
    const int64_t *counts;
    int n_indexes;
    const int64_t *indexes;
    int n_ints;
    const int64_t *pool_ints;
    int n_strs;
    const char *const *pool_strs;
    int n_weights;
    const float *weights;
} tf_attrs;

/* A TfIdfVectorizer of x (dtype, dims) into y with attributes a. */
static tb_model *tf_model(int dtype, int rank, const int64_t *dims, const tf_attrs *a)
{
    tb_model *b = tb_new(8, 9);
    tb_input(b, "x", dtype, rank, dims, NULL);
    Onnx__NodeProto *n = tb_node(b, "TfIdfVectorizer", "txt", "x", "y");
    if (a->mode)
        tb_attr_str(b, n, "mode", a->mode);
    tb_attr_int(b, n, "min_gram_length", a->min_n);
    tb_attr_int(b, n, "max_gram_length", a->max_n);
    tb_attr_int(b, n, "max_skip_count", a->skip);
    if (a->n_counts >= 0)
        tb_attr_ints(b, n, "ngram_counts", a->n_counts, a->counts);
    if (a->n_indexes >= 0)
        tb_attr_ints(b, n, "ngram_indexes", a->n_indexes, a->indexes);
    if (a->n_ints >= 0)
        tb_attr_ints(b, n, "pool_int64s", a->n_ints, a->pool_ints);
    if (a->n_strs >= 0)
        tb_attr_strs(b, n, "pool_strings", a->n_strs, a->pool_strs);
    if (a->n_weights >= 0)
        tb_attr_floats(b, n, "weights", a->n_weights, a->weights);
    tb_output(b, "y", KEEL_FLOAT, rank, (int64_t[]){rank == 2 ? dims[0] : -1, -1});
    return b;
}

/* Bigrams (1,2), (1,3), (2,1) of X = 1 2 3 1 2, TF. */
static tf_attrs bigrams(void)
{
    static const int64_t counts[] = {0, 0}, indexes[] = {0, 1, 2}, pool[] = {1, 2, 1, 3, 2, 1};
    return (tf_attrs){.mode = "TF", .min_n = 2, .max_n = 2, .skip = 1, .n_counts = 2, .counts = counts,
                      .n_indexes = 3, .indexes = indexes, .n_ints = 6, .pool_ints = pool, .n_strs = -1,
                      .n_weights = -1};
}

static const int64_t x12312[] = {1, 2, 3, 1, 2};

static void run_x12312(const tf_attrs *a, int dtype, int n_want, const float *want, const char *what)
{
    int32_t x32[5] = {1, 2, 3, 1, 2};
    text_run r;
    tr_go(&r, tf_model(dtype, 1, (int64_t[]){5}, a),
          &(keel_tensor){dtype, 1, {5}, dtype == KEEL_INT32 ? (void *)x32 : (void *)x12312});
    expect_floats(&r, 1, (int64_t[]){n_want}, n_want, want, what);
}

static void test_tfidf_skips(void)
{
    /* skip 0 (stride 1): 12 23 31 12 -> (1,2) twice; skip 1 (stride 2):
     * x0 x2 = 13, x1 x3 = 21, x2 x4 = 32 -> (1,3) once, (2,1) once */
    tf_attrs a = bigrams();
    run_x12312(&a, KEEL_INT64, 3, (const float[]){2, 1, 1}, "bigrams, skip 1");
    run_x12312(&a, KEEL_INT32, 3, (const float[]){2, 1, 1}, "bigrams, skip 1, int32 input");
    /* skip 0 only: (1,2) twice */
    a.skip = 0;
    run_x12312(&a, KEEL_INT64, 3, (const float[]){2, 0, 0}, "bigrams, skip 0");
    /* every skip, and lengths far past the pool's: stride 3 adds x0 x3 =
     * 11 and x1 x4 = 22, stride 4 x0 x4 = 12 -> (1,2) 3 times */
    a.skip = INT64_MAX;
    a.max_n = INT64_MAX;
    run_x12312(&a, KEEL_INT64, 3, (const float[]){3, 1, 1}, "bigrams, every skip");
    /* the pool's n-grams to other places: 2 -> Y[2], 1 -> Y[0], 1 -> Y[1]; and
     * a place of its own past them all widens Y */
    a = bigrams();
    a.indexes = (const int64_t[]){2, 0, 1};
    run_x12312(&a, KEEL_INT64, 3, (const float[]){1, 1, 2}, "ngram_indexes 2 0 1");
    a.indexes = (const int64_t[]){4, 0, 0};
    run_x12312(&a, KEEL_INT64, 5, (const float[]){2, 0, 0, 0, 2}, "ngram_indexes 4 0 0");
    /* rows of no items: rows of zeros */
    a = bigrams();
    text_run r;
    tr_go(&r, tf_model(KEEL_INT64, 2, (int64_t[]){2, 0}, &a), &(keel_tensor){KEEL_INT64, 2, {2, 0}, (void *)x12312});
    expect_floats(&r, 2, (int64_t[]){2, 3}, 6, (const float[]){0, 0, 0, 0, 0, 0}, "[2, 0] input");
    tr_go(&r, tf_model(KEEL_INT64, 1, (int64_t[]){0}, &a), &(keel_tensor){KEEL_INT64, 1, {0}, (void *)x12312});
    expect_floats(&r, 1, (int64_t[]){3}, 3, (const float[]){0, 0, 0}, "[0] input");
}

static void test_tfidf_weights(void)
{
    /* X = 5 5 6, pool: 1-grams 5 and 7, 2-gram (5,6); lengths 1 and 2,
     * skip 1.  1-grams once per position, whatever the skip: 5 twice, 7
     * never.  (5,6): stride 1 x1 x2, stride 2 x0 x2: twice. */
    static const int64_t counts[] = {0, 2}, indexes[] = {0, 1, 2}, pool[] = {5, 7, 5, 6};
    static const float w[] = {0.5f, 2.0f, 3.0f};
    tf_attrs a = {.mode = "TF", .min_n = 1, .max_n = 2, .skip = 1, .n_counts = 2, .counts = counts,
                  .n_indexes = 3, .indexes = indexes, .n_ints = 4, .pool_ints = pool, .n_strs = -1,
                  .n_weights = -1};
    static const int64_t x[] = {5, 5, 6};
    text_run r;
    static const struct { const char *mode; bool weights; float want[3]; } cases[] = {
        {"TF", false, {2, 0, 2}},  {"TF", true, {2, 0, 2}},    {"IDF", false, {1, 0, 1}},
        {"IDF", true, {0.5f, 0, 3}}, {"TFIDF", false, {2, 0, 2}}, {"TFIDF", true, {1, 0, 6}},
    };
    for (int k = 0; k < 6; k++) {
        a.mode = cases[k].mode;
        a.n_weights = cases[k].weights ? 3 : -1;
        a.weights = w;
        char what[64];
        snprintf(what, sizeof what, "%s%s", cases[k].mode, cases[k].weights ? " with weights" : "");
        tr_go(&r, tf_model(KEEL_INT64, 1, (int64_t[]){3}, &a), &(keel_tensor){KEEL_INT64, 1, {3}, (void *)x});
        expect_floats(&r, 1, (int64_t[]){3}, 3, cases[k].want, what);
    }
    /* weights go with pool n-grams, not output positions: pool 1 2 3 to
     * positions 2 0 1, weights 0.5 2 3, IDF of X = 1 1 2 3 gives
     * y[2] = 0.5, y[0] = 2, y[1] = 3 (ONNX Runtime 1.31 gives the same) */
    static const int64_t to201[] = {2, 0, 1}, pool123[] = {1, 2, 3}, x1123[] = {1, 1, 2, 3};
    a = (tf_attrs){.mode = "IDF", .min_n = 1, .max_n = 1, .skip = 0, .n_counts = 1, .counts = counts,
                   .n_indexes = 3, .indexes = to201, .n_ints = 3, .pool_ints = pool123, .n_strs = -1,
                   .n_weights = 3, .weights = w};
    tr_go(&r, tf_model(KEEL_INT64, 1, (int64_t[]){4}, &a), &(keel_tensor){KEEL_INT64, 1, {4}, (void *)x1123});
    expect_floats(&r, 1, (int64_t[]){3}, 3, (const float[]){2, 3, 0.5f}, "weights follow pool n-grams");
    /* 2-grams only: the 1-grams are in the pool but not counted */
    a = (tf_attrs){.mode = "TF", .min_n = 2, .max_n = 2, .skip = 1, .n_counts = 2, .counts = counts,
                   .n_indexes = 3, .indexes = indexes, .n_ints = 4, .pool_ints = pool, .n_strs = -1,
                   .n_weights = -1};
    tr_go(&r, tf_model(KEEL_INT64, 1, (int64_t[]){3}, &a), &(keel_tensor){KEEL_INT64, 1, {3}, (void *)x});
    expect_floats(&r, 1, (int64_t[]){3}, 3, (const float[]){0, 0, 2}, "2-grams of a pool with 1-grams");
    /* a pool holding 4 twice: the first one counts */
    a = (tf_attrs){.mode = "TF", .min_n = 1, .max_n = 1, .skip = 0, .n_counts = 1, .counts = counts,
                   .n_indexes = 2, .indexes = indexes, .n_ints = 2, .pool_ints = (const int64_t[]){4, 4},
                   .n_strs = -1, .n_weights = -1};
    tr_go(&r, tf_model(KEEL_INT64, 1, (int64_t[]){1}, &a), &(keel_tensor){KEEL_INT64, 1, {1}, (int64_t[]){4}});
    expect_floats(&r, 1, (int64_t[]){2}, 2, (const float[]){1, 0}, "a repeated pool 1-gram");
}

static void test_tfidf_strings(void)
{
    /* rows a b a and b b c; 1-gram b, 2-gram (a, b), skip 0: row 0 has b
     * once and (a, b) once, row 1 b twice; no n-gram spans two rows
     * (row 0's last a and row 1's first b) */
    static const char *x[] = {"a", "b", "a", "b", "b", "c"};
    static const char *pool[] = {"b", "a", "b"};
    static const int64_t counts[] = {0, 1}, indexes[] = {0, 1};
    tf_attrs a = {.mode = "TF", .min_n = 1, .max_n = 2, .skip = 0, .n_counts = 2, .counts = counts,
                  .n_indexes = 2, .indexes = indexes, .n_ints = -1, .n_strs = 3, .pool_strs = pool,
                  .n_weights = -1};
    text_run r;
    tr_go(&r, tf_model(KEEL_STRING, 2, (int64_t[]){2, 3}, &a), &(keel_tensor){KEEL_STRING, 2, {2, 3}, (void *)x});
    expect_floats(&r, 2, (int64_t[]){2, 2}, 4, (const float[]){1, 1, 2, 0}, "strings, two rows");
    /* the same strings in one row: (a, b) at 0 and 2 */
    tr_go(&r, tf_model(KEEL_STRING, 1, (int64_t[]){6}, &a), &(keel_tensor){KEEL_STRING, 1, {6}, (void *)x});
    expect_floats(&r, 1, (int64_t[]){2}, 2, (const float[]){3, 2}, "strings, one row");
}

static void test_tfidf_hostile(void)
{
    static const int64_t neg[] = {-1, 0, 1}, huge[] = {0, INT64_MAX, 1}, two[] = {0, 1};
    static const char *spool[] = {"1", "2", "1", "3", "2", "1"};
    const struct { const char *what; int field; const int64_t *ints; int n; keel_status st; } cases[] = {
        {"ngram_counts not increasing", 0, (const int64_t[]){0, 4, 2}, 3, KEEL_ERR_INVALID},
        {"ngram_counts past the pool", 0, (const int64_t[]){0, 8}, 2, KEEL_ERR_INVALID},
        {"ngram_counts not from 0", 0, (const int64_t[]){2, 2}, 2, KEEL_ERR_INVALID},
        {"2-grams of 5 items", 0, (const int64_t[]){0, 1}, 2, KEEL_ERR_INVALID},
        {"ngram_counts empty", 0, NULL, 0, KEEL_ERR_INVALID},
        {"ngram_indexes negative", 1, neg, 3, KEEL_ERR_INVALID},
        {"ngram_indexes INT64_MAX", 1, huge, 3, KEEL_ERR_INVALID},
        {"ngram_indexes fewer than the pool's n-grams", 1, two, 2, KEEL_ERR_INVALID},
        {"ngram_indexes missing", 1, NULL, -1, KEEL_ERR_INVALID},
        {"pool not whole n-grams", 2, (const int64_t[]){1, 2, 1, 3, 2}, 5, KEEL_ERR_INVALID},
        {"no pool", 2, NULL, -1, KEEL_ERR_INVALID},
        {"both pools", 3, NULL, 0, KEEL_ERR_INVALID},
        {"weights fewer than the pool's n-grams", 4, NULL, 2, KEEL_ERR_INVALID},
        {"mode BM25", 5, NULL, 0, KEEL_ERR_INVALID},
        {"mode missing", 6, NULL, 0, KEEL_ERR_INVALID},
        {"min_gram_length 0", 7, NULL, 0, KEEL_ERR_INVALID},
        {"max_gram_length below min", 8, NULL, 0, KEEL_ERR_INVALID},
        {"max_skip_count -1", 9, NULL, 0, KEEL_ERR_INVALID},
        {"pool_strings for numbers", 10, NULL, 0, KEEL_ERR_INVALID},
    };
    static const float two_weights[] = {1, 1};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tf_attrs a = bigrams();
        switch (cases[k].field) {
        case 0: a.counts = cases[k].ints; a.n_counts = cases[k].n; break;
        case 1: a.indexes = cases[k].ints; a.n_indexes = cases[k].n; break;
        case 2: a.pool_ints = cases[k].ints; a.n_ints = cases[k].n; break;
        case 3: a.pool_strs = spool; a.n_strs = 6; break;
        case 4: a.weights = two_weights; a.n_weights = 2; break;
        case 5: a.mode = "BM25"; break;
        case 6: a.mode = NULL; break;
        case 7: a.min_n = 0; break;
        case 8: a.min_n = 3; break;
        case 9: a.skip = -1; break;
        case 10: a.pool_strs = spool; a.n_strs = 6; a.n_ints = -1; break;
        }
        text_run r;
        tr_go(&r, tf_model(KEEL_INT64, 1, (int64_t[]){5}, &a), &(keel_tensor){KEEL_INT64, 1, {5}, (void *)x12312});
        expect_fail(&r, cases[k].st, cases[k].what);
    }
    /* a long row and every skip: some 10^9 n-grams, stopped by the time limit */
    enum { LONG_ROW = 1 << 16 };
    int64_t *row = calloc(LONG_ROW, sizeof *row);
    CU_ASSERT_FATAL(row != NULL);
    tf_attrs lr = bigrams();
    lr.skip = INT64_MAX;
    text_run rl;
    tr_go_limit(&rl, tf_model(KEEL_INT64, 1, (int64_t[]){LONG_ROW}, &lr),
                &(keel_tensor){KEEL_INT64, 1, {LONG_ROW}, row}, 200);
    expect_fail(&rl, KEEL_ERR_CANCELLED, "a long row, every skip, a time limit");
    free(row);
    /* strings against pool_int64s, found at run time */
    static const char *x[] = {"1", "2"};
    tf_attrs a = bigrams();
    text_run r;
    tr_go(&r, tf_model(KEEL_STRING, 1, (int64_t[]){2}, &a), &(keel_tensor){KEEL_STRING, 1, {2}, (void *)x});
    expect_fail(&r, KEEL_ERR_INVALID, "strings against pool_int64s");
}

void add_text_ops_suite(void)
{
    CU_pSuite s = CU_add_suite("text ops", NULL, NULL);
    CU_add_test(s, "StringNormalizer stopwords and case", test_strnorm_stopwords);
    CU_add_test(s, "StringNormalizer all removed", test_strnorm_all_removed);
    CU_add_test(s, "StringNormalizer UTF-8 letters", test_strnorm_utf8);
    CU_add_test(s, "StringNormalizer hostile", test_strnorm_hostile);
    CU_add_test(s, "TfIdfVectorizer skips and indexes", test_tfidf_skips);
    CU_add_test(s, "TfIdfVectorizer modes and weights", test_tfidf_weights);
    CU_add_test(s, "TfIdfVectorizer strings", test_tfidf_strings);
    CU_add_test(s, "TfIdfVectorizer hostile", test_tfidf_hostile);
}
