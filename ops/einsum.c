/* einsum.c -- Einsum (opset 12), float and double: any equation of
 * letter labels with an optional "..." per term, explicit ("ij,jk->ik")
 * or implicit (output: the broadcast "..." dims, then the labels that
 * occur once, in ASCII order).  A label repeated within a term takes the
 * diagonal; labels (and "..." dims) missing from the output are summed
 * over; "..." dims broadcast numpy-style.
 *
 * Two inputs without diagonals are a batched matrix product: the labels
 * of both inputs and the output are the batch, those of one input and the
 * output M or N, those of both inputs alone K.  The inputs are gathered
 * into [batch, M, K] and [batch, K, N], multiplied by sgemm/dgemm and the
 * product scattered to the output's label order.  Everything else runs as
 * one loop nest over every label (output labels outermost): each input
 * advances by its strides for the label (summed over the label's repeats,
 * 0 for a broadcast dim) and the output accumulates the product of the
 * inputs. */
#include <limits.h>
#include <string.h>

#include "kernels/blas.h"
#include "drivers/eltwise.h"

#include "op.h"

#define MAX_IN 8
#define LETTERS 52                   /* a-z, A-Z; "..." dims get the ids after them */
#define MAX_IDS (LETTERS + KL_MAX_RANK)

typedef struct es_plan {
    int n_in;
    int64_t size[MAX_IDS];           /* -1: label unused */
    int out_rank, out_id[KL_MAX_RANK];
    bool diagonal;                   /* a label repeats within a term */
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
        if (!(id >= LETTERS && n == 1)) {
            p->diagonal = p->diagonal || p->step[id][k] != 0;
            p->step[id][k] += stride;
        }
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

/* ---- the matrix-product form -------------------------------------------- */

enum { ROLE_BATCH, ROLE_M, ROLE_N, ROLE_K, ROLES };

typedef struct es_gemm {
    int n[ROLES], ids[ROLES][MAX_IDS];
    int64_t size[ROLES];             /* products of the labels' sizes */
} es_gemm;

/* Whether p is a batched matrix product, and its labels by role.  Labels
 * of size 1 play no part; a broadcast dim counts as absent from its input. */
static bool gemm_form(const es_plan *p, es_gemm *g)
{
    if (p->n_in != 2 || p->diagonal)
        return false;
    memset(g, 0, sizeof *g);
    for (int r = 0; r < ROLES; r++)
        g->size[r] = 1;
    for (int id = 0; id < MAX_IDS; id++) {
        if (p->size[id] == 0)
            return false;
        if (p->size[id] < 2)
            continue;
        bool a = p->step[id][0] != 0, b = p->step[id][1] != 0, out = p->step[id][2] != 0;
        int role = a && b && out ? ROLE_BATCH : a && out ? ROLE_M : b && out ? ROLE_N : a && b ? ROLE_K : -1;
        if (role < 0) /* summed over within one input */
            return false;
        g->ids[role][g->n[role]++] = id;
        g->size[role] *= p->size[id];
    }
    return g->size[ROLE_M] <= INT_MAX && g->size[ROLE_N] <= INT_MAX && g->size[ROLE_K] <= INT_MAX;
}

/* Copies input k (or with k = 2 from packed to the output) between its own
 * layout and the packed one whose dims are the labels of `roles` in order. */
static void gather(const es_plan *p, const es_gemm *g, const int *roles, int n_roles, int k, const void *src,
                   void *dst, size_t es)
{
    int rank = 0;
    int64_t dims[KL_MAX_RANK], strides[KL_MAX_RANK];
    for (int r = 0; r < n_roles; r++)
        for (int i = 0; i < g->n[roles[r]]; i++) {
            int id = g->ids[roles[r]][i];
            dims[rank] = p->size[id];
            strides[rank++] = p->step[id][k] * (int64_t)es;
        }
    kl_copy_strided(dst, src, rank, dims, strides, es);
}

/* The output from the packed product [batch, M, N]. */
static void scatter(const es_plan *p, const es_gemm *g, const void *product, void *out, size_t es)
{
    int64_t packed_step[MAX_IDS] = {0}, stride = (int64_t)es;
    for (int r = ROLE_N; r >= ROLE_BATCH; r--)
        for (int i = g->n[r] - 1; i >= 0; i--) {
            packed_step[g->ids[r][i]] = stride;
            stride *= p->size[g->ids[r][i]];
        }
    int64_t dims[KL_MAX_RANK], strides[KL_MAX_RANK];
    for (int i = 0; i < p->out_rank; i++) {
        dims[i] = p->size[p->out_id[i]];
        strides[i] = packed_step[p->out_id[i]];
    }
    kl_copy_strided(out, product, p->out_rank, dims, strides, es);
}

static size_t gemm_scratch(const es_gemm *g, size_t es)
{
    const int64_t b = g->size[ROLE_BATCH], m = g->size[ROLE_M], n = g->size[ROLE_N], k = g->size[ROLE_K];
    return (size_t)(b * (m * k + k * n + m * n)) * es;
}

static void run_gemm(kl_opctx *c, const es_plan *p, const es_gemm *g)
{
    static const int a_roles[] = {ROLE_BATCH, ROLE_M, ROLE_K}, b_roles[] = {ROLE_BATCH, ROLE_K, ROLE_N};
    const bool f32 = c->in[0]->dtype == KEEL_FLOAT;
    const size_t es = f32 ? sizeof(float) : sizeof(double);
    const int64_t batch = g->size[ROLE_BATCH], m = g->size[ROLE_M], n = g->size[ROLE_N], k = g->size[ROLE_K];
    char *a = c->scratch, *b = a + (size_t)(batch * m * k) * es, *prod = b + (size_t)(batch * k * n) * es;
    gather(p, g, a_roles, 3, 0, c->in[0]->data, a, es);
    gather(p, g, b_roles, 3, 1, c->in[1]->data, b, es);
    for (int64_t i = 0; i < batch; i++) {
        const size_t ai = (size_t)(i * m * k) * es, bi = (size_t)(i * k * n) * es, pi = (size_t)(i * m * n) * es;
        if (f32)
            kl_sgemm(c, false, false, m, n, k, 1.0f, (float *)(a + ai), k, (float *)(b + bi), n, 0.0f,
                     (float *)(prod + pi), n);
        else
            kl_dgemm_here(false, false, m, n, k, 1.0, (double *)(a + ai), k, (double *)(b + bi), n, 0.0,
                          (double *)(prod + pi), n);
    }
    scatter(p, g, prod, c->out[0]->data, es);
}

static size_t es_scratch(kl_opctx *c)
{
    es_plan p;
    es_gemm g;
    if (make_plan(c, &p) || !gemm_form(&p, &g))
        return 0;
    return gemm_scratch(&g, kl_dtype_size(c->in[0]->dtype));
}

static keel_status es_run(kl_opctx *c)
{
    es_plan p;
    es_gemm g;
    keel_status st = make_plan(c, &p);
    if (st)
        return st;
    if (gemm_form(&p, &g)) {
        run_gemm(c, &p, &g);
        return KEEL_OK;
    }
    const void *inputs[MAX_IN];
    for (int k = 0; k < c->n_in; k++)
        inputs[k] = c->in[k]->data;
    if (c->in[0]->dtype == KEEL_FLOAT)
        loop_f32(&p, inputs, c->out[0]->data, kl_numel(c->out[0]));
    else
        loop_f64(&p, inputs, c->out[0]->data, kl_numel(c->out[0]));
    return KEEL_OK;
}

static const kl_op es_v12 = {.type = "Einsum", .since = 12, .min_inputs = 1, .max_inputs = -1,
                             .infer = es_infer, .run = es_run, .scratch = es_scratch};

const kl_op *const kl_opfile_einsum[] = {&es_v12, NULL};
