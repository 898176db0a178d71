/* reference.h -- the float64 reference path (keel_options.reference, which
 * sets env->reference): Conv, ConvTranspose, Gemm, MatMul and the sum-like
 * reductions as plain loops that accumulate every sum in double and round
 * once to float at the end.  `keel check --trace` compares the fast path
 * against it.  Each op's run() takes this route when env->reference is
 * set and its tensors are float; the functions read c->in[] as they are
 * (no prepared state), write c->out[0], apply c->epi after rounding, run
 * on one thread and stop at kl_op_check_cancel.  Implemented in
 * reference.c. */
#ifndef KL_REFERENCE_H
#define KL_REFERENCE_H

#include "../kernels/conv.h"
#include "reduce.h"

/* The shape of a MatMul (ops/matmul.c): A [.., m, k] times B [.., k, n],
 * 1-D operands taken as a row (A) or a column (B). */
typedef struct kl_matmul_shape {
    int64_t m, k, n;
    int batch_rank;
    int64_t batch[KL_MAX_RANK];       /* broadcast batch dims of the output */
    int64_t a_stride[KL_MAX_RANK];    /* per batch dim, in matrices (0 where broadcast) */
    int64_t b_stride[KL_MAX_RANK];
    int64_t n_batch;
} kl_matmul_shape;

/* Conv of in[0] by in[1] (+ in[2]) with geometry g. */
keel_status kl_ref_conv(kl_opctx *c, const kl_conv_geom *g);
/* ConvTranspose of in[0] by in[1] (+ in[2]) with geometry g. */
keel_status kl_ref_conv_transpose(kl_opctx *c, const ct_geom *g);
/* Gemm: out[0] [m, n] = alpha * A' B' + beta * C, where A' is in[0] or its
 * transpose (trans_a), B' likewise, and C (in[2], omitted or ignored when
 * beta is 0) broadcasts to [m, n]. */
keel_status kl_ref_gemm(kl_opctx *c, int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b, float alpha,
                        float beta);
/* MatMul of in[0] and in[1] with shape s. */
keel_status kl_ref_matmul(kl_opctx *c, const kl_matmul_shape *s);
/* Reduce `kind` (not MAX or MIN) of float in[0] over the dims d with
 * reduced[d], into out[0] (whose shape infer set). */
keel_status kl_ref_reduce(kl_opctx *c, kl_reduce_kind kind, const bool *reduced);

#endif
