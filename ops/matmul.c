/* matmul.c -- MatMul with NumPy semantics (1-D operands promoted then
 * dropped, batch dims broadcast), float32.  Each product runs on the
 * packed kernels of 1x1 convolutions (ops/kernels/pointwise.c), where the
 * kernel table has them: Y = A B is their W X with A packed (per product,
 * into scratch, the panels split over the session's threads) and B read
 * in place, the epilogue applied block by block while in cache.  Else,
 * and for one row or few columns, through sgemm and sgemv. */
#include <string.h>

#include "drivers/packed_b.h"
#include "drivers/reference.h"
#include "kernels/blas.h"
#include "kernels/kernels.h"
#include "op.h"
#include "../runtime/exec.h"

typedef kl_matmul_shape mm_shape;

/* Batch strides (in whole matrices) of operand t for the output batch dims. */
static void batch_strides(const kl_tensor *t, int mat_rank, const mm_shape *s, int64_t *stride)
{
    int tb = t->rank - mat_rank; /* operand's own batch rank */
    int64_t acc = 1;
    for (int i = s->batch_rank - 1; i >= 0; i--) {
        int j = i - (s->batch_rank - tb);
        int64_t d = j >= 0 ? t->dims[j] : 1;
        stride[i] = d == 1 ? 0 : acc;
        acc *= d;
    }
}

static keel_status shape_of(kl_opctx *c, mm_shape *s, int64_t *out_dims, int *out_rank)
{
    const kl_tensor *a = c->in[0], *b = c->in[1];
    memset(s, 0, sizeof *s);
    if (a->dtype != KEEL_FLOAT || b->dtype != KEEL_FLOAT)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "only float tensors are supported (got %s, %s)",
                          kl_dtype_name(a->dtype), kl_dtype_name(b->dtype));
    if (a->rank < 1 || b->rank < 1)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "operands must have rank >= 1");
    int ar = a->rank == 1 ? 1 : 2, br = b->rank == 1 ? 1 : 2;
    s->m = a->rank == 1 ? 1 : a->dims[a->rank - 2];
    s->k = a->dims[a->rank - 1];
    int64_t kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
    s->n = b->rank == 1 ? 1 : b->dims[b->rank - 1];
    if (kb != s->k) {
        char sa[128], sb[128];
        return kl_op_fail(c, KEEL_ERR_SHAPE, "inner dims differ: %s x %s", kl_shape_str(a, sa, sizeof sa),
                          kl_shape_str(b, sb, sizeof sb));
    }
    int abr = a->rank - ar, bbr = b->rank - br;
    s->batch_rank = abr > bbr ? abr : bbr;
    s->n_batch = 1;
    for (int i = 0; i < s->batch_rank; i++) {
        int ia = i - (s->batch_rank - abr), ib = i - (s->batch_rank - bbr);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "batch dims %lld and %lld do not broadcast", (long long)da,
                              (long long)db);
        s->batch[i] = da == 1 ? db : da;
        s->n_batch *= s->batch[i];
    }
    batch_strides(a, ar, s, s->a_stride);
    batch_strides(b, br, s, s->b_stride);
    int r = 0;
    for (int i = 0; i < s->batch_rank; i++)
        out_dims[r++] = s->batch[i];
    if (a->rank != 1)
        out_dims[r++] = s->m;
    if (b->rank != 1)
        out_dims[r++] = s->n;
    *out_rank = r;
    return KEEL_OK;
}

static keel_status matmul_infer(kl_opctx *c)
{
    mm_shape s;
    int64_t dims[KL_MAX_RANK + 2];
    int rank;
    keel_status st = shape_of(c, &s, dims, &rank);
    if (st)
        return st;
    if (rank > KL_MAX_RANK)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "result rank %d exceeds %d", rank, KL_MAX_RANK);
    kl_set_shape(c->out[0], KEEL_FLOAT, rank, dims);
    return KEEL_OK;
}

static int64_t matmul_macs(kl_opctx *c)
{
    mm_shape s;
    int64_t dims[KL_MAX_RANK + 2];
    int rank;
    return shape_of(c, &s, dims, &rank) ? 0 : s.n_batch * s.m * s.n * s.k;
}

/* Rows of A taken in one product: B shared by every batch and A
 * contiguous make one tall product of all the batches' rows.  A batch
 * dim of 1 ([1, 14, 14, 384], ConvNeXt's channels-last activations)
 * breaks neither. */
static bool one_tall_product(const mm_shape *s)
{
    bool b_shared = s->batch_rank > 0;
    for (int i = 0; i < s->batch_rank; i++)
        b_shared &= s->b_stride[i] == 0 && (s->a_stride[i] != 0 || s->batch[i] == 1);
    return b_shared;
}

static int64_t product_rows(const mm_shape *s)
{
    return one_tall_product(s) ? s->m * s->n_batch : s->m;
}

/* Whether the products go through the packed kernels: enough rows and
 * columns to fill their tiles (one row is sgemv's, and a few columns
 * would leave most lanes empty). */
static bool packed_path(const kl_opctx *c, const mm_shape *s)
{
    return !c->env->reference && kl_pw_usable(c->env->kern) && product_rows(s) >= 2 && s->n >= 16 && s->k > 0;
}

static int64_t product_count(const mm_shape *s)
{
    return one_tall_product(s) ? 1 : s->n_batch;
}

/* Whether the threads take whole products, one batch each, instead of
 * sharing each product: many small ones (attention's, per head and
 * window: Swin-T's 49x32 by 32x49 ran at 2 GFLOP/s on two threads when
 * both threads met at the end of every one). */
#define SMALL_PRODUCT_MACS (1 << 22)

static bool per_batch(const kl_opctx *c, const mm_shape *s)
{
    const int threads = kl_pool_threads(c->pool);
    return threads > 1 && product_count(s) >= 2 * threads && s->m * s->n * s->k < SMALL_PRODUCT_MACS;
}

static size_t matmul_scratch(kl_opctx *c)
{
    mm_shape s;
    int64_t dims[KL_MAX_RANK + 2];
    int rank;
    if (shape_of(c, &s, dims, &rank) || !packed_path(c, &s))
        return 0;
    return kl_pw_gemm_scratch(c, product_rows(&s), s.k, s.n, per_batch(c, &s));
}

static bool b_shared(const mm_shape *s)
{
    for (int i = 0; i < s->batch_rank; i++)
        if (s->b_stride[i] != 0)
            return false;
    return true;
}

/* A constant B, the same matrix for every batch, packed once where that
 * pays (drivers/packed_b.h); else held and read in place. */
static keel_status matmul_prepare(kl_opctx *c)
{
    mm_shape s;
    int64_t dims[KL_MAX_RANK + 2];
    int rank;
    if (!kl_input_const(c, 1))
        return KEEL_OK;
    if (shape_of(c, &s, dims, &rank) || !packed_path(c, &s) || !b_shared(&s) ||
        !kl_packed_b_pays(c->env->kern, s.n, c->in[1]->data))
        return kl_input_hold(c, 1);
    return kl_packed_b_prepare(c, false);
}

/* Element offsets of A's and B's matrices for product bi (the batch
 * index in row-major order over the output's batch dims). */
static void product_offsets(const mm_shape *s, int64_t bi, int64_t *ao, int64_t *bo)
{
    *ao = *bo = 0;
    if (product_count(s) == 1)
        return;
    for (int i = s->batch_rank - 1; i >= 0; i--) {
        const int64_t idx = bi % s->batch[i];
        bi /= s->batch[i];
        *ao += idx * s->a_stride[i];
        *bo += idx * s->b_stride[i];
    }
    *ao *= s->m * s->k;
    *bo *= s->k * s->n;
}

/* The products [lo, hi), each on the calling thread. */
typedef struct batch_job {
    kl_opctx *c;
    const mm_shape *s;
    const float *a, *b, *xp;
    float *y;
} batch_job;

static void run_batches(void *arg, int64_t lo, int64_t hi)
{
    const batch_job *j = arg;
    const mm_shape *s = j->s;
    for (int64_t bi = lo; bi < hi; bi++) {
        int64_t ao, bo;
        product_offsets(s, bi, &ao, &bo);
        const size_t yo = (size_t)(bi * s->m * s->n);
        kl_pw_gemm_here(j->c, s->m, s->k, s->n, j->a + ao, j->b + bo, s->n, j->xp, j->y + yo, yo);
    }
}

/* One product through sgemv or sgemm, without the epilogue. */
static void blas_product(kl_opctx *c, int64_t rows, int64_t n, int64_t k, const float *a, const float *b, float *y)
{
    if (k && rows == 1) /* one row (a TensorFlow classifier's MatMul): y = B^T a, no packing of B */
        kl_sgemv(c, true, k, n, 1.0f, b, n, a, 0.0f, y);
    else if (k)
        kl_sgemm(c, false, false, rows, n, k, 1.0f, a, k, b, n, 0.0f, y, n);
    else
        memset(y, 0, (size_t)(rows * n) * sizeof *y);
}

static keel_status matmul_run(kl_opctx *c)
{
    mm_shape s;
    int64_t dims[KL_MAX_RANK + 2];
    int rank;
    shape_of(c, &s, dims, &rank);
    if (c->env->reference)
        return kl_ref_matmul(c, &s);
    const float *a = c->in[0]->data, *b = c->in[1]->data;
    float *y = c->out[0]->data;
    const bool packed = packed_path(c, &s);
    const kl_packed_b *st = c->state;
    const float *xp = st ? st->xp : NULL;
    if (packed && per_batch(c, &s)) {
        batch_job j = {c, &s, a, b, xp, y};
        kl_parallel_for(c->pool, s.n_batch, run_batches, &j);
        return kl_op_check_cancel(c);
    }
    const int64_t rows = product_rows(&s), y_mat = rows * s.n;
    for (int64_t bi = 0; bi < product_count(&s); bi++) {
        keel_status stop = kl_op_check_cancel(c);
        if (stop)
            return stop;
        int64_t ao, bo;
        product_offsets(&s, bi, &ao, &bo);
        if (packed)
            kl_pw_gemm(c, rows, s.k, s.n, a + ao, b + bo, s.n, xp, true, y + bi * y_mat, (size_t)(bi * y_mat));
        else if (rows && s.n)
            blas_product(c, rows, s.n, s.k, a + ao, b + bo, y + bi * y_mat);
    }
    if (!packed)
        kl_epilogue_apply(&c->epi, y, 0, (size_t)(s.n_batch * s.m * s.n));
    return KEEL_OK;
}

static const kl_op matmul_op = {.type = "MatMul", .since = 1, .min_inputs = 2, .max_inputs = 2,
                                .flags = KL_OP_EPILOGUE, .infer = matmul_infer, .run = matmul_run,
                                .scratch = matmul_scratch, .prepare = matmul_prepare,
                                .release = kl_packed_b_release, .macs = matmul_macs, .residual_input = 2,
                                .batch = KL_BATCH_PRODUCT};

const kl_op *const kl_opfile_matmul[] = {&matmul_op, NULL};
