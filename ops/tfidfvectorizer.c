/* tfidfvectorizer.c -- TfIdfVectorizer (opset 9): counts the n-grams of
 * a pool (attributes) in each row of X ([C], or [N, C]: one row each),
 * into Y of [W] or [N, W] floats, W = max(ngram_indexes) + 1.
 *
 * The pool: pool_int64s (for int32 and int64 X) or pool_strings (for
 * string X), item after item; its 1-grams start at ngram_counts[0] (0),
 * its 2-grams at ngram_counts[1], and so on, the last length running to
 * the end of the pool.  Pool n-gram k (counting from 0 over all lengths)
 * goes to Y[ngram_indexes[k]] of its row.
 *
 * The n-grams of a row: for each length n in [min_gram_length,
 * max_gram_length], skip s in [0, max_skip_count] and start i, the items
 * i, i + (s + 1), ..., i + (n - 1)(s + 1) within the row.  A 1-gram is
 * one item whatever the skip: it is counted once, not once per skip.
 * When the pool holds one n-gram twice, the first holds its count.
 *
 * Y from the count c of pool n-gram k: TF c; IDF weights[k] (1 without
 * weights) where c > 0, else 0; TFIDF c * weights[k] (c without them),
 * added up where ngram_indexes repeat a position.  weights[k] is the
 * weight of pool n-gram k, as the spec says and ONNX Runtime 1.31 does
 * (pool 1 2 3 to positions 2 0 1 with weights 0.5 2 3, IDF of 1 1 2 3:
 * 2 3 0.5 from both). */
#include <stdbool.h>
#include <string.h>

#include "../runtime/exec.h"

typedef enum { MODE_TF, MODE_IDF, MODE_TFIDF } tf_mode;

/* Pool n-grams keel takes: their hash table's slots fit a uint32_t. */
#define MAX_GRAMS (1 << 28)
/* N-grams looked up between checks for a stop. */
#define CANCEL_EVERY ((int64_t)1 << 20)

/* The attributes, checked against each other. */
typedef struct tfv {
    tf_mode mode;
    int64_t min_n, max_n, max_skip;
    int n_counts;                 /* pool lengths 1 .. n_counts */
    const int64_t *counts;
    int n_grams;                  /* pool n-grams, = entries of ngram_indexes */
    const int64_t *indexes;
    const float *weights;         /* NULL: all 1 */
    int64_t n_pool;               /* items */
    const int64_t *pool_ints;     /* one of these two */
    char *const *pool_strs;
    int64_t width;                /* W */
} tfv;

/* Scratch: run()'s tables, in one block. */
typedef struct tf_tables {
    uint32_t cap;                 /* slots of `slot`, a power of two */
    uint32_t *slot;               /* 0 empty, else pool n-gram + 1 */
    int64_t *start;               /* pool n-gram k: its first item in the pool */
    int32_t *len;                 /* and its length */
    int64_t *count;               /* its count in the current row */
    uint64_t *hash;               /* each item of X, hashed */
} tf_tables;

/* ---- attributes ---------------------------------------------------------- */

static keel_status required_int(kl_opctx *c, const char *name, int64_t lo, int64_t *v)
{
    const kl_attr *a = kl_node_attr(c->node, name);
    if (!a || a->type != KL_ATTR_INT)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute %s (an int) is required", name);
    if (a->i < lo)
        return kl_op_fail(c, KEEL_ERR_INVALID, "%s is %lld; at least %lld expected", name, (long long)a->i,
                          (long long)lo);
    *v = a->i;
    return KEEL_OK;
}

static keel_status read_mode(kl_opctx *c, tfv *v)
{
    const char *m = kl_attr_str(c->node, "mode", NULL);
    if (!m)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute mode (a string) is required");
    if (!strcmp(m, "TF"))
        v->mode = MODE_TF;
    else if (!strcmp(m, "IDF"))
        v->mode = MODE_IDF;
    else if (!strcmp(m, "TFIDF"))
        v->mode = MODE_TFIDF;
    else
        return kl_op_fail(c, KEEL_ERR_INVALID, "mode '%.64s': TF, IDF or TFIDF expected", m);
    return KEEL_OK;
}

/* The pool: exactly one of pool_int64s and pool_strings. */
static keel_status read_pool(kl_opctx *c, tfv *v)
{
    const kl_attr *pi = kl_node_attr(c->node, "pool_int64s"), *ps = kl_node_attr(c->node, "pool_strings");
    if (pi && pi->type != KL_ATTR_INTS)
        return kl_op_fail(c, KEEL_ERR_INVALID, "pool_int64s must be a list of ints");
    if (ps && ps->type != KL_ATTR_STRINGS)
        return kl_op_fail(c, KEEL_ERR_INVALID, "pool_strings must be a list of strings");
    if (!pi == !ps)
        return kl_op_fail(c, KEEL_ERR_INVALID, "%s", pi ? "both pool_int64s and pool_strings are given; one expected"
                                                        : "neither pool_int64s nor pool_strings is given");
    v->pool_ints = pi ? pi->ints : NULL;
    v->pool_strs = ps ? ps->strings : NULL;
    v->n_pool = pi ? pi->n : ps->n;
    return KEEL_OK;
}

/* ngram_counts: starts of the lengths' runs, from 0, never decreasing,
 * within the pool, each run whole n-grams.  Sets n_grams. */
static keel_status read_counts(kl_opctx *c, tfv *v)
{
    v->n_counts = kl_attr_ints(c->node, "ngram_counts", &v->counts);
    if (v->n_counts <= 0)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute ngram_counts (a list of ints) is required");
    if (v->counts[0] != 0)
        return kl_op_fail(c, KEEL_ERR_INVALID, "ngram_counts[0] is %lld; the pool starts with its 1-grams, at 0",
                          (long long)v->counts[0]);
    int64_t grams = 0;
    for (int i = 0; i < v->n_counts; i++) {
        int64_t start = v->counts[i], end = i + 1 < v->n_counts ? v->counts[i + 1] : v->n_pool;
        if (end < start || end > v->n_pool) /* (only with i + 1 < n_counts: start <= n_pool) */
            return kl_op_fail(c, KEEL_ERR_INVALID,
                              "ngram_counts[%d] is %lld: the starts must not decrease nor pass the pool's %lld items",
                              i + 1, (long long)end, (long long)v->n_pool);
        if ((end - start) % (i + 1))
            return kl_op_fail(c, KEEL_ERR_INVALID, "the pool's %d-grams (items %lld to %lld) are not whole %d-grams",
                              i + 1, (long long)start, (long long)end, i + 1);
        grams += (end - start) / (i + 1);
    }
    if (grams > MAX_GRAMS)
        return kl_op_fail(c, KEEL_ERR_LIMIT, "the pool holds %lld n-grams; keel takes up to %d",
                          (long long)grams, MAX_GRAMS);
    v->n_grams = (int)grams;
    return KEEL_OK;
}

/* ngram_indexes (one per pool n-gram, in [0, INT32_MAX)) and weights
 * (none, or one per pool n-gram).  Sets width. */
static keel_status read_indexes(kl_opctx *c, tfv *v)
{
    int n = kl_attr_ints(c->node, "ngram_indexes", &v->indexes);
    if (n < 0)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute ngram_indexes (a list of ints) is required");
    if (n != v->n_grams || !n)
        return kl_op_fail(c, KEEL_ERR_INVALID, "ngram_indexes has %d entries; the pool holds %d n-grams%s", n,
                          v->n_grams, n ? "" : " (at least one expected)");
    v->width = 0;
    for (int k = 0; k < n; k++) {
        if (v->indexes[k] < 0 || v->indexes[k] >= INT32_MAX)
            return kl_op_fail(c, KEEL_ERR_INVALID, "ngram_indexes[%d] is %lld, out of [0, %d)", k,
                              (long long)v->indexes[k], INT32_MAX);
        if (v->indexes[k] + 1 > v->width)
            v->width = v->indexes[k] + 1;
    }
    const kl_attr *w = kl_node_attr(c->node, "weights");
    v->weights = NULL;
    if (w && w->type == KL_ATTR_FLOATS && w->n) {
        if (w->n != n)
            return kl_op_fail(c, KEEL_ERR_INVALID, "weights has %d entries; the pool holds %d n-grams", w->n, n);
        v->weights = w->floats;
    } else if (w && w->type != KL_ATTR_FLOATS && !(w->type == KL_ATTR_INT && w->i == 0)) {
        return kl_op_fail(c, KEEL_ERR_INVALID, "weights must be a list of floats"); /* (int 0: untyped empty list) */
    }
    return KEEL_OK;
}

static keel_status read_attrs(kl_opctx *c, tfv *v)
{
    memset(v, 0, sizeof *v);
    keel_status st = read_mode(c, v);
    if (!st)
        st = required_int(c, "min_gram_length", 1, &v->min_n);
    if (!st)
        st = required_int(c, "max_gram_length", v->min_n, &v->max_n);
    if (!st)
        st = required_int(c, "max_skip_count", 0, &v->max_skip);
    if (!st)
        st = read_pool(c, v);
    if (!st)
        st = read_counts(c, v);
    if (!st)
        st = read_indexes(c, v);
    return st;
}

/* ---- shapes -------------------------------------------------------------- */

/* X: int32, int64 or strings as the pool is, [C] or [N, C]. */
static keel_status check_input(kl_opctx *c, const tfv *v)
{
    const kl_tensor *x = c->in[0];
    bool strs = x->dtype == KEEL_STRING;
    if (!strs && x->dtype != KEEL_INT32 && x->dtype != KEEL_INT64)
        return kl_op_fail(c, KEEL_ERR_INVALID, "input is %s; int32, int64 or strings expected",
                          kl_dtype_name(x->dtype));
    if (strs != !!v->pool_strs)
        return kl_op_fail(c, KEEL_ERR_INVALID, "input is %s but the pool is %s", kl_dtype_name(x->dtype),
                          v->pool_strs ? "pool_strings" : "pool_int64s");
    if (x->rank != 1 && x->rank != 2)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input has rank %d; [C] or [N, C] expected", x->rank);
    return KEEL_OK;
}

/* The node's attributes into *v, and its input checked against them. */
static keel_status read_node(kl_opctx *c, tfv *v)
{
    keel_status st = read_attrs(c, v);
    return st ? st : check_input(c, v);
}

static keel_status tf_infer(kl_opctx *c)
{
    tfv v;
    keel_status st = read_node(c, &v);
    if (st)
        return st;
    const kl_tensor *x = c->in[0];
    int64_t dims[2] = {x->dims[0], v.width};
    if (x->rank == 1)
        kl_set_shape(c->out[0], KEEL_FLOAT, 1, &dims[1]);
    else
        kl_set_shape(c->out[0], KEEL_FLOAT, 2, dims);
    return KEEL_OK;
}

/* ---- tables -------------------------------------------------------------- */

static uint32_t table_cap(int n_grams)
{
    uint32_t cap = 2;
    while (cap < 2u * (uint32_t)n_grams)
        cap *= 2;
    return cap;
}

/* Where the tables for v and x lie in the scratch block: byte offsets of
 * start, count, hash, slot and len, then the block's size. */
enum { AT_START, AT_COUNT, AT_HASH, AT_SLOT, AT_LEN, AT_END };

static void table_offsets(const tfv *v, const kl_tensor *x, size_t at[AT_END + 1])
{
    size_t g = (size_t)v->n_grams, n = (size_t)kl_numel(x);
    at[AT_START] = 0; /* the 8-byte arrays first, aligned as the block is */
    at[AT_COUNT] = at[AT_START] + g * sizeof(int64_t);
    at[AT_HASH] = at[AT_COUNT] + g * sizeof(int64_t);
    at[AT_SLOT] = at[AT_HASH] + n * sizeof(uint64_t);
    at[AT_LEN] = at[AT_SLOT] + (size_t)table_cap(v->n_grams) * sizeof(uint32_t);
    at[AT_END] = at[AT_LEN] + g * sizeof(int32_t);
}

static tf_tables lay_tables(const tfv *v, const kl_tensor *x, char *b)
{
    size_t at[AT_END + 1];
    table_offsets(v, x, at);
    return (tf_tables){.cap = table_cap(v->n_grams), .slot = (uint32_t *)(b + at[AT_SLOT]),
                       .start = (int64_t *)(b + at[AT_START]), .len = (int32_t *)(b + at[AT_LEN]),
                       .count = (int64_t *)(b + at[AT_COUNT]), .hash = (uint64_t *)(b + at[AT_HASH])};
}

static size_t tf_scratch(kl_opctx *c)
{
    tfv v;
    size_t at[AT_END + 1];
    if (read_attrs(c, &v))
        return 0;
    table_offsets(&v, c->in[0], at);
    return at[AT_END];
}

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_int(int64_t i)
{
    return mix64((uint64_t)i);
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return mix64(h);
}

/* Item p of the pool, hashed as an item of X equal to it is. */
static uint64_t pool_hash(const tfv *v, int64_t p)
{
    return v->pool_strs ? hash_str(v->pool_strs[p]) : hash_int(v->pool_ints[p]);
}

static bool pool_items_equal(const tfv *v, int64_t p, int64_t q)
{
    if (v->pool_strs)
        return !strcmp(v->pool_strs[p] ? v->pool_strs[p] : "", v->pool_strs[q] ? v->pool_strs[q] : "");
    return v->pool_ints[p] == v->pool_ints[q];
}

/* Whether pool n-gram k equals the n-gram of the pool at `start`, of
 * its own length. */
static bool pool_grams_equal(const tfv *v, const tf_tables *t, int k, int64_t start)
{
    for (int32_t j = 0; j < t->len[k]; j++)
        if (!pool_items_equal(v, t->start[k] + j, start + j))
            return false;
    return true;
}

/* Adds pool n-gram k (start and len set) to the table, unless the pool
 * holds it already. */
static void table_add(const tfv *v, tf_tables *t, int k)
{
    uint64_t h = (uint64_t)t->len[k];
    for (int32_t j = 0; j < t->len[k]; j++)
        h = mix64(h + pool_hash(v, t->start[k] + j));
    for (uint32_t s = (uint32_t)h & (t->cap - 1);; s = (s + 1) & (t->cap - 1)) {
        uint32_t e = t->slot[s];
        if (!e) {
            t->slot[s] = (uint32_t)k + 1;
            return;
        }
        if (t->len[e - 1] == t->len[k] && pool_grams_equal(v, t, (int)e - 1, t->start[k]))
            return; /* a repeat: the first one counts */
    }
}

/* Sets each pool n-gram's place and enters those of lengths the op
 * counts; hashes X's items. */
static void build_tables(const tfv *v, const kl_tensor *x, tf_tables *t)
{
    memset(t->slot, 0, (size_t)t->cap * sizeof *t->slot);
    int k = 0;
    for (int i = 0; i < v->n_counts; i++) {
        int64_t n = i + 1, end = i + 1 < v->n_counts ? v->counts[i + 1] : v->n_pool;
        for (int64_t p = v->counts[i]; p < end; p += n, k++) {
            t->start[k] = p;
            t->len[k] = (int32_t)n;
            if (n >= v->min_n && n <= v->max_n)
                table_add(v, t, k);
        }
    }
    for (int64_t i = 0; i < kl_numel(x); i++)
        t->hash[i] = x->dtype == KEEL_STRING ? hash_str(((char *const *)x->data)[i])
                   : x->dtype == KEEL_INT32 ? hash_int(((const int32_t *)x->data)[i])
                                            : hash_int(((const int64_t *)x->data)[i]);
}

/* ---- counting ------------------------------------------------------------ */

/* Whether item q of X equals item p of the pool. */
static bool item_matches(const tfv *v, const kl_tensor *x, int64_t q, int64_t p)
{
    if (x->dtype == KEEL_STRING) {
        const char *s = ((char *const *)x->data)[q];
        return !strcmp(s ? s : "", v->pool_strs[p] ? v->pool_strs[p] : "");
    }
    int64_t i = x->dtype == KEEL_INT32 ? ((const int32_t *)x->data)[q] : ((const int64_t *)x->data)[q];
    return i == v->pool_ints[p];
}

/* Counts the n-gram of X of items at, at + stride, ... (n of them) if the
 * pool holds it. */
static void count_gram(const tfv *v, const kl_tensor *x, tf_tables *t, int64_t at, int64_t stride, int64_t n)
{
    uint64_t h = (uint64_t)n;
    for (int64_t j = 0; j < n; j++)
        h = mix64(h + t->hash[at + j * stride]);
    for (uint32_t s = (uint32_t)h & (t->cap - 1);; s = (s + 1) & (t->cap - 1)) {
        uint32_t e = t->slot[s];
        if (!e)
            return;
        int k = (int)e - 1;
        if (t->len[k] != n)
            continue;
        int64_t j = 0;
        while (j < n && item_matches(v, x, at + j * stride, t->start[k] + j))
            j++;
        if (j == n) {
            t->count[k]++;
            return;
        }
    }
}

/* Counts the pool's n-grams in the row of X at items [row, row + len). */
static keel_status count_row(kl_opctx *c, const tfv *v, const kl_tensor *x, tf_tables *t, int64_t row,
                             int64_t len)
{
    memset(t->count, 0, (size_t)v->n_grams * sizeof *t->count);
    /* n-grams of two items or more: no pool n-gram is longer than n_counts */
    int64_t max_n = v->max_n < v->n_counts ? v->max_n : v->n_counts, min_n = v->min_n > 2 ? v->min_n : 2;
    int64_t looked = 0; /* n-grams looked up since the last check */
    for (int64_t i = 0; i < len; i++) {
        if (looked >= CANCEL_EVERY) {
            keel_status st = kl_op_check_cancel(c);
            if (st)
                return st;
            looked = 0;
        }
        looked++;
        if (v->min_n == 1)
            count_gram(v, x, t, row + i, 1, 1);
        if (min_n > max_n)
            continue;
        /* items after i; the shortest n-gram's last item is (min_n - 1) strides on */
        int64_t left = len - 1 - i, max_stride = left / (min_n - 1);
        for (int64_t stride = 1; stride <= max_stride && stride - 1 <= v->max_skip; stride++)
            for (int64_t n = min_n; n <= max_n && n - 1 <= left / stride; n++, looked++)
                count_gram(v, x, t, row + i, stride, n);
    }
    return KEEL_OK;
}

/* Y's row from the counts. */
static void write_row(const tfv *v, const tf_tables *t, float *y)
{
    memset(y, 0, (size_t)v->width * sizeof *y);
    for (int k = 0; k < v->n_grams; k++) {
        int64_t cnt = t->count[k];
        float w = v->weights ? v->weights[k] : 1.0f;
        if (!cnt)
            continue;
        y[v->indexes[k]] += v->mode == MODE_TF ? (float)cnt : v->mode == MODE_IDF ? w : (float)cnt * w;
    }
}

static keel_status tf_run(kl_opctx *c)
{
    tfv v;
    keel_status st = read_node(c, &v);
    if (st)
        return st;
    const kl_tensor *x = c->in[0];
    if (c->scratch_size < tf_scratch(c))
        return kl_op_fail(c, KEEL_ERR_RUNTIME, "scratch of %zu bytes is too small", c->scratch_size);
    tf_tables t = lay_tables(&v, x, c->scratch);
    build_tables(&v, x, &t);
    int64_t rows = x->rank == 2 ? x->dims[0] : 1, len = x->dims[x->rank - 1];
    float *y = c->out[0]->data;
    for (int64_t r = 0; r < rows; r++) {
        if ((st = kl_op_check_cancel(c)))
            return st;
        if ((st = count_row(c, &v, x, &t, r * len, len)))
            return st;
        write_row(&v, &t, y + r * v.width);
    }
    return KEEL_OK;
}

static const kl_op tfidfvectorizer = {.type = "TfIdfVectorizer", .since = 9, .min_inputs = 1, .max_inputs = 1,
                                      .flags = KL_OP_VALUES, .infer = tf_infer, .run = tf_run,
                                      .scratch = tf_scratch};

const kl_op *const kl_opfile_tfidfvectorizer[] = {&tfidfvectorizer, NULL};
