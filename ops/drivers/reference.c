/* reference.c -- the float64 reference path (see reference.h).
 *
 * Written to be obviously right rather than fast: no packing, no
 * transforms, no threads.  Each output (or a row of at most ROW outputs,
 * so that the innermost loop walks neighbouring elements) is a double
 * sum, rounded once to float when stored; a fused epilogue is applied to
 * the stored floats, as the fast path does. */
#include <math.h>

#include "reference.h"
#include "../../runtime/exec.h"

/* Outputs accumulated together: a row of doubles on the stack. */
#define ROW 256

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* ceil(n / s) for s > 0 and any n. */
static int64_t ceil_div(int64_t n, int64_t s)
{
    return n >= 0 ? (n + s - 1) / s : -(-n / s);
}

/* [*first, *end): the j in [a, b) with lo <= j * s + off < hi (s > 0). */
static void span(int64_t a, int64_t b, int64_t s, int64_t off, int64_t lo, int64_t hi, int64_t *first,
                 int64_t *end)
{
    int64_t f = ceil_div(lo - off, s), e = ceil_div(hi - off, s);
    *first = f > a ? f : a;
    *end = e < b ? e : b;
    if (*end < *first)
        *end = *first;
}

/* ---- Conv, ConvTranspose -------------------------------------------------------- */

/* One output channel of one image, computed row by row. */
typedef struct plane_job {
    const void *g;        /* the kl_conv_geom or ct_geom */
    const float *x;       /* the image's input channels of the output channel's group */
    const float *w;       /* the output channel's filters */
    double bias;
} plane_job;

/* Adds to acc[0, ow1 - ow0) what reaches outputs [ow0, ow1) of row (od, oh). */
typedef void (*add_row_fn)(const plane_job *j, int64_t od, int64_t oh, int64_t ow0, int64_t ow1, double *acc);

/* The plane y [out[0]][out[1]][out[2]]: each row, in pieces of at most
 * ROW, starts at the bias, takes add_row's sums and is rounded. */
static void plane_rows(const plane_job *j, const int64_t *out, add_row_fn add_row, float *y)
{
    double acc[ROW];
    for (int64_t od = 0; od < out[0]; od++)
        for (int64_t oh = 0; oh < out[1]; oh++)
            for (int64_t ow0 = 0; ow0 < out[2]; ow0 += ROW) {
                const int64_t ow1 = min64(ow0 + ROW, out[2]);
                for (int64_t i = 0; i < ow1 - ow0; i++)
                    acc[i] = j->bias;
                add_row(j, od, oh, ow0, ow1, acc);
                float *row = y + (od * out[1] + oh) * out[2] + ow0;
                for (int64_t i = 0; i < ow1 - ow0; i++)
                    row[i] = (float)acc[i];
            }
}

/* What Conv and ConvTranspose share: counts from their geometry g, where
 * output channel m's filters begin in W, and how to sum one output row. */
typedef struct conv_walk {
    const void *g;
    int64_t n, c, m, group, in_size, out_size;
    const int64_t *out;   /* the output's spatial dims (D, H, W) */
    int64_t (*filters)(const void *g, int64_t m);
    add_row_fn add_row;
} conv_walk;

/* out[0] [n][m][spatial] from in[0] [n][c][spatial], in[1] and the bias
 * in[2], plane by plane, each finished by the epilogue. */
static keel_status each_plane(kl_opctx *c, const conv_walk *walk)
{
    const float *x = c->in[0]->data, *w = c->in[1]->data;
    const float *bias = c->n_in > 2 && c->in[2] ? c->in[2]->data : NULL;
    float *y = c->out[0]->data;
    const int64_t cg = walk->c / walk->group, mg = walk->m / walk->group;
    for (int64_t n = 0; n < walk->n; n++)
        for (int64_t m = 0; m < walk->m; m++) {
            keel_status stop = kl_op_check_cancel(c);
            if (stop)
                return stop;
            /* output channel m reads the input channels of its group */
            const plane_job j = {walk->g, x + (n * walk->c + m / mg * cg) * walk->in_size,
                                 w + walk->filters(walk->g, m), bias ? bias[m] : 0.0};
            const int64_t plane = (n * walk->m + m) * walk->out_size;
            plane_rows(&j, walk->out, walk->add_row, y + plane);
            kl_epilogue_apply(&c->epi, y + plane, (size_t)plane, (size_t)walk->out_size);
        }
    return KEEL_OK;
}

/* Adds one input row's taps to the outputs [ow0, ow1) of an output row:
 * acc[ow - ow0] += w[kw] * x[ow * stride - pad + kw * dil] for each kw,
 * x being zero outside [0, in). */
static void conv_taps(const kl_conv_geom *g, const float *x, const float *w, int64_t ow0, int64_t ow1, double *acc)
{
    const int64_t s = g->stride[2];
    for (int64_t kw = 0; kw < g->k[2]; kw++) {
        const int64_t off = kw * g->dil[2] - g->pad[2];
        int64_t first, end;
        span(ow0, ow1, s, off, 0, g->in[2], &first, &end);
        const double wv = w[kw];
        for (int64_t ow = first; ow < end; ow++)
            acc[ow - ow0] += wv * x[ow * s + off];
    }
}

/* Conv: over the group's input channels and the filter [cg][kd][kh][kw],
 * every tap of row (od, oh) that lands inside the input. */
static void conv_row(const plane_job *j, int64_t od, int64_t oh, int64_t ow0, int64_t ow1, double *acc)
{
    const kl_conv_geom *g = j->g;
    for (int64_t ci = 0; ci < g->c / g->group; ci++)
        for (int64_t kd = 0; kd < g->k[0]; kd++) {
            const int64_t id = od * g->stride[0] - g->pad[0] + kd * g->dil[0];
            for (int64_t kh = 0; id >= 0 && id < g->in[0] && kh < g->k[1]; kh++) {
                const int64_t ih = oh * g->stride[1] - g->pad[1] + kh * g->dil[1];
                if (ih < 0 || ih >= g->in[1])
                    continue;
                const float *x = j->x + ((ci * g->in[0] + id) * g->in[1] + ih) * g->in[2];
                conv_taps(g, x, j->w + ((ci * g->k[0] + kd) * g->k[1] + kh) * g->k[2], ow0, ow1, acc);
            }
        }
}

/* Output channel m's filters [C / group][k] in W [M][C / group][k]. */
static int64_t conv_filters(const void *gv, int64_t m)
{
    const kl_conv_geom *g = gv;
    return m * (g->c / g->group) * g->k_size;
}

keel_status kl_ref_conv(kl_opctx *c, const kl_conv_geom *g)
{
    const conv_walk walk = {g, g->n, g->c, g->m, g->group, g->in_size, g->out_size, g->out, conv_filters, conv_row};
    return each_plane(c, &walk);
}

/* Whether output index o of dim d takes the tap at kernel offset k, and
 * from which input index: o = i * stride - pad + k * dil, 0 <= i < in. */
static bool ct_source(const ct_geom *g, int d, int64_t o, int64_t k, int64_t *i)
{
    const int64_t t = o + g->pad[d] - k * g->dil[d];
    if (t < 0 || t % g->stride[d])
        return false;
    *i = t / g->stride[d];
    return *i < g->in[d];
}

/* Adds one input row's contributions to the outputs [ow0, ow1) of an
 * output row: input iw lands at ow = iw * stride - pad + kw * dil. */
static void ct_taps(const ct_geom *g, const float *x, const float *w, int64_t ow0, int64_t ow1, double *acc)
{
    const int64_t s = g->stride[2];
    for (int64_t kw = 0; kw < g->k[2]; kw++) {
        const int64_t off = kw * g->dil[2] - g->pad[2];
        int64_t first, end;
        span(0, g->in[2], s, off, ow0, ow1, &first, &end);
        const double wv = w[kw];
        for (int64_t iw = first; iw < end; iw++)
            acc[iw * s + off - ow0] += wv * x[iw];
    }
}

/* ConvTranspose: over the group's input channels ci, each with its filter
 * [kd][kh][kw] for this output channel (mg * k_size apart), the input rows
 * that land on row (od, oh). */
static void ct_row(const plane_job *j, int64_t od, int64_t oh, int64_t ow0, int64_t ow1, double *acc)
{
    const ct_geom *g = j->g;
    const int64_t filter_step = g->m / g->group * g->k_size;
    int64_t id, ih;
    for (int64_t ci = 0; ci < g->c / g->group; ci++)
        for (int64_t kd = 0; kd < g->k[0]; kd++)
            for (int64_t kh = 0; ct_source(g, 0, od, kd, &id) && kh < g->k[1]; kh++) {
                if (!ct_source(g, 1, oh, kh, &ih))
                    continue;
                const float *x = j->x + ((ci * g->in[0] + id) * g->in[1] + ih) * g->in[2];
                ct_taps(g, x, j->w + ci * filter_step + (kd * g->k[1] + kh) * g->k[2], ow0, ow1, acc);
            }
}

/* Output channel m's filters in W [C][M / group][k]: m is channel m % mg
 * of group gi, whose input channels ci read W[gi * cg + ci][m % mg] (the
 * filters mg * k_size apart, as ct_row steps). */
static int64_t ct_filters(const void *gv, int64_t m)
{
    const ct_geom *g = gv;
    const int64_t cg = g->c / g->group, mg = g->m / g->group;
    return (m / mg * cg * mg + m % mg) * g->k_size;
}

keel_status kl_ref_conv_transpose(kl_opctx *c, const ct_geom *g)
{
    const conv_walk walk = {g, g->n, g->c, g->m, g->group, g->in_size, g->out_size, g->out, ct_filters, ct_row};
    return each_plane(c, &walk);
}

/* ---- Gemm, MatMul -------------------------------------------------------------- */

/* A matrix read through strides: element (i, j) at data[i * rows + j * cols]
 * (a stride 0 repeats a broadcast row or column). */
typedef struct mat_view {
    const float *data;
    int64_t rows, cols;
} mat_view;

static double at(mat_view v, int64_t i, int64_t j)
{
    return v.data[i * v.rows + j * v.cols];
}

/* acc[j - j0] = sum over kk < k of a(i, kk) b(kk, j) for j in [j0, j1):
 * along B's rows when its columns are neighbours, else as dot products. */
static void product_row(mat_view a, mat_view b, int64_t k, int64_t i, int64_t j0, int64_t j1, double *acc)
{
    for (int64_t j = j0; j < j1; j++)
        acc[j - j0] = 0.0;
    if (b.cols == 1) {
        for (int64_t kk = 0; kk < k; kk++) {
            const double av = at(a, i, kk);
            const float *brow = b.data + kk * b.rows;
            for (int64_t j = j0; j < j1; j++)
                acc[j - j0] += av * brow[j];
        }
        return;
    }
    for (int64_t j = j0; j < j1; j++)
        for (int64_t kk = 0; kk < k; kk++)
            acc[j - j0] += at(a, i, kk) * at(b, kk, j);
}

/* y [m, n] = alpha * a b + beta * addend (addend NULL: none), a [m, k]. */
static keel_status product(kl_opctx *c, mat_view a, mat_view b, const mat_view *addend, double alpha, double beta,
                           int64_t m, int64_t n, int64_t k, float *y)
{
    double acc[ROW];
    for (int64_t i = 0; i < m; i++) {
        keel_status stop = kl_op_check_cancel(c);
        if (stop)
            return stop;
        for (int64_t j0 = 0; j0 < n; j0 += ROW) {
            const int64_t j1 = min64(j0 + ROW, n);
            product_row(a, b, k, i, j0, j1, acc);
            for (int64_t j = j0; j < j1; j++)
                y[i * n + j] = (float)(alpha * acc[j - j0] + (addend ? beta * at(*addend, i, j) : 0.0));
        }
    }
    return KEEL_OK;
}

keel_status kl_ref_gemm(kl_opctx *c, int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b, float alpha,
                        float beta)
{
    const float *a_data = c->in[0]->data, *b_data = c->in[1]->data;
    const kl_tensor *ct = c->n_in > 2 ? c->in[2] : NULL;
    /* A is [m, k], or [k, m] transposed; B is [k, n], or [n, k] */
    const mat_view a = trans_a ? (mat_view){a_data, 1, m} : (mat_view){a_data, k, 1};
    const mat_view b = trans_b ? (mat_view){b_data, 1, k} : (mat_view){b_data, n, 1};
    mat_view cv = {0};
    if (ct) { /* C is [cm, cn] with cm in {1, m} and cn in {1, n} (checked by infer) */
        const int64_t cm = ct->rank == 2 ? ct->dims[0] : 1, cn = ct->rank >= 1 ? ct->dims[ct->rank - 1] : 1;
        cv = (mat_view){ct->data, cm == 1 ? 0 : cn, cn == 1 ? 0 : 1};
    }
    const bool with_c = ct && beta != 0.0f; /* beta 0 ignores C, even its NaNs */
    keel_status st = product(c, a, b, with_c ? &cv : NULL, alpha, beta, m, n, k, c->out[0]->data);
    if (!st)
        kl_epilogue_apply(&c->epi, c->out[0]->data, 0, (size_t)(m * n));
    return st;
}

keel_status kl_ref_matmul(kl_opctx *c, const kl_matmul_shape *s)
{
    const float *a = c->in[0]->data, *b = c->in[1]->data;
    float *y = c->out[0]->data;
    for (int64_t bi = 0; bi < s->n_batch; bi++) {
        /* the operands' matrices at batch index bi (row-major over s->batch) */
        int64_t rest = bi, ao = 0, bo = 0;
        for (int d = s->batch_rank - 1; d >= 0; d--) {
            const int64_t idx = rest % s->batch[d];
            rest /= s->batch[d];
            ao += idx * s->a_stride[d];
            bo += idx * s->b_stride[d];
        }
        const mat_view av = {a + ao * s->m * s->k, s->k, 1}, bv = {b + bo * s->k * s->n, s->n, 1};
        keel_status st = product(c, av, bv, NULL, 1.0, 0.0, s->m, s->n, s->k, y + bi * s->m * s->n);
        if (st)
            return st;
    }
    kl_epilogue_apply(&c->epi, y, 0, (size_t)(s->n_batch * s->m * s->n));
    return KEEL_OK;
}

/* ---- reductions ----------------------------------------------------------------- */

/* Some dims of the input, outermost first, with their strides in it. */
typedef struct dim_set {
    int n;
    int64_t size[KL_MAX_RANK], stride[KL_MAX_RANK];
    int64_t count;    /* product of the sizes */
} dim_set;

static void split_dims(const kl_tensor *x, const bool *reduced, dim_set *kept, dim_set *red)
{
    int64_t stride[KL_MAX_RANK], elements = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        stride[d] = elements;
        elements *= x->dims[d];
    }
    kept->n = red->n = 0;
    kept->count = red->count = 1;
    for (int d = 0; d < x->rank; d++) {
        dim_set *to = reduced[d] ? red : kept;
        to->size[to->n] = x->dims[d];
        to->stride[to->n++] = stride[d];
        to->count *= x->dims[d];
    }
}

/* Offset in the input of element `index` (row-major) of dims [0, n) of s. */
static int64_t offset_of(const dim_set *s, int n, int64_t index)
{
    int64_t off = 0;
    for (int i = n - 1; i >= 0; i--) {
        off += index % s->size[i] * s->stride[i];
        index /= s->size[i];
    }
    return off;
}

/* acc combined with element v: MAX is the shift of LogSumExp (NaN left
 * to the sum that follows). */
static double combine(kl_reduce_kind kind, double acc, double v, double shift)
{
    switch (kind) {
    case KL_REDUCE_L1: return acc + fabs(v);
    case KL_REDUCE_L2:
    case KL_REDUCE_SUMSQUARE: return acc + v * v;
    case KL_REDUCE_PROD: return acc * v;
    case KL_REDUCE_MAX: return v > acc ? v : acc;
    case KL_REDUCE_LOGSUMEXP: return acc + exp(v - shift);
    default: return acc + v; /* SUM, MEAN, LOGSUM */
    }
}

/* The fold from init of kind over the reduced dims red of x, the last of
 * them walked as a run. */
static double fold(const float *x, const dim_set *red, kl_reduce_kind kind, double init, double shift)
{
    const int last = red->n - 1;
    const int64_t run = last >= 0 ? red->size[last] : 1, step = last >= 0 ? red->stride[last] : 0;
    const int64_t runs = run ? red->count / run : 0;
    double acc = init;
    for (int64_t r = 0; r < runs; r++) {
        const float *p = x + offset_of(red, last, r);
        for (int64_t t = 0; t < run; t++)
            acc = combine(kind, acc, p[t * step], shift);
    }
    return acc;
}

/* One output of `kind` from the elements of x over red. */
static double reduce_one(const float *x, const dim_set *red, kl_reduce_kind kind)
{
    const double count = (double)red->count;
    switch (kind) {
    case KL_REDUCE_PROD: return fold(x, red, kind, 1.0, 0.0);
    case KL_REDUCE_MEAN: return red->count ? fold(x, red, kind, 0.0, 0.0) / count : NAN;
    case KL_REDUCE_L2: return sqrt(fold(x, red, kind, 0.0, 0.0));
    case KL_REDUCE_LOGSUM: return log(fold(x, red, kind, 0.0, 0.0));
    case KL_REDUCE_LOGSUMEXP: {
        /* log(sum(exp(x - shift))) + shift with shift the maximum; an
         * infinite maximum (or none: -inf) is the answer itself */
        const double shift = fold(x, red, KL_REDUCE_MAX, -INFINITY, 0.0);
        return isinf(shift) ? shift : log(fold(x, red, kind, 0.0, shift)) + shift;
    }
    default: return fold(x, red, kind, 0.0, 0.0);
    }
}

keel_status kl_ref_reduce(kl_opctx *c, kl_reduce_kind kind, const bool *reduced)
{
    const kl_tensor *x = c->in[0];
    float *y = c->out[0]->data;
    dim_set kept, red;
    split_dims(x, reduced, &kept, &red);
    /* output o is element o of the kept dims (keepdims only adds 1s) */
    for (int64_t o = 0; o < kept.count; o++) {
        keel_status stop = o % 1024 ? KEEL_OK : kl_op_check_cancel(c);
        if (stop)
            return stop;
        y[o] = (float)reduce_one((const float *)x->data + offset_of(&kept, kept.n, o), &red, kind);
    }
    return KEEL_OK;
}
