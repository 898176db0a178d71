/* recurrent.c -- the driver shared by RNN, GRU and LSTM (recurrent.h). */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "../kernels/blas.h"
#include "recurrent.h"

enum { IN_X, IN_W, IN_R, IN_B, IN_LENS, IN_H0, IN_C0, IN_P };

static const struct { const char *name; kl_rnn_fn_kind kind; int params; float alpha, beta; } fn_table[] = {
    {"Relu", KL_RNN_RELU, 0, 0, 0},           {"Tanh", KL_RNN_TANH, 0, 0, 0},
    {"Sigmoid", KL_RNN_SIGMOID, 0, 0, 0},     {"Affine", KL_RNN_AFFINE, 2, 1, 0},
    {"LeakyRelu", KL_RNN_LEAKYRELU, 1, 0.01f, 0}, {"ThresholdedRelu", KL_RNN_THRESHOLDEDRELU, 1, 1, 0},
    {"ScaledTanh", KL_RNN_SCALEDTANH, 2, 1, 1}, {"HardSigmoid", KL_RNN_HARDSIGMOID, 2, 0.2f, 0.5f},
    {"Elu", KL_RNN_ELU, 1, 1, 0},             {"Softsign", KL_RNN_SOFTSIGN, 0, 0, 0},
    {"Softplus", KL_RNN_SOFTPLUS, 0, 0, 0}};

float kl_rnn_apply(const kl_rnn_fn *f, float x)
{
    switch (f->kind) {
    case KL_RNN_RELU: return x > 0 ? x : 0;
    case KL_RNN_TANH: return tanhf(x);
    case KL_RNN_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case KL_RNN_AFFINE: return f->alpha * x + f->beta;
    case KL_RNN_LEAKYRELU: return x >= 0 ? x : f->alpha * x;
    case KL_RNN_THRESHOLDEDRELU: return x > f->alpha ? x : 0;
    case KL_RNN_SCALEDTANH: return f->alpha * tanhf(f->beta * x);
    case KL_RNN_HARDSIGMOID: {
        float v = f->alpha * x + f->beta;
        return v < 0 ? 0 : v > 1 ? 1 : v;
    }
    case KL_RNN_ELU: return x >= 0 ? x : f->alpha * (expf(x) - 1);
    case KL_RNN_SOFTSIGN: return x / (1 + fabsf(x));
    case KL_RNN_SOFTPLUS: return log1pf(expf(x));
    }
    return x;
}

void kl_rnn_gemm_rt(int64_t rows, int64_t n, int64_t k, const float *in, const float *r, float *out,
                    int64_t ldo)
{
    if (rows && n && k)
        kl_sgemm_here(false, true, rows, n, k, 1.0f, in, k, r, k, 1.0f, out, ldo);
}

/* Activations: n_fns per direction from attribute `activations` (or the
 * defaults), with activation_alpha/beta consumed in order by the functions
 * that take parameters. */
static keel_status read_fns(kl_opctx *c, kl_rnn *m, const kl_rnn_fn_kind *defaults)
{
    const kl_attr *a = kl_node_attr(c->node, "activations");
    const float *alphas = NULL, *betas = NULL;
    int n_alpha = kl_attr_floats(c->node, "activation_alpha", &alphas);
    int n_beta = kl_attr_floats(c->node, "activation_beta", &betas);
    int used_alpha = 0, used_beta = 0;
    if (a && (a->type != KL_ATTR_STRINGS || (a->n != m->n_fns && a->n != m->n_fns * m->dirs)))
        return kl_op_fail(c, KEEL_ERR_INVALID, "activations must list %d functions per direction", m->n_fns);
    for (int d = 0; d < m->dirs; d++)
        for (int f = 0; f < m->n_fns; f++) {
            kl_rnn_fn *fn = &m->fn[d][f];
            size_t t = 0, n_table = sizeof fn_table / sizeof fn_table[0];
            if (a) {
                const char *name = a->strings[(d * m->n_fns + f) % a->n];
                while (t < n_table && strcasecmp(fn_table[t].name, name) != 0)
                    t++;
                if (t == n_table)
                    return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "activation function '%s'", name);
            } else {
                while (fn_table[t].kind != defaults[f])
                    t++;
            }
            fn->kind = fn_table[t].kind;
            fn->alpha = fn_table[t].params >= 1 && used_alpha < n_alpha ? alphas[used_alpha++] : fn_table[t].alpha;
            fn->beta = fn_table[t].params >= 2 && used_beta < n_beta ? betas[used_beta++] : fn_table[t].beta;
        }
    return KEEL_OK;
}

static const kl_tensor *input(kl_opctx *c, int i)
{
    return i < c->n_in ? c->in[i] : NULL;
}

static keel_status expect_shape(kl_opctx *c, int i, const char *what, int rank, const int64_t *dims)
{
    const kl_tensor *t = input(c, i);
    if (!t)
        return KEEL_OK;
    bool ok = t->rank == rank && t->dtype == (i == IN_LENS ? KEEL_INT32 : KEEL_FLOAT);
    for (int d = 0; ok && d < rank; d++)
        ok = t->dims[d] == dims[d];
    if (!ok) {
        char got[128];
        return kl_op_fail(c, KEEL_ERR_SHAPE, "%s is %s; expected rank %d [%lld, %lld, %lld]", what,
                          kl_shape_str(t, got, sizeof got), rank, (long long)dims[0],
                          (long long)(rank > 1 ? dims[1] : 0), (long long)(rank > 2 ? dims[2] : 0));
    }
    return KEEL_OK;
}

/* Shapes and attributes; data pointers are set only when data is present. */
static keel_status read_model(kl_opctx *c, int gates, int n_fns, const kl_rnn_fn_kind *defaults, kl_rnn *m)
{
    memset(m, 0, sizeof *m);
    const kl_tensor *x = input(c, IN_X), *w = input(c, IN_W), *r = input(c, IN_R);
    const char *direction = kl_attr_str(c->node, "direction", "forward");
    m->gates = gates;
    m->n_fns = n_fns;
    m->layout = (int)kl_attr_int(c->node, "layout", 0);
    m->dirs = strcmp(direction, "bidirectional") == 0 ? 2 : 1;
    if (strcmp(direction, "forward") && strcmp(direction, "reverse") && m->dirs == 1)
        return kl_op_fail(c, KEEL_ERR_INVALID, "direction '%s'", direction);
    if (x->rank != 3 || x->dtype != KEEL_FLOAT || w->rank != 3 || r->rank != 3)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "X, W and R must be float tensors of rank 3");
    if (m->layout != 0 && m->layout != 1)
        return kl_op_fail(c, KEEL_ERR_INVALID, "layout %d", m->layout);
    m->seq = x->dims[m->layout ? 1 : 0];
    m->batch = x->dims[m->layout ? 0 : 1];
    m->input = x->dims[2];
    m->hidden = kl_attr_int(c->node, "hidden_size", r->dims[2]);
    m->clip = kl_attr_has(c->node, "clip") ? kl_attr_float(c->node, "clip", 0) : 0;
    int64_t gh = gates * m->hidden;
    int64_t hdims[3] = {m->layout ? m->batch : m->dirs, m->layout ? m->dirs : m->batch, m->hidden};
    keel_status st;
    if ((st = expect_shape(c, IN_W, "W", 3, (int64_t[]){m->dirs, gh, m->input})) ||
        (st = expect_shape(c, IN_R, "R", 3, (int64_t[]){m->dirs, gh, m->hidden})) ||
        (st = expect_shape(c, IN_B, "B", 2, (int64_t[]){m->dirs, 2 * gh})) ||
        (st = expect_shape(c, IN_LENS, "sequence_lens", 1, (int64_t[]){m->batch})) ||
        (st = expect_shape(c, IN_H0, "initial_h", 3, hdims)))
        return st;
    if (gates == 4 && ((st = expect_shape(c, IN_C0, "initial_c", 3, hdims)) ||
                       (st = expect_shape(c, IN_P, "P", 2, (int64_t[]){m->dirs, 3 * m->hidden}))))
        return st;
    if ((st = read_fns(c, m, defaults)))
        return st;
    m->w = w->data;
    m->r = r->data;
    m->b = input(c, IN_B) ? input(c, IN_B)->data : NULL;
    m->lens = input(c, IN_LENS) ? input(c, IN_LENS)->data : NULL;
    return KEEL_OK;
}

static const kl_rnn_fn_kind any_fns[3] = {KL_RNN_SIGMOID, KL_RNN_TANH, KL_RNN_TANH};

keel_status kl_rnn_infer(kl_opctx *c, int gates, int n_fns, bool with_c)
{
    kl_rnn m;
    keel_status st = read_model(c, gates, n_fns, any_fns, &m);
    if (st)
        return st;
    int64_t y[4] = {m.seq, m.dirs, m.batch, m.hidden}, y_lay1[4] = {m.batch, m.seq, m.dirs, m.hidden};
    int64_t h[3] = {m.dirs, m.batch, m.hidden}, h_lay1[3] = {m.batch, m.dirs, m.hidden};
    if (c->out[0])
        kl_set_shape(c->out[0], KEEL_FLOAT, 4, m.layout ? y_lay1 : y);
    for (int k = 1; k < c->n_out && k <= (with_c ? 2 : 1); k++)
        if (c->out[k])
            kl_set_shape(c->out[k], KEEL_FLOAT, 3, m.layout ? h_lay1 : h);
    return KEEL_OK;
}

size_t kl_rnn_scratch(kl_opctx *c, int gates)
{
    const kl_tensor *x = c->in[IN_X];
    int64_t rows = x->dims[0] * x->dims[1], batch = x->dims[kl_attr_int(c->node, "layout", 0) ? 0 : 1];
    int64_t hidden = kl_attr_int(c->node, "hidden_size", c->in[IN_R]->dims[2]), gh = gates * hidden;
    /* X*W^T for every row; gates and cell scratch per step; h, c and the
     * gathered rows of both */
    return (size_t)(rows * gh + 2 * batch * gh + 4 * batch * hidden) * sizeof(float) +
           (size_t)batch * sizeof(int64_t);
}

/* Index of state row (dir d, batch b) in initial_h / Y_h / Y_c. */
static int64_t state_row(const kl_rnn *m, int d, int64_t b)
{
    return m->layout ? b * m->dirs + d : (int64_t)d * m->batch + b;
}

/* Index of the row of Y for time t, dir d, batch b. */
static int64_t y_row(const kl_rnn *m, int64_t t, int d, int64_t b)
{
    return m->layout ? (b * m->seq + t) * m->dirs + d : (t * m->dirs + d) * m->batch + b;
}

typedef struct rnn_bufs {
    float *xw, *gates, *cell, *h, *cst, *hs, *cs;
    int64_t *rows;
} rnn_bufs;

static void run_direction(kl_opctx *c, const kl_rnn *m, int d, kl_rnn_cell cell, bool with_c, rnn_bufs *bf)
{
    int64_t H = m->hidden, gh = m->gates * H, n_rows = m->seq * m->batch;
    bool reverse = d == 1 || strcmp(kl_attr_str(c->node, "direction", "forward"), "reverse") == 0;
    const float *wd = m->w + (size_t)d * (size_t)(gh * m->input), *rd = m->r + (size_t)d * (size_t)(gh * H);
    const float *wb = m->b ? m->b + (size_t)d * (size_t)(2 * gh) : NULL, *rb = wb ? wb + gh : NULL;
    const kl_tensor *h0 = input(c, IN_H0), *c0 = input(c, IN_C0), *p = input(c, IN_P);
    const float *peep = p ? (const float *)p->data + (size_t)d * (size_t)(3 * H) : NULL;
    memset(bf->xw, 0, (size_t)(n_rows * gh) * sizeof(float));
    kl_rnn_gemm_rt(n_rows, gh, m->input, c->in[IN_X]->data, wd, bf->xw, gh); /* rows in X's own order */
    for (int64_t b = 0; b < m->batch; b++) {
        int64_t s = state_row(m, d, b);
        for (int64_t j = 0; j < H; j++) {
            bf->h[b * H + j] = h0 ? ((const float *)h0->data)[s * H + j] : 0;
            bf->cst[b * H + j] = c0 ? ((const float *)c0->data)[s * H + j] : 0;
        }
    }
    float *y = c->out[0] ? c->out[0]->data : NULL;
    for (int64_t step = 0; step < m->seq; step++) {
        int64_t rows = 0;
        for (int64_t b = 0; b < m->batch; b++) {
            int64_t len = m->lens ? m->lens[b] : m->seq;
            if (step >= len)
                continue;
            int64_t t = reverse ? len - 1 - step : step;
            const float *src = bf->xw + (m->layout ? b * m->seq + t : t * m->batch + b) * gh;
            float *g = bf->gates + rows * gh;
            for (int64_t j = 0; j < gh; j++)
                g[j] = src[j] + (wb ? wb[j] : 0);
            memcpy(bf->hs + rows * H, bf->h + b * H, (size_t)H * sizeof(float));
            memcpy(bf->cs + rows * H, bf->cst + b * H, (size_t)H * sizeof(float));
            bf->rows[rows++] = b;
        }
        if (!rows)
            break;
        cell(m, d, rows, bf->gates, rd, rb, bf->hs, bf->cs, peep, bf->cell);
        for (int64_t k = 0; k < rows; k++) {
            int64_t b = bf->rows[k], len = m->lens ? m->lens[b] : m->seq;
            int64_t t = reverse ? len - 1 - step : step;
            memcpy(bf->h + b * H, bf->hs + k * H, (size_t)H * sizeof(float));
            memcpy(bf->cst + b * H, bf->cs + k * H, (size_t)H * sizeof(float));
            if (y)
                memcpy(y + y_row(m, t, d, b) * H, bf->hs + k * H, (size_t)H * sizeof(float));
        }
    }
    for (int64_t b = 0; b < m->batch; b++) {
        int64_t s = state_row(m, d, b);
        if (c->n_out > 1 && c->out[1])
            memcpy((float *)c->out[1]->data + s * H, bf->h + b * H, (size_t)H * sizeof(float));
        if (with_c && c->n_out > 2 && c->out[2])
            memcpy((float *)c->out[2]->data + s * H, bf->cst + b * H, (size_t)H * sizeof(float));
    }
}

keel_status kl_rnn_run(kl_opctx *c, int gates, int n_fns, const kl_rnn_fn_kind *default_fns,
                       kl_rnn_cell cell, bool with_c)
{
    kl_rnn m;
    keel_status st = read_model(c, gates, n_fns, default_fns, &m);
    if (st)
        return st;
    for (int64_t b = 0; m.lens && b < m.batch; b++)
        if (m.lens[b] < 0 || m.lens[b] > m.seq)
            return kl_op_fail(c, KEEL_ERR_RUNTIME, "sequence_lens[%lld] = %d is outside [0, %lld]", (long long)b,
                              m.lens[b], (long long)m.seq);
    if (!c->scratch) /* no scratch: a zero batch, every output empty */
        return KEEL_OK;
    int64_t H = m.hidden, gh = gates * H, n_rows = m.seq * m.batch;
    rnn_bufs bf;
    bf.rows = c->scratch;
    bf.xw = (float *)(bf.rows + m.batch);
    bf.gates = bf.xw + n_rows * gh;
    bf.cell = bf.gates + m.batch * gh;
    bf.h = bf.cell + m.batch * gh;
    bf.cst = bf.h + m.batch * H;
    bf.hs = bf.cst + m.batch * H;
    bf.cs = bf.hs + m.batch * H;
    if (c->out[0])
        memset(c->out[0]->data, 0, kl_nbytes(c->out[0])); /* steps past a sequence's end stay 0 */
    for (int d = 0; d < m.dirs; d++)
        run_direction(c, &m, d, cell, with_c, &bf);
    return KEEL_OK;
}
