/* test_gemm.c -- MatMul and Gemm on the packed tiles (kl_pw_gemm in
 * ops/kernels/pointwise.c, B packed once by ops/drivers/packed_b.c) and
 * on their sgemm fallbacks.
 *
 * Every model is run on each instruction set the CPU has (generic, avx2,
 * avx512; one it lacks is reported as skipped) at 1 and 2 threads, and
 * every output is compared with a double-precision loop written here: to
 * 1e-5 of each element plus 1e-6 of the largest sum (before the
 * activation, which may squash it), NaN where the loop gives NaN and the
 * same infinity where it gives one.  The 1- and 2-thread
 * outputs must be bit-identical.  Where B is constant, the product's
 * step must hold B packed exactly where kl_packed_b_pays says it pays
 * (AVX2 always, AVX-512 on rows not 64-byte aligned, Gemm's transB).
 *
 *   - MatMul 2-D at odd sizes (k across the AVX-512 step of 256, n not a
 *     multiple of 16 or 32), B a constant, or a graph input whose rows
 *     are 64-byte aligned or not;
 *   - batched MatMul: 3-D A times a shared 2-D B (one tall product), 4-D
 *     attention-like products of two inputs, broadcast batch dims;
 *   - Gemm: transB 0 and 1, B constant or input, C absent or of shape
 *     [n], [1, n], [m, 1], [m, n], [1] and [], beta != 1, alpha != 1
 *     and transA (the sgemm fallback);
 *   - epilogues: Relu, Clip, Sigmoid and a residual Add (of a graph input
 *     or of a value computed before the product) after MatMul and Gemm,
 *     fused by the passes and, with those passes off, left as nodes;
 *   - NaN and infinities in A, B and C. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/op.h"
#include "inspect.h"
#include "session.h"
#include "testutil.h"

/* each element within REL of itself plus SLACK of the largest finite sum */
#define REL 1e-5
#define SLACK 1e-6
#define FUSIONS_OFF "fuse_residual,fuse_activation"
#define MAX_INPUTS 4

/* ---- operands ------------------------------------------------------------------ */

/* A float operand of a product: a graph input or an initializer. */
typedef struct operand {
    const char *name;
    int rank;
    int64_t dims[4];
    bool is_const;
    float *base; /* 64-byte aligned allocation */
    float *v;    /* the values: base, or base + 1 (rows off the 64-byte grid) */
} operand;

static int64_t numel_of(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= dims[d];
    return n;
}

static int64_t operand_numel(const operand *o)
{
    return numel_of(o->rank, o->dims);
}

/* Uniform in [lo, hi), from a 32-bit LCG. */
static float next_uniform(uint32_t *state, float lo, float hi)
{
    *state = *state * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(*state >> 8) / 16777216.0f;
}

/* An operand of random values in [lo, hi), `offset` floats past a 64-byte
 * boundary. */
static operand operand_new(const char *name, int rank, const int64_t *dims, bool is_const, int offset,
                           uint32_t seed, float lo, float hi)
{
    operand o = {.name = name, .rank = rank, .is_const = is_const};
    memcpy(o.dims, dims, (size_t)rank * sizeof *dims);
    const int64_t n = operand_numel(&o);
    const size_t bytes = ((size_t)(n + offset) * sizeof(float) + 63) / 64 * 64;
    o.base = aligned_alloc(64, bytes);
    o.v = o.base + offset;
    for (int64_t i = 0; i < n; i++)
        o.v[i] = next_uniform(&seed, lo, hi);
    return o;
}

/* Values in [-1, 1). */
static operand operand_rand(const char *name, int rank, const int64_t *dims, bool is_const, uint32_t seed)
{
    return operand_new(name, rank, dims, is_const, 0, seed, -1.0f, 1.0f);
}

static void operand_free(operand *o)
{
    free(o->base);
    o->base = o->v = NULL;
}

/* ---- references, in double ------------------------------------------------------ */

/* y[i][j] = sum over p of a(i, p) b(p, j), where a(i, p) is a[i * ars + p *
 * acs] and b(p, j) is b[p * brs + j * bcs]. */
static void ref_product(int64_t m, int64_t k, int64_t n, const float *a, int64_t ars, int64_t acs, const float *b,
                        int64_t brs, int64_t bcs, double *y)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double sum = 0;
            for (int64_t p = 0; p < k; p++)
                sum += (double)a[i * ars + p * acs] * (double)b[p * brs + j * bcs];
            y[i * n + j] = sum;
        }
}

/* The offset, in matrices, of operand o's matrix for the output's batch
 * index idx[0..batch_rank) (NumPy broadcasting: o's dims align to the
 * right, a dim of 1 repeats). */
static int64_t batch_offset(const operand *o, const int64_t *idx, int batch_rank)
{
    const int own = o->rank - 2;
    int64_t at = 0;
    for (int d = 0; d < own; d++) {
        const int64_t i = idx[d + batch_rank - own];
        at = at * o->dims[d] + (o->dims[d] == 1 ? 0 : i);
    }
    return at;
}

/* MatMul of a and b (both of rank >= 2) into y, with out_dims the
 * output's dims (out_rank of them). */
static void ref_matmul(const operand *a, const operand *b, int out_rank, const int64_t *out_dims, double *y)
{
    const int batch_rank = out_rank - 2;
    const int64_t m = a->dims[a->rank - 2], k = a->dims[a->rank - 1], n = b->dims[b->rank - 1];
    const int64_t batches = numel_of(batch_rank, out_dims);
    int64_t idx[4] = {0};
    for (int64_t bi = 0; bi < batches; bi++) {
        int64_t rest = bi;
        for (int d = batch_rank - 1; d >= 0; d--) {
            idx[d] = rest % out_dims[d];
            rest /= out_dims[d];
        }
        const float *am = a->v + batch_offset(a, idx, batch_rank) * m * k;
        const float *bm = b->v + batch_offset(b, idx, batch_rank) * k * n;
        ref_product(m, k, n, am, k, 1, bm, n, 1, y + bi * m * n);
    }
}

/* ---- what a model must give ------------------------------------------------------- */

/* A model under test: its inputs (in graph order), its output "y" and
 * what the loops above give for it. */
typedef struct gcase {
    char what[320];
    tb_model *b;
    int n_in;
    keel_tensor in[MAX_INPUTS];
    int out_rank;
    int64_t out_dims[4], n_out;
    double *want;
    double scale;          /* the largest finite |want| before the activation */
    int fused;             /* nodes the fusion passes merge into the product */
    bool const_b_packed;   /* B constant, taken by the packed tiles from kl_packed_b where that pays */
    bool trans_b;          /* (Gemm) B is [n, k] */
    int64_t product_n;     /* columns of the product */
} gcase;

static void case_begin(gcase *g, int opset)
{
    memset(g, 0, sizeof *g);
    g->b = tb_new(8, opset);
}

/* o becomes an initializer of g's model, or its next graph input. */
static void case_operand(gcase *g, const operand *o)
{
    if (o->is_const) {
        tb_init_f32(g->b, o->name, o->rank, o->dims, o->v);
        return;
    }
    tb_input(g->b, o->name, KEEL_FLOAT, o->rank, o->dims, NULL);
    keel_tensor *t = &g->in[g->n_in++];
    t->dtype = KEEL_FLOAT;
    t->rank = o->rank;
    memcpy(t->dims, o->dims, (size_t)o->rank * sizeof *o->dims);
    t->data = o->v;
}

static void case_output(gcase *g, int rank, const int64_t *dims)
{
    g->out_rank = rank;
    memcpy(g->out_dims, dims, (size_t)rank * sizeof *dims);
    g->n_out = numel_of(rank, dims);
    g->want = malloc((size_t)g->n_out * sizeof *g->want);
    tb_output(g->b, "y", KEEL_FLOAT, rank, dims);
}

static void case_end(gcase *g)
{
    tb_free(g->b);
    free(g->want);
}

/* ---- the epilogues: y = act(product + residual) ----------------------------------- */

typedef enum res_kind {
    RES_NONE,
    RES_INPUT,    /* + the graph input "r" */
    RES_EARLIER   /* + Neg(r), a node run before the product */
} res_kind;

typedef enum act_kind { ACT_NONE, ACT_RELU, ACT_CLIP, ACT_SIGMOID } act_kind;

#define CLIP_LO -0.5f
#define CLIP_HI 1.5f

static const char *act_op(act_kind act)
{
    return act == ACT_RELU ? "Relu" : act == ACT_CLIP ? "Clip" : "Sigmoid";
}

/* The product node (writing "p", or "y" when nothing follows it), after
 * the Neg an earlier residual needs and before the Add and the
 * activation.  The residual, if any, is the graph input "r". */
static Onnx__NodeProto *case_product(gcase *g, const char *op, const char *inputs, res_kind res, act_kind act)
{
    if (res == RES_EARLIER)
        tb_node(g->b, "Neg", "neg", "r", "nr");
    Onnx__NodeProto *node = tb_node(g->b, op, "product", inputs, res == RES_NONE && act == ACT_NONE ? "y" : "p");
    const char *sum = res == RES_NONE ? "p" : act == ACT_NONE ? "y" : "s";
    if (res == RES_INPUT)
        tb_node(g->b, "Add", "add", "p,r", sum);
    else if (res == RES_EARLIER)
        tb_node(g->b, "Add", "add", "nr,p", sum); /* the product second */
    if (act == ACT_CLIP) {
        const float lo = CLIP_LO, hi = CLIP_HI;
        char clip_inputs[32];
        snprintf(clip_inputs, sizeof clip_inputs, "%s,clip_lo,clip_hi", sum);
        tb_init_f32(g->b, "clip_lo", 0, NULL, &lo);
        tb_init_f32(g->b, "clip_hi", 0, NULL, &hi);
        tb_node(g->b, "Clip", "act", clip_inputs, "y");
    } else if (act != ACT_NONE)
        tb_node(g->b, act_op(act), "act", sum, "y");
    g->fused = (res != RES_NONE) + (act != ACT_NONE);
    return node;
}

/* g->want = act(g->want + residual), r the residual input's values;
 * sets g->scale. */
static void ref_epilogue(gcase *g, res_kind res, act_kind act, const float *r)
{
    g->scale = 0;
    for (int64_t i = 0; i < g->n_out; i++) {
        double v = g->want[i];
        if (res != RES_NONE)
            v += res == RES_INPUT ? (double)r[i] : -(double)r[i];
        if (isfinite(v))
            g->scale = fmax(g->scale, fabs(v));
        if (act == ACT_RELU)
            v = v < 0 ? 0 : v; /* NaN stays NaN */
        else if (act == ACT_CLIP)
            v = v < CLIP_LO ? CLIP_LO : v > CLIP_HI ? CLIP_HI : v;
        else if (act == ACT_SIGMOID)
            v = 1.0 / (1.0 + exp(-v));
        g->want[i] = v;
    }
}

/* ---- running a case everywhere ----------------------------------------------------- */

/* Whether got matches want element by element (see the top of the file),
 * `scale` the largest sum; reports the first element that does not. */
static bool matches(const char *label, const float *got, const double *want, int64_t n, int64_t cols, double scale)
{
    for (int64_t i = 0; i < n; i++) {
        const double g = got[i], w = want[i];
        bool ok;
        if (isnan(w) || isinf(w))
            ok = isnan(w) ? isnan(g) : g == w;
        else
            ok = fabs(g - w) <= REL * fabs(w) + SLACK * scale; /* false for NaN or inf */
        if (!ok) {
            printf("\n  %s: y[%lld][%lld] (element %lld) is %.9g, expected %.9g\n", label, (long long)(i / cols),
                   (long long)(i % cols), (long long)i, g, w);
            return false;
        }
    }
    return true;
}

/* The context of the plan's MatMul or Gemm step. */
static const kl_opctx *product_step(const keel_session *s)
{
    const kl_plan *p = s->plans[0];
    for (int k = 0; k < p->n_steps; k++)
        if (strcmp(p->steps[k].op->type, "MatMul") == 0 || strcmp(p->steps[k].op->type, "Gemm") == 0)
            return &p->steps[k].ctx;
    return NULL;
}

/* Whether the product's step must hold B packed (drivers/packed_b.h). */
static bool packs_b(const gcase *g, int isa, const kl_opctx *c)
{
    if (!g->const_b_packed || isa == KEEL_ISA_GENERIC)
        return false;
    if (isa == KEEL_ISA_AVX2 || g->trans_b)
        return true;
    return g->product_n % 16 != 0 || (uintptr_t)c->in[1]->data % 64 != 0;
}

/* The plan made what the case says: the instruction set asked for, the
 * fusions, B packed or not. */
static void check_plan(const gcase *g, const keel_session *s, int isa, int fused, const char *label)
{
    kl_plan_info plan;
    kl_inspect_plan(s, &plan);
    CU_ASSERT_EQUAL(plan.isa, isa);
    if (plan.n_fused != fused)
        printf("\n  %s: %d nodes fused, expected %d\n", label, plan.n_fused, fused);
    CU_ASSERT_EQUAL(plan.n_fused, fused);
    const kl_opctx *c = product_step(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    const bool packed = c->state != NULL, want_packed = packs_b(g, isa, c);
    if (packed != want_packed)
        printf("\n  %s: B %s, expected %s\n", label, packed ? "packed" : "not packed",
               want_packed ? "packed" : "not packed");
    CU_ASSERT_EQUAL(packed, want_packed);
}

/* Runs g's model on a session of isa and threads with these passes off;
 * returns its output (malloc'd, NULL if it failed) after checking it. */
static float *run_on(const gcase *g, const keel_model *m, int isa, int threads, const char *off, int fused)
{
    char label[448], err[1024] = "";
    snprintf(label, sizeof label, "%s [%s, %d thread%s%s%s]", g->what, keel_isa_name((keel_isa)isa), threads,
             threads > 1 ? "s" : "", off ? ", off: " : "", off ? off : "");
    keel_session *s;
    keel_status st = tb_session(&s, m, isa, threads, off, err, sizeof err);
    float *y = malloc((size_t)g->n_out * sizeof *y);
    tb_fill_nan(y, (size_t)g->n_out); /* an element left unwritten fails */
    keel_tensor out = {.data = y};
    if (!st && (st = keel_session_run(s, g->in, &out)))
        snprintf(err, sizeof err, "%s", keel_session_errmsg(s));
    if (st) {
        printf("\n  %s: %s\n", label, err);
        free(y);
        y = NULL;
    }
    CU_ASSERT_EQUAL(st, KEEL_OK);
    if (!st) {
        check_plan(g, s, isa, fused, label);
        CU_ASSERT(matches(label, y, g->want, g->n_out, g->out_dims[g->out_rank - 1], g->scale));
    }
    keel_session_free(s);
    return y;
}

/* g on every instruction set at 1 and 2 threads, which must agree bit
 * for bit. */
static void check_isas(const gcase *g, const keel_model *m, const char *off, int fused)
{
    for (int isa = KEEL_ISA_GENERIC; isa <= KEEL_ISA_AVX512; isa++) {
        if (!tb_isa_runs(isa, g->what))
            continue;
        float *one = run_on(g, m, isa, 1, off, fused), *two = run_on(g, m, isa, 2, off, fused);
        if (one && two) {
            const bool same = memcmp(one, two, (size_t)g->n_out * sizeof *one) == 0;
            if (!same)
                printf("\n  %s [%s]: 1 and 2 threads differ\n", g->what, keel_isa_name((keel_isa)isa));
            CU_ASSERT(same);
        }
        free(one);
        free(two);
    }
}

/* Loads g's model once (its sessions share the packed B) and checks it
 * with the passes on and, where it fuses, with the fusions off. */
static void check_case(const gcase *g)
{
    size_t len;
    uint8_t *buf = tb_pack(g->b, &len);
    keel_model *m = NULL;
    char err[1024] = "";
    keel_status st = keel_model_load_buffer(&m, buf, len, NULL, "gemm.onnx", NULL, err, sizeof err);
    free(buf);
    if (st)
        printf("\n  %s: %s\n", g->what, err);
    CU_ASSERT_EQUAL_FATAL(st, KEEL_OK);
    check_isas(g, m, NULL, g->fused);
    if (g->fused)
        check_isas(g, m, FUSIONS_OFF, 0);
    keel_model_free(m);
}

/* ---- NaN and infinities among positive values ------------------------------------ */

/* Values of the operands that take specials: positive, so that the
 * signs of infinite products are known. */
#define POS_LO 0.25f
#define POS_HI 1.25f

/* Into A (m >= 5, k >= 3; a(i, p) at a[i * rs + p * cs]): a NaN in row 1,
 * +inf in row 2, -inf in row 3, both in row 4. */
static void plant_in_a(float *a, int64_t k, int64_t rs, int64_t cs)
{
    a[1 * rs + k / 2 * cs] = NAN;
    a[2 * rs + 0 * cs] = INFINITY;
    a[3 * rs + (k - 1) * cs] = -INFINITY;
    a[4 * rs + 0 * cs] = INFINITY;
    a[4 * rs + 1 * cs] = -INFINITY;
}

/* Into B (n >= 6; b(p, j) at b[p * rs + j * cs]): a NaN in column 2, +inf
 * in column n - 1, -inf in column 5. */
static void plant_in_b(float *b, int64_t k, int64_t n, int64_t rs, int64_t cs)
{
    b[(k - 1) * rs + 2 * cs] = NAN;
    b[0 * rs + (n - 1) * cs] = INFINITY;
    b[k / 2 * rs + 5 * cs] = -INFINITY;
}

/* ---- MatMul ------------------------------------------------------------------------ */

/* How B reaches the product. */
typedef enum b_kind { B_CONST, B_INPUT, B_INPUT_UNALIGNED } b_kind;

static const char *const b_kind_name[] = {"B constant", "B input", "B input off 64 bytes"};

typedef struct mm_spec {
    int a_rank, b_rank;
    int64_t a_dims[4], b_dims[4];
    b_kind b;
    res_kind res;
    act_kind act;
    bool specials;  /* 2-D only: NaN and infinities among positive values */
} mm_spec;

static void dims_str(int rank, const int64_t *dims, char *buf, size_t size)
{
    int at = snprintf(buf, size, "[");
    for (int d = 0; d < rank && at < (int)size; d++)
        at += snprintf(buf + at, size - (size_t)at, d ? ",%lld" : "%lld", (long long)dims[d]);
    if (at < (int)size)
        snprintf(buf + at, size - (size_t)at, "]");
}

/* "MatMul [2,3]x[3,16], B constant, + r, Relu" into g->what. */
static void describe(gcase *g, const char *op, const operand *a, const operand *b, const char *b_how, res_kind res,
                     act_kind act, const char *more)
{
    char sa[64], sb[64];
    dims_str(a->rank, a->dims, sa, sizeof sa);
    dims_str(b->rank, b->dims, sb, sizeof sb);
    snprintf(g->what, sizeof g->what, "%s %sx%s, %s%s%s%s%s", op, sa, sb, b_how, more,
             res == RES_INPUT ? ", + r" : res == RES_EARLIER ? ", + Neg(r) from before" : "",
             act == ACT_NONE ? "" : ", ", act == ACT_NONE ? "" : act_op(act));
}

/* The output dims of MatMul a x b (ranks >= 2): broadcast batch dims,
 * then [m, n]; returns the rank. */
static int matmul_dims(const mm_spec *sp, int64_t *out)
{
    const int ab = sp->a_rank - 2, bb = sp->b_rank - 2, rank = (ab > bb ? ab : bb) + 2;
    for (int d = 0; d < rank - 2; d++) {
        const int ia = d - (rank - 2 - ab), ib = d - (rank - 2 - bb);
        const int64_t da = ia >= 0 ? sp->a_dims[ia] : 1, db = ib >= 0 ? sp->b_dims[ib] : 1;
        out[d] = da == 1 ? db : da;
    }
    out[rank - 2] = sp->a_dims[sp->a_rank - 2];
    out[rank - 1] = sp->b_dims[sp->b_rank - 1];
    return rank;
}

/* Whether MatMul reads a constant B from kl_packed_b where that pays:
 * one matrix for every batch, and a product the tiles take. */
static bool matmul_packs(const mm_spec *sp, const int64_t *out, int out_rank)
{
    bool shared = true;
    for (int d = 0; d < sp->b_rank - 2; d++)
        shared &= sp->b_dims[d] == 1;
    const int64_t rows = shared ? numel_of(out_rank - 1, out) : out[out_rank - 2];
    return sp->b == B_CONST && shared && rows >= 2 && out[out_rank - 1] >= 16;
}

static void matmul_case(const mm_spec *sp, uint32_t seed)
{
    const float lo = sp->specials ? POS_LO : -1.0f, hi = sp->specials ? POS_HI : 1.0f;
    operand a = operand_new("a", sp->a_rank, sp->a_dims, false, 0, seed, lo, hi);
    operand b = operand_new("b", sp->b_rank, sp->b_dims, sp->b == B_CONST, sp->b == B_INPUT_UNALIGNED, seed + 1, lo, hi);
    const int64_t k = a.dims[a.rank - 1], n = b.dims[b.rank - 1];
    if (sp->specials) {
        plant_in_a(a.v, k, k, 1);
        plant_in_b(b.v, k, n, n, 1);
    }
    int64_t out[4];
    const int out_rank = matmul_dims(sp, out);
    operand r = operand_rand("r", out_rank, out, false, seed + 2);
    gcase g;
    case_begin(&g, 13);
    case_operand(&g, &a);
    case_operand(&g, &b);
    if (sp->res != RES_NONE)
        case_operand(&g, &r);
    case_output(&g, out_rank, out);
    case_product(&g, "MatMul", "a,b", sp->res, sp->act);
    describe(&g, "MatMul", &a, &b, b_kind_name[sp->b], sp->res, sp->act, sp->specials ? ", NaN and inf" : "");
    g.const_b_packed = matmul_packs(sp, out, out_rank);
    g.product_n = n;
    ref_matmul(&a, &b, out_rank, out, g.want);
    ref_epilogue(&g, sp->res, sp->act, r.v);
    check_case(&g);
    case_end(&g);
    operand_free(&a);
    operand_free(&b);
    operand_free(&r);
}

/* A 2-D MatMul a[m, k] x b[k, n]. */
static mm_spec matmul_2d(int64_t m, int64_t k, int64_t n, b_kind b)
{
    return (mm_spec){.a_rank = 2, .b_rank = 2, .a_dims = {m, k}, .b_dims = {k, n}, .b = b};
}

typedef struct mkn {
    int64_t m, k, n;
} mkn;

/* Each m of {2, 5, 13, 197}, k of {1, 3, 17, 255, 256, 257, 300} and n
 * of {16, 17, 31, 33, 47, 100, 385} at least once; the larger ones run
 * on both threads. */
static const mkn odd_sizes[] = {
    {2, 1, 16},    {5, 3, 17},     {13, 17, 31},    {197, 255, 33}, {5, 256, 47},  {13, 257, 100},
    {13, 300, 385}, {2, 257, 385}, {197, 1, 17},    {13, 256, 16},  {5, 300, 33},  {197, 3, 47},
};

static void test_matmul_2d(void)
{
    uint32_t seed = 100;
    for (size_t i = 0; i < sizeof odd_sizes / sizeof *odd_sizes; i++)
        for (int b = B_CONST; b <= B_INPUT_UNALIGNED; b++) {
            const mm_spec sp = matmul_2d(odd_sizes[i].m, odd_sizes[i].k, odd_sizes[i].n, (b_kind)b);
            matmul_case(&sp, seed += 10);
        }
}

static void test_matmul_batched(void)
{
    static const mm_spec specs[] = {
        /* 3-D A, B shared: one tall product of all the rows */
        {3, 2, {3, 13, 257}, {257, 33}, B_CONST},
        {3, 2, {3, 13, 257}, {257, 33}, B_INPUT},
        {3, 2, {4, 197, 100}, {100, 17}, B_CONST},   /* A packed on both threads */
        {3, 2, {2, 5, 17}, {17, 31}, B_INPUT_UNALIGNED},
        {3, 2, {3, 1, 17}, {17, 31}, B_CONST},       /* one row a batch, three in all */
        {3, 2, {1, 97, 1030}, {1030, 256}, B_CONST}, /* long k onto a large B: rows split over threads */
        {3, 3, {2, 5, 17}, {1, 17, 33}, B_CONST},    /* B's batch dim of 1 */
        /* A's batch dims of 1 among others: still one tall product,
         * its 329 and 600 rows taken in groups */
        {4, 2, {1, 7, 47, 40}, {40, 100}, B_CONST},
        {4, 2, {1, 3, 200, 17}, {17, 64}, B_INPUT},
        {4, 2, {3, 1, 13, 17}, {17, 33}, B_CONST},
        /* attention: one product per batch, both operands inputs */
        {4, 4, {1, 3, 13, 17}, {1, 3, 17, 47}, B_INPUT},
        {4, 4, {1, 3, 5, 257}, {1, 3, 257, 33}, B_INPUT_UNALIGNED},
        {4, 4, {1, 3, 97, 64}, {1, 3, 64, 100}, B_INPUT},
        /* broadcast batch dims */
        {4, 3, {2, 1, 13, 17}, {3, 17, 47}, B_INPUT},
        {4, 3, {2, 1, 13, 17}, {3, 17, 47}, B_CONST}, /* a B per batch: held, not packed */
        {2, 3, {13, 33}, {2, 33, 16}, B_INPUT},       /* A shared by B's batches */
        {3, 4, {3, 5, 256}, {2, 1, 256, 16}, B_CONST},
    };
    uint32_t seed = 500;
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++)
        matmul_case(&specs[i], seed += 10);
}

/* ---- Gemm ---------------------------------------------------------------------------- */

typedef struct gemm_spec {
    int64_t m, k, n;
    bool trans_a, trans_b;
    b_kind b;
    int c_rank;          /* -1: no C */
    int64_t c_dims[2];
    float alpha, beta;   /* 0: 1 */
    res_kind res;
    act_kind act;
    bool specials;       /* NaN and infinities in A, B and C among positive values */
} gemm_spec;

static float or_one(float v)
{
    return v == 0.0f ? 1.0f : v;
}

/* want = alpha * want + beta * C, C broadcast to [m, n]. */
static void ref_add_c(double *want, int64_t m, int64_t n, float alpha, float beta, const operand *c)
{
    const int64_t cm = c && c->rank == 2 ? c->dims[0] : 1, cn = c && c->rank >= 1 ? c->dims[c->rank - 1] : 1;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double v = (double)alpha * want[i * n + j];
            if (c)
                v += (double)beta * (double)c->v[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
            want[i * n + j] = v;
        }
}

/* The product node's attributes, those that differ from the defaults. */
static void gemm_attrs(gcase *g, Onnx__NodeProto *node, const gemm_spec *sp)
{
    if (sp->trans_a)
        tb_attr_int(g->b, node, "transA", 1);
    if (sp->trans_b)
        tb_attr_int(g->b, node, "transB", 1);
    if (or_one(sp->alpha) != 1.0f)
        tb_attr_float(g->b, node, "alpha", sp->alpha);
    if (or_one(sp->beta) != 1.0f)
        tb_attr_float(g->b, node, "beta", sp->beta);
}

/* " transA, transB, C [1,47], alpha 0.5, beta -2" */
static void describe_gemm(const gemm_spec *sp, char *buf, size_t size)
{
    char sc[64] = "none";
    if (sp->c_rank >= 0)
        dims_str(sp->c_rank, sp->c_dims, sc, sizeof sc);
    snprintf(buf, size, "%s%s, C %s, alpha %g, beta %g%s", sp->trans_a ? ", transA" : "",
             sp->trans_b ? ", transB" : "", sc, or_one(sp->alpha), or_one(sp->beta),
             sp->specials ? ", NaN and inf" : "");
}

static void gemm_case(const gemm_spec *sp, uint32_t seed)
{
    const int64_t m = sp->m, k = sp->k, n = sp->n;
    const int64_t a_dims[2] = {sp->trans_a ? k : m, sp->trans_a ? m : k};
    const int64_t b_dims[2] = {sp->trans_b ? n : k, sp->trans_b ? k : n}, out[2] = {m, n};
    const float lo = sp->specials ? POS_LO : -1.0f, hi = sp->specials ? POS_HI : 1.0f;
    operand a = operand_new("a", 2, a_dims, false, 0, seed, lo, hi);
    operand b = operand_new("b", 2, b_dims, sp->b == B_CONST, sp->b == B_INPUT_UNALIGNED, seed + 1, lo, hi);
    operand c = operand_rand("c", sp->c_rank > 0 ? sp->c_rank : 0, sp->c_dims, true, seed + 2);
    operand r = operand_rand("r", 2, out, false, seed + 3);
    const int64_t ars = sp->trans_a ? 1 : k, acs = sp->trans_a ? m : 1;
    const int64_t brs = sp->trans_b ? 1 : n, bcs = sp->trans_b ? k : 1;
    if (sp->specials) {
        plant_in_a(a.v, k, ars, acs);
        plant_in_b(b.v, k, n, brs, bcs);
        c.v[operand_numel(&c) / 2] = INFINITY;
    }
    gcase g;
    case_begin(&g, 13);
    case_operand(&g, &a);
    case_operand(&g, &b);
    if (sp->c_rank >= 0)
        case_operand(&g, &c);
    if (sp->res != RES_NONE)
        case_operand(&g, &r);
    case_output(&g, 2, out);
    gemm_attrs(&g, case_product(&g, "Gemm", sp->c_rank >= 0 ? "a,b,c" : "a,b", sp->res, sp->act), sp);
    char more[128];
    describe_gemm(sp, more, sizeof more);
    describe(&g, "Gemm", &a, &b, b_kind_name[sp->b], sp->res, sp->act, more);
    g.const_b_packed = sp->b == B_CONST && !sp->trans_a && or_one(sp->alpha) == 1.0f && m >= 2 && n >= 16;
    g.trans_b = sp->trans_b;
    g.product_n = n;
    ref_product(m, k, n, a.v, ars, acs, b.v, brs, bcs, g.want);
    ref_add_c(g.want, m, n, or_one(sp->alpha), or_one(sp->beta), sp->c_rank >= 0 ? &c : NULL);
    ref_epilogue(&g, sp->res, sp->act, r.v);
    check_case(&g);
    case_end(&g);
    operand_free(&a);
    operand_free(&b);
    operand_free(&c);
    operand_free(&r);
}

static void test_gemm(void)
{
    static const gemm_spec specs[] = {
        /* the packed tiles: B read in place or packed */
        {13, 257, 47, false, false, B_CONST, -1},
        {197, 255, 33, false, true, B_CONST, 1, {33}},
        {5, 300, 16, false, true, B_CONST, 2, {1, 16}, 1, 0.5f},
        {197, 256, 33, false, false, B_INPUT, 2, {197, 33}, 1, -2},
        {13, 17, 31, false, false, B_INPUT_UNALIGNED, 1, {1}, 1, 3},
        {13, 3, 385, false, false, B_CONST, 0, {0}, 1, 0.25f},
        {13, 257, 17, false, true, B_CONST, 2, {13, 1}},
        {2, 1, 16, false, false, B_CONST, 2, {2, 16}},
        /* sgemm: transB of an input, transA, alpha */
        {13, 257, 47, false, true, B_INPUT, 1, {47}, 1, 0.5f},
        {13, 17, 31, true, false, B_CONST, 2, {13, 31}},
        {197, 255, 33, false, true, B_CONST, 1, {33}, 0.25f, 2},
        {5, 256, 47, true, true, B_INPUT, -1, {0}, -1.5f},
    };
    uint32_t seed = 900;
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++)
        gemm_case(&specs[i], seed += 10);
}

/* ---- epilogues ------------------------------------------------------------------------ */

/* A spec with an epilogue. */
static mm_spec with_epilogue(mm_spec sp, res_kind res, act_kind act)
{
    sp.res = res;
    sp.act = act;
    return sp;
}

static void test_matmul_epilogues(void)
{
    const mm_spec plain = matmul_2d(13, 300, 47, B_CONST), wide = matmul_2d(197, 64, 100, B_INPUT);
    const mm_spec tall = {3, 2, {3, 13, 257}, {257, 33}, B_CONST};
    const mm_spec attention = {4, 4, {1, 3, 97, 64}, {1, 3, 64, 100}, B_INPUT};
    const mm_spec grouped = {4, 2, {1, 5, 130, 64}, {64, 48}, B_CONST}; /* 650 rows in groups */
    const mm_spec broadcast = {4, 3, {2, 1, 13, 17}, {3, 17, 47}, B_INPUT_UNALIGNED};
    const mm_spec specs[] = {
        with_epilogue(plain, RES_NONE, ACT_RELU),      with_epilogue(plain, RES_NONE, ACT_CLIP),
        with_epilogue(plain, RES_NONE, ACT_SIGMOID),   with_epilogue(plain, RES_INPUT, ACT_NONE),
        with_epilogue(plain, RES_EARLIER, ACT_RELU),   with_epilogue(wide, RES_INPUT, ACT_RELU),
        with_epilogue(wide, RES_NONE, ACT_SIGMOID),    with_epilogue(tall, RES_INPUT, ACT_CLIP),
        with_epilogue(tall, RES_EARLIER, ACT_SIGMOID), with_epilogue(attention, RES_EARLIER, ACT_RELU),
        with_epilogue(attention, RES_INPUT, ACT_NONE), with_epilogue(broadcast, RES_INPUT, ACT_SIGMOID),
        with_epilogue(broadcast, RES_NONE, ACT_RELU),  with_epilogue(grouped, RES_INPUT, ACT_SIGMOID),
        with_epilogue(grouped, RES_EARLIER, ACT_CLIP),
    };
    uint32_t seed = 1300;
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++)
        matmul_case(&specs[i], seed += 10);
}

static void test_gemm_epilogues(void)
{
    static const gemm_spec specs[] = {
        {13, 257, 47, false, true, B_CONST, 1, {47}, 1, 1, RES_NONE, ACT_RELU},
        {197, 64, 100, false, false, B_INPUT, 2, {197, 100}, 1, 0.5f, RES_INPUT, ACT_RELU},
        {13, 300, 33, false, false, B_CONST, 2, {1, 33}, 1, -1, RES_EARLIER, ACT_CLIP},
        {13, 257, 47, false, false, B_CONST, -1, {0}, 1, 1, RES_INPUT, ACT_SIGMOID},
        {5, 17, 16, false, true, B_CONST, -1, {0}, 1, 1, RES_NONE, ACT_CLIP},
        {13, 257, 47, false, true, B_CONST, 1, {1}, 0.5f, 2, RES_INPUT, ACT_RELU}, /* sgemm */
    };
    uint32_t seed = 1700;
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++)
        gemm_case(&specs[i], seed += 10);
}

/* ---- the NaN and infinity cases ----------------------------------------------------- */

static void test_nonfinite(void)
{
    static const mkn sizes[] = {{6, 3, 17}, {13, 257, 47}, {197, 64, 100}};
    uint32_t seed = 2100;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (int b = B_CONST; b <= B_INPUT; b++) {
            mm_spec sp = matmul_2d(sizes[i].m, sizes[i].k, sizes[i].n, (b_kind)b);
            sp.specials = true;
            matmul_case(&sp, seed += 10);
        }
    mm_spec fused = with_epilogue(matmul_2d(13, 257, 47, B_CONST), RES_INPUT, ACT_RELU);
    fused.specials = true;
    matmul_case(&fused, seed += 10);
    static const gemm_spec specs[] = {
        {13, 257, 47, false, true, B_CONST, 1, {47}, 1, 1, RES_NONE, ACT_NONE, true},
        {197, 255, 33, false, false, B_INPUT, 2, {197, 33}, 1, 0.5f, RES_NONE, ACT_RELU, true},
        {6, 17, 31, false, false, B_CONST, -1, {0}, 1, 1, RES_INPUT, ACT_CLIP, true},
        {13, 257, 47, false, true, B_CONST, 1, {47}, 0.5f, 1, RES_NONE, ACT_NONE, true}, /* sgemm */
    };
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++)
        gemm_case(&specs[i], seed += 10);
}

void add_gemm_suite(void)
{
    CU_pSuite s = CU_add_suite("MatMul and Gemm on the packed tiles", NULL, NULL);
    CU_add_test(s, "MatMul 2-D at odd sizes, B constant or input", test_matmul_2d);
    CU_add_test(s, "MatMul batched: tall, attention, broadcast batch dims", test_matmul_batched);
    CU_add_test(s, "Gemm: transB, B constant or input, C of every shape, alpha, beta", test_gemm);
    CU_add_test(s, "MatMul's fused residual and activations, and the same unfused", test_matmul_epilogues);
    CU_add_test(s, "Gemm's fused residual and activations after C, and the same unfused", test_gemm_epilogues);
    CU_add_test(s, "NaN and infinities in A, B and C reach the elements they touch", test_nonfinite);
}
