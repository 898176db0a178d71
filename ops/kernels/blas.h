/* blas.h -- OpenBLAS products split over the session's threads.
 *
 * OpenBLAS keeps one process-wide thread count, and its idle workers spin
 * for a long while after a call: on a two-core machine they took the core
 * keel's own pool needed (MobileNet-v2 on two threads ran its first ten
 * runs at the speed of one).  So keel splits each product here over the
 * session's pool instead, each part one call to OpenBLAS; keel never sets
 * OpenBLAS's thread count: the embedder sets it to one (keel.h; the keel
 * command and the test programs call openblas_set_num_threads(1)).  Every OpenBLAS call of
 * keel is in ops/kernels/blas.c. */
#ifndef KL_BLAS_H
#define KL_BLAS_H

#include "../op.h"

/* C [m][n] = alpha op(A) op(B) + beta C, row-major, as cblas_sgemm, with
 * the columns (or, for few columns, the rows) of C split over c's pool. */
void kl_sgemm(kl_opctx *c, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *y, int64_t ldc);

/* y [rows] = alpha op(A) x + beta y for A [rows][cols] (trans: y [cols] =
 * alpha A^T x + beta y), as cblas_sgemv, with y split over c's pool. */
void kl_sgemv(kl_opctx *c, bool trans, int64_t rows, int64_t cols, float alpha, const float *a, int64_t lda,
              const float *x, float beta, float *y);

/* kl_sgemm on the calling thread alone, for code with no session at hand
 * (the recurrences' steps). */
void kl_sgemm_here(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                   int64_t lda, const float *b, int64_t ldb, float beta, float *y, int64_t ldc);

/* The same in double (Einsum on float64), on the calling thread. */
void kl_dgemm_here(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double *a,
                   int64_t lda, const double *b, int64_t ldb, double beta, double *y, int64_t ldc);

#endif
