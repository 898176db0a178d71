/* blas.c -- OpenBLAS products split over the session's threads (see
 * blas.h for why OpenBLAS itself runs on one). */
#include <cblas.h>

#include "blas.h"

/* Below this many multiply-adds a product runs on the calling thread:
 * waking the pool would cost more than it saves. */
#define MIN_PARALLEL_MACS (1 << 18)

void kl_sgemm_here(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                   int64_t lda, const float *b, int64_t ldb, float beta, float *y, int64_t ldc)
{
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m,
                (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, y, (int)ldc);
}

void kl_dgemm_here(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double *a,
                   int64_t lda, const double *b, int64_t ldb, double beta, double *y, int64_t ldc)
{
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m,
                (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, y, (int)ldc);
}

/* fn over parts [0, parts) of a product of `macs` multiply-adds: on the
 * session's threads when it is worth waking them, else here. */
static void run_parts(kl_opctx *c, int64_t macs, int64_t parts, kl_range_fn fn, void *job)
{
    if (kl_pool_threads(c->pool) < 2 || macs < MIN_PARALLEL_MACS || parts < 2)
        fn(job, 0, parts);
    else
        kl_parallel_for(c->pool, parts, fn, job);
}

typedef struct gemm_job {
    bool ta, tb, split_rows;
    int64_t m, n, k, lda, ldb, ldc, parts;
    float alpha, beta;
    const float *a, *b;
    float *y;
} gemm_job;

/* Part i of `parts` of [0, n), in multiples of 16 but the last. */
static void part(int64_t n, int64_t parts, int64_t i, int64_t *lo, int64_t *hi)
{
    int64_t step = (n + parts - 1) / parts;
    step = (step + 15) / 16 * 16;
    *lo = i * step < n ? i * step : n;
    *hi = *lo + step < n ? *lo + step : n;
}

static void gemm_parts(void *arg, int64_t p0, int64_t p1)
{
    const gemm_job *j = arg;
    for (int64_t p = p0; p < p1; p++) {
        int64_t lo, hi;
        part(j->split_rows ? j->m : j->n, j->parts, p, &lo, &hi);
        if (lo >= hi)
            continue;
        const float *a = j->a, *b = j->b;
        float *y = j->y;
        int64_t m = j->m, n = j->n;
        /* with k = 0 the operands are empty (possibly NULL) and never read */
        if (j->split_rows) {
            if (j->k)
                a += j->ta ? lo : lo * j->lda;
            y += lo * j->ldc;
            m = hi - lo;
        } else {
            if (j->k)
                b += j->tb ? lo * j->ldb : lo;
            y += lo;
            n = hi - lo;
        }
        kl_sgemm_here(j->ta, j->tb, m, n, j->k, j->alpha, a, j->lda, b, j->ldb, j->beta, y, j->ldc);
    }
}

/* A product's parts are about GEMM_PART rows or columns (of its longer
 * side) whatever the thread count, and one thread runs the same parts:
 * OpenBLAS sums an element in an order that can depend on the shape of
 * the call, so parts sized by the thread count gave other bits at another
 * count (ViT's MatMul, [197, 768] x [768, 2304], at 2 threads). */
#define GEMM_PART 128

void kl_sgemm(kl_opctx *c, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *y, int64_t ldc)
{
    if (m <= 0 || n <= 0)
        return; /* nothing to write; the operands may be NULL */
    /* split the longer side: each part packs all of the other operand
     * again (Inception-v3's 3x3 stride-2 conv, 384 x 2592 weights on 289
     * columns, packed its weights twice when split by columns) */
    const int64_t len = m > n ? m : n;
    gemm_job j = {trans_a, trans_b, m > n, m, n, k, lda, ldb, ldc, (len + GEMM_PART - 1) / GEMM_PART,
                  alpha, beta, a, b, y};
    run_parts(c, m * n * k, j.parts, gemm_parts, &j);
}

typedef struct gemv_job {
    bool trans;
    int64_t rows, cols, lda, parts;
    float alpha, beta;
    const float *a, *x;
    float *y;
} gemv_job;

static void gemv_parts(void *arg, int64_t p0, int64_t p1)
{
    const gemv_job *j = arg;
    for (int64_t p = p0; p < p1; p++) {
        int64_t lo, hi;
        part(j->trans ? j->cols : j->rows, j->parts, p, &lo, &hi);
        if (lo >= hi)
            continue;
        /* y's part [lo, hi): rows lo.. of A, or (transposed) its columns lo.. */
        if (j->trans)
            cblas_sgemv(CblasRowMajor, CblasTrans, (int)j->rows, (int)(hi - lo), j->alpha, j->a + lo, (int)j->lda,
                        j->x, 1, j->beta, j->y + lo, 1);
        else
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)(hi - lo), (int)j->cols, j->alpha, j->a + lo * j->lda,
                        (int)j->lda, j->x, 1, j->beta, j->y + lo, 1);
    }
}

/* y's parts are GEMV_PART elements long whatever the thread count:
 * OpenBLAS's sgemv sums an element in an order that depends on where it
 * sits in the range it is given, so parts sized by the thread count gave
 * other bits at another count. */
#define GEMV_PART 256

void kl_sgemv(kl_opctx *c, bool trans, int64_t rows, int64_t cols, float alpha, const float *a, int64_t lda,
              const float *x, float beta, float *y)
{
    const int64_t len = trans ? cols : rows;
    gemv_job j = {trans, rows, cols, lda, (len + GEMV_PART - 1) / GEMV_PART, alpha, beta, a, x, y};
    run_parts(c, rows * cols, j.parts, gemv_parts, &j);
}
