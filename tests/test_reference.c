/* test_reference.c -- the float64 reference path (keel_options.reference,
 * ops/drivers/reference.c).  For Conv, ConvTranspose, Gemm, MatMul and the
 * reductions, tiny models are run with reference = 1 and with the default
 * options; the reference must match a naive double loop written here to
 * about 1e-6 relative, and the fast path must agree with the reference to
 * 1e-4.  A sum that float accumulation loses (1e8 + 1 + ... + 1 - 1e8) is
 * exact on the reference path.  A reference session runs the generic
 * kernels with the rewrites off, applies an epilogue a node carries, and
 * reads Conv filters that a model loaded from a file released. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../ops/op.h"
#include "inspect.h"
#include "model.h"
#include "session.h"
#include "testutil.h"

/* Reference against the naive loops; fast path against the reference:
 * relative to each element, plus a slack relative to the largest (where
 * a sum cancels to near zero, float's error stays that of its terms). */
#define REF_TOL 1e-6
#define REF_SLACK 1e-9
#define FAST_TOL 1e-4
#define FAST_SLACK 1e-5

static float lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 65536.0f - 0.5f;
}

/* n values in [offset - scale / 2, offset + scale / 2), malloc'd. */
static float *random_floats(int64_t n, uint32_t seed, float scale, float offset)
{
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    for (int64_t i = 0; i < n; i++)
        v[i] = offset + scale * lcg(&seed);
    return v;
}

static int64_t numel(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= dims[d];
    return n;
}

/* Loads b and runs it on a session with `reference`; output 0 (n_y
 * floats, filled with NaN first) into y. */
static keel_status run_model(tb_model *b, int reference, const keel_tensor *in, float *y, int64_t n_y)
{
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    keel_model *m = NULL;
    char err[1024] = "";
    keel_status st = keel_model_load_buffer(&m, buf, len, NULL, "ref.onnx", NULL, err, sizeof err);
    keel_session *s = NULL;
    keel_options opt;
    keel_options_init(&opt);
    opt.reference = reference;
    if (!st)
        st = keel_session_create(&s, m, &opt, NULL, 0, NULL, err, sizeof err);
    tb_fill_nan(y, (size_t)n_y);
    keel_tensor out = {.data = y};
    if (!st && (st = keel_session_run(s, in, &out)))
        snprintf(err, sizeof err, "%s", keel_session_errmsg(s));
    if (st)
        printf("\n  %s run: %s\n", reference ? "reference" : "fast", err);
    keel_session_free(s);
    keel_model_free(m);
    free(buf);
    return st;
}

/* Whether got[i] is within rel * |want[i]| + slack * max |want| of
 * want[i] for every i; reports the worst element when not. */
static bool close_to(const char *what, const char *side, const float *got, const double *want, int64_t n,
                     double rel, double slack)
{
    double top = 0, worst = 0;
    int64_t at = -1;
    for (int64_t i = 0; i < n; i++)
        top = fmax(top, fabs(want[i]));
    for (int64_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]), allowed = rel * fabs(want[i]) + slack * top;
        if (!(err <= allowed) && (at < 0 || !(err / allowed <= worst))) {
            worst = err / allowed;
            at = i;
        }
    }
    if (at >= 0)
        printf("\n  %s, %s: element %lld is %.9g, expected %.9g\n", what, side, (long long)at, got[at], want[at]);
    return at < 0;
}

/* Runs b both ways and checks: reference ~ naive (REF_TOL), fast ~
 * reference (FAST_TOL). */
static void check_both(const char *what, tb_model *b, const keel_tensor *in, const double *naive, int64_t n)
{
    float *ref = malloc((size_t)(n > 0 ? n : 1) * sizeof *ref), *fast = malloc((size_t)(n > 0 ? n : 1) * sizeof *fast);
    double *ref_d = malloc((size_t)(n > 0 ? n : 1) * sizeof *ref_d);
    CU_ASSERT_EQUAL_FATAL(run_model(b, 1, in, ref, n), KEEL_OK);
    CU_ASSERT_EQUAL_FATAL(run_model(b, 0, in, fast, n), KEEL_OK);
    for (int64_t i = 0; i < n; i++)
        ref_d[i] = ref[i];
    CU_ASSERT(close_to(what, "reference vs naive", ref, naive, n, REF_TOL, REF_SLACK));
    CU_ASSERT(close_to(what, "fast vs reference", fast, ref_d, n, FAST_TOL, FAST_SLACK));
    free(ref);
    free(fast);
    free(ref_d);
}

/* ---- Conv, ConvTranspose ------------------------------------------------------- */

/* A Conv, or a ConvTranspose (transpose). */
typedef struct conv_case {
    const char *what;
    int nsp;                           /* spatial dims, 1 to 3 */
    int64_t n, c, m, group;
    int64_t in[3], k[3], stride[3], dil[3];
    int64_t pads[6];                   /* ONNX order: nsp leading, then nsp trailing */
    bool bias;
    const char *auto_pad;              /* Conv: NULL for explicit pads, or SAME_UPPER */
    bool transpose;
    int64_t out_pad[3];                /* ConvTranspose's output_padding */
} conv_case;

/* Output extent and leading pad of each spatial dim, as the ONNX spec
 * gives them. */
static void conv_extent(const conv_case *cc, int64_t *out, int64_t *lead)
{
    for (int s = 0; s < cc->nsp; s++) {
        const int64_t reach = (cc->k[s] - 1) * cc->dil[s] + 1;
        lead[s] = cc->pads[s];
        if (cc->transpose) {
            out[s] = cc->stride[s] * (cc->in[s] - 1) + cc->out_pad[s] + reach - cc->pads[s] - cc->pads[cc->nsp + s];
        } else if (cc->auto_pad) { /* SAME_UPPER */
            out[s] = (cc->in[s] + cc->stride[s] - 1) / cc->stride[s];
            int64_t total = (out[s] - 1) * cc->stride[s] + reach - cc->in[s];
            lead[s] = total > 0 ? total / 2 : 0;
        } else {
            out[s] = (cc->in[s] + cc->pads[s] + cc->pads[cc->nsp + s] - reach) / cc->stride[s] + 1;
        }
    }
}

/* Index of (i0, i1, i2) in a box of nsp dims (the first nsp of i). */
static int64_t box_index(int nsp, const int64_t *dims, const int64_t *i)
{
    int64_t at = 0;
    for (int s = 0; s < nsp; s++)
        at = at * dims[s] + i[s];
    return at;
}

/* Steps idx through the box dims (nsp of them); false past the end. */
static bool box_next(int nsp, const int64_t *dims, int64_t *idx)
{
    for (int s = nsp - 1; s >= 0; s--) {
        if (++idx[s] < dims[s])
            return true;
        idx[s] = 0;
    }
    return false;
}

static bool box_empty(int nsp, const int64_t *dims)
{
    return numel(nsp, dims) == 0;
}

/* y = conv(x, w) + b in double: for every output and every tap, the input
 * element o * stride - lead + k * dil when it lies inside. */
static void naive_conv(const conv_case *cc, const float *x, const float *w, const float *b, double *y)
{
    int64_t out[3], lead[3];
    conv_extent(cc, out, lead);
    const int64_t cg = cc->c / cc->group, mg = cc->m / cc->group;
    const int64_t in_size = numel(cc->nsp, cc->in), out_size = numel(cc->nsp, out), k_size = numel(cc->nsp, cc->k);
    for (int64_t n = 0; n < cc->n; n++)
        for (int64_t m = 0; m < cc->m; m++) {
            int64_t o[3] = {0};
            do {
                double acc = cc->bias ? b[m] : 0.0;
                for (int64_t ci = 0; ci < cg; ci++) {
                    int64_t k[3] = {0};
                    do {
                        int64_t i[3];
                        bool inside = true;
                        for (int s = 0; s < cc->nsp; s++) {
                            i[s] = o[s] * cc->stride[s] - lead[s] + k[s] * cc->dil[s];
                            inside &= i[s] >= 0 && i[s] < cc->in[s];
                        }
                        if (inside)
                            acc += (double)x[(n * cc->c + m / mg * cg + ci) * in_size + box_index(cc->nsp, cc->in, i)] *
                                   w[(m * cg + ci) * k_size + box_index(cc->nsp, cc->k, k)];
                    } while (box_next(cc->nsp, cc->k, k));
                }
                y[(n * cc->m + m) * out_size + box_index(cc->nsp, out, o)] = acc;
            } while (!box_empty(cc->nsp, out) && box_next(cc->nsp, out, o));
        }
}

/* y = convtranspose(x, w) + b in double: each input element times each
 * tap, added where it lands (i * stride - pad + k * dil) when inside. */
static void naive_ct(const conv_case *cc, const float *x, const float *w, const float *b, double *y)
{
    int64_t out[3], lead[3];
    conv_extent(cc, out, lead);
    const int64_t cg = cc->c / cc->group, mg = cc->m / cc->group;
    const int64_t in_size = numel(cc->nsp, cc->in), out_size = numel(cc->nsp, out), k_size = numel(cc->nsp, cc->k);
    for (int64_t n = 0; n < cc->n; n++)
        for (int64_t m = 0; m < cc->m; m++)
            for (int64_t o = 0; o < out_size; o++)
                y[(n * cc->m + m) * out_size + o] = cc->bias ? b[m] : 0.0;
    for (int64_t n = 0; n < cc->n; n++)
        for (int64_t ci = 0; ci < cc->c; ci++) {
            int64_t i[3] = {0};
            do {
                for (int64_t mm = 0; mm < mg; mm++) {
                    int64_t k[3] = {0};
                    do {
                        int64_t o[3];
                        bool inside = true;
                        for (int s = 0; s < cc->nsp; s++) {
                            o[s] = i[s] * cc->stride[s] - lead[s] + k[s] * cc->dil[s];
                            inside &= o[s] >= 0 && o[s] < out[s];
                        }
                        const int64_t m = ci / cg * mg + mm;
                        if (inside)
                            y[(n * cc->m + m) * out_size + box_index(cc->nsp, out, o)] +=
                                (double)x[(n * cc->c + ci) * in_size + box_index(cc->nsp, cc->in, i)] *
                                w[(ci * mg + mm) * k_size + box_index(cc->nsp, cc->k, k)];
                    } while (box_next(cc->nsp, cc->k, k));
                }
            } while (box_next(cc->nsp, cc->in, i));
        }
}

/* Runs the case both ways against its naive loop.  W is [M, C / group,
 * k] for Conv, [C, M / group, k] for ConvTranspose. */
static void conv_check(const conv_case *cc)
{
    int64_t out[3], lead[3];
    conv_extent(cc, out, lead);
    int64_t xd[5] = {cc->n, cc->c}, yd[5] = {cc->n, cc->m}, bd[1] = {cc->m};
    int64_t wd[5] = {cc->transpose ? cc->c : cc->m, cc->transpose ? cc->m / cc->group : cc->c / cc->group};
    for (int s = 0; s < cc->nsp; s++) {
        xd[2 + s] = cc->in[s];
        wd[2 + s] = cc->k[s];
        yd[2 + s] = out[s];
    }
    const int rank = 2 + cc->nsp;
    float *x = random_floats(numel(rank, xd), 11, 4.0f, 0.0f), *w = random_floats(numel(rank, wd), 12, 2.0f, 0.0f);
    float *b = random_floats(cc->m, 13, 2.0f, 0.0f);
    tb_model *bld = tb_new(8, 13);
    tb_input(bld, "x", KEEL_FLOAT, rank, xd, NULL);
    tb_output(bld, "y", KEEL_FLOAT, rank, yd);
    tb_init_f32(bld, "w", rank, wd, w);
    tb_init_f32(bld, "b", 1, bd, b);
    const char *op = cc->transpose ? "ConvTranspose" : "Conv";
    Onnx__NodeProto *node = tb_node(bld, op, "conv", cc->bias ? "x,w,b" : "x,w", "y");
    tb_attr_int(bld, node, "group", cc->group);
    tb_attr_ints(bld, node, "strides", cc->nsp, cc->stride);
    tb_attr_ints(bld, node, "dilations", cc->nsp, cc->dil);
    if (cc->auto_pad)
        tb_attr_str(bld, node, "auto_pad", cc->auto_pad);
    else
        tb_attr_ints(bld, node, "pads", 2 * cc->nsp, cc->pads);
    if (cc->transpose)
        tb_attr_ints(bld, node, "output_padding", cc->nsp, cc->out_pad);
    const int64_t n_y = numel(rank, yd);
    double *want = malloc((size_t)n_y * sizeof *want);
    (cc->transpose ? naive_ct : naive_conv)(cc, x, w, b, want);
    keel_tensor in = {KEEL_FLOAT, rank, {0}, x};
    memcpy(in.dims, xd, sizeof xd);
    check_both(cc->what, bld, &in, want, n_y);
    free(want);
    tb_free(bld);
    free(x);
    free(w);
    free(b);
}

static void test_conv(void)
{
    static const conv_case cases[] = {
        {"3x3 pads 1", 2, 1, 3, 4, 1, {8, 8}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true, NULL},
        {"groups 2", 2, 1, 4, 6, 2, {7, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, false, NULL},
        {"depthwise stride 2", 2, 2, 8, 8, 8, {9, 10}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, true, NULL},
        {"depthwise 5x5 multiplier 2", 2, 1, 4, 8, 4, {11, 11}, {5, 5}, {1, 1}, {1, 1}, {2, 2, 2, 2}, false, NULL},
        {"stride 2 asymmetric pads", 2, 1, 5, 7, 1, {10, 9}, {3, 3}, {2, 2}, {1, 1}, {0, 1, 1, 2}, true, NULL},
        {"dilation 2", 2, 1, 3, 5, 1, {12, 11}, {3, 3}, {1, 1}, {2, 2}, {2, 2, 2, 2}, false, NULL},
        {"1x1", 2, 1, 16, 8, 1, {7, 5}, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, true, NULL},
        {"7x7 stride 2 odd sizes", 2, 1, 3, 8, 1, {23, 19}, {7, 7}, {2, 2}, {1, 1}, {3, 3, 3, 3}, true, NULL},
        {"3x3 wide (Winograd on the fast path)", 2, 1, 32, 32, 1, {14, 14}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1},
         true, NULL},
        {"3x3 no pads, 64 channels", 2, 1, 64, 24, 1, {9, 8}, {3, 3}, {1, 1}, {1, 1}, {0, 0, 0, 0}, false, NULL},
        {"1-D stride 2", 1, 2, 4, 5, 1, {17}, {5}, {2}, {1}, {2, 1}, true, NULL},
        {"1-D rows wider than the reference's 256", 1, 1, 3, 2, 1, {600}, {3}, {1}, {1}, {1, 1}, true, NULL},
        {"3-D", 3, 1, 2, 3, 1, {5, 6, 7}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1, 1, 1, 1}, true, NULL},
        {"SAME_UPPER even kernel stride 2", 2, 2, 3, 4, 1, {9, 9}, {4, 4}, {2, 2}, {1, 1}, {0}, true, "SAME_UPPER"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        conv_check(&cases[i]);
}

static void test_conv_transpose(void)
{
    static const conv_case cases[] = {
        {"stride 2 pads 1 output_padding 1", 2, 1, 4, 3, 1, {5, 6}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, true, NULL,
         true, {1, 1}},
        {"groups 2 dilation 2", 2, 2, 4, 6, 2, {4, 5}, {2, 3}, {2, 1}, {2, 2}, {0, 1, 0, 1}, false, NULL, true, {1, 0}},
        {"1-D rows wider than the reference's 256", 1, 1, 3, 2, 1, {200}, {4}, {2}, {1}, {1, 1}, true, NULL, true,
         {0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        conv_check(&cases[i]);
}

/* ---- Gemm ---------------------------------------------------------------------- */

typedef struct gemm_case {
    const char *what;
    int64_t m, k, n;
    bool ta, tb;
    float alpha, beta;
    int c_rank;                /* -1: no C */
    int64_t c_dims[2];
    bool c_nan;                /* C holds NaN (beta 0 must ignore it) */
} gemm_case;

static void gemm_check(const gemm_case *gc)
{
    const int64_t ad[2] = {gc->ta ? gc->k : gc->m, gc->ta ? gc->m : gc->k};
    const int64_t bd[2] = {gc->tb ? gc->n : gc->k, gc->tb ? gc->k : gc->n}, yd[2] = {gc->m, gc->n};
    const int c_rank = gc->c_rank < 0 ? 0 : gc->c_rank;
    const int64_t cm = c_rank == 2 ? gc->c_dims[0] : 1, cn = c_rank >= 1 ? gc->c_dims[c_rank - 1] : 1;
    float *a = random_floats(gc->m * gc->k, 31, 4.0f, 0.0f), *b = random_floats(gc->k * gc->n, 32, 2.0f, 0.0f);
    float *cv = random_floats(cm * cn, 33, 2.0f, 0.0f);
    if (gc->c_nan)
        cv[0] = NAN;
    tb_model *bld = tb_new(8, 13);
    tb_input(bld, "a", KEEL_FLOAT, 2, ad, NULL);
    tb_output(bld, "y", KEEL_FLOAT, 2, yd);
    tb_init_f32(bld, "b", 2, bd, b);
    tb_init_f32(bld, "c", c_rank, gc->c_dims, cv);
    Onnx__NodeProto *node = tb_node(bld, "Gemm", "gemm", gc->c_rank < 0 ? "a,b" : "a,b,c", "y");
    tb_attr_int(bld, node, "transA", gc->ta);
    tb_attr_int(bld, node, "transB", gc->tb);
    tb_attr_float(bld, node, "alpha", gc->alpha);
    tb_attr_float(bld, node, "beta", gc->beta);
    double *want = malloc((size_t)(gc->m * gc->n) * sizeof *want);
    for (int64_t i = 0; i < gc->m; i++)
        for (int64_t j = 0; j < gc->n; j++) {
            double acc = 0;
            for (int64_t kk = 0; kk < gc->k; kk++)
                acc += (double)a[gc->ta ? kk * gc->m + i : i * gc->k + kk] *
                       b[gc->tb ? j * gc->k + kk : kk * gc->n + j];
            double c = gc->c_rank < 0 || gc->beta == 0.0f ? 0.0 : cv[(cm == 1 ? 0 : i * cn) + (cn == 1 ? 0 : j)];
            want[i * gc->n + j] = (double)gc->alpha * acc + (double)gc->beta * c;
        }
    keel_tensor in = {KEEL_FLOAT, 2, {ad[0], ad[1]}, a};
    check_both(gc->what, bld, &in, want, gc->m * gc->n);
    free(want);
    tb_free(bld);
    free(a);
    free(b);
    free(cv);
}

static void test_gemm(void)
{
    static const gemm_case cases[] = {
        {"plain, C [m, n]", 5, 7, 6, false, false, 1.0f, 1.0f, 2, {5, 6}, false},
        {"transA, alpha 0.5 beta 2, C a row [n]", 5, 7, 6, true, false, 0.5f, 2.0f, 1, {6}, false},
        {"transB, C a column [m, 1]", 5, 7, 6, false, true, 1.0f, -1.5f, 2, {5, 1}, false},
        {"transA transB, C a scalar [1]", 4, 9, 3, true, true, -2.0f, 0.25f, 1, {1}, false},
        {"no C", 6, 5, 4, false, false, 1.0f, 1.0f, -1, {0}, false},
        {"beta 0 ignores a NaN in C", 3, 4, 5, false, false, 1.0f, 0.0f, 2, {3, 5}, true},
        {"one row, transB (a classifier)", 1, 300, 10, false, true, 1.0f, 1.0f, 1, {10}, false},
        {"rows wider than the reference's 256", 3, 20, 300, false, false, 1.0f, 1.0f, 1, {300}, false},
        {"rows wider than 256, transB", 2, 33, 270, false, true, 1.0f, 1.0f, -1, {0}, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        gemm_check(&cases[i]);
}

/* ---- MatMul -------------------------------------------------------------------- */

typedef struct matmul_case {
    const char *what;
    int a_rank, b_rank;
    int64_t a_dims[4], b_dims[4];
} matmul_case;

/* The output's dims by NumPy's rules: a 1-D A is a row [1, k] and a 1-D B
 * a column [k, 1], the added dim dropped again; batch dims broadcast. */
static int matmul_dims(const matmul_case *mc, int64_t *batch, int *batch_rank, int64_t *dims)
{
    const int abr = mc->a_rank > 2 ? mc->a_rank - 2 : 0, bbr = mc->b_rank > 2 ? mc->b_rank - 2 : 0;
    *batch_rank = abr > bbr ? abr : bbr;
    int r = 0;
    for (int i = 0; i < *batch_rank; i++) {
        const int ia = i - (*batch_rank - abr), ib = i - (*batch_rank - bbr);
        const int64_t da = ia >= 0 ? mc->a_dims[ia] : 1, db = ib >= 0 ? mc->b_dims[ib] : 1;
        batch[i] = dims[r++] = da > db ? da : db;
    }
    if (mc->a_rank > 1)
        dims[r++] = mc->a_dims[mc->a_rank - 2];
    if (mc->b_rank > 1)
        dims[r++] = mc->b_dims[mc->b_rank - 1];
    return r;
}

/* Element offset of the matrix an operand of rank `rank` (dims) gives at
 * output batch index idx (broadcast dims of size 1 stay at 0). */
static int64_t operand_matrix(int rank, const int64_t *dims, int batch_rank, const int64_t *idx)
{
    const int own = rank > 2 ? rank - 2 : 0;
    int64_t at = 0;
    for (int i = 0; i < own; i++) {
        const int64_t j = idx[batch_rank - own + i];
        at = at * dims[i] + (dims[i] == 1 ? 0 : j);
    }
    return at * (rank >= 2 ? dims[rank - 2] * dims[rank - 1] : dims[0]);
}

static void matmul_check(const matmul_case *mc)
{
    int64_t batch[4], yd[6], idx[4] = {0};
    int batch_rank;
    const int y_rank = matmul_dims(mc, batch, &batch_rank, yd);
    const int64_t m = mc->a_rank > 1 ? mc->a_dims[mc->a_rank - 2] : 1, k = mc->a_dims[mc->a_rank - 1];
    const int64_t n = mc->b_rank > 1 ? mc->b_dims[mc->b_rank - 1] : 1, n_y = numel(y_rank, yd);
    float *a = random_floats(numel(mc->a_rank, mc->a_dims), 41, 4.0f, 0.0f);
    float *b = random_floats(numel(mc->b_rank, mc->b_dims), 42, 2.0f, 0.0f);
    double *want = malloc((size_t)n_y * sizeof *want);
    for (int64_t bi = 0; bi < numel(batch_rank, batch); bi++, box_next(batch_rank, batch, idx)) {
        const float *am = a + operand_matrix(mc->a_rank, mc->a_dims, batch_rank, idx);
        const float *bm = b + operand_matrix(mc->b_rank, mc->b_dims, batch_rank, idx);
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double acc = 0;
                for (int64_t kk = 0; kk < k; kk++)
                    acc += (double)am[i * k + kk] * bm[kk * n + j];
                want[(bi * m + i) * n + j] = acc;
            }
    }
    tb_model *bld = tb_new(8, 13);
    tb_input(bld, "a", KEEL_FLOAT, mc->a_rank, mc->a_dims, NULL);
    tb_input(bld, "b", KEEL_FLOAT, mc->b_rank, mc->b_dims, NULL);
    tb_output(bld, "y", KEEL_FLOAT, y_rank, yd);
    tb_node(bld, "MatMul", "matmul", "a,b", "y");
    keel_tensor in[2] = {{KEEL_FLOAT, mc->a_rank, {0}, a}, {KEEL_FLOAT, mc->b_rank, {0}, b}};
    memcpy(in[0].dims, mc->a_dims, sizeof mc->a_dims);
    memcpy(in[1].dims, mc->b_dims, sizeof mc->b_dims);
    check_both(mc->what, bld, in, want, n_y);
    free(want);
    tb_free(bld);
    free(a);
    free(b);
}

static void test_matmul(void)
{
    static const matmul_case cases[] = {
        {"2-D", 2, 2, {5, 7}, {7, 6}},
        {"batched", 3, 3, {3, 4, 5}, {3, 5, 6}},
        {"broadcast batch", 4, 3, {2, 1, 4, 5}, {3, 5, 6}},
        {"B shared by the batch", 4, 2, {2, 3, 4, 5}, {5, 6}},
        {"A shared by the batch", 2, 3, {4, 5}, {3, 5, 2}},
        {"1-D A", 1, 3, {7}, {2, 7, 3}},
        {"1-D B", 3, 1, {2, 4, 7}, {7}},
        {"both 1-D", 1, 1, {7}, {7}},
        {"rows wider than the reference's 256", 2, 2, {3, 9}, {9, 260}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        matmul_check(&cases[i]);
}

/* ---- reductions ---------------------------------------------------------------- */

typedef struct reduce_kind {
    const char *op;
    float scale, offset;       /* of the random input (LogSum: positive) */
} reduce_kind;

/* What the naive loop keeps per output: every fold at once. */
typedef struct folds {
    double sum, abs_sum, sq_sum, prod, max, exp_sum;
    int64_t count;
} folds;

static double finish_fold(const char *op, const folds *f)
{
    if (!strcmp(op, "ReduceSum"))
        return f->sum;
    if (!strcmp(op, "ReduceMean"))
        return f->sum / (double)f->count;
    if (!strcmp(op, "ReduceL1"))
        return f->abs_sum;
    if (!strcmp(op, "ReduceL2"))
        return sqrt(f->sq_sum);
    if (!strcmp(op, "ReduceSumSquare"))
        return f->sq_sum;
    if (!strcmp(op, "ReduceLogSum"))
        return log(f->sum);
    if (!strcmp(op, "ReduceLogSumExp"))
        return log(f->exp_sum);
    if (!strcmp(op, "ReduceProd"))
        return f->prod;
    return f->max; /* ReduceMax */
}

/* want: each output from the inputs that map to it (the reduced dims'
 * indices dropped, or set to 0 with keepdims). */
static void naive_reduce(const char *op, const float *x, int rank, const int64_t *dims, const bool *reduced,
                         double *want, int64_t n_out)
{
    folds *f = calloc((size_t)n_out, sizeof *f);
    for (int64_t o = 0; o < n_out; o++)
        f[o].prod = 1.0, f[o].max = -INFINITY;
    int64_t idx[KL_MAX_RANK] = {0};
    for (int64_t i = 0; i < numel(rank, dims); i++, box_next(rank, dims, idx)) {
        int64_t o = 0;
        for (int d = 0; d < rank; d++)
            o = reduced[d] ? o : o * dims[d] + idx[d];
        const double v = x[i];
        f[o].sum += v;
        f[o].abs_sum += fabs(v);
        f[o].sq_sum += v * v;
        f[o].prod *= v;
        f[o].max = fmax(f[o].max, v);
        f[o].exp_sum += exp(v);
        f[o].count++;
    }
    for (int64_t o = 0; o < n_out; o++)
        want[o] = finish_fold(op, &f[o]);
    free(f);
}

/* op over x [3, 4, 5] on the axes listed (all when n_axes is 0). */
static void reduce_check(const reduce_kind *rk, int n_axes, const int64_t *axes, int keepdims)
{
    static const int64_t xd[3] = {3, 4, 5};
    bool reduced[3] = {n_axes == 0, n_axes == 0, n_axes == 0};
    for (int i = 0; i < n_axes; i++)
        reduced[(axes[i] + 3) % 3] = true;
    int64_t yd[3], n_out = 1;
    int y_rank = 0;
    for (int d = 0; d < 3; d++) {
        if (!reduced[d] || keepdims)
            yd[y_rank++] = reduced[d] ? 1 : xd[d];
        n_out *= reduced[d] ? 1 : xd[d];
    }
    float *x = random_floats(60, 51, rk->scale, rk->offset);
    double *want = malloc((size_t)n_out * sizeof *want);
    naive_reduce(rk->op, x, 3, xd, reduced, want, n_out);
    tb_model *bld = tb_new(8, 18);
    tb_input(bld, "x", KEEL_FLOAT, 3, xd, NULL);
    tb_output(bld, "y", KEEL_FLOAT, y_rank, yd);
    const int64_t ad[1] = {n_axes};
    if (n_axes)
        tb_init_raw(bld, "axes", KEEL_INT64, 1, ad, axes, (size_t)n_axes * sizeof *axes);
    tb_attr_int(bld, tb_node(bld, rk->op, "reduce", n_axes ? "x,axes" : "x", "y"), "keepdims", keepdims);
    char what[96];
    snprintf(what, sizeof what, "%s over %d axes (first %lld), keepdims %d", rk->op, n_axes,
             n_axes ? (long long)axes[0] : -1LL, keepdims);
    keel_tensor in = {KEEL_FLOAT, 3, {3, 4, 5}, x};
    check_both(what, bld, &in, want, n_out);
    free(want);
    tb_free(bld);
    free(x);
}

static void test_reductions(void)
{
    static const reduce_kind kinds[] = {
        {"ReduceSum", 4.0f, 0.0f},  {"ReduceMean", 4.0f, 0.0f},     {"ReduceL1", 4.0f, 0.0f},
        {"ReduceL2", 4.0f, 0.0f},   {"ReduceSumSquare", 4.0f, 0.0f}, {"ReduceLogSum", 1.0f, 1.0f},
        {"ReduceLogSumExp", 8.0f, 0.0f}, {"ReduceProd", 1.0f, 1.0f}, {"ReduceMax", 4.0f, 0.0f},
    };
    static const int64_t axes_sets[][2] = {{0}, {1}, {2}, {0, 2}, {-1, 1}};
    static const int n_axes[] = {1, 1, 1, 2, 2};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (int keepdims = 0; keepdims <= 1; keepdims++) {
            for (int s = 0; s < 5; s++)
                reduce_check(&kinds[k], n_axes[s], axes_sets[s], keepdims);
            reduce_check(&kinds[k], 0, NULL, keepdims);
        }
}

/* noop_with_empty_axes = 1 without axes: the input, unchanged. */
static void test_reduce_noop(void)
{
    static const int64_t xd[2] = {3, 4};
    float *x = random_floats(12, 61, 4.0f, 0.0f), y[12];
    tb_model *bld = tb_new(8, 18);
    tb_input(bld, "x", KEEL_FLOAT, 2, xd, NULL);
    tb_output(bld, "y", KEEL_FLOAT, 2, xd);
    tb_attr_int(bld, tb_node(bld, "ReduceSum", "reduce", "x", "y"), "noop_with_empty_axes", 1);
    keel_tensor in = {KEEL_FLOAT, 2, {3, 4}, x};
    CU_ASSERT_EQUAL_FATAL(run_model(bld, 1, &in, y, 12), KEEL_OK);
    CU_ASSERT_EQUAL(memcmp(x, y, sizeof y), 0);
    tb_free(bld);
    free(x);
}

/* ---- a sum float loses -------------------------------------------------------- */

#define LONG_K 4096

/* [1e8, 1, 1, ..., 1, -1e8]: exactly 4094 in double; float's 1e8 + 1 is
 * 1e8, so a float sum loses the ones. */
static void cancelling(float *v)
{
    for (int i = 0; i < LONG_K; i++)
        v[i] = 1.0f;
    v[0] = 1e8f;
    v[LONG_K - 1] = -1e8f;
}

static void test_reduce_sum_cancellation(void)
{
    static float x[LONG_K];
    cancelling(x);
    const int64_t xd[1] = {LONG_K}, yd[1] = {1};
    tb_model *bld = tb_new(8, 18);
    tb_input(bld, "x", KEEL_FLOAT, 1, xd, NULL);
    tb_output(bld, "y", KEEL_FLOAT, 1, yd);
    tb_node(bld, "ReduceSum", "sum", "x", "y");
    keel_tensor in = {KEEL_FLOAT, 1, {LONG_K}, x};
    float ref, fast;
    CU_ASSERT_EQUAL_FATAL(run_model(bld, 1, &in, &ref, 1), KEEL_OK);
    CU_ASSERT_EQUAL_FATAL(run_model(bld, 0, &in, &fast, 1), KEEL_OK);
    CU_ASSERT_EQUAL(ref, 4094.0f);
    printf("\n  ReduceSum of 1e8, 4094 ones, -1e8: reference %.1f, fast path %.1f ", ref, fast);
    tb_free(bld);
}

static void test_matmul_cancellation(void)
{
    static float a[LONG_K], b[LONG_K];
    cancelling(a);
    for (int i = 0; i < LONG_K; i++)
        b[i] = 1.0f;
    const int64_t ad[2] = {1, LONG_K}, bd[2] = {LONG_K, 1}, yd[2] = {1, 1};
    tb_model *bld = tb_new(8, 13);
    tb_input(bld, "a", KEEL_FLOAT, 2, ad, NULL);
    tb_input(bld, "b", KEEL_FLOAT, 2, bd, NULL);
    tb_output(bld, "y", KEEL_FLOAT, 2, yd);
    tb_node(bld, "MatMul", "dot", "a,b", "y");
    keel_tensor in[2] = {{KEEL_FLOAT, 2, {1, LONG_K}, a}, {KEEL_FLOAT, 2, {LONG_K, 1}, b}};
    float ref, fast;
    CU_ASSERT_EQUAL_FATAL(run_model(bld, 1, in, &ref, 1), KEEL_OK);
    CU_ASSERT_EQUAL_FATAL(run_model(bld, 0, in, &fast, 1), KEEL_OK);
    CU_ASSERT_EQUAL(ref, 4094.0f);
    printf("\n  MatMul of 1e8, 4094 ones, -1e8 by ones: reference %.1f, fast path %.1f ", ref, fast);
    tb_free(bld);
}

/* ---- the session ---------------------------------------------------------------- */

/* x [1, ch, hw, hw] -> Conv 3x3 (w [ch, ch, 3, 3], pads 1) -> Relu: the
 * fast path fuses the Relu into the Conv; a reference session keeps both
 * steps, on the generic kernels. */
static tb_model *conv_relu_model(const float *w, int64_t ch, int64_t hw)
{
    const int64_t xd[4] = {1, ch, hw, hw}, wd[4] = {ch, ch, 3, 3}, pads[4] = {1, 1, 1, 1};
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 4, xd, NULL);
    tb_output(b, "y", KEEL_FLOAT, 4, xd);
    tb_init_f32(b, "w", 4, wd, w);
    tb_attr_ints(b, tb_node(b, "Conv", "conv", "x,w", "c"), "pads", 4, pads);
    tb_node(b, "Relu", "relu", "c", "y");
    return b;
}

/* relu(conv) of conv_relu_model, naive. */
static void naive_conv_relu(const float *x, const float *w, int ch, int hw, double *want)
{
    float *conv = malloc((size_t)(ch * hw * hw) * sizeof *conv);
    tb_naive_conv(x, ch, hw, hw, w, ch, 3, 1, conv);
    for (int i = 0; i < ch * hw * hw; i++)
        want[i] = fmax(conv[i], 0.0f);
    free(conv);
}

static keel_session *new_session(tb_model *b, int reference, keel_model **m)
{
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    keel_options opt;
    keel_options_init(&opt);
    opt.reference = reference;
    keel_session *s = NULL;
    *m = NULL;
    if (keel_model_load_buffer(m, buf, len, NULL, "ref.onnx", NULL, NULL, 0) == KEEL_OK)
        keel_session_create(&s, *m, &opt, NULL, 0, NULL, NULL, 0);
    free(buf);
    return s;
}

static int steps_of(const keel_session *s, kl_plan_info *plan)
{
    kl_inspect_plan(s, plan);
    return plan->n_steps;
}

static void test_session(void)
{
    float *w = random_floats(144, 71, 2.0f, 0.0f), *x = random_floats(144, 72, 4.0f, 0.0f);
    float ref[144], fast[144];
    tb_model *b = conv_relu_model(w, 4, 6);
    keel_model *mr, *mf;
    keel_session *sr = new_session(b, 1, &mr), *sf = new_session(b, 0, &mf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sf);
    CU_ASSERT(sr->env.reference);
    CU_ASSERT_EQUAL(sr->env.optimize, 0);
    CU_ASSERT_EQUAL(sr->env.isa, KEEL_ISA_GENERIC);
    kl_plan_info pr, pf;
    CU_ASSERT_EQUAL(steps_of(sr, &pr), 2); /* Conv, Relu */
    CU_ASSERT_EQUAL(steps_of(sf, &pf), 1); /* Conv with the Relu fused */
    CU_ASSERT_EQUAL(pr.isa, KEEL_ISA_GENERIC);
    CU_ASSERT_EQUAL(pr.n_fused, 0);
    keel_tensor in = {KEEL_FLOAT, 4, {1, 4, 6, 6}, x}, out_r = {.data = ref}, out_f = {.data = fast};
    CU_ASSERT_EQUAL(keel_session_run(sr, &in, &out_r), KEEL_OK);
    CU_ASSERT_EQUAL(keel_session_run(sf, &in, &out_f), KEEL_OK);
    double want[144], ref_d[144];
    naive_conv_relu(x, w, 4, 6, want);
    for (int i = 0; i < 144; i++)
        ref_d[i] = ref[i];
    CU_ASSERT(close_to("Conv + Relu", "reference vs naive", ref, want, 144, REF_TOL, REF_SLACK));
    CU_ASSERT(close_to("Conv + Relu", "fast vs reference", fast, ref_d, 144, FAST_TOL, FAST_SLACK));
    keel_session_free(sr);
    keel_session_free(sf);
    keel_model_free(mr);
    keel_model_free(mf);
    tb_free(b);
    free(w);
    free(x);
}

/* An epilogue a node carries (none on the reference path's own graphs,
 * which have no rewrites) is still applied: the Conv step given a clip to
 * [-0.5, 0.5] by hand returns clipped values. */
static void test_epilogue(void)
{
    float *w = random_floats(144, 81, 2.0f, 0.0f), *x = random_floats(144, 82, 4.0f, 0.0f);
    float y[144];
    tb_model *b = conv_relu_model(w, 4, 6);
    keel_model *m;
    keel_session *s = new_session(b, 1, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_FATAL(s->n_plans == 1 && s->plans[0]->n_steps == 2);
    kl_opctx *conv_step = &s->plans[0]->steps[0].ctx;
    CU_ASSERT_STRING_EQUAL_FATAL(conv_step->op->type, "Conv");
    conv_step->epi.act = KL_ACT_CLIP;
    conv_step->epi.alpha = -0.5f;
    conv_step->epi.beta = 0.5f;
    keel_tensor in = {KEEL_FLOAT, 4, {1, 4, 6, 6}, x}, out = {.data = y};
    CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_OK);
    double want[144];
    naive_conv_relu(x, w, 4, 6, want);
    for (int i = 0; i < 144; i++) /* clipped to [-0.5, 0.5], then the model's Relu */
        want[i] = fmin(want[i], 0.5);
    CU_ASSERT(close_to("Conv with a clip epilogue", "reference vs naive", y, want, 144, REF_TOL, REF_SLACK));
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
    free(w);
    free(x);
}

/* A model loaded from a file releases its Conv filters (32 x 32 x 3 x 3,
 * above the loader's 16 KiB) once a plan has packed them; a reference
 * session made after a fast one holds them again (it packs none, not even
 * for Winograd, which this 14 x 14 conv would take on the generic kernels
 * too) and runs on the raw filters. */
static void test_released_filters(void)
{
    enum { CH = 32, HW = 14, N_X = CH * HW * HW };
    float *w = random_floats(CH * CH * 9, 91, 0.5f, 0.0f), *x = random_floats(N_X, 92, 4.0f, 0.0f);
    float *ref = malloc(N_X * sizeof *ref);
    double *want = malloc(N_X * sizeof *want);
    char *dir = tb_tempdir(), path[512], err[1024];
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(path, sizeof path, "%s/conv.onnx", dir);
    tb_model *b = conv_relu_model(w, CH, HW);
    CU_ASSERT_EQUAL_FATAL(tb_write(b, path), 0);
    keel_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(keel_model_load(&m, path, NULL, err, sizeof err), KEEL_OK);
    CU_ASSERT_EQUAL_FATAL(m->n_weights, 1);
    keel_options opt;
    keel_options_init(&opt);
    keel_session *fast = NULL, *sr = NULL;
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&fast, m, &opt, NULL, 0, NULL, err, sizeof err), KEEL_OK);
    CU_ASSERT_PTR_NULL(m->weights[0].data); /* packed, then released */
    opt.reference = 1;
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&sr, m, &opt, NULL, 0, NULL, err, sizeof err), KEEL_OK);
    CU_ASSERT_PTR_NOT_NULL(m->weights[0].data); /* held by the reference plan */
    keel_tensor in = {KEEL_FLOAT, 4, {1, CH, HW, HW}, x}, out = {.data = ref};
    tb_fill_nan(ref, N_X);
    CU_ASSERT_EQUAL(keel_session_run(sr, &in, &out), KEEL_OK);
    naive_conv_relu(x, w, CH, HW, want);
    CU_ASSERT(close_to("Conv + Relu from a file", "reference vs naive", ref, want, N_X, REF_TOL, REF_SLACK));
    keel_session_free(fast);
    keel_session_free(sr);
    keel_model_free(m);
    tb_free(b);
    unlink(path);
    rmdir(dir);
    free(dir);
    free(w);
    free(x);
    free(ref);
    free(want);
}

void add_reference_suite(void)
{
    CU_pSuite s = CU_add_suite("reference path", NULL, NULL);
    CU_add_test(s, "Conv: naive double loops, and the fast path close", test_conv);
    CU_add_test(s, "ConvTranspose: naive double loops, and the fast path close", test_conv_transpose);
    CU_add_test(s, "Gemm: naive double loops, and the fast path close", test_gemm);
    CU_add_test(s, "MatMul: naive double loops, and the fast path close", test_matmul);
    CU_add_test(s, "reductions: naive double loops, and the fast path close", test_reductions);
    CU_add_test(s, "ReduceSum with noop_with_empty_axes copies", test_reduce_noop);
    CU_add_test(s, "ReduceSum of 1e8, ones, -1e8 is exact", test_reduce_sum_cancellation);
    CU_add_test(s, "MatMul of 1e8, ones, -1e8 is exact", test_matmul_cancellation);
    CU_add_test(s, "a reference session: generic kernels, no rewrites", test_session);
    CU_add_test(s, "the reference path applies a node's epilogue", test_epilogue);
    CU_add_test(s, "a reference session reads Conv filters a file load released", test_released_filters);
}
