/* einsum.c -- Einsum (opset 12), float and double: any equation of
 * letter labels with an optional "..." per term, explicit ("ij,jk->ik")
 * or implicit (output: the broadcast "..." dims, then the labels that
 * occur once, in ASCII order).  A label repeated within a term takes the
 * diagonal; labels (and "..." dims) missing from the output are summed
 * over; "..." dims broadcast numpy-style.
 *
 * It runs as one loop nest over every label (output labels outermost):
 * each input advances by its strides for the label (summed over the
 * label's repeats, 0 for a broadcast dim) and the output accumulates the
 * product of the inputs. */
#include <string.h>

#include "op.h"

#define MAX_IN 8
#define LETTERS 52                   /* a-z, A-Z; "..." dims get the ids after them */
#define MAX_IDS (LETTERS + KL_MAX_RANK)

typedef struct es_plan {
    int n_in;
    int64_t size[MAX_IDS];           /* -1: label unused */
    int out_rank, out_id[KL_MAX_RANK];
    int levels;                      /* loop nest: output labels, then summed ones */
    int level_id[MAX_IDS];
    int64_t step[MAX_IDS][MAX_IN + 1]; /* elements; [.][n_in] is the output's */
} es_plan;

/* A term's labels as ids; "..." expands to the ellipsis ids, right-aligned
 * within the `ell` ellipsis dims of the whole equation. */
typedef struct es_term {
    int n, ids[KL_MAX_RANK + LETTERS];
    bool has_ellipsis;
    int ell_at, ell_n;               /* where "..." stands among the ids, its length */
} es_term;

static int letter_id(char ch)
{
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a';
    if (ch >= 'A' && ch <= 'Z')
        return 26 + ch - 'A';
    return -1;
}

/* Parses s[0..len) into t (letters only; "..." noted). */
static keel_status parse_term(kl_opctx *c, const char *s, size_t len, es_term *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ')
            continue;
        if (s[i] == '.') {
            if (t->has_ellipsis || i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.')
                return kl_op_fail(c, KEEL_ERR_INVALID, "equation has a stray '.' or two '...' in one term");
            t->has_ellipsis = true;
            t->ell_at = t->n;
            i += 2;
            continue;
        }
        int id = letter_id(s[i]);
        if (id < 0)
            return kl_op_fail(c, KEEL_ERR_INVALID, "equation has '%c'; labels are letters", s[i]);
        if (t->n >= KL_MAX_RANK + LETTERS - 1)
            return kl_op_fail(c, KEEL_ERR_INVALID, "equation term is too long");
        t->ids[t->n++] = id;
    }
    return KEEL_OK;
}

/* Splits the equation into input terms and the output term (if "->"). */
static keel_status parse_equation(kl_opctx *c, es_term *in, int n_in, es_term *out, bool *explicit_out)
{
    const char *eq = kl_attr_str(c->node, "equation", NULL);
    if (!eq)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'equation' is missing");
    const char *arrow = strstr(eq, "->");
    const char *end = arrow ? arrow : eq + strlen(eq);
    *explicit_out = arrow != NULL;
    const char *p = eq;
    keel_status st;
    for (int k = 0; k < n_in; k++) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        if ((k < n_in - 1) != (comma != NULL))
            return kl_op_fail(c, KEEL_ERR_INVALID, "equation '%s' does not have one term per input (%d)", eq, n_in);
        if ((st = parse_term(c, p, (size_t)(stop - p), &in[k])))
            return st;
        p = stop + 1;
    }
    if (arrow && (st = parse_term(c, arrow + 2, strlen(arrow + 2), out)))
        return st;
    return KEEL_OK;
}

/* Sizes the labels of input k; ell: the equation's ellipsis rank. */
static keel_status bind_input(kl_opctx *c, es_plan *p, es_term *t, int k, int ell)
{
    const kl_tensor *x = c->in[k];
    t->ell_n = x->rank - t->n;
    if (t->ell_n < 0 || (!t->has_ellipsis && t->ell_n != 0))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input %d has rank %d; its term has %d labels", k, x->rank, t->n);
    int64_t stride = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        int id;
        if (t->has_ellipsis && d >= t->ell_at && d < t->ell_at + t->ell_n)
            id = LETTERS + ell - t->ell_n + (d - t->ell_at);
        else
            id = t->ids[d < t->ell_at || !t->has_ellipsis ? d : d - t->ell_n];
        int64_t n = x->dims[d];
        if (id >= LETTERS && n == 1) { /* broadcast */
            if (p->size[id] < 0)
                p->size[id] = 1;
        } else if (p->size[id] < 0 || (id >= LETTERS && p->size[id] == 1)) {
            p->size[id] = n;
        } else if (p->size[id] != n) {
            return kl_op_fail(c, KEEL_ERR_SHAPE, "a label has size %lld in one place and %lld in input %d",
                              (long long)p->size[id], (long long)n, k);
        }
        if (!(id >= LETTERS && n == 1))
            p->step[id][k] += stride;
        stride *= n;
    }
    return KEEL_OK;
}

static keel_status make_plan(kl_opctx *c, es_plan *p)
{
    es_term in[MAX_IN], out;
    bool explicit_out = false;
    keel_status st;
    memset(p, 0, sizeof *p);
    p->n_in = c->n_in;
    if (c->n_in > MAX_IN)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "%d inputs; at most %d are supported", c->n_in, MAX_IN);
    for (int k = 0; k < c->n_in; k++)
        if (!c->in[k] || c->in[k]->dtype != c->in[0]->dtype)
            return kl_op_fail(c, KEEL_ERR_INVALID, "input %d is missing or differs in type from input 0", k);
    if ((st = parse_equation(c, in, c->n_in, &out, &explicit_out)))
        return st;
    int ell = 0, count[LETTERS] = {0};
    for (int k = 0; k < c->n_in; k++) {
        int e = c->in[k]->rank - in[k].n;
        ell = e > ell ? e : ell;
        for (int i = 0; i < in[k].n; i++)
            count[in[k].ids[i]]++;
    }
    if (ell > KL_MAX_RANK)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "the '...' dims are too many");
    for (int id = 0; id < MAX_IDS; id++)
        p->size[id] = -1;
    for (int k = 0; k < c->n_in; k++)
        if ((st = bind_input(c, p, &in[k], k, ell)))
            return st;
    if (!explicit_out) { /* "..." dims, then the labels that occur once */
        memset(&out, 0, sizeof out);
        out.has_ellipsis = ell > 0;
        for (int i = 0; i < LETTERS; i++) { /* ASCII order: upper case first */
            int id = (i + 26) % LETTERS;
            if (count[id] == 1)
                out.ids[out.n++] = id;
        }
    }
    p->out_rank = 0;
    bool in_out[MAX_IDS] = {false};
    for (int i = 0; i <= out.n; i++) {
        if (out.has_ellipsis && i == out.ell_at)
            for (int e = 0; e < ell; e++)
                p->out_id[p->out_rank++] = LETTERS + e;
        if (i == out.n)
            break;
        int id = out.ids[i];
        if (p->size[id] < 0 || in_out[id])
            return kl_op_fail(c, KEEL_ERR_INVALID, "output label '%c' is not in the inputs or is repeated",
                              id < 26 ? 'a' + id : 'A' + id - 26);
        if (p->out_rank >= KL_MAX_RANK)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "the output has more than %d dims", KL_MAX_RANK);
        in_out[id] = true;
        p->out_id[p->out_rank++] = id;
    }
    for (int e = 0; e < ell; e++)
        in_out[LETTERS + e] = in_out[LETTERS + e] || out.has_ellipsis;
    /* loop nest: output dims in order, then the summed labels */
    int64_t out_stride = 1;
    for (int i = p->out_rank - 1; i >= 0; i--) {
        p->step[p->out_id[i]][p->n_in] = out_stride;
        out_stride *= p->size[p->out_id[i]];
    }
    for (int i = 0; i < p->out_rank; i++)
        p->level_id[p->levels++] = p->out_id[i];
    for (int id = 0; id < MAX_IDS; id++)
        if (p->size[id] >= 0 && !in_out[id])
            p->level_id[p->levels++] = id;
    return KEEL_OK;
}

static keel_status es_infer(kl_opctx *c)
{
    static const int types[] = {KEEL_FLOAT, KEEL_DOUBLE, 0};
    es_plan p;
    keel_status st = kl_require_dtype(c, 0, types);
    if (st || (st = make_plan(c, &p)))
        return st;
    int64_t dims[KL_MAX_RANK];
    for (int i = 0; i < p.out_rank; i++)
        dims[i] = p.size[p.out_id[i]];
    kl_set_shape(c->out[0], c->in[0]->dtype, p.out_rank, dims);
    return KEEL_OK;
}

#define ES_LOOP(NAME, T)                                                                  \
    static void NAME(const es_plan *p, const void *const *inputs, void *out, int64_t out_n) \
    {                                                                                     \
        T *y = out;                                                                       \
        for (int64_t i = 0; i < out_n; i++)                                               \
            y[i] = 0;                                                                     \
        int64_t idx[MAX_IDS] = {0}, off[MAX_IN + 1] = {0};                                \
        for (int l = 0; l < p->levels; l++)                                               \
            if (p->size[p->level_id[l]] == 0)                                             \
                return;                                                                   \
        for (;;) {                                                                        \
            T prod = 1;                                                                   \
            for (int k = 0; k < p->n_in; k++)                                             \
                prod *= ((const T *)inputs[k])[off[k]];                                   \
            y[off[p->n_in]] += prod;                                                      \
            int l = p->levels - 1;                                                        \
            for (; l >= 0; l--) {                                                         \
                const int id = p->level_id[l];                                            \
                for (int k = 0; k <= p->n_in; k++)                                        \
                    off[k] += p->step[id][k];                                             \
                if (++idx[l] < p->size[id])                                               \
                    break;                                                                \
                for (int k = 0; k <= p->n_in; k++)                                        \
                    off[k] -= p->step[id][k] * p->size[id];                               \
                idx[l] = 0;                                                               \
            }                                                                             \
            if (l < 0)                                                                    \
                return;                                                                   \
        }                                                                                 \
    }
ES_LOOP(loop_f32, float)
ES_LOOP(loop_f64, double)

static keel_status es_run(kl_opctx *c)
{
    es_plan p;
    keel_status st = make_plan(c, &p);
    if (st)
        return st;
    const void *inputs[MAX_IN];
    for (int k = 0; k < c->n_in; k++)
        inputs[k] = c->in[k]->data;
    if (c->in[0]->dtype == KEEL_FLOAT)
        loop_f32(&p, inputs, c->out[0]->data, kl_numel(c->out[0]));
    else
        loop_f64(&p, inputs, c->out[0]->data, kl_numel(c->out[0]));
    return KEEL_OK;
}

static const kl_op es_v12 = {.type = "Einsum", .domain = "", .since = 12, .until = 0,
                             .min_inputs = 1, .max_inputs = -1, .infer = es_infer, .run = es_run};

const kl_op *const kl_opfile_einsum[] = {&es_v12, NULL};
